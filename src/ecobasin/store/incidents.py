"""SQL of the river-incident response (migration 19): the river network, incidents, their
forecast runs, notices, timeline, joint monitoring plan and results, emergency materials.

Append-only where the record is evidence: forecast runs, the timeline, samples and notices
(a notice's sending, acknowledgement and escalation fill its empty columns once, never
overwrite them). Times are tz-aware UTC.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import pandas as pd

from ecobasin.store._sql import Connection, cursor_of, frame, rows
from ecobasin.store.database import Store

__all__ = [
    "ack_notice",
    "add_event",
    "add_forecast",
    "add_notices",
    "add_samples",
    "approve_plan",
    "dispatch_material",
    "escalate_notices",
    "events",
    "forecasts",
    "incident",
    "incidents",
    "mark_sent",
    "material_requests",
    "network_tables",
    "networks",
    "notices",
    "plan",
    "request_material",
    "samples",
    "save_incident",
    "save_network",
    "save_plan",
    "stocks",
    "upsert_stocks",
]

_NODE_COLUMNS = (
    "node_id", "kind", "name_zh", "name_en", "river", "city_code", "lon", "lat", "intake_level",
    "population",
)  # fmt: skip
_REACH_COLUMNS = (
    "reach_id", "from_node", "to_node", "river", "length_km", "u_m_s", "Q_m3_s", "A_m2",
    "width_m", "depth_m", "slope", "manning_n", "D_m2_s", "analytic_ok",
    "stage_m", "rating_a", "rating_h0_m", "rating_b",
)  # fmt: skip


def _aligned(table: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    out = table.reindex(columns=list(columns)).astype(object)
    return out.where(pd.notna(out), None)


def save_network(
    store: Store,
    network: str,
    nodes: pd.DataFrame,
    reaches: pd.DataFrame,
    rejected: pd.DataFrame,
    now: datetime,
) -> None:
    """Replace network ``network`` by these nodes and reaches; keep the refused rows aside."""
    node_rows = _aligned(nodes.rename(columns={"city": "city_code"}), _NODE_COLUMNS)
    reach_rows = _aligned(reaches, _REACH_COLUMNS)
    reach_rows["analytic_ok"] = [v is None or bool(v) for v in reach_rows["analytic_ok"]]
    with store.transaction():
        con = store.con
        con.execute("DELETE FROM river_nodes WHERE network = ?", [network])
        con.execute("DELETE FROM river_reaches WHERE network = ?", [network])
        holders = ", ".join("?" * (len(_NODE_COLUMNS) + 1))
        con.executemany(
            f"INSERT INTO river_nodes VALUES ({holders})",
            [[network, *r] for r in node_rows.itertuples(index=False)],
        )
        holders = ", ".join("?" * (len(_REACH_COLUMNS) + 1))
        con.executemany(
            f"INSERT INTO river_reaches VALUES ({holders})",
            [[network, *r] for r in reach_rows.itertuples(index=False)],
        )
        if not rejected.empty:
            con.executemany(
                "INSERT INTO river_rejects VALUES (?, ?, ?, ?, ?)",
                [[network, now, r.table, r.id, r.reason] for r in rejected.itertuples(index=False)],
            )


def networks(where: Connection) -> list[str]:
    """The names of the stored networks."""
    return [r[0] for r in rows(where, "SELECT DISTINCT network FROM river_nodes ORDER BY 1")]


def network_tables(where: Connection, network: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(nodes, reaches) of a stored network, in the columns :mod:`ecobasin.rivers.network`
    reads (``city`` for the node's city)."""
    nodes = frame(where, "SELECT * EXCLUDE (network) FROM river_nodes WHERE network = ?", [network])
    reaches = frame(
        where, "SELECT * EXCLUDE (network) FROM river_reaches WHERE network = ?", [network]
    )
    return nodes.rename(columns={"city_code": "city"}), reaches


def save_incident(store: Store, record: Mapping[str, Any]) -> None:
    """Insert an incident (the columns of table ``incidents``; JSON fields as objects)."""
    columns = list(record)
    values = [
        json.dumps(v, ensure_ascii=False) if k in ("release", "facts", "grade_triggers") else v
        for k, v in record.items()
    ]
    holders = ", ".join("?" * len(columns))
    store.con.execute(f"INSERT INTO incidents ({', '.join(columns)}) VALUES ({holders})", values)


def _decoded(record: dict[str, Any]) -> dict[str, Any]:
    for key in ("release", "facts", "grade_triggers"):
        if isinstance(record.get(key), str):
            record[key] = json.loads(record[key])
    return record


def incident(where: Connection, incident_id: str) -> dict[str, Any] | None:
    """One incident as a dict, or None."""
    found = frame(where, "SELECT * FROM incidents WHERE incident_id = ?", [incident_id])
    if found.empty:
        return None
    return _decoded({str(k): v for k, v in found.iloc[0].to_dict().items()})


