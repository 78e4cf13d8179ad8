"""Read queries for concurrent readers (the web API), each run on the caller's cursor.

DuckDB lets many threads read one database, but a connection object is not for sharing between
threads: each thread (each FastAPI request) takes its own cursor with :meth:`Store.cursor` and
passes it here. Every function takes that cursor first and returns plain data (DataFrames,
dicts, sets); SQL stays in ``ecobasin.store``.

Times come back as tz-aware UTC pandas timestamps. They are read as naive UTC ``TIMESTAMP``
(the cursor's time zone is UTC) and localised in pandas, because converting ``TIMESTAMPTZ``
columns with ``.df()`` raises a pandas deprecation warning under pandas 3.1.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from ecobasin.store.lake_read import source

__all__ = [
    "DOMAINS",
    "PERIODS",
    "SITE_KINDS",
    "ObservationFilter",
    "cities",
    "count_observations",
    "iter_observations",
    "known_site_ids",
    "meteorology",
    "observations",
    "parameter_ids",
    "parameters",
    "rejected",
    "rejected_summary",
    "schema_version",
    "sites",
    "summary",
]

#: Site kinds the schema allows (``sites.kind`` check constraint, migration 1).
SITE_KINDS = ("air_station", "micro_station", "water_section", "gas_outlet", "water_outlet")
#: Averaging periods observations are stored with (``observations.period``, migration 1).
PERIODS = ("1h", "1d", "10min", "1min", "instant")
#: Parameter domains of the registry (``catalog/data/parameters.csv``).
DOMAINS = ("air", "water", "flue_gas", "met")

OBSERVATION_COLUMNS = (
    "site_id",
    "city_code",
    "parameter",
    "period",
    "time",
    "value",
    "unit",
    "flag",
    "source",
)


def in_list(column: str, values: Sequence[Any] | None, params: list[Any]) -> str:
    """An `` AND column = ANY(?)`` condition (nothing when ``values`` is empty or None)."""
    if not values:
        return ""
    params.append(list(values))
    return f" AND {column} = ANY(?)"


def as_utc(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """Localise naive-UTC timestamp columns read from SQL to tz-aware UTC."""
    for column in columns:
        frame[column] = pd.to_datetime(frame[column]).dt.tz_localize("UTC")
    return frame


def _scalar(cursor: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> Any:
    rows = cursor.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


def schema_version(cursor: duckdb.DuckDBPyConnection) -> int:
    """The highest migration applied to the database."""
    value = _scalar(cursor, "SELECT max(version) FROM schema_version")
    return int(value) if value is not None else 0


def summary(
    cursor: duckdb.DuckDBPyConnection, region_cities: Sequence[int] | None = None
) -> dict[str, Any]:
    """Row counts and the observed time span (UTC), like :meth:`Store.summary`, with the
    months exported to the lake and the observations only the lake holds.

    ``cities_in_region`` counts the cities of ``region_cities`` present in the store, or the
    cities flagged ``in_region`` when no list is given.
    """
    params: list[Any] = []
    if region_cities is None:
        city_sql = "SELECT count(*) FROM cities WHERE in_region"
    else:
        city_sql = "SELECT count(*) FROM cities WHERE code = ANY(?)"
        params.append(list(region_cities))
    rows = cursor.execute(
        "SELECT min(time)::TIMESTAMP, max(time)::TIMESTAMP FROM observations"
    ).fetchall()
    first, last = rows[0] if rows else (None, None)
    return {
        "schema_version": schema_version(cursor),
        "cities_in_region": int(_scalar(cursor, city_sql, params)),
        "sites": int(_scalar(cursor, "SELECT count(*) FROM sites")),
        "observations": int(_scalar(cursor, "SELECT count(*) FROM observations")),
        "meteorology": int(_scalar(cursor, "SELECT count(*) FROM meteorology")),
        "rejected": int(_scalar(cursor, "SELECT count(*) FROM rejected")),
        "first_time": None if first is None else pd.Timestamp(first, tz="UTC"),
        "last_time": None if last is None else pd.Timestamp(last, tz="UTC"),
        # closed months moved to the lake (docs/architecture.md): their rows are read from
        # there once deleted here, so the counts above leave them out
        "lake_months": int(_scalar(cursor, _LAKE_MONTHS)),
        "observations_in_lake_only": int(_scalar(cursor, _LAKE_ONLY_ROWS)),
    }


_LAKE_MONTHS = "SELECT count(*) FROM lake_months WHERE table_name = 'observations'"
_LAKE_ONLY_ROWS = (
    "SELECT coalesce(sum(rows), 0) FROM lake_months "
    "WHERE table_name = 'observations' AND deleted_at IS NOT NULL"
)


def cities(
    cursor: duckdb.DuckDBPyConnection, *, codes: Sequence[int] | None = None
) -> pd.DataFrame:
    """Cities in the store (all, or those with the given codes), ordered by code.

    Columns: code, name_zh, name_en, province_zh, province_en, lon, lat, in_region.
    """
    params: list[Any] = []
    sql = "SELECT * FROM cities WHERE true" + in_list("code", codes, params)
    return cursor.execute(sql + " ORDER BY code", params).df()


def parameters(cursor: duckdb.DuckDBPyConnection, *, domain: str | None = None) -> pd.DataFrame:
    """The parameter registry as stored, optionally for one domain, ordered by domain and id."""
    params: list[Any] = []
    sql = "SELECT * FROM parameters WHERE true" + in_list(
        "domain", [domain] if domain else None, params
    )
    return cursor.execute(sql + " ORDER BY domain, parameter", params).df()


def parameter_ids(cursor: duckdb.DuckDBPyConnection) -> list[str]:
    """Every parameter id in the registry."""
    rows = cursor.execute("SELECT parameter FROM parameters ORDER BY parameter").fetchall()
    return [str(row[0]) for row in rows]


def sites(
    cursor: duckdb.DuckDBPyConnection,
    *,
    cities: Sequence[int] | None = None,
    kinds: Sequence[str] | None = None,
    site_ids: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Sites joined with their city names, ordered by city and site id (as :meth:`Store.sites`).

    Columns: site_id, kind, level, city_code, city_zh, city_en, name_zh, name_en, lon, lat,
    attributes (JSON text or None).
    """
    params: list[Any] = []
    sql = (
        "SELECT s.site_id, s.kind, s.level, s.city_code, c.name_zh AS city_zh, "
        "c.name_en AS city_en, s.name_zh, s.name_en, s.lon, s.lat, s.attributes::VARCHAR "
        "AS attributes FROM sites s LEFT JOIN cities c ON c.code = s.city_code WHERE true"
        + in_list("s.city_code", cities, params)
        + in_list("s.kind", kinds, params)
        + in_list("s.site_id", site_ids, params)
    )
    return cursor.execute(sql + " ORDER BY s.city_code, s.site_id", params).df()


