"""SQL of the emergency control lists (migration 16): list versions, activations, verdicts with
their evidence and open findings (emergency.md §1.5, §2.5).

Every function takes the :class:`~ecobasin.store.Store` first; writes run in one transaction.
List versions are immutable: storing an existing (city, version) is refused, never overwritten.
Times are tz-aware UTC.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import duckdb

from ecobasin.store.database import Store
from ecobasin.workflow.emergency import Activation, Finding, ListRecord, ListVersion

Reader = Store | duckdb.DuckDBPyConnection

__all__ = [
    "activation",
    "activation_id",
    "activations_of_city",
    "bind_enterprise_user",
    "close_finding",
    "cursor_of",
    "enterprise_of",
    "finding",
    "finding_id",
    "findings",
    "link_case",
    "list_versions",
    "record_from_json",
    "save_activation",
    "save_findings",
    "save_verdicts",
    "save_version",
    "verdicts",
    "versions_with",
]


def cursor_of(conn: Reader) -> duckdb.DuckDBPyConnection:
    """A cursor of the store (one per thread), or the cursor given."""
    return conn.cursor() if isinstance(conn, Store) else conn


def record_from_json(raw: dict[str, Any]) -> ListRecord:
    """A list record from its stored JSON form (lists become tuples)."""
    return ListRecord(
        **{
            **raw,
            "grades": tuple(raw["grades"]),
            "outlets": tuple(raw["outlets"]),
            "pollutants": tuple(raw.get("pollutants", ("NOx",))),
            "meters": tuple(raw.get("meters", ())),
            "processes": tuple(raw.get("processes", ())),
        }
    )


def save_version(store: Store, version: ListVersion, created_by: str, now: datetime) -> None:
    """Store a list version; an existing (city, version) raises ``ValueError``."""
    city = int(version.city)
    with store.transaction():
        taken = store.con.execute(
            "SELECT 1 FROM emergency_list_versions WHERE city_code = ? AND version = ?",
            [city, version.version],
        ).fetchone()
        if taken:
            raise ValueError(f"list {city} v{version.version} exists; a change makes a new version")
        store.con.execute(
            "INSERT INTO emergency_list_versions VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                city,
                version.version,
                version.effective_from,
                version.reason,
                json.dumps([asdict(r) for r in version.records], ensure_ascii=False),
                created_by,
                now,
            ],
        )


def list_versions(store: Reader, city: str) -> list[ListVersion]:
    """Every stored version of a city's list, oldest first."""
    rows = (
        store.cursor()
        .execute(
            "SELECT version, effective_from, reason, records FROM emergency_list_versions "
            "WHERE city_code = ? ORDER BY version",
            [int(city)],
        )
        .fetchall()
    )
    return [
        ListVersion(city, int(v), eff, reason, tuple(record_from_json(r) for r in json.loads(recs)))
        for v, eff, reason, recs in rows
    ]


def activation_id(act: Activation) -> str:
    """Stable id of an activation: city, level and the warning start (UTC hour, whatever the
    clock the start was given in: a start in +08:00 and its UTC read-back give one id)."""
    start = act.start.astimezone(UTC) if act.start.tzinfo else act.start
    return f"{act.city}-{act.level}-{start.strftime('%Y-%m-%dT%H')}"


def save_activation(store: Store, act: Activation, source: str, now: datetime) -> str:
    """Insert or update an activation (its state moves on); returns its id."""
    key = activation_id(act)
    with store.transaction():
        store.con.execute("DELETE FROM emergency_activations WHERE activation_id = ?", [key])
        store.con.execute(
            "INSERT INTO emergency_activations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                key,
                int(act.city),
                act.level,
                act.start,
                act.end,
                act.version,
                json.dumps(dict(act.grades), ensure_ascii=False),
                act.state,
                source,
                now,
            ],
        )
    return key


def activation(store: Reader, key: str) -> dict[str, Any] | None:
    """One stored activation as a dict, or None."""
    cur = cursor_of(store).execute(
        "SELECT * FROM emergency_activations WHERE activation_id = ?", [key]
    )
    row = cur.fetchone()
    if row is None:
        return None
    out = dict(zip([d[0] for d in cur.description], row, strict=True))
    out["grades"] = json.loads(out["grades"])
    return out


_VERDICT_COLUMNS = (
    "activation_id, uscc, outlet, pollutant, verdict, valid_hours, baseline_kg_h, baseline_flow, "
    "baseline_method, baseline_days, measure, numbers, reasons, flagged_hours, list_version, "
    "thresholds, cou, power, process_id, grade, computed_at"
)
_NAMES = _VERDICT_COLUMNS.split(", ")
_JSON = (
    "baseline_days", "measure", "numbers", "reasons", "flagged_hours", "cou", "power", "grade",
)  # fmt: skip


def save_verdicts(store: Store, key: str, rows: Sequence[dict[str, Any]], now: datetime) -> int:
    """Replace the verdicts of an activation (a recheck supersedes the last one)."""
    with store.transaction():
        store.con.execute("DELETE FROM emergency_verdicts WHERE activation_id = ?", [key])
        for r in rows:
            raw = [key, *(r.get(c) for c in _NAMES[1:-1]), now]
            values = [
                json.dumps(v, ensure_ascii=False) if c in _JSON else v
                for c, v in zip(_NAMES, raw, strict=True)
            ]
            store.con.execute(
                f"INSERT INTO emergency_verdicts ({_VERDICT_COLUMNS}) VALUES "
                f"({', '.join('?' * len(_NAMES))})",
                values,
            )
    return len(rows)


