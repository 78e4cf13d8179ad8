"""SQL of the air-quality products: the ``aqi_hourly`` and ``aqi_daily`` tables (migration 2).

Every function takes the :class:`~ecobasin.store.Store` or a cursor (``Store.cursor()``, one per
thread) first. Reads return DataFrames with tz-aware UTC times (read as naive UTC ``TIMESTAMP``
and localised in pandas, see :mod:`ecobasin.store.queries`). Writes replace rows by key: the
affected keys are deleted and the new rows inserted in one transaction, so a recompute never
leaves a mix of old and new rows.

Keys
----
``aqi_hourly``: (scope, scope_id, time); ``aqi_daily``: (scope, scope_id, day). ``scope`` is
``'site'`` (scope_id = site_id) or ``'city'`` (scope_id = the GB/T 2260 city code as text);
``time`` is the UTC instant the hour ends; ``day`` is the China Standard Time day (hours
labelled 01:00 … 24:00, HJ 663-2013 §3).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
import pyarrow as pa

from ecobasin.standards.air_assessment import rows
from ecobasin.store import _sql
from ecobasin.store._sql import Connection, Cursor
from ecobasin.store.database import Store
from ecobasin.store.lake_read import source
from ecobasin.store.queries import as_utc, in_list

__all__ = [
    "AIR_PARAMETERS",
    "DAILY_COLUMNS",
    "HOURLY_COLUMNS",
    "INVALID_FLAGS",
    "SERIES_DAILY",
    "SERIES_HOURLY",
    "SNAPSHOT_DAILY",
    "SNAPSHOT_HOURLY",
    "air_hourly",
    "air_site_days",
    "air_stations",
    "aqi_at",
    "aqi_counts",
    "aqi_daily",
    "aqi_extent",
    "aqi_generation",
    "aqi_hourly",
    "aqi_latest",
    "aqi_page",
    "bump_generation",
    "city_aqi_span",
    "known_scope_ids",
    "parameter_labels",
    "replace_aqi",
    "sites_fingerprint",
]

#: Hourly ambient-air parameters the AQI uses (period '1h'; CO in mg/m³, the others µg/m³).
AIR_PARAMETERS: tuple[str, ...] = ("SO2", "NO2", "CO", "O3", "PM10", "PM2.5")
#: HJ 212-2017 data flags that mark a value unfit for statistics (F stopped, M maintenance,
#: D fault, C calibration, B communication failure, T above the instrument range). Values with
#: these flags are left out, as GB 3095-2012 §6 (Table 4) admits only valid data; NULL, ``N``
#: (normal) and any other source flag count as valid.
INVALID_FLAGS: tuple[str, ...] = ("F", "M", "D", "C", "B", "T")

_AQI_COMMON = rows.AQI_COMMON
#: Columns of ``aqi_hourly`` in table order (the rows :mod:`ecobasin.standards.air_assessment`
#: computes).
HOURLY_COLUMNS = rows.HOURLY_COLUMNS
#: Columns of ``aqi_daily`` in table order.
DAILY_COLUMNS = rows.DAILY_COLUMNS


# Process-wide count of AQI writes: readers that cache answers (the web API's map) key them by
# it. DuckDB lets one process write a file, so every change a reader of that file can see is
# made in this process, through replace_aqi.
_writes = itertools.count(1)
_generation = 0
_generation_lock = threading.Lock()


def aqi_generation() -> int:
    """How many AQI writes this process has made: a cache key that changes on every write."""
    return _generation


def bump_generation() -> None:
    """Make the cached AQI answers stale: rows left the store (:mod:`ecobasin.store.lake`)."""
    _bump_generation()


def _bump_generation() -> None:
    global _generation
    with _generation_lock:
        _generation = next(_writes)


def _bound(value: datetime | None, params: list[Any], sql: str) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        raise ValueError(f"time bounds must be tz-aware, got {value!r}")
    params.append(value)
    return sql


# -------------------------------------------------------------------------------------------
# inputs: observations
# -------------------------------------------------------------------------------------------


def air_hourly(
    where: Connection,
    *,
    sites: Sequence[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    cities: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Hourly air observations, one row per site and hour, one column per pollutant.

    Parameters
    ----------
    where : Store or cursor
    sites : sequence of str, optional
        Site ids (None: every site).
    start, end : datetime, optional
        Inclusive tz-aware bounds on the hour-ending instant; they also choose the lake's
        months read (:func:`ecobasin.store.lake_read.source`).
    cities : sequence of str, optional
        GB/T 2260 codes of the cities of ``sites``: only those cities' lake partitions are
        read (the city a site had when its month was exported, as a Dask worker reads them).

    Returns
    -------
    pandas.DataFrame
        ``site_id``, ``time`` (tz-aware UTC, hour-ending) and ``SO2, NO2, CO, O3, PM10, PM2.5``
        [µg/m³] (CO [mg/m³]), NaN where absent or flagged invalid (:data:`INVALID_FLAGS`);
        ordered by site and time.
    """
    params: list[Any] = []
    pivot = ", ".join(
        f"max(o.value) FILTER (WHERE o.parameter = '{p}') AS \"{p}\"" for p in AIR_PARAMETERS
    )
    cond = in_list("o.site_id", sites, params)
    cond += _bound(start, params, " AND o.time >= ?")
    cond += _bound(end, params, " AND o.time <= ?")
    params.append(list(INVALID_FLAGS))
    con = _sql.cursor_of(where)
    # the lake's months of the period only (not a filter over its whole table per read)
    period = None if start is None and end is None else (start, end)
    sql = (
        f"SELECT o.site_id, o.time::TIMESTAMP AS time, {pivot} "
        f"FROM {source(con, 'observations', period=period, cities=cities)} o "
        f"WHERE o.period = '1h' AND o.parameter IN ({', '.join(repr(p) for p in AIR_PARAMETERS)})"
        f"{cond} AND (o.flag IS NULL OR NOT (o.flag = ANY(?))) "
        "GROUP BY o.site_id, o.time ORDER BY o.site_id, o.time"
    )
    frame = as_utc(con.execute(sql, params).df(), "time")
    for p in AIR_PARAMETERS:
        frame[p] = frame[p].astype("float64")
    return frame


