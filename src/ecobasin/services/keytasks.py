"""The region's key tasks (issue 18): plans, tasks, milestones, progress, boards and imports,
as ``ecobasin keytasks …``, ``/api/v1/keytasks/…`` and the key-task board all use them.

A consultation's decision (议定事项) or a joint meeting's item becomes a task of the same table
with a link to where it was decided (consultation_and_cases.md §2.4: "one tracker for both").
"""

from __future__ import annotations

import io
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ecobasin.store import cases as store_cases
from ecobasin.store import keytasks as store_keytasks
from ecobasin.store.database import Store
from ecobasin.store.keytasks import plans, progress, task  # stored records the web reads
from ecobasin.workflow.keytasks import KeyTaskError, next_state, validate_rows

__all__ = [
    "board",
    "create_plan",
    "from_decision",
    "import_xlsx",
    "plans",
    "progress",
    "report",
    "task",
]


def create_plan(
    store: Store, plan_id: str, year: int, title: str, issuer: str, source: str
) -> dict[str, Any]:
    """Create (or rename) a work plan."""
    store_keytasks.save_plan(store, plan_id, year, title, issuer, source)
    return {"plan_id": plan_id, "year": year, "title": title, "issuer": issuer, "source": source}


def _known_plan(store: Store, plan_id: str) -> None:
    if plan_id not in {p["plan_id"] for p in store_keytasks.plans(store)}:
        raise LookupError(f"no work plan {plan_id} 无此工作计划")


def import_xlsx(
    store: Store, source: Path | bytes, plan_id: str, at: datetime, name: str = ""
) -> dict[str, Any]:
    """Import a task list (first sheet, first row the header: 方面/编号/任务/牵头单位/配合单位/
    成果/完成时限 or the English names). Good rows are stored; every bad row is kept aside with
    its row number and reason (``key_rejects``) and counted."""
    _known_plan(store, plan_id)
    label = name or (source.name if isinstance(source, Path) else "upload.xlsx")
    data = source.read_bytes() if isinstance(source, Path) else source
    # here, not at the top: the web app and the CLI import this module
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a file that is no workbook
        raise KeyTaskError(
            f"{label}: not an .xlsx workbook ({error}) 不是有效的Excel文件"
        ) from None
    sheet = book.worksheets[0]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    book.close()
    good, bad = validate_rows(rows)
    with store.transaction():
        for row in good:
            store_keytasks.save_task(
                store,
                {
                    "task_id": f"{plan_id}/{row.code}", "plan_id": plan_id, "area": row.area,
                    "code": row.code, "title": row.title, "owners": row.owners,
                    "co_owners": row.co_owners, "deliverable": row.deliverable, "due": row.due,
                },
                at,
            )  # fmt: skip
        store_keytasks.add_rejects(store, label, [(b.row, b.reason, b.raw) for b in bad], at)
    return {
        "file": label,
        "imported": len(good),
        "rejected": len(bad),
        "rejects": [{"row": b.row, "reason": b.reason} for b in bad],
    }


def from_decision(
    store: Store,
    plan_id: str,
    source_kind: str,
    source_id: str,
    url: str,
    title: str,
    owners: list[str],
    due: date,
    at: datetime,
    area: str = "会议议定事项",
) -> dict[str, Any]:
    """A consultation decision or a joint-meeting item as a task, linked to where it was made."""
    _known_plan(store, plan_id)
    code = f"{source_kind}-{source_id}"[:60]
    task_id = f"{plan_id}/{code}"
    row: dict[str, Any] = {
        "task_id": task_id, "plan_id": plan_id, "area": area, "code": code,
        "title": title, "owners": owners, "due": due, "source_kind": source_kind,
        "source_id": source_id, "url": url,
    }  # fmt: skip
    store_keytasks.save_task(store, row, at)
    return store_keytasks.task(store, task_id)


def report(
    store: Store,
    task_id: str,
    action: str,
    actor: str,
    at: datetime,
    percent: int,
    narrative: str,
    evidence: list[str],
) -> dict[str, Any]:
    """A progress report (or completion, assessment) on a task; completing needs evidence."""
    current = store_keytasks.task(store, task_id)
    unknown = store_cases.missing_attachments(store, evidence)
    if unknown:
        raise KeyTaskError(
            f"evidence {', '.join(unknown)} is no uploaded attachment 佐证材料未上传"
        )
    held = sum(len(p["evidence"]) for p in store_keytasks.progress(store, task_id))
    state = next_state(current["state"], action, held + len(evidence))
    if not 0 <= percent <= 100:
        raise KeyTaskError(f"percent {percent} is outside 0–100 进度须在0–100之间")
    with store.transaction():
        store_keytasks.add_progress(
            store, task_id, at, actor, action, state, percent, narrative, evidence
        )
        store_keytasks.set_state(store, task_id, state, percent, at)
    return store_keytasks.task(store, task_id)


def board(
    store: Store, plan_id: str | None = None, by: str = "area", today: date | None = None
) -> list[dict[str, Any]]:
    """Tasks grouped per area or per owner, with counts per state and the overdue ones."""
    if by not in ("area", "owner"):
        raise ValueError(f"board by {by!r}: expected area or owner")
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in store_keytasks.tasks(store, plan_id):
        row["overdue"] = bool(
            today and row["due"] < today and row["state"] in ("planned", "in_progress")
        )
        for key in [row["area"]] if by == "area" else row["owners"]:
            groups[key].append(row)
    out = []
    for key, rows in sorted(groups.items()):
        counts: dict[str, int] = defaultdict(int)
        for r in rows:
            counts[r["state"]] += 1
        out.append(
            {
                "group": key,
                "tasks": rows,
                "counts": dict(counts),
                "overdue": sum(r["overdue"] for r in rows),
            }
        )
    return out
