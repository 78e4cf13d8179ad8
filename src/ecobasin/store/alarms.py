"""SQL of the alarms: the ``alarms`` and ``permit_limits`` tables (migration 4).

Every function takes the :class:`~ecobasin.store.Store` or a cursor (``Store.cursor()``, one per
thread) first; writes take the Store (one transaction). Times are tz-aware UTC.

A recompute (:func:`replace_alarms`) replaces the episodes of some sites that end at or after a
time ``since`` (or are open) by the recomputed ones, in one transaction. Alarm ids are stable
(:func:`ecobasin.alarms.alarm_id`), so an episode found again keeps its ``created_at`` and, when
nothing about it changed, its ``updated_at``: open episodes are extended or closed in place,
never duplicated.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from ecobasin.alarms.engine import ALARM_COLUMNS
from ecobasin.store import _sql
from ecobasin.store._sql import Connection, Cursor
from ecobasin.store.database import Store, WriteCounts
from ecobasin.store.lake_read import source
from ecobasin.store.queries import in_list

__all__ = [
    "ALARM_TABLE_COLUMNS",
    "AlarmFilter",
    "alarm",
    "alarm_inputs",
    "alarms",
    "count_alarms",
    "device_intervals",
    "observed_sites",
    "permit_limits",
    "recompute_since",
    "replace_alarms",
    "replace_permit_limits",
]

#: Columns of the ``alarms`` table in order.
ALARM_TABLE_COLUMNS = (*ALARM_COLUMNS, "created_at", "updated_at")
#: Columns whose change makes an episode "updated".
_CONTENT = ("end_time", "status", "peak", "limit_value", "multiple", "periods", "evidence")


@dataclass(frozen=True)
class AlarmFilter:
    """Which alarms to read; empty or ``None`` members do not filter.

    ``start``/``end`` (tz-aware, inclusive) keep alarms whose episode overlaps them (an open
    episode lasts until now). ``status`` is ``open`` or ``closed``.
    """

    sites: Sequence[str] | None = None
    cities: Sequence[int] | None = None
    kinds: Sequence[str] | None = None
    parameters: Sequence[str] | None = None
    status: str | None = None
    start: datetime | None = None
    end: datetime | None = None

    def where(self, params: list[Any]) -> str:
        sql = (
            in_list("a.site_id", self.sites, params)
            + in_list("a.city_code", self.cities, params)
            + in_list("a.kind", self.kinds, params)
            + in_list("a.parameter", self.parameters, params)
        )
        if self.status:
            params.append(self.status)
            sql += " AND a.status = ?"
        if self.start is not None:
            params.append(self.start)
            sql += " AND (a.end_time IS NULL OR a.end_time >= ?)"
        if self.end is not None:
            params.append(self.end)
            sql += " AND a.start_time <= ?"
        return sql


_SELECT = (
    "SELECT a.alarm_id, a.kind, a.site_id, a.city_code, s.name_zh AS site_name_zh, "
    "s.name_en AS site_name_en, a.parameter, a.flag, a.start_time, a.end_time, a.status, "
    "a.peak, a.limit_value, a.multiple, a.periods, a.evidence::VARCHAR AS evidence, "
    "a.created_at, a.updated_at FROM alarms a LEFT JOIN sites s USING (site_id) WHERE true"
)


def alarms(
    where: Connection,
    filters: AlarmFilter | None = None,
    *,
    limit: int | None = None,
    offset: int = 0,
) -> pd.DataFrame:
    """Alarms, newest start first (then site, kind, parameter), with the site's names."""
    params: list[Any] = []
    sql = _SELECT + (filters or AlarmFilter()).where(params)
    sql += " ORDER BY a.start_time DESC, a.site_id, a.kind, a.parameter NULLS FIRST, a.alarm_id"
    if limit is not None:
        sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
    return _sql.frame(_sql.cursor_of(where), sql, params)


def count_alarms(where: Connection, filters: AlarmFilter | None = None) -> int:
    params: list[Any] = []
    sql = "SELECT count(*) FROM alarms a WHERE true" + (filters or AlarmFilter()).where(params)
    rows = _sql.cursor_of(where).execute(sql, params).fetchall()
    return int(rows[0][0])