def verdicts(store: Reader, key: str) -> list[dict[str, Any]]:
    """The verdicts of an activation, ordered by enterprise and outlet."""
    cur = cursor_of(store).execute(
        f"SELECT {_VERDICT_COLUMNS} FROM emergency_verdicts WHERE activation_id = ? "
        "ORDER BY uscc, outlet, pollutant",
        [key],
    )
    names = [d[0] for d in cur.description]
    out = []
    for row in cur.fetchall():
        rec = dict(zip(names, row, strict=True))
        out.append(
            {k: json.loads(v) if k in _JSON and v is not None else v for k, v in rec.items()}
        )
    return out


def finding_id(key: str, uscc: str, outlet: str, kind: str) -> str:
    """Stable id of a finding: the first 16 hex digits of SHA-256 of its natural key."""
    return hashlib.sha256(f"{key}|{uscc}|{outlet}|{kind}".encode()).hexdigest()[:16]


def save_findings(store: Store, key: str, found: Sequence[Finding], now: datetime) -> int:
    """Open findings for an activation; a finding already stored (open or closed) stays as it
    is, so a recheck never reopens a closed one."""
    city = int(key.split("-", 1)[0])
    with store.transaction():
        for f in found:
            store.con.execute(
                "INSERT INTO emergency_findings (activation_id, uscc, outlet, kind, owner, "
                "status, reasons, opened_at, finding_id, city_code) "
                "VALUES (?, ?, ?, ?, ?, 'open', ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [key, f.uscc, f.outlet, f.kind, f.owner, json.dumps(list(f.reasons)), now,
                 finding_id(key, f.uscc, f.outlet, f.kind), city],
            )  # fmt: skip
    return len(found)


def findings(store: Reader, *, status: str | None = "open") -> list[dict[str, Any]]:
    """Findings (open ones by default; ``None``: all), oldest first."""
    sql = "SELECT * FROM emergency_findings"
    params: list[Any] = []
    if status is not None:
        sql += " WHERE status = ?"
        params.append(status)
    cur = cursor_of(store).execute(sql + " ORDER BY opened_at, uscc", params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def finding(store: Reader, fid: str) -> dict[str, Any] | None:
    """One finding by id, or None."""
    cur = cursor_of(store).execute("SELECT * FROM emergency_findings WHERE finding_id = ?", [fid])
    row = cur.fetchone()
    return None if row is None else dict(zip([d[0] for d in cur.description], row, strict=True))


def close_finding(store: Store, fid: str, note: str, by: str, now: datetime) -> bool:
    """Close an open finding with a note; False when it is not open (or unknown)."""
    with store.transaction():
        done = store.con.execute(
            "UPDATE emergency_findings SET status = 'closed', closed_at = ?, closed_by = ?, "
            "note = ? WHERE finding_id = ? AND status = 'open' RETURNING finding_id",
            [now, by, note, fid],
        ).fetchall()
    return bool(done)


def link_case(store: Store, fid: str, case_id: str) -> bool:
    """Record the supervision case opened for a finding (the finding → case hook)."""
    with store.transaction():
        done = store.con.execute(
            "UPDATE emergency_findings SET case_id = ? WHERE finding_id = ? RETURNING finding_id",
            [case_id, fid],
        ).fetchall()
    return bool(done)


def bind_enterprise_user(store: Store, user_id: int, uscc: str, now: datetime) -> None:
    """Bind an enterprise user to its USCC (one enterprise per user; a rebind replaces)."""
    with store.transaction():
        store.con.execute("DELETE FROM emergency_enterprise_users WHERE user_id = ?", [user_id])
        store.con.execute(
            "INSERT INTO emergency_enterprise_users VALUES (?, ?, ?)", [user_id, uscc, now]
        )


def enterprise_of(conn: Reader, user_id: int | None) -> str | None:
    """The USCC an enterprise user is bound to, or None."""
    if user_id is None:
        return None
    row = (
        cursor_of(conn)
        .execute("SELECT uscc FROM emergency_enterprise_users WHERE user_id = ?", [user_id])
        .fetchone()
    )
    return None if row is None else str(row[0])


def versions_with(conn: Reader, uscc: str) -> list[ListVersion]:
    """Every stored list version (any city) that lists ``uscc``, oldest first."""
    rows = (
        cursor_of(conn)
        .execute(
            "SELECT city_code, version, effective_from, reason, records "
            "FROM emergency_list_versions WHERE contains(records::VARCHAR, ?) "
            "ORDER BY city_code, version",
            [uscc],
        )
        .fetchall()
    )
    out = []
    for city, v, eff, reason, recs in rows:
        records = tuple(record_from_json(r) for r in json.loads(recs))
        if any(r.uscc == uscc for r in records):
            out.append(ListVersion(str(city), int(v), eff, reason, records))
    return out


def activations_of_city(conn: Reader, city: str) -> list[dict[str, Any]]:
    """A city's activations, newest warning first."""
    cur = cursor_of(conn).execute(
        "SELECT * FROM emergency_activations WHERE city_code = ? ORDER BY start_time DESC",
        [int(city)],
    )
    names = [d[0] for d in cur.description]
    out = []
    for row in cur.fetchall():
        rec = dict(zip(names, row, strict=True))
        rec["grades"] = json.loads(rec["grades"])
        out.append(rec)
    return out