def known_site_ids(
    cursor: duckdb.DuckDBPyConnection,
    site_ids: Sequence[str],
    kinds: Sequence[str] | None = None,
) -> set[str]:
    """Those of ``site_ids`` that the store holds (and that are of ``kinds``, when given)."""
    if not site_ids:
        return set()
    params: list[Any] = [list(site_ids)]
    rows = cursor.execute(
        "SELECT site_id FROM sites WHERE site_id = ANY(?)" + in_list("kind", kinds, params),
        params,
    ).fetchall()
    return {str(row[0]) for row in rows}


@dataclass(frozen=True)
class ObservationFilter:
    """Which observations to read. Empty or ``None`` members do not filter.

    ``start`` and ``end`` are inclusive, tz-aware instants (naive ones are refused: the caller
    decides what local time means).
    """

    sites: Sequence[str] | None = None
    cities: Sequence[int] | None = None
    parameters: Sequence[str] | None = None
    periods: Sequence[str] | None = None
    start: datetime | None = None
    end: datetime | None = None
    #: Only sites of these kinds (the public reads no enterprise outlets: web.security.policy).
    kinds: Sequence[str] | None = None

    def where(self, params: list[Any]) -> str:
        """The SQL conditions (each starting with `` AND``) over ``o`` (observations) and ``s``
        (sites); appends their parameters to ``params``."""
        sql = (
            in_list("o.site_id", self.sites, params)
            + in_list("s.city_code", self.cities, params)
            + in_list("o.parameter", self.parameters, params)
            + in_list("o.period", self.periods, params)
            + in_list("s.kind", self.kinds, params)
        )
        for bound, op in ((self.start, ">="), (self.end, "<=")):
            if bound is None:
                continue
            if bound.tzinfo is None:
                raise ValueError(f"observation filter bounds must be tz-aware, got {bound!r}")
            params.append(bound)
            sql += f" AND o.time {op} ?"
        return sql