def alarm(where: Connection, alarm_id: str) -> dict[str, Any] | None:
    """One alarm by id (evidence parsed), or None."""
    frame = _sql.frame(_sql.cursor_of(where), _SELECT + " AND a.alarm_id = ?", [alarm_id])
    if frame.empty:
        return None
    record = {str(k): v for k, v in frame.iloc[0].to_dict().items()}
    record["evidence"] = json.loads(record["evidence"])
    return record


# -- inputs of a recompute ------------------------------------------------------------------------
def recompute_since(where: Connection, site_ids: Sequence[str], since: datetime) -> datetime:
    """``since`` moved back to the start of any stored episode of these sites that straddles it,
    until none does (so a recompute from there never cuts a stored episode in two)."""
    con = _sql.cursor_of(where)
    for _ in range(100):
        rows = con.execute(
            "SELECT min(start_time) FROM alarms WHERE site_id = ANY(?) AND start_time < ? "
            "AND (end_time IS NULL OR end_time >= ?)",
            [list(site_ids), since, since],
        ).fetchall()
        if not rows or rows[0][0] is None:
            break
        since = rows[0][0]
    return since


def alarm_inputs(
    where: Connection, site_ids: Sequence[str], read_from: datetime
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(observations from ``read_from`` on, sites) of these sites, for the engine.

    observations: site_id, parameter, period, time, value, flag; sites: site_id, kind,
    city_code, attributes (JSON text).
    """
    con = _sql.cursor_of(where)
    ids = list(site_ids)
    observations = _sql.frame(
        con,
        "SELECT site_id, parameter, period, time, value, flag "
        f"FROM {source(con, 'observations')} o "  # months moved to the lake: from it
        "WHERE site_id = ANY(?) AND time >= ? ORDER BY site_id, parameter, period, time",
        [ids, read_from],
    )
    sites = _sql.frame(
        con,
        "SELECT site_id, kind, city_code, attributes::VARCHAR AS attributes FROM sites "
        "WHERE site_id = ANY(?) ORDER BY site_id",
        [ids],
    )
    return observations, sites


def device_intervals(where: Connection, site_ids: Sequence[str]) -> dict[str, float]:
    """site_id → the shortest reporting interval [s] of its enabled devices (device registry,
    migration 3); empty when the registry is not there."""
    con = _sql.cursor_of(where)
    present = con.execute(
        "SELECT count(*) FROM duckdb_columns() WHERE table_name = 'devices' "
        "AND column_name IN ('site_id', 'interval_s', 'enabled')"
    ).fetchall()
    if present[0][0] < 3:
        return {}
    rows = con.execute(
        "SELECT site_id, min(interval_s) FROM devices WHERE enabled AND interval_s > 0 "
        "AND site_id = ANY(?) GROUP BY site_id",
        [list(site_ids)],
    ).fetchall()
    return {str(site): float(interval) for site, interval in rows}


def observed_sites(
    where: Connection,
    *,
    site_ids: Sequence[str] | None = None,
    cities: Sequence[int] | None = None,
    kinds: Sequence[str] | None = None,
) -> list[str]:
    """Registered sites (optionally filtered) that have at least one observation."""
    params: list[Any] = []
    sql = (
        "SELECT s.site_id FROM sites s WHERE s.site_key IN "
        "(SELECT DISTINCT site_key FROM observation_values)"
        + in_list("s.site_id", site_ids, params)
        + in_list("s.city_code", cities, params)
        + in_list("s.kind", kinds, params)
    )
    rows = _sql.cursor_of(where).execute(sql + " ORDER BY s.site_id", params).fetchall()
    return [str(row[0]) for row in rows]


# -- writes ----------------------------------------------------------------------------------------
def replace_alarms(
    store: Store, site_ids: Sequence[str], since: datetime, frame: pd.DataFrame, now: datetime
) -> dict[str, int]:
    """Replace the sites' episodes that are open or end at or after ``since`` by ``frame``.

    Parameters
    ----------
    frame : pandas.DataFrame
        Recomputed alarms (``ecobasin.alarms.ALARM_COLUMNS``) of these sites; rows ending
        before ``since`` are ignored (the stored ones stay).
    now : datetime
        ``created_at`` of new episodes, ``updated_at`` of changed ones (the clock's time).

    Returns
    -------
    dict
        inserted, updated, unchanged, removed (stored episodes no longer found).
    """
    con = store.con
    ids = list(site_ids)
    keep = frame[frame["end_time"].isna() | (frame["end_time"] >= pd.Timestamp(since))].copy()
    scope = "site_id = ANY(?) AND (end_time IS NULL OR end_time >= ?)"
    with store.transaction():
        old = _sql.frame(
            con,
            f"SELECT alarm_id, created_at, updated_at, {', '.join(_CONTENT[:-1])}, "
            f"evidence::VARCHAR AS evidence FROM alarms WHERE {scope}",
            [ids, since],
        ).set_index("alarm_id")
        con.execute(f"DELETE FROM alarms WHERE {scope}", [ids, since])
        known = keep["alarm_id"].isin(old.index)
        same = known & _unchanged(keep, old)
        created, updated = old["created_at"].to_dict(), old["updated_at"].to_dict()
        ids = list(keep["alarm_id"])
        keep["created_at"] = pd.to_datetime(
            [created[i] if k else now for i, k in zip(ids, known, strict=True)], utc=True
        )
        keep["updated_at"] = pd.to_datetime(
            [updated[i] if k else now for i, k in zip(ids, same, strict=True)], utc=True
        )
        if not keep.empty:
            _insert_alarms(con, keep[list(ALARM_TABLE_COLUMNS)].reset_index(drop=True))
    return {
        "inserted": int((~known).sum()),
        "updated": int((known & ~same).sum()),
        "unchanged": int(same.sum()),
        "removed": int((~old.index.isin(keep["alarm_id"])).sum()),
    }


def _insert_alarms(con: Cursor, rows: pd.DataFrame) -> None:
    con.register("alarm_in", rows)
    try:
        con.execute(
            "INSERT OR REPLACE INTO alarms SELECT alarm_id, kind, site_id, city_code, "
            "parameter, flag, start_time, end_time, status, peak, limit_value, multiple, "
            "periods, evidence::JSON, created_at, updated_at FROM alarm_in"
        )
    finally:
        # after a failed insert the transaction is aborted and unregister raises too
        with contextlib.suppress(duckdb.TransactionException):
            con.unregister("alarm_in")


def _unchanged(new: pd.DataFrame, old: pd.DataFrame) -> pd.Series:
    """Per new row: whether its stored twin has the same content."""
    result = pd.Series(True, index=new.index)
    twins = old.reindex(new["alarm_id"]).set_index(new.index)
    for column in _CONTENT:
        a, b = new[column], twins[column]
        if column == "evidence":
            a = a.map(_canonical_json)
            b = b.map(_canonical_json)
        equal = (a == b) | (a.isna() & b.isna())
        result &= equal.fillna(False).astype(bool)
    return result


def _canonical_json(text: Any) -> Any:
    return json.dumps(json.loads(text), sort_keys=True) if isinstance(text, str) else text


def permit_limits(where: Connection, site_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Imported permit limits: site_id, parameter, limit, unit, basis, permit_id, note, source,
    imported_at."""
    params: list[Any] = []
    sql = (
        'SELECT site_id, parameter, limit_value AS "limit", unit, basis, permit_id, note, source, '
        "imported_at FROM permit_limits WHERE true" + in_list("site_id", site_ids, params)
    )
    return _sql.frame(_sql.cursor_of(where), sql + " ORDER BY site_id, parameter", params)


def replace_permit_limits(store: Store, frame: pd.DataFrame, source: str) -> WriteCounts:
    """Insert or replace permit limits by (site, parameter); counts new, replaced, unchanged."""
    if frame.empty:
        return WriteCounts()
    rows = frame[["site_id", "parameter", "limit", "unit", "basis", "permit_id", "note"]].copy()
    rows["source"] = source
    rows["imported_at"] = pd.Timestamp.now(tz="UTC")
    con = store.con
    con.register("permit_in", rows)
    try:
        with store.transaction():
            found = con.execute(
                'SELECT count(*), count(*) FILTER (WHERE p.limit_value = i."limit" '
                "AND p.basis = i.basis AND p.permit_id IS NOT DISTINCT FROM i.permit_id) "
                "FROM permit_in i JOIN permit_limits p USING (site_id, parameter)"
            ).fetchall()[0]
            con.execute(
                'INSERT OR REPLACE INTO permit_limits SELECT site_id, parameter, "limit", unit, '
                "basis, permit_id, note, source, imported_at FROM permit_in"
            )
    finally:
        con.unregister("permit_in")
    existing, unchanged = int(found[0]), int(found[1])
    return WriteCounts(len(rows) - existing, existing - unchanged, unchanged)
