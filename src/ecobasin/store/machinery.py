"""The non-road machinery registry in DuckDB (issue 18; nonroad brief A5–A8): SQL only.

One registry for the eight cities: every city's machines, inspections and zones are read by all
(mutual recognition, brief A7); writes name their city and the service checks the right first.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd

from ecobasin.store import _sql
from ecobasin.store.database import Store

__all__ = [
    "MACHINE_COLUMNS",
    "active_warnings",
    "add_pings",
    "add_presence",
    "bind_gate_operator",
    "city_counts",
    "close_violations",
    "findings",
    "gate_events",
    "gate_site_of",
    "inspections",
    "link_case",
    "machines",
    "machines_sharing_serials",
    "open_violations",
    "owner_id",
    "ping_track",
    "pings",
    "presence",
    "replace_terminal_presence",
    "save_findings",
    "save_gate_event",
    "save_inspection",
    "save_machines",
    "save_site",
    "save_violation",
    "save_zone",
    "settle",
    "sites",
    "terminal_machines",
    "zones",
]

#: Columns of ``machines`` a registry import writes (``machine_id`` and ``batch_id`` aside).
MACHINE_COLUMNS = (
    "registration_code", "code_norm", "issuer_city", "registered_at", "status", "machine_type",
    "brand", "model", "machine_serial", "manufacture_date", "disclosure_no", "fuel",
    "stage_declared", "stage_verified", "stage_inferred", "rated_power_kw", "pollution_control",
    "terminal_id", "owner_id", "current_city",
)  # fmt: skip
ENGINE_COLUMNS = ("engine_serial", "engine_model", "manufacturer", "engine_power_kw")


def owner_id(store: Store, kind: str, name: str, city: int, **fields: str | None) -> int:
    """The id of the owner (kind, name) of ``city``, added on first sight."""
    found = _sql.rows(
        store,
        "SELECT owner_id FROM machinery_owners WHERE city = ? AND kind = ? AND name = ?",
        [city, kind, name],
    )
    if found:
        return int(found[0][0])
    row = _sql.rows(
        store,
        "INSERT INTO machinery_owners (kind, name, uscc, id_no_hash, contact, city) "
        "VALUES (?, ?, ?, ?, ?, ?) RETURNING owner_id",
        [kind, name, fields.get("uscc"), fields.get("id_no_hash"), fields.get("contact"), city],
    )
    return int(row[0][0])


def save_machines(store: Store, frame: pd.DataFrame, batch_id: int | None) -> dict[str, int]:
    """Insert new machines and update those already held by (code_norm, issuer_city); each
    row's engine goes to ``machine_engines``. Returns ``{"added": n, "updated": m}``."""
    columns = list(MACHINE_COLUMNS)
    incoming = frame[columns + list(ENGINE_COLUMNS)].copy()
    incoming["batch_id"] = batch_id
    con = store.con
    with store.transaction(), store._registered(machine_in=incoming):
        before = _sql.rows(store, "SELECT count(*) FROM machines")[0][0]
        updates = ", ".join(
            f"{c} = i.{c}" for c in columns if c not in ("code_norm", "issuer_city")
        )
        con.execute(
            f"UPDATE machines m SET {updates}, batch_id = i.batch_id FROM machine_in i "
            "WHERE m.code_norm = i.code_norm AND m.issuer_city = i.issuer_city"
        )
        con.execute(
            f"INSERT INTO machines ({', '.join(columns)}, batch_id) "
            f"SELECT {', '.join(columns)}, batch_id FROM machine_in i WHERE NOT EXISTS ("
            "SELECT 1 FROM machines m WHERE m.code_norm = i.code_norm "
            "AND m.issuer_city = i.issuer_city)"
        )
        con.execute(
            "INSERT OR REPLACE INTO machine_engines SELECT m.machine_id, i.engine_serial, "
            "i.engine_model, i.manufacturer, i.engine_power_kw, NULL FROM machine_in i "
            "JOIN machines m USING (code_norm, issuer_city)"
        )
        after = _sql.rows(store, "SELECT count(*) FROM machines")[0][0]
    return {"added": int(after - before), "updated": int(len(incoming) - (after - before))}