def incidents(where: Connection, cities: Sequence[str] | None = None) -> pd.DataFrame:
    """Incidents, newest first; limited to those whose source or path touches ``cities``."""
    table = frame(
        where,
        """
        SELECT incident_id, title, city_code, substance, grade, status, drill, determined_at,
               node_id, network
        FROM incidents ORDER BY determined_at DESC
        """,
    )
    if cities is None:
        return table
    touched = {
        r[0]
        for r in rows(
            where,
            "SELECT DISTINCT incident_id FROM incident_notices WHERE to_city IN (SELECT unnest(?))",
            [list(cities)],
        )
    }
    keep = table["city_code"].isin(list(cities)) | table["incident_id"].isin(touched)
    return table[keep].reset_index(drop=True)


def add_forecast(
    store: Store, incident_id: str, params: Mapping[str, Any], result: pd.DataFrame, now: datetime
) -> int:
    """Append a forecast run; returns its number (1 for the first)."""
    con = store.con
    run = con.execute(
        "SELECT coalesce(max(run), 0) + 1 FROM incident_forecasts WHERE incident_id = ?",
        [incident_id],
    ).fetchone()
    number = int(run[0]) if run else 1
    con.execute(
        "INSERT INTO incident_forecasts VALUES (?, ?, ?, ?, ?)",
        [
            incident_id,
            number,
            now,
            json.dumps(params, ensure_ascii=False),
            result.to_json(orient="records", force_ascii=False),
        ],
    )
    return number


def forecasts(where: Connection, incident_id: str) -> list[dict[str, Any]]:
    """Every forecast run of an incident, oldest first: run, created_at, params, table."""
    found = rows(
        where,
        "SELECT run, created_at, params, result FROM incident_forecasts "
        "WHERE incident_id = ? ORDER BY run",
        [incident_id],
    )
    return [
        {
            "run": run,
            "created_at": at,
            "params": json.loads(params),
            "table": pd.DataFrame(json.loads(result)),
        }
        for run, at, params, result in found
    ]


def add_notices(store: Store, incident_id: str, notices: Iterable[Mapping[str, Any]]) -> list[int]:
    """Insert notices (kind, to_org, to_city, external, deadline, rule, reason, content); ids."""
    ids = []
    for n in notices:
        got = store.con.execute(
            """
            INSERT INTO incident_notices
                (incident_id, kind, to_org, to_city, external, deadline, rule, reason, content)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING notice_id
            """,
            [
                incident_id,
                n["kind"],
                n["to_org"],
                n["to_city"],
                bool(n["external"]),
                n["deadline"],
                n["rule"],
                n["reason"],
                n["content"],
            ],
        ).fetchone()
        ids.append(int(got[0]) if got else 0)
    return ids


def notices(where: Connection, incident_id: str) -> pd.DataFrame:
    """The notices of an incident, in the order they were created."""
    return frame(
        where,
        "SELECT * FROM incident_notices WHERE incident_id = ? ORDER BY notice_id",
        [incident_id],
    )


def mark_sent(store: Store, notice_ids: Sequence[int], at: datetime, channels: str) -> None:
    """Record that notices were sent (only those not sent before)."""
    store.con.execute(
        "UPDATE incident_notices SET sent_at = ?, channels = ? "
        "WHERE notice_id IN (SELECT unnest(?)) AND sent_at IS NULL",
        [at, channels, list(notice_ids)],
    )


def ack_notice(store: Store, notice_id: int, by: str, at: datetime) -> bool:
    """Acknowledge a sent notice once; False when it was not sent or already acknowledged."""
    done = store.con.execute(
        "UPDATE incident_notices SET acked_at = ?, acked_by = ? "
        "WHERE notice_id = ? AND sent_at IS NOT NULL AND acked_at IS NULL RETURNING notice_id",
        [at, by, notice_id],
    ).fetchall()
    return bool(done)


def escalate_notices(store: Store, notice_ids: Sequence[int], to: str, at: datetime) -> None:
    """Record the escalation of overdue notices (once each)."""
    store.con.execute(
        "UPDATE incident_notices SET escalated_at = ?, escalated_to = ? "
        "WHERE notice_id IN (SELECT unnest(?)) AND escalated_at IS NULL",
        [at, to, list(notice_ids)],
    )


def add_event(
    store: Store, incident_id: str, at: datetime, actor: str, event: str, details: Any = None
) -> None:
    """Append one entry to the incident's timeline."""
    store.con.execute(
        "INSERT INTO incident_events VALUES (?, ?, ?, ?, ?)",
        [incident_id, at, actor, event, json.dumps(details, ensure_ascii=False, default=str)],
    )


def events(where: Connection, incident_id: str) -> pd.DataFrame:
    """The incident's timeline, oldest first."""
    return frame(
        where,
        "SELECT * FROM incident_events WHERE incident_id = ? ORDER BY event_at",
        [incident_id],
    )


def save_plan(store: Store, incident_id: str, points: Sequence[Mapping[str, Any]]) -> int:
    """Store a new version of the monitoring plan; returns its version."""
    con = store.con
    got = con.execute(
        "SELECT coalesce(max(version), 0) + 1 FROM incident_monitoring_points WHERE incident_id = ?",
        [incident_id],
    ).fetchone()
    version = int(got[0]) if got else 1
    con.executemany(
        "INSERT INTO incident_monitoring_points VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            [
                incident_id,
                version,
                p["node_id"],
                p["role"],
                p["responsible_city"],
                p["window_from_h"],
                p["window_to_h"],
                p["frequency"],
            ]
            for p in points
        ],
    )
    return version