def air_site_days(where: Connection, *, kinds: Sequence[str] = ("air_station",)) -> pd.DataFrame:
    """Every (site, CST day) holding hourly air observations: what a full refresh recomputes.

    Returns
    -------
    pandas.DataFrame
        ``site_id`` and ``day`` (``datetime.date``, the CST day of the hour-ending instant:
        ``(time + 8 h - 1 h)::DATE``), sorted.
    """
    params: list[Any] = [list(kinds)]
    sql = (
        "SELECT DISTINCT o.site_id, (o.time::TIMESTAMP + INTERVAL 7 HOUR)::DATE AS day "
        "FROM observations o JOIN sites s USING (site_id) "
        f"WHERE o.period = '1h' AND o.parameter IN ({', '.join(repr(p) for p in AIR_PARAMETERS)})"
        " AND s.kind = ANY(?) ORDER BY 1, 2"
    )
    rows = _sql.cursor_of(where).execute(sql, params).fetchall()
    return pd.DataFrame(rows, columns=["site_id", "day"])


# -------------------------------------------------------------------------------------------
# outputs: aqi_hourly, aqi_daily
# -------------------------------------------------------------------------------------------


def _arrow(frame: pd.DataFrame, columns: Sequence[str]) -> pa.Table:
    out = frame.reindex(columns=list(columns)).copy()
    for c in ("rule_set", "primary_pollutant", "exceeding"):
        out[c] = out[c].astype(object).where(out[c].notna(), None)
    for c in ("time", "computed_at"):
        if c in out:
            out[c] = pd.to_datetime(out[c], utc=True).astype("datetime64[us, UTC]")
    return pa.Table.from_pandas(out, preserve_index=False)


