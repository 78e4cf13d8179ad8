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

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from ecobasin.store.database import Store
from ecobasin.store.queries import as_utc, in_list

__all__ = [
    "AIR_PARAMETERS",
    "DAILY_COLUMNS",
    "HOURLY_COLUMNS",
    "INVALID_FLAGS",
    "air_hourly",
    "air_site_days",
    "aqi_counts",
    "aqi_daily",
    "aqi_hourly",
    "aqi_latest",
    "replace_aqi",
]

#: Hourly ambient-air parameters the AQI uses (period '1h'; CO in mg/m³, the others µg/m³).
AIR_PARAMETERS: tuple[str, ...] = ("SO2", "NO2", "CO", "O3", "PM10", "PM2.5")
#: HJ 212-2017 data flags that mark a value unfit for statistics (F stopped, M maintenance,
#: D fault, C calibration, B communication failure, T above the instrument range). Values with
#: these flags are left out, as GB 3095-2012 §6 (Table 4) admits only valid data; NULL, ``N``
#: (normal) and any other source flag count as valid.
INVALID_FLAGS: tuple[str, ...] = ("F", "M", "D", "C", "B", "T")

_AQI_COMMON = (
    "rule_set",
    "aqi",
    "level",
    "primary_pollutant",
    "exceeding",
    "publish_aqi",
    "incomplete",
    "over_range",
    "iaqi_so2",
    "iaqi_no2",
    "iaqi_pm10",
    "iaqi_co",
    "iaqi_o3_1h",
    "iaqi_o3_8h",
    "iaqi_pm25",
)
#: Columns of ``aqi_hourly`` in table order.
HOURLY_COLUMNS: tuple[str, ...] = (
    "scope",
    "scope_id",
    "time",
    *_AQI_COMMON,
    "so2_1h",
    "no2_1h",
    "co_1h",
    "o3_1h",
    "pm10_1h",
    "pm25_1h",
    "o3_8h",
    "pm10_24h",
    "pm25_24h",
    "so2_24h",
    "n_stations",
    "computed_at",
)
#: Columns of ``aqi_daily`` in table order.
DAILY_COLUMNS: tuple[str, ...] = (
    "scope",
    "scope_id",
    "day",
    "rule_set",
    "so2",
    "no2",
    "co",
    "pm10",
    "pm25",
    "o3_8h",
    "o3_1h",
    "n_so2",
    "n_no2",
    "n_co",
    "n_pm10",
    "n_pm25",
    "n_o3",
    "n_o3_8h",
    *_AQI_COMMON[1:],
    "n_stations",
    "computed_at",
)

Connection = Store | duckdb.DuckDBPyConnection


def _con(where: Connection) -> duckdb.DuckDBPyConnection:
    return where.con if isinstance(where, Store) else where


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
) -> pd.DataFrame:
    """Hourly air observations, one row per site and hour, one column per pollutant.

    Parameters
    ----------
    where : Store or cursor
    sites : sequence of str, optional
        Site ids (None: every site).
    start, end : datetime, optional
        Inclusive tz-aware bounds on the hour-ending instant.

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
    sql = (
        f"SELECT o.site_id, o.time::TIMESTAMP AS time, {pivot} FROM observations o "
        f"WHERE o.period = '1h' AND o.parameter IN ({', '.join(repr(p) for p in AIR_PARAMETERS)})"
        f"{cond} AND (o.flag IS NULL OR NOT (o.flag = ANY(?))) "
        "GROUP BY o.site_id, o.time ORDER BY o.site_id, o.time"
    )
    frame = as_utc(_con(where).execute(sql, params).df(), "time")
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
    rows = _con(where).execute(sql, params).fetchall()
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
    sql = (
        f"SELECT {_aqi_select(columns, key)} FROM {table} WHERE scope = ?{cond} "
        f"ORDER BY scope_id, {key}"
    )
    return _con(where).execute(sql, params).df()


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
    con = _con(where)
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
    con = _con(where)
    if daily:
        rows = con.execute("SELECT max(day) FROM aqi_daily WHERE scope = ?", [scope]).fetchall()
        return rows[0][0] if rows else None
    rows = con.execute(
        "SELECT max(time)::TIMESTAMP FROM aqi_hourly WHERE scope = ?", [scope]
    ).fetchall()
    if not rows or rows[0][0] is None:
        return None
    return pd.Timestamp(rows[0][0], tz="UTC")