def plan(where: Connection, incident_id: str) -> tuple[int, pd.DataFrame, pd.DataFrame]:
    """(version, points, approvals) of the latest monitoring plan; version 0 when none."""
    got = rows(
        where,
        "SELECT max(version) FROM incident_monitoring_points WHERE incident_id = ?",
        [incident_id],
    )
    version = int(got[0][0]) if got and got[0][0] is not None else 0
    points = frame(
        where,
        "SELECT * FROM incident_monitoring_points WHERE incident_id = ? AND version = ?",
        [incident_id, version],
    )
    approvals = frame(
        where,
        "SELECT * FROM incident_plan_approvals WHERE incident_id = ? AND version = ?",
        [incident_id, version],
    )
    return version, points, approvals


def approve_plan(
    store: Store, incident_id: str, version: int, city: str, by: str, at: datetime
) -> None:
    """A city approves a plan version (once)."""
    store.con.execute(
        "INSERT INTO incident_plan_approvals VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [incident_id, version, city, by, at],
    )


def add_samples(store: Store, incident_id: str, samples: pd.DataFrame) -> int:
    """Append results (node_id, sampled_at, value_mg_L, method, city_code, reported_by,
    reported_at); returns how many."""
    columns = [
        "node_id", "sampled_at", "value_mg_L", "method", "city_code", "reported_by", "reported_at",
    ]  # fmt: skip
    table = samples[columns]
    cursor_of(store).executemany(
        "INSERT INTO incident_samples VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [[incident_id, *r] for r in table.itertuples(index=False)],
    )
    return len(table)


def samples(where: Connection, incident_id: str) -> pd.DataFrame:
    """The results of an incident, by node and time."""
    return frame(
        where,
        "SELECT * EXCLUDE (incident_id) FROM incident_samples WHERE incident_id = ? "
        "ORDER BY node_id, sampled_at",
        [incident_id],
    )


def upsert_stocks(store: Store, stocks: pd.DataFrame, now: datetime) -> int:
    """Insert or replace stock rows (depot_id, city_code, depot_name, item, quantity, unit,
    expires_on)."""
    columns = ["depot_id", "city_code", "depot_name", "item", "quantity", "unit", "expires_on"]
    table = _aligned(stocks, columns)
    with store.transaction():
        store.con.executemany(
            "INSERT OR REPLACE INTO material_stocks VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [[*r, now] for r in table.itertuples(index=False)],
        )
    return len(table)


def stocks(where: Connection) -> pd.DataFrame:
    """Every depot's stock."""
    return frame(where, "SELECT * FROM material_stocks ORDER BY city_code, depot_id, item")


def request_material(store: Store, record: Mapping[str, Any]) -> int:
    """Record a request of materials from one city to another; its id."""
    got = store.con.execute(
        """
        INSERT INTO material_requests
            (incident_id, from_city, to_city, item, quantity, unit, requested_at, requested_by)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING request_id
        """,
        [
            record["incident_id"],
            record["from_city"],
            record["to_city"],
            record["item"],
            record["quantity"],
            record["unit"],
            record["requested_at"],
            record["requested_by"],
        ],
    ).fetchone()
    return int(got[0]) if got else 0


def dispatch_material(
    store: Store, request_id: int, by: str, at: datetime, today: date
) -> str | None:
    """Mark a request dispatched (once) from a depot of the asked city holding enough of the
    item and not expired on ``today``; its stock decreases in the same transaction. The reason
    it cannot be, or None when done."""
    with store.transaction():
        con = store.con
        found = con.execute(
            "SELECT to_city, item, quantity, dispatched_at FROM material_requests "
            "WHERE request_id = ?",
            [request_id],
        ).fetchone()
        if not found:
            return "no such request"
        city, item, quantity, done = found
        if done is not None:
            return "already dispatched 已调拨"
        depot = con.execute(
            "SELECT depot_id FROM material_stocks WHERE city_code = ? AND item = ? "
            "AND quantity >= ? AND (expires_on IS NULL OR expires_on >= ?) "
            "ORDER BY quantity DESC LIMIT 1",
            [city, item, quantity, today],
        ).fetchone()
        if not depot:
            return f"city {city} has no depot with {quantity:g} of unexpired {item} 库存不足或过期"
        con.execute(
            "UPDATE material_stocks SET quantity = quantity - ?, updated_at = ? "
            "WHERE depot_id = ? AND item = ?",
            [quantity, at, depot[0], item],
        )
        con.execute(
            "UPDATE material_requests SET dispatched_at = ?, dispatched_by = ? WHERE request_id = ?",
            [at, by, request_id],
        )
    return None


def material_requests(where: Connection, incident_id: str) -> pd.DataFrame:
    """The material requests of an incident."""
    return frame(
        where,
        "SELECT * FROM material_requests WHERE incident_id = ? ORDER BY request_id",
        [incident_id],
    )