def replace_aqi(
    store: Store,
    *,
    hourly_keys: pd.DataFrame,
    daily_keys: pd.DataFrame,
    hourly: pd.DataFrame,
    daily: pd.DataFrame,
) -> dict[str, int]:
    """Replace the AQI rows of the given keys, in one transaction.

    Parameters
    ----------
    store : Store
    hourly_keys : pandas.DataFrame
        ``scope``, ``scope_id``, ``start``, ``end`` (tz-aware, inclusive): every
        ``aqi_hourly`` row of that scope id with ``start <= time <= end`` is deleted.
    daily_keys : pandas.DataFrame
        ``scope``, ``scope_id``, ``day``: the ``aqi_daily`` rows deleted.
    hourly, daily : pandas.DataFrame
        New rows (columns :data:`HOURLY_COLUMNS` / :data:`DAILY_COLUMNS`); they must lie
        within the keys.

    Returns
    -------
    dict
        ``hourly_deleted``, ``hourly_inserted``, ``daily_deleted``, ``daily_inserted``.
    """
    con = store.con
    counts = {"hourly_deleted": 0, "hourly_inserted": 0, "daily_deleted": 0, "daily_inserted": 0}
    hk = hourly_keys[["scope", "scope_id", "start", "end"]].reset_index(drop=True)
    for c in ("start", "end"):
        hk[c] = pd.to_datetime(hk[c], utc=True).astype("datetime64[us, UTC]")
    dk = daily_keys[["scope", "scope_id", "day"]].reset_index(drop=True)
    names = ("aqi_hourly_keys", "aqi_daily_keys", "aqi_hourly_in", "aqi_daily_in")
    tables = (
        pa.Table.from_pandas(hk, preserve_index=False),
        pa.Table.from_pandas(dk, preserve_index=False),
        _arrow(hourly, HOURLY_COLUMNS),
        _arrow(daily, DAILY_COLUMNS),
    )
    for name, table in zip(names, tables, strict=True):
        con.register(name, table)
    try:
        with store.transaction():
            if len(hk):
                row = con.execute(
                    "DELETE FROM aqi_hourly a USING aqi_hourly_keys k WHERE a.scope = k.scope "
                    "AND a.scope_id = k.scope_id "
                    "AND a.time BETWEEN k.start::TIMESTAMPTZ AND k.end::TIMESTAMPTZ"
                ).fetchall()
                counts["hourly_deleted"] = int(row[0][0]) if row else 0
            if len(dk):
                row = con.execute(
                    "DELETE FROM aqi_daily a USING aqi_daily_keys k WHERE a.scope = k.scope "
                    "AND a.scope_id = k.scope_id AND a.day = k.day::DATE"
                ).fetchall()
                counts["daily_deleted"] = int(row[0][0]) if row else 0
            if len(hourly):
                con.execute("INSERT INTO aqi_hourly BY NAME SELECT * FROM aqi_hourly_in")
                counts["hourly_inserted"] = len(hourly)
            if len(daily):
                con.execute("INSERT INTO aqi_daily BY NAME SELECT * FROM aqi_daily_in")
                counts["daily_inserted"] = len(daily)
    finally:
        for name in names:
            con.unregister(name)
        _bump_generation()  # committed or rolled back: cached answers are stale either way
    return counts


def _aqi_select(columns: Sequence[str], time_column: str) -> str:
    parts = []
    for c in columns:
        if c == "primary_pollutant":
            parts.append('primary_pollutant AS "primary"')
        elif c in ("time", "computed_at"):
            parts.append(f"{c}::TIMESTAMP AS {c}")
        else:
            parts.append(c)
    return ", ".join(parts)


def _read_aqi(
    where: Connection,
    table: str,
    columns: Sequence[str],
    key: str,
    scope: str,
    ids: Sequence[str] | None,
    start: date | datetime | None,
    end: date | datetime | None,
) -> pd.DataFrame:
    """Rows of one AQI table for a scope, optional ids and an inclusive range on ``key``."""
    params: list[Any] = [scope]
    cond = in_list("scope_id", ids, params)
    for bound, op in ((start, ">="), (end, "<=")):
        if bound is not None:
            params.append(bound)
            cond += f" AND {key} {op} ?"
    con = _sql.cursor_of(where)
    sql = (
        f"SELECT {_aqi_select(columns, key)} FROM {source(con, table)} WHERE scope = ?{cond} "
        f"ORDER BY scope_id, {key}"
    )
    return con.execute(sql, params).df()


