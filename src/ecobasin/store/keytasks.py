"""SQL of the region's key tasks (issue 18): plans, tasks, milestones, progress, rejected rows."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from ecobasin.store._sql import Connection, cursor_of
from ecobasin.store.database import Store

__all__ = [
    "add_milestone",
    "add_progress",
    "add_rejects",
    "plans",
    "progress",
    "rejects",
    "save_plan",
    "save_task",
    "set_state",
    "task",
    "tasks",
]


def save_plan(store: Store, plan_id: str, year: int, title: str, issuer: str, source: str) -> None:
    """Create or replace a work plan."""
    store.con.execute(
        "INSERT OR REPLACE INTO key_plans VALUES (?, ?, ?, ?, ?)",
        [plan_id, year, title, issuer, source],
    )


def plans(where: Connection) -> list[dict[str, Any]]:
    """Work plans, newest year first, with their task counts."""
    cur = cursor_of(where).execute(
        "SELECT p.*, count(t.task_id) AS tasks FROM key_plans p "
        "LEFT JOIN key_tasks t USING (plan_id) GROUP BY ALL ORDER BY year DESC, plan_id"
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def save_task(store: Store, row: dict[str, Any], at: datetime) -> None:
    """Create or replace a task (owners and co-owners as lists)."""
    store.con.execute(
        "INSERT OR REPLACE INTO key_tasks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            row["task_id"], row["plan_id"], row["area"], row["code"], row["title"],
            json.dumps(list(row["owners"]), ensure_ascii=False),
            json.dumps(list(row.get("co_owners", ())), ensure_ascii=False),
            row.get("deliverable", ""), row["due"], row.get("state", "planned"),
            row.get("percent", 0), row.get("source_kind", ""), row.get("source_id", ""),
            row.get("url", ""), at,
        ],
    )  # fmt: skip


def _task_rows(cur: Any) -> list[dict[str, Any]]:
    names = [d[0] for d in cur.description]
    out = []
    for r in cur.fetchall():
        row = dict(zip(names, r, strict=True))
        row["owners"], row["co_owners"] = json.loads(row["owners"]), json.loads(row["co_owners"])
        out.append(row)
    return out


def tasks(
    where: Connection, plan_id: str | None = None, owner: str | None = None
) -> list[dict[str, Any]]:
    """Tasks ordered by plan, area and code; ``owner`` matches an owner or a co-owner."""
    sql, params = "SELECT * FROM key_tasks WHERE true", []
    if plan_id is not None:
        sql += " AND plan_id = ?"
        params.append(plan_id)
    rows = _task_rows(cursor_of(where).execute(sql + " ORDER BY plan_id, area, code", params))
    if owner is not None:
        rows = [r for r in rows if owner in r["owners"] or owner in r["co_owners"]]
    return rows


def task(where: Connection, task_id: str) -> dict[str, Any]:
    """One task with its milestones; LookupError when there is none."""
    found = _task_rows(
        cursor_of(where).execute("SELECT * FROM key_tasks WHERE task_id = ?", [task_id])
    )
    if not found:
        raise LookupError(f"no key task {task_id} 无此重点任务")
    cur = cursor_of(where).execute(
        "SELECT seq, title, owner, due, done_at FROM key_milestones WHERE task_id = ? ORDER BY seq",
        [task_id],
    )
    names = [d[0] for d in cur.description]
    found[0]["milestones"] = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    return found[0]


def set_state(store: Store, task_id: str, state: str, percent: int, at: datetime) -> None:
    """Move a task to ``state`` with ``percent`` [%] done."""
    store.con.execute(
        "UPDATE key_tasks SET state = ?, percent = ?, updated_at = ? WHERE task_id = ?",
        [state, percent, at, task_id],
    )


def add_milestone(store: Store, task_id: str, title: str, owner: str, due: date) -> int:
    """Append a milestone; returns its number."""
    row = store.con.execute(
        "SELECT coalesce(max(seq), 0) + 1 FROM key_milestones WHERE task_id = ?", [task_id]
    ).fetchone()
    seq = int(row[0]) if row else 1
    store.con.execute(
        "INSERT INTO key_milestones VALUES (?, ?, ?, ?, ?, NULL)", [task_id, seq, title, owner, due]
    )
    return seq


def add_progress(
    store: Store,
    task_id: str,
    at: datetime,
    actor: str,
    action: str,
    state_after: str,
    percent: int,
    narrative: str,
    evidence: list[str],
) -> None:
    """Append a progress report (append-only)."""
    row = store.con.execute(
        "SELECT coalesce(max(seq), 0) + 1 FROM key_progress WHERE task_id = ?", [task_id]
    ).fetchone()
    store.con.execute(
        "INSERT INTO key_progress VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [task_id, int(row[0]) if row else 1, at, actor, action, state_after, percent, narrative,
         json.dumps(evidence)],
    )  # fmt: skip


def progress(where: Connection, task_id: str) -> list[dict[str, Any]]:
    """A task's progress reports, oldest first."""
    cur = cursor_of(where).execute(
        "SELECT seq, reported_at AS at, actor, action, state_after, percent, narrative, evidence "
        "FROM key_progress WHERE task_id = ? ORDER BY seq",
        [task_id],
    )
    names = [d[0] for d in cur.description]
    out = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    for row in out:
        row["evidence"] = json.loads(row["evidence"])
    return out


def add_rejects(
    store: Store, file: str, rows: list[tuple[int, str, dict[str, Any]]], at: datetime
) -> None:
    """Keep the bad rows of an imported list aside with their reason."""
    for number, reason, raw in rows:
        store.con.execute(
            "INSERT INTO key_rejects VALUES (?, ?, ?, ?, ?)",
            [file, number, reason, json.dumps(raw, ensure_ascii=False, default=str), at],
        )


def rejects(where: Connection) -> list[dict[str, Any]]:
    """Rows kept aside from task-list imports."""
    cur = cursor_of(where).execute(
        "SELECT file, row_number, reason, raw, rejected_at FROM key_rejects "
        "ORDER BY rejected_at, file, row_number"
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