def machines(
    where: _sql.Connection,
    *,
    city: int | None = None,
    code_norm: str | None = None,
    machine_id: int | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """Machines with their engine and owner, newest registration first."""
    sql = (
        "SELECT m.*, e.engine_serial, e.engine_model, o.name AS owner_name, o.kind AS owner_kind "
        "FROM machines m LEFT JOIN machine_engines e USING (machine_id) "
        "LEFT JOIN machinery_owners o USING (owner_id) WHERE true"
    )
    params: list[Any] = []
    for column, value in (
        ("current_city", city),
        ("code_norm", code_norm),
        ("machine_id", machine_id),
    ):
        if value is not None:
            sql += f" AND m.{column} = ?"
            params.append(value)
    sql += " ORDER BY m.registered_at DESC, m.machine_id"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return _sql.frame(where, sql, params)


def save_site(store: Store, site: dict[str, Any]) -> None:
    """Add or replace a construction site (brief A6)."""
    polygon = site.get("polygon")
    store.con.execute(
        "INSERT OR REPLACE INTO machinery_sites (site_id, city, name, permit_no, lon, lat, "
        "start_day, end_day, polygon) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [site["site_id"], site["city"], site["name"], site.get("permit_no"), site["lon"],
         site["lat"], site.get("start_day"), site.get("end_day"),
         None if polygon is None else json.dumps(polygon)],
    )  # fmt: skip


def sites(where: _sql.Connection, city: int | None = None) -> pd.DataFrame:
    sql = "SELECT * FROM machinery_sites"
    return _sql.frame(where, sql + (" WHERE city = ?" if city else "") + " ORDER BY site_id",
                      [city] if city else None)  # fmt: skip


def add_presence(store: Store, rows: pd.DataFrame) -> int:
    """Site entries and exits (columns code_observed, code_norm, site_id, entered_at, left_at,
    source); an entry already held is replaced (its exit may have come since)."""
    with store._registered(presence_in=rows):
        store.con.execute(
            "INSERT OR REPLACE INTO machinery_presence SELECT code_observed, code_norm, site_id, "
            "entered_at, left_at, source FROM presence_in"
        )
    return len(rows)


def presence(where: _sql.Connection, code_norm: str | None = None) -> pd.DataFrame:
    """Every site presence (or one machine's) with the site's city and position."""
    sql = (
        "SELECT p.*, s.city, s.lon, s.lat FROM machinery_presence p "
        "JOIN machinery_sites s USING (site_id)"
    )
    if code_norm is None:
        return _sql.frame(where, sql + " ORDER BY p.entered_at")
    return _sql.frame(where, sql + " WHERE p.code_norm = ? ORDER BY p.entered_at", [code_norm])


def machines_sharing_serials(
    where: _sql.Connection, engine_serial: str, machine_serial: str
) -> pd.DataFrame:
    """Machines whose engine and machine serials match these (separators and case aside): the
    candidates of a cross-city duplicate (C9) of one machine."""
    bare = "upper(regexp_replace({}, '[·\\-\\s]', '', 'g'))"
    sql = (
        "SELECT m.*, e.engine_serial, e.engine_model, o.name AS owner_name, "
        "o.kind AS owner_kind FROM machines m LEFT JOIN machine_engines e USING (machine_id) "
        "LEFT JOIN machinery_owners o USING (owner_id) "
        f"WHERE {bare.format('e.engine_serial')} = {bare.format('?')} "
        f"AND {bare.format('m.machine_serial')} = {bare.format('?')} ORDER BY m.machine_id"
    )
    return _sql.frame(where, sql, [engine_serial, machine_serial])


def add_pings(store: Store, rows: pd.DataFrame) -> int:
    """Terminal pings (terminal_id, ts, lon, lat, status, engine_hours, engine_state); a repeated
    one (same terminal and instant) is kept once. Returns the pings added."""
    frame = rows.copy()
    for column in ("status", "engine_hours", "engine_state"):
        if column not in frame:
            frame[column] = None
    with store.transaction(), store._registered(ping_in=frame):
        before = _sql.rows(store, "SELECT count(*) FROM terminal_pings")[0][0]
        store.con.execute(
            "INSERT OR IGNORE INTO terminal_pings (terminal_id, ts, lon, lat, status, "
            "engine_hours, engine_state) SELECT terminal_id, ts, lon, lat, status, "
            "CAST(engine_hours AS DOUBLE), engine_state FROM ping_in"
        )
        after = _sql.rows(store, "SELECT count(*) FROM terminal_pings")[0][0]
    return int(after - before)