def aqi_hourly(
    where: Connection,
    *,
    scope: str = "site",
    ids: Sequence[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> pd.DataFrame:
    """Stored hourly (real-time report) AQI rows, ordered by scope id and time.

    Parameters
    ----------
    where : Store or cursor
    scope : {"site", "city"}
    ids : sequence of str, optional
        Site ids or city codes (as text); None: all.
    start, end : datetime, optional
        Inclusive tz-aware bounds on the hour-ending instant.

    Returns
    -------
    pandas.DataFrame
        The :data:`HOURLY_COLUMNS` with ``primary_pollutant`` named ``primary``; ``time`` and
        ``computed_at`` tz-aware UTC.
    """
    for bound in (start, end):
        if bound is not None and bound.tzinfo is None:
            raise ValueError(f"time bounds must be tz-aware, got {bound!r}")
    frame = _read_aqi(where, "aqi_hourly", HOURLY_COLUMNS, "time", scope, ids, start, end)
    return as_utc(frame, "time", "computed_at")


def aqi_daily(
    where: Connection,
    *,
    scope: str = "site",
    ids: Sequence[str] | None = None,
    start: date | None = None,
    end: date | None = None,
) -> pd.DataFrame:
    """Stored daily AQI rows, ordered by scope id and day.

    Parameters
    ----------
    where : Store or cursor
    scope : {"site", "city"}
    ids : sequence of str, optional
    start, end : datetime.date, optional
        Inclusive CST days.

    Returns
    -------
    pandas.DataFrame
        The :data:`DAILY_COLUMNS` with ``primary_pollutant`` named ``primary``; ``day`` as
        ``datetime64`` (midnight, naive: a local calendar day), ``computed_at`` tz-aware UTC.
    """
    frame = _read_aqi(where, "aqi_daily", DAILY_COLUMNS, "day", scope, ids, start, end)
    frame = as_utc(frame, "computed_at")
    frame["day"] = pd.to_datetime(frame["day"])
    return frame


def aqi_counts(where: Connection) -> dict[str, int]:
    """Row counts of the AQI tables by scope: ``hourly_site``, ``hourly_city``, ``daily_site``,
    ``daily_city``."""
    con = _sql.cursor_of(where)
    out = {f"{t}_{s}": 0 for t in ("hourly", "daily") for s in ("site", "city")}
    for table in ("hourly", "daily"):
        for scope, n in con.execute(
            f"SELECT scope, count(*) FROM aqi_{table} GROUP BY scope"
        ).fetchall():
            out[f"{table}_{scope}"] = int(n)
    return out


def aqi_latest(where: Connection, *, daily: bool, scope: str) -> Any:
    """The latest stored hour (tz-aware UTC ``Timestamp``) or day (``datetime.date``) of a
    scope, None when the table holds none."""
    con = _sql.cursor_of(where)
    if daily:
        sql = f"SELECT max(day) FROM {source(con, 'aqi_daily')} WHERE scope = ?"
        rows = con.execute(sql, [scope]).fetchall()
        return rows[0][0] if rows else None
    rows = con.execute(
        f"SELECT max(time)::TIMESTAMP FROM {source(con, 'aqi_hourly')} WHERE scope = ?", [scope]
    ).fetchall()
    if not rows or rows[0][0] is None:
        return None
    return pd.Timestamp(rows[0][0], tz="UTC")


# -------------------------------------------------------------------------------------------
# reads for the web API: plain rows (dicts), no DataFrames, so a map payload costs one small
# scan and a few microseconds of Python per station
# -------------------------------------------------------------------------------------------

_SNAPSHOT_COMMON = (
    "scope",
    "scope_id",
    "rule_set",
    "aqi",
    "level",
    "primary_pollutant",
    "publish_aqi",
    "n_stations",
)
#: Columns of a one-hour snapshot (:func:`aqi_at` with ``hour``): real-time report values.
SNAPSHOT_HOURLY: tuple[str, ...] = (
    *_SNAPSHOT_COMMON,
    "so2_1h",
    "no2_1h",
    "co_1h",
    "o3_1h",
    "pm10_1h",
    "pm25_1h",
    "o3_8h",
    "pm10_24h",
    "pm25_24h",
)
#: Columns of a one-day snapshot (:func:`aqi_at` with ``day``): daily report values.
SNAPSHOT_DAILY: tuple[str, ...] = (
    *_SNAPSHOT_COMMON,
    "so2",
    "no2",
    "co",
    "pm10",
    "pm25",
    "o3_8h",
    "o3_1h",
)
_SERIES_FLAGS = ("exceeding", "incomplete", "over_range")
_IAQI = tuple(c for c in _AQI_COMMON if c.startswith("iaqi_"))
#: Columns of an hourly series page (:func:`aqi_page`), ``time`` as a tz-aware UTC datetime.
SERIES_HOURLY: tuple[str, ...] = (
    "scope_id",
    "time",
    *SNAPSHOT_HOURLY[2:],
    "so2_24h",
    *_SERIES_FLAGS,
    *_IAQI,
)
#: Columns of a daily series page (:func:`aqi_page`), ``day`` as a ``datetime.date``.
SERIES_DAILY: tuple[str, ...] = ("scope_id", "day", *SNAPSHOT_DAILY[2:], *_SERIES_FLAGS, *_IAQI)


def _dicts(con: Cursor, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    """Rows as dicts; ``time`` columns (read as naive UTC) made tz-aware UTC."""
    result = con.execute(sql, params)
    names = [d[0] for d in result.description or ()]
    rows = [dict(zip(names, row, strict=True)) for row in result.fetchall()]
    if "time" in names:
        for row in rows:
            row["time"] = row["time"].replace(tzinfo=UTC)
    return rows


def _columns(columns: Sequence[str]) -> str:
    return ", ".join("time::TIMESTAMP AS time" if c == "time" else c for c in columns)


def aqi_at(
    where: Connection, *, hour: datetime | None = None, day: date | None = None
) -> list[dict[str, Any]]:
    """Every stored AQI row (stations and cities) of one hour or one day.

    Parameters
    ----------
    where : Store or cursor
    hour : datetime, optional
        Tz-aware hour-ending instant (real-time report, :data:`SNAPSHOT_HOURLY`).
    day : datetime.date, optional
        CST day (daily report, :data:`SNAPSHOT_DAILY`). Give exactly one of the two.

    Returns
    -------
    list of dict
        One dict per row; concentrations [µg/m³] (CO [mg/m³]), NULL → None.
    """
    if (hour is None) == (day is None):
        raise ValueError("give exactly one of hour and day")
    con = _sql.cursor_of(where)
    if hour is not None:
        if hour.tzinfo is None:
            raise ValueError(f"hour must be tz-aware, got {hour!r}")
        sql = f"SELECT {_columns(SNAPSHOT_HOURLY)} FROM {source(con, 'aqi_hourly')} WHERE time = ?"
        return _dicts(con, sql, [hour])
    sql = f"SELECT {_columns(SNAPSHOT_DAILY)} FROM {source(con, 'aqi_daily')} WHERE day = ?"
    return _dicts(con, sql, [day])


def aqi_extent(where: Connection, now: datetime | None = None) -> dict[str, Any]:
    """First and latest stored hour (tz-aware UTC) and day (CST ``date``); None when empty.

    "Latest" never runs ahead of the clock: it is the latest of each city's own latest hour
    at or before ``now`` (default: the clock), so one city's value dated 2099 cannot move the
    region's picture; days likewise end at ``now``'s China Standard Time day.

    Returns
    -------
    dict
        ``first_hour``, ``latest_hour``, ``first_day``, ``latest_day``.
    """
    clock = now if now is not None else datetime.now(UTC)
    today = (clock + timedelta(hours=8)).date()  # CST day of the clock
    con = _sql.cursor_of(where)
    hourly, daily = source(con, "aqi_hourly"), source(con, "aqi_daily")
    rows = con.execute(
        f"SELECT (SELECT min(time)::TIMESTAMP FROM {hourly}), "
        "(SELECT max(latest)::TIMESTAMP FROM (SELECT scope, scope_id, max(time) AS latest "
        f" FROM {hourly} WHERE time <= ? GROUP BY scope, scope_id) "
        f" WHERE scope = 'city' OR NOT EXISTS (SELECT 1 FROM {hourly} WHERE scope = 'city'"
        " AND time <= ?)), "
        f"(SELECT min(day) FROM {daily}), "
        f"(SELECT max(day) FROM {daily} WHERE day <= ?)",
        [clock, clock, today],
    ).fetchall()
    first_hour, latest_hour, first_day, latest_day = rows[0]
    return {
        "first_hour": None if first_hour is None else first_hour.replace(tzinfo=UTC),
        "latest_hour": None if latest_hour is None else latest_hour.replace(tzinfo=UTC),
        "first_day": first_day,
        "latest_day": latest_day,
    }


def aqi_page(
    where: Connection,
    *,
    daily: bool,
    scope: str,
    ids: Sequence[str] | None = None,
    start: date | datetime | None = None,
    end: date | datetime | None = None,
    after: tuple[str, date | datetime] | None = None,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    """One page of an AQI series, ordered by scope id and time (keyset paging).

    Parameters
    ----------
    where : Store or cursor
    daily : bool
        ``aqi_daily`` (:data:`SERIES_DAILY`) or ``aqi_hourly`` (:data:`SERIES_HOURLY`).
    scope : {"site", "city"}
    ids : sequence of str, optional
        Site ids or city codes as text (None: all).
    start, end : date or datetime, optional
        Inclusive bounds on ``day`` (dates) or ``time`` (tz-aware instants).
    after : (str, date or datetime), optional
        The key of the last row of the previous page; this page starts after it.
    limit : int
        Rows in the page.
    """
    key = "day" if daily else "time"
    params: list[Any] = [scope]
    cond = in_list("scope_id", ids, params)
    for bound, op in ((start, ">="), (end, "<=")):
        if bound is not None:
            params.append(bound)
            cond += f" AND {key} {op} ?"
    if after is not None:
        params.extend([after[0], after[0], after[1]])
        cond += f" AND (scope_id > ? OR (scope_id = ? AND {key} > ?))"
    params.append(int(limit))
    columns = SERIES_DAILY if daily else SERIES_HOURLY
    con = _sql.cursor_of(where)
    table = source(con, "aqi_daily" if daily else "aqi_hourly")
    sql = (
        f"SELECT {_columns(columns)} FROM {table} WHERE scope = ?{cond} "
        f"ORDER BY scope_id, {key} LIMIT ?"
    )
    return _dicts(con, sql, params)


def air_stations(where: Connection, cities: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """Air-quality stations (kind ``air_station``) ordered by city and site id: ``site_id``,
    ``name_zh``, ``name_en``, ``city_code``, ``lon`` [°E], ``lat`` [°N] (WGS-84)."""
    params: list[Any] = []
    sql = (
        "SELECT site_id, name_zh, name_en, city_code, lon, lat FROM sites "
        "WHERE kind = 'air_station'" + in_list("city_code", cities, params)
    )
    return _dicts(_sql.cursor_of(where), sql + " ORDER BY city_code, site_id", params)


def parameter_labels(where: Connection) -> dict[str, tuple[str, str, str]]:
    """``parameter → (name_zh, name_en, unit)`` of the AQI pollutants (:data:`AIR_PARAMETERS`)."""
    rows = (
        _sql.cursor_of(where)
        .execute(
            "SELECT parameter, name_zh, name_en, unit FROM parameters WHERE parameter = ANY(?)",
            [list(AIR_PARAMETERS)],
        )
        .fetchall()
    )
    return {str(p): (str(zh), str(en), str(unit)) for p, zh, en, unit in rows}


def known_scope_ids(where: Connection, scope: str, ids: Sequence[str]) -> set[str]:
    """Those of ``ids`` that name an air station (scope ``site``) or a city (``city``)."""
    if not ids:
        return set()
    if scope == "site":
        sql = "SELECT site_id FROM sites WHERE kind = 'air_station' AND site_id = ANY(?)"
    else:
        sql = "SELECT code::VARCHAR FROM cities WHERE code::VARCHAR = ANY(?)"
    return {str(row[0]) for row in _sql.cursor_of(where).execute(sql, [list(ids)]).fetchall()}


def sites_fingerprint(where: Connection) -> tuple[Any, ...]:
    """What changes when a site is added, changed or removed, or a parameter added: the number
    of sites, their latest ``updated_at`` and the number of parameters."""
    rows = (
        _sql.cursor_of(where)
        .execute("SELECT count(*), max(updated_at), (SELECT count(*) FROM parameters) FROM sites")
        .fetchall()
    )
    return tuple(rows[0])


def city_aqi_span(where: Connection) -> tuple[datetime, datetime] | None:
    """First and last hour-ending instant (naive UTC) of the stored city AQI; None when there
    is none."""
    con = _sql.cursor_of(where)
    rows = con.execute(
        "SELECT min(time)::TIMESTAMP, max(time)::TIMESTAMP "
        f"FROM {source(con, 'aqi_hourly')} WHERE scope = 'city'"
    ).fetchall()
    if not rows or rows[0][0] is None:
        return None
    return rows[0][0], rows[0][1]