def _observation_sql(
    cursor: duckdb.DuckDBPyConnection,
    where: ObservationFilter,
    params: list[Any],
    limit: int | None,
    offset: int,
) -> str:
    sql = (
        "SELECT o.site_id, s.city_code, o.parameter, o.period, o.time::TIMESTAMP AS time, "
        f"o.value, p.unit, o.flag, b.source FROM {source(cursor, 'observations')} o "
        "JOIN sites s USING (site_id) "
        "LEFT JOIN parameters p USING (parameter) LEFT JOIN import_batches b USING (batch_id) "
        "WHERE true" + where.where(params) + " ORDER BY o.site_id, o.parameter, o.period, o.time"
    )
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        params.extend([int(limit), int(offset)])
    elif offset:
        sql += " OFFSET ?"
        params.append(int(offset))
    return sql


def observations(
    cursor: duckdb.DuckDBPyConnection,
    where: ObservationFilter,
    *,
    limit: int | None = None,
    offset: int = 0,
) -> pd.DataFrame:
    """Observations as a tidy DataFrame ordered by site, parameter, period and time.

    Columns: site_id, city_code, parameter, period, time (tz-aware UTC, end of the averaging
    period), value, unit, flag, source.
    """
    params: list[Any] = []
    sql = _observation_sql(cursor, where, params, limit, offset)
    return as_utc(cursor.execute(sql, params).df(), "time")


def iter_observations(
    cursor: duckdb.DuckDBPyConnection,
    where: ObservationFilter,
    *,
    limit: int | None = None,
    offset: int = 0,
    chunk_vectors: int = 8,
) -> Iterator[pd.DataFrame]:
    """The rows of :func:`observations` in chunks of ``chunk_vectors`` × 2048 rows, for
    streaming large results without holding them all."""
    params: list[Any] = []
    result = cursor.execute(_observation_sql(cursor, where, params, limit, offset), params)
    while True:
        chunk = result.fetch_df_chunk(chunk_vectors)
        if chunk.empty:
            return
        yield as_utc(chunk, "time")


def count_observations(cursor: duckdb.DuckDBPyConnection, where: ObservationFilter) -> int:
    """How many observations match."""
    params: list[Any] = []
    sql = (
        f"SELECT count(*) FROM {source(cursor, 'observations')} o "
        "JOIN sites s USING (site_id) WHERE true" + where.where(params)
    )
    return int(_scalar(cursor, sql, params))


def meteorology(
    cursor: duckdb.DuckDBPyConnection, *, cities: Sequence[int] | None = None
) -> pd.DataFrame:
    """City meteorology: city_code, parameter, period, time (UTC), value, source."""
    params: list[Any] = []
    sql = (
        "SELECT city_code, parameter, period, time::TIMESTAMP AS time, value, source "
        "FROM meteorology WHERE true" + in_list("city_code", cities, params)
    )
    return as_utc(cursor.execute(sql + " ORDER BY city_code, parameter, time", params).df(), "time")


def rejected(
    cursor: duckdb.DuckDBPyConnection, *, source: str | None = None, limit: int | None = None
) -> pd.DataFrame:
    """Rejected records, oldest first: source, record_ref, reason_code, reason, raw,
    batch_id, rejected_at (UTC)."""
    params: list[Any] = []
    sql = (
        "SELECT source, record_ref, reason_code, reason, raw, batch_id, "
        "rejected_at::TIMESTAMP AS rejected_at FROM rejected WHERE true"
        + in_list("source", [source] if source else None, params)
        + " ORDER BY rejected_at, source, record_ref"
    )
    if limit is not None:
        sql += " LIMIT ?"
        params.append(int(limit))
    return as_utc(cursor.execute(sql, params).df(), "rejected_at")


def rejected_summary(cursor: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Rejected records counted by reason: reason_code, n."""
    return cursor.execute(
        "SELECT reason_code, count(*) AS n FROM rejected GROUP BY 1 ORDER BY 2 DESC, 1"
    ).df()