def terminal_machines(where: _sql.Connection, terminal_ids: Sequence[str]) -> pd.DataFrame:
    """The machines the terminals are fitted to (terminal_id, machine_id, registration_code,
    code_norm, current_city, status)."""
    return _sql.frame(
        where,
        "SELECT terminal_id, machine_id, registration_code, code_norm, current_city, status "
        "FROM machines WHERE list_contains(?, terminal_id) ORDER BY machine_id",
        [list(terminal_ids)],
    )


def ping_track(where: _sql.Connection, terminal_ids: Sequence[str]) -> pd.DataFrame:
    """Every stored report of these terminals (terminal_id, ts, lon, lat), in time order."""
    return _sql.frame(
        where,
        "SELECT terminal_id, ts, lon, lat FROM terminal_pings "
        "WHERE list_contains(?, terminal_id) ORDER BY terminal_id, ts",
        [list(terminal_ids)],
    )


def replace_terminal_presence(store: Store, code_norms: Sequence[str], rows: pd.DataFrame) -> int:
    """Replace the presences derived from terminals (source 'terminal') of these machines by
    ``rows`` (code_observed, code_norm, site_id, entered_at, left_at); gate and manual records
    stay. Returns the rows written."""
    with store.transaction():
        store.con.execute(
            "DELETE FROM machinery_presence WHERE source = 'terminal' "
            "AND list_contains(?, code_norm)",
            [list(code_norms)],
        )
        if len(rows):
            with store._registered(derived_in=rows):
                store.con.execute(
                    "INSERT OR REPLACE INTO machinery_presence SELECT code_observed, code_norm, "
                    "site_id, entered_at, left_at, 'terminal' FROM derived_in"
                )
    return len(rows)


