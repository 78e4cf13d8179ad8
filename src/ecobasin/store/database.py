"""The DuckDB store: the only place in ecobasin that speaks SQL.

One database file; the schema is migrated on open. Writes are upserts keyed by
(site, parameter, period, time): writing the same observation again keeps one row, the later
value wins, and the result counts how many rows were new, replaced or unchanged.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from ecobasin import catalog
from ecobasin.store.migrations import MIGRATIONS

__all__ = ["Store", "StoreBusyError", "WriteCounts"]

OBSERVATION_KEY = ("site_id", "parameter", "period", "time")
SITE_COLUMNS = ("site_id", "kind", "level", "city_code", "name_zh", "name_en", "lon", "lat")


class StoreBusyError(RuntimeError):
    """The database file is held by another process (DuckDB allows one writer per file)."""


@dataclass
class WriteCounts:
    """What one write did: rows new to the store, rows whose value changed, rows already there."""

    inserted: int = 0
    replaced: int = 0
    unchanged: int = 0

    def __iadd__(self, other: WriteCounts) -> WriteCounts:
        self.inserted += other.inserted
        self.replaced += other.replaced
        self.unchanged += other.unchanged
        return self

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _first(result: duckdb.DuckDBPyConnection) -> tuple[Any, ...] | None:
    """The first row of a result, consuming it all (DuckDB wants results finished)."""
    rows = result.fetchall()
    return rows[0] if rows else None


def _now() -> datetime:
    return datetime.now(UTC)


def _in_list(column: str, values: Sequence[Any] | None, params: list[Any]) -> str:
    if not values:
        return ""
    params.append(list(values))
    return f" AND {column} = ANY(?)"


class Store:
    """A DuckDB database file holding ecobasin's data.

    Parameters
    ----------
    path : str or Path
        The database file; created with the current schema when it does not exist.
    read_only : bool, default False
        Open without the write lock (other readers may share it; a writer may not be running).

    Raises
    ------
    StoreBusyError
        When another process holds the file. DuckDB lets one process write a file; while
        ``ecobasin serve`` runs, write through its API instead.
    """

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self._depth = 0
        try:
            self.con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.IOException as error:
            if "lock" in str(error).lower():
                raise StoreBusyError(
                    f"{self.path} is in use by another ecobasin process (DuckDB allows one "
                    f"writer per file). Stop it, or send writes through its API. ({error})"
                ) from None
            raise
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute("SET enable_progress_bar = false")
        if not read_only:
            self._migrate()

    # -- lifecycle -----------------------------------------------------------------------
    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new cursor on the same database, for one thread (FastAPI request, worker)."""
        cursor = self.con.cursor()
        cursor.execute("SET TimeZone = 'UTC'")
        return cursor

    def _migrate(self) -> None:
        self.con.execute(
            "CREATE TABLE IF NOT EXISTS schema_version "
            "(version INTEGER PRIMARY KEY, description VARCHAR, applied_at TIMESTAMPTZ)"
        )
        done = {row[0] for row in self.con.execute("SELECT version FROM schema_version").fetchall()}
        for version, description, sql in MIGRATIONS:
            if version in done:
                continue
            self.con.execute("BEGIN")
            try:
                self.con.execute(sql)
                self.con.execute(
                    "INSERT INTO schema_version VALUES (?, ?, ?)", [version, description, _now()]
                )
                self.con.execute("COMMIT")
            except Exception:
                self.con.execute("ROLLBACK")
                raise

    @property
    def schema_version(self) -> int:
        row = _first(self.con.execute("SELECT max(version) FROM schema_version"))
        return int(row[0]) if row and row[0] is not None else 0

    # -- reference data ------------------------------------------------------------------
    def sync_catalog(self, region: catalog.Region) -> None:
        """Write the bundled cities and parameter registry; mark the region's cities."""
        city_frame = catalog.cities()
        city_frame["in_region"] = city_frame["code"].isin(region.cities)
        with (
            self.transaction(),
            self._registered(city_in=city_frame, parameter_in=catalog.parameters()),
        ):
            self.con.execute("DELETE FROM cities")
            self.con.execute(
                "INSERT INTO cities SELECT code, name_zh, name_en, province_zh, province_en, "
                "lon, lat, in_region FROM city_in"
            )
            self.con.execute("DELETE FROM parameters")
            self.con.execute(
                "INSERT INTO parameters SELECT parameter, domain, nullif(hj212_2017, ''), "
                "nullif(hj212_2005, ''), name_zh, name_en, unit, min_value, max_value, decimals "
                "FROM parameter_in"
            )

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction; nested uses join the outermost one (all or nothing)."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self.con.execute("BEGIN TRANSACTION")
        self._depth = 1
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        else:
            self.con.execute("COMMIT")
        finally:
            self._depth = 0

    @contextmanager
    def _registered(self, **frames: pd.DataFrame) -> Iterator[None]:
        """Expose DataFrames to SQL under explicit names (never by Python variable lookup)."""
        for name, frame in frames.items():
            self.con.register(name, frame)
        try:
            yield
        finally:
            for name in frames:
                self.con.unregister(name)

    def cities(self, *, region_only: bool = False) -> pd.DataFrame:
        where = " WHERE in_region" if region_only else ""
        return self.con.execute(f"SELECT * FROM cities{where} ORDER BY code").df()

    def parameters(self, domain: str | None = None) -> pd.DataFrame:
        params: list[Any] = []
        sql = "SELECT * FROM parameters WHERE true" + _in_list(
            "domain", [domain] if domain else None, params
        )
        return self.con.execute(sql + " ORDER BY domain, parameter", params).df()

    # -- sites -----------------------------------------------------------------------------
    def upsert_sites(self, sites: pd.DataFrame, source: str) -> WriteCounts:
        """Insert or update sites (columns as ``SITE_COLUMNS`` plus optional ``attributes``)."""
        frame = sites.copy()
        if "attributes" not in frame:
            frame["attributes"] = None
        frame["attributes"] = [
            None
            if a is None or (isinstance(a, float) and pd.isna(a))
            else json.dumps(a)
            if not isinstance(a, str)
            else a
            for a in frame["attributes"]
        ]
        frame["source"] = source
        frame["updated_at"] = _now()
        columns = [*SITE_COLUMNS, "attributes", "source", "updated_at"]
        frame = frame[columns]
        existing = set(
            self.con.execute(
                "SELECT site_id FROM sites WHERE site_id = ANY(?)", [list(frame["site_id"])]
            ).fetchall()
        )
        existing_ids = {row[0] for row in existing}
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "site_id")
        with self._registered(site_in=frame):
            self.con.execute(
                f"INSERT INTO sites SELECT {', '.join(columns)} FROM site_in "
                f"ON CONFLICT (site_id) DO UPDATE SET {updates}"
            )
        replaced = int(frame["site_id"].isin(existing_ids).sum())
        return WriteCounts(inserted=len(frame) - replaced, replaced=replaced)

    def sites(
        self,
        *,
        cities: Sequence[int] | None = None,
        kinds: Sequence[str] | None = None,
        site_ids: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Sites joined with their city names, ordered by city and site id."""
        params: list[Any] = []
        sql = (
            "SELECT s.site_id, s.kind, s.level, s.city_code, c.name_zh AS city_zh, "
            "c.name_en AS city_en, s.name_zh, s.name_en, s.lon, s.lat, s.attributes "
            "FROM sites s LEFT JOIN cities c ON c.code = s.city_code WHERE true"
            + _in_list("s.city_code", cities, params)
            + _in_list("s.kind", kinds, params)
            + _in_list("s.site_id", site_ids, params)
        )
        return self.con.execute(sql + " ORDER BY s.city_code, s.site_id", params).df()

    # -- observations ------------------------------------------------------------------------
    def write_observations(self, frame: pd.DataFrame, source: str | None = None) -> WriteCounts:
        """Upsert observations; the later value wins and replacements are counted.

        Parameters
        ----------
        frame : pandas.DataFrame
            Columns site_id, parameter, period, time (tz-aware UTC), value, flag and, unless
            ``source`` is given, source. Keys must be unique within the frame (the importers
            reject in-file duplicates before calling this).
        """
        if frame.empty:
            return WriteCounts()
        batch = frame[[*OBSERVATION_KEY, "value", "flag"]].copy()
        batch["source"] = source if source is not None else frame["source"]
        batch["ingested_at"] = _now()
        con = self.con
        with self.transaction(), self._registered(observation_in=batch):
            con.execute("CREATE OR REPLACE TEMP TABLE stage AS SELECT * FROM observation_in")
            row = _first(
                con.execute(
                    """
                SELECT count(o.site_id),
                       count(o.site_id) FILTER (
                           WHERE o.value IS NOT DISTINCT FROM s.value
                             AND o.flag IS NOT DISTINCT FROM s.flag)
                FROM stage s JOIN observations o USING (site_id, parameter, period, time)
                """
                )
            )
            assert row is not None
            existing, unchanged = int(row[0]), int(row[1])
            if existing:
                con.execute(
                    """
                    DELETE FROM stage s USING observations o
                    WHERE o.site_id = s.site_id AND o.parameter = s.parameter
                      AND o.period = s.period AND o.time = s.time
                      AND o.value IS NOT DISTINCT FROM s.value
                      AND o.flag IS NOT DISTINCT FROM s.flag
                    """
                )
                con.execute(
                    "INSERT INTO observations SELECT * FROM stage "
                    "ON CONFLICT (site_id, parameter, period, time) DO UPDATE SET "
                    "value = excluded.value, flag = excluded.flag, source = excluded.source, "
                    "ingested_at = excluded.ingested_at"
                )
            else:
                con.execute("INSERT INTO observations SELECT * FROM stage")
            con.execute("DROP TABLE stage")
        return WriteCounts(
            inserted=len(batch) - existing, replaced=existing - unchanged, unchanged=unchanged
        )

    def _observation_filter(
        self,
        params: list[Any],
        *,
        sites: Sequence[str] | None,
        cities: Sequence[int] | None,
        parameters: Sequence[str] | None,
        periods: Sequence[str] | None,
        start: datetime | pd.Timestamp | None,
        end: datetime | pd.Timestamp | None,
    ) -> str:
        sql = (
            _in_list("o.site_id", sites, params)
            + _in_list("s.city_code", cities, params)
            + _in_list("o.parameter", parameters, params)
            + _in_list("o.period", periods, params)
        )
        if start is not None:
            params.append(pd.Timestamp(start).to_pydatetime())
            sql += " AND o.time >= ?"
        if end is not None:
            params.append(pd.Timestamp(end).to_pydatetime())
            sql += " AND o.time <= ?"
        return sql

    def observations(
        self,
        *,
        sites: Sequence[str] | None = None,
        cities: Sequence[int] | None = None,
        parameters: Sequence[str] | None = None,
        periods: Sequence[str] | None = None,
        start: datetime | pd.Timestamp | None = None,
        end: datetime | pd.Timestamp | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> pd.DataFrame:
        """Observations as a tidy DataFrame, ordered by site, parameter and time.

        ``start`` and ``end`` are inclusive instants (UTC when naive... pass tz-aware ones).
        Columns: site_id, city_code, parameter, period, time (UTC), value, unit, flag, source.
        """
        params: list[Any] = []
        where = self._observation_filter(
            params,
            sites=sites,
            cities=cities,
            parameters=parameters,
            periods=periods,
            start=start,
            end=end,
        )
        sql = (
            "SELECT o.site_id, s.city_code, o.parameter, o.period, o.time, o.value, p.unit, "
            "o.flag, o.source FROM observations o JOIN sites s USING (site_id) "
            "LEFT JOIN parameters p USING (parameter) WHERE true"
            + where
            + " ORDER BY o.site_id, o.parameter, o.period, o.time"
        )
        if limit is not None:
            sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
        return self.con.execute(sql, params).df()

    def count_observations(self, **filters: Any) -> int:
        params: list[Any] = []
        where = self._observation_filter(
            params,
            **{
                k: filters.get(k)
                for k in ("sites", "cities", "parameters", "periods", "start", "end")
            },
        )
        row = _first(
            self.con.execute(
                "SELECT count(*) FROM observations o JOIN sites s USING (site_id) WHERE true"
                + where,
                params,
            )
        )
        return int(row[0]) if row else 0

    def export_observations(self, path: str | Path, fmt: str, **filters: Any) -> int:
        """Write observations to CSV (one file, UTF-8) or Parquet (Hive-partitioned by
        year/month/city under ``path``). Returns the number of rows written.

        Rows carry both the UTC instant and the China Standard Time hour-ending label.
        """
        params: list[Any] = []
        where = self._observation_filter(
            params,
            **{
                k: filters.get(k)
                for k in ("sites", "cities", "parameters", "periods", "start", "end")
            },
        )
        select = (
            "SELECT o.site_id, s.city_code AS city, o.parameter, o.period, o.time AS time_utc, "
            "strftime(o.time + INTERVAL 8 HOUR, '%Y-%m-%d %H:%M') AS time_cst, o.value, "
            "p.unit, o.flag, o.source, "
            "year(o.time + INTERVAL 7 HOUR) AS year, month(o.time + INTERVAL 7 HOUR) AS month "
            "FROM observations o JOIN sites s USING (site_id) "
            "LEFT JOIN parameters p USING (parameter) WHERE true"
            + where
            + " ORDER BY o.site_id, o.parameter, o.time"
        )
        n = _first(self.con.execute(f"SELECT count(*) FROM ({select})", params))
        target = str(path).replace("'", "''")
        if fmt == "csv":
            self.con.execute(
                f"COPY (SELECT * EXCLUDE (year, month) FROM ({select})) TO '{target}' "
                "(FORMAT csv, HEADER true)",
                params,
            )
        elif fmt == "parquet":
            self.con.execute(
                f"COPY ({select}) TO '{target}' "
                "(FORMAT parquet, PARTITION_BY (year, month, city), OVERWRITE_OR_IGNORE true)",
                params,
            )
        else:
            raise ValueError(f"unknown export format {fmt!r}: use csv or parquet")
        return int(n[0]) if n else 0

    # -- meteorology ---------------------------------------------------------------------------
    def write_meteorology(self, frame: pd.DataFrame, source: str) -> WriteCounts:
        """Upsert city meteorology (city_code, parameter, period, time, value)."""
        if frame.empty:
            return WriteCounts()
        batch = frame[["city_code", "parameter", "period", "time", "value"]].copy()
        batch["source"] = source
        batch["ingested_at"] = _now()
        with self.transaction(), self._registered(met_in=batch):
            row = _first(
                self.con.execute(
                    "SELECT count(*), count(*) FILTER (WHERE m.value IS NOT DISTINCT FROM b.value) "
                    "FROM met_in b JOIN meteorology m USING (city_code, parameter, period, time)"
                )
            )
            assert row is not None
            self.con.execute(
                "INSERT INTO meteorology SELECT * FROM met_in "
                "ON CONFLICT (city_code, parameter, period, time) DO UPDATE SET "
                "value = excluded.value, source = excluded.source, ingested_at = excluded.ingested_at"
            )
        existing, unchanged = int(row[0]), int(row[1])
        return WriteCounts(len(batch) - existing, existing - unchanged, unchanged)

    def meteorology(self, *, cities: Sequence[int] | None = None) -> pd.DataFrame:
        params: list[Any] = []
        sql = "SELECT * FROM meteorology WHERE true" + _in_list("city_code", cities, params)
        return self.con.execute(sql + " ORDER BY city_code, parameter, time", params).df()

    # -- rejected records and batches ---------------------------------------------------------
    def reject(self, records: pd.DataFrame, batch_id: str | None = None) -> int:
        """Keep bad records aside with their reason (columns source, record_ref, reason_code,
        reason, raw). A record already on file for the same reason is not added twice, so a
        re-import changes nothing. Returns the number of new entries."""
        if records.empty:
            return 0
        frame = records[["source", "record_ref", "reason_code", "reason", "raw"]].copy()
        frame["batch_id"] = batch_id
        frame["rejected_at"] = _now()
        frame = frame.drop_duplicates(["source", "record_ref", "reason_code"])
        before = self._count("rejected")
        with self._registered(rejected_in=frame):
            self.con.execute("INSERT OR IGNORE INTO rejected SELECT * FROM rejected_in")
        return self._count("rejected") - before

    def rejected(self, *, source: str | None = None, limit: int | None = None) -> pd.DataFrame:
        params: list[Any] = []
        sql = "SELECT * FROM rejected WHERE true" + _in_list(
            "source", [source] if source else None, params
        )
        sql += " ORDER BY rejected_at, source, record_ref"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return self.con.execute(sql, params).df()

    def rejected_summary(self) -> pd.DataFrame:
        return self.con.execute(
            "SELECT reason_code, count(*) AS n FROM rejected GROUP BY 1 ORDER BY 2 DESC"
        ).df()

    def begin_batch(self, kind: str, source: str) -> str:
        batch_id = uuid.uuid4().hex[:12]
        self.con.execute(
            "INSERT INTO import_batches VALUES (?, ?, ?, ?, NULL, NULL)",
            [batch_id, kind, source, _now()],
        )
        return batch_id

    def finish_batch(self, batch_id: str, counts: dict[str, Any]) -> None:
        self.con.execute(
            "UPDATE import_batches SET finished_at = ?, counts = ? WHERE batch_id = ?",
            [_now(), json.dumps(counts, ensure_ascii=False), batch_id],
        )

    # -- small helpers -------------------------------------------------------------------------
    def _count(self, table: str) -> int:
        row = _first(self.con.execute(f"SELECT count(*) FROM {table}"))
        return int(row[0]) if row else 0

    def summary(self) -> dict[str, Any]:
        """Row counts and the observed time span, for status lines and the API."""
        span = _first(self.con.execute("SELECT min(time), max(time) FROM observations"))
        return {
            "schema_version": self.schema_version,
            "cities_in_region": len(self.cities(region_only=True)),
            "sites": self._count("sites"),
            "observations": self._count("observations"),
            "meteorology": self._count("meteorology"),
            "rejected": self._count("rejected"),
            "first_time": span[0] if span else None,
            "last_time": span[1] if span else None,
        }

    def execute(self, sql: str, params: Iterable[Any] | None = None) -> pd.DataFrame:
        """Run a read query and return a DataFrame (for the shell's reports and tests)."""
        return self.con.execute(sql, list(params) if params else []).df()