def pings(where: _sql.Connection, terminal_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """The last ping of every terminal, or of these (enough for C8)."""
    sql = (
        "SELECT terminal_id, max(ts) AS ts, arg_max(lon, ts) AS lon, arg_max(lat, ts) AS lat "
        "FROM terminal_pings"
    )
    if terminal_ids is None:
        return _sql.frame(where, sql + " GROUP BY terminal_id")
    return _sql.frame(
        where,
        sql + " WHERE list_contains(?, terminal_id) GROUP BY terminal_id",
        [list(terminal_ids)],
    )


def save_inspection(store: Store, record: dict[str, Any]) -> int:
    """Store a spot check; returns its id."""
    columns = list(record)
    row = _sql.rows(
        store,
        f"INSERT INTO machinery_inspections ({', '.join(columns)}) VALUES "
        f"({', '.join('?' for _ in columns)}) RETURNING inspection_id",
        [record[c] for c in columns],
    )
    return int(row[0][0])


def inspections(
    where: _sql.Connection,
    *,
    code_norm: str | None = None,
    city: int | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """Spot checks of every city (or one machine's, or one city's), newest first."""
    sql = "SELECT * FROM machinery_inspections WHERE true"
    params: list[Any] = []
    if code_norm is not None:
        sql += " AND code_norm = ?"
        params.append(code_norm)
    if city is not None:
        sql += " AND city = ?"
        params.append(city)
    sql += " ORDER BY inspected_at DESC, inspection_id DESC"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return _sql.frame(where, sql, params)


def save_violation(store: Store, record: dict[str, Any]) -> int:
    columns = list(record)
    row = _sql.rows(
        store,
        f"INSERT INTO machinery_violations ({', '.join(columns)}) VALUES "
        f"({', '.join('?' for _ in columns)}) RETURNING violation_id",
        [record[c] for c in columns],
    )
    return int(row[0][0])


def close_violations(store: Store, code_norm: str, inspection_id: int, at: datetime) -> int:
    """Close the open violations of a machine by a passing follow-up inspection."""
    closed = _sql.rows(
        store,
        "UPDATE machinery_violations SET closed_at = ?, closed_by_inspection = ? "
        "WHERE code_norm = ? AND closed_at IS NULL RETURNING violation_id",
        [at, inspection_id, code_norm],
    )
    return len(closed)


def open_violations(where: _sql.Connection, code_norm: str | None = None) -> pd.DataFrame:
    """Every violation (or one machine's) with its deadline and closure."""
    if code_norm is None:
        return _sql.frame(where, "SELECT * FROM machinery_violations ORDER BY violation_id")
    return _sql.frame(
        where,
        "SELECT * FROM machinery_violations WHERE code_norm = ? ORDER BY violation_id",
        [code_norm],
    )


def save_zone(store: Store, zone: dict[str, Any]) -> bool:
    """Add a zone version, closing the open version of the same zone at the new ``valid_from``;
    the same version again changes nothing (returns False)."""
    with store.transaction():
        held = _sql.rows(
            store,
            "SELECT 1 FROM machinery_zones WHERE zone_id = ? AND valid_from = ?",
            [zone["zone_id"], zone["valid_from"]],
        )
        if held:
            return False
        store.con.execute(
            "UPDATE machinery_zones SET valid_to = ? WHERE zone_id = ? AND valid_to IS NULL "
            "AND valid_from < ?",
            [zone["valid_from"], zone["zone_id"], zone["valid_from"]],
        )
        store.con.execute(
            "INSERT INTO machinery_zones VALUES (?, ?, ?, ?, ?, ?, ?)",
            [zone["zone_id"], zone["valid_from"], zone.get("valid_to"), zone["city"],
             zone["name"], json.dumps(zone["feature"], ensure_ascii=False),
             zone.get("notice_ref")],
        )  # fmt: skip
    return True


def zones(where: _sql.Connection, city: int | None = None) -> pd.DataFrame:
    """Every zone version (the closed ones too), by city and name."""
    sql = "SELECT * FROM machinery_zones"
    return _sql.frame(
        where, sql + (" WHERE city = ?" if city else "") + " ORDER BY city, zone_id, valid_from",
        [city] if city else None,
    )  # fmt: skip


def active_warnings(where: _sql.Connection, at: datetime) -> dict[int, str]:
    """The heavy-pollution warning level of each city at ``at`` (the highest if several)."""
    found = _sql.rows(
        where,
        "SELECT scope_id, level FROM warnings WHERE scope = 'city' AND start_time <= ? "
        "AND ? < end_time",
        [at, at],
    )
    order = ("yellow", "orange", "red")
    levels: dict[int, str] = {}
    for scope_id, level in found:
        city = int(scope_id)
        if city not in levels or order.index(level) > order.index(levels[city]):
            levels[city] = level
    return levels


def save_findings(store: Store, found: Sequence[dict[str, Any]], now: datetime) -> dict[str, int]:
    """Record findings: new ones are added open; those already held only move ``last_seen``."""
    if not found:
        return {"new": 0, "seen_again": 0}
    frame = pd.DataFrame(list(found))
    frame["evidence"] = [json.dumps(e, ensure_ascii=False, default=str) for e in frame["evidence"]]
    frame["now"] = now
    with store.transaction(), store._registered(finding_in=frame):
        before = _sql.rows(store, "SELECT count(*) FROM machinery_findings")[0][0]
        store.con.execute(
            "UPDATE machinery_findings f SET last_seen = i.now FROM finding_in i WHERE "
            "f.rule = i.rule AND f.code_norm = i.code_norm AND f.city = i.city "
            "AND f.reason = i.reason"
        )
        store.con.execute(
            "INSERT INTO machinery_findings (rule, code_norm, machine_id, city, violation_type, "
            "reason, evidence, first_seen, last_seen) SELECT rule, code_norm, machine_id, city, "
            "violation_type, reason, evidence, now, now FROM finding_in i WHERE NOT EXISTS ("
            "SELECT 1 FROM machinery_findings f WHERE f.rule = i.rule AND "
            "f.code_norm = i.code_norm AND f.city = i.city AND f.reason = i.reason)"
        )
        after = _sql.rows(store, "SELECT count(*) FROM machinery_findings")[0][0]
    return {"new": int(after - before), "seen_again": int(len(frame) - (after - before))}


def findings(
    where: _sql.Connection,
    *,
    city: int | None = None,
    rule: str | None = None,
    status: str | None = "open",
    code_norm: str | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """Findings, newest first."""
    sql = "SELECT * FROM machinery_findings WHERE true"
    params: list[Any] = []
    for column, value in (
        ("city", city),
        ("rule", rule),
        ("status", status),
        ("code_norm", code_norm),
    ):
        if value is not None:
            sql += f" AND {column} = ?"
            params.append(value)
    sql += " ORDER BY last_seen DESC, finding_id DESC"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return _sql.frame(where, sql, params)


def city_counts(where: _sql.Connection) -> pd.DataFrame:
    """Aggregated counts per city (what the public sees): machines by stage, inspections,
    failures and open findings."""
    return _sql.frame(
        where,
        """
        WITH m AS (
            SELECT current_city AS city, count(*) AS machines,
                   count(*) FILTER (WHERE coalesce(stage_verified, stage_declared)
                                    IN ('G0', 'G1', 'G2')) AS machines_g2_or_below,
                   count(*) FILTER (WHERE fuel = 'electric') AS machines_electric
            FROM machines WHERE status = 'active' GROUP BY ALL),
        i AS (
            SELECT city, count(*) AS inspections,
                   count(*) FILTER (WHERE result = 'fail') AS inspections_failed
            FROM machinery_inspections GROUP BY ALL),
        f AS (SELECT city, count(*) AS open_findings FROM machinery_findings
              WHERE status = 'open' GROUP BY ALL)
        SELECT c.code AS city, c.name_zh, c.name_en,
               coalesce(m.machines, 0) AS machines,
               coalesce(m.machines_g2_or_below, 0) AS machines_g2_or_below,
               coalesce(m.machines_electric, 0) AS machines_electric,
               coalesce(i.inspections, 0) AS inspections,
               coalesce(i.inspections_failed, 0) AS inspections_failed,
               coalesce(f.open_findings, 0) AS open_findings
        FROM cities c LEFT JOIN m ON m.city = c.code LEFT JOIN i ON i.city = c.code
        LEFT JOIN f ON f.city = c.code
        WHERE c.in_region ORDER BY c.code
        """,
    )


def link_case(where: _sql.Connection, finding_id: int, case_id: str) -> None:
    """Record the rectification case a finding opened (once: a linked finding keeps its case)."""
    _sql.rows(  # fetched, so the connection is free for the next statement
        where,
        "UPDATE machinery_findings SET case_ref = ? WHERE finding_id = ? AND case_ref IS NULL",
        [case_id, finding_id],
    )


def settle(where: _sql.Connection) -> None:
    """Finish any result a write left on the connection (DuckDB's relation reads refuse to run
    while one is pending), so reads can follow the case workflow's writes."""
    _sql.rows(where, "SELECT 1")


def save_gate_event(store: Store, event: dict[str, Any]) -> int:
    """Log a gate check (A6); returns its id."""
    columns = ["site_id", "code_observed", "code_norm", "machine_id", "checked_at", "decision",
               "reasons", "operator"]  # fmt: skip
    row = _sql.rows(
        store,
        f"INSERT INTO machinery_gate_events ({', '.join(columns)}) VALUES "
        f"({', '.join('?' for _ in columns)}) RETURNING event_id",
        [json.dumps(event[c], ensure_ascii=False) if c == "reasons" else event[c]
         for c in columns],
    )  # fmt: skip
    return int(row[0][0])


def gate_events(
    where: _sql.Connection, site_id: str | None = None, limit: int = 100
) -> pd.DataFrame:
    """Gate checks, newest first (of one site, or all)."""
    sql = "SELECT * FROM machinery_gate_events"
    params: list[Any] = []
    if site_id is not None:
        sql += " WHERE site_id = ?"
        params.append(site_id)
    return _sql.frame(
        where, sql + f" ORDER BY checked_at DESC, event_id DESC LIMIT {int(limit)}", params
    )


def bind_gate_operator(store: Store, user_id: int, site_id: str, now: datetime) -> None:
    """Bind a gate operator to its site (one site per operator; a rebind replaces)."""
    with store.transaction():
        _sql.rows(store, "DELETE FROM machinery_gate_operators WHERE user_id = ?", [user_id])
        _sql.rows(
            store, "INSERT INTO machinery_gate_operators VALUES (?, ?, ?)", [user_id, site_id, now]
        )


def gate_site_of(where: _sql.Connection, user_id: int | None) -> str | None:
    """The site a gate operator is bound to, or None."""
    if user_id is None:
        return None
    row = _sql.rows(
        where, "SELECT site_id FROM machinery_gate_operators WHERE user_id = ?", [user_id]
    )
    return str(row[0][0]) if row else None
