"""The region's yearly key tasks (年度重点任务) as pure data and a small state machine.

Model (consultation_and_cases.md §2.4): ``work_plan`` (year, issuer: e.g. the 2022 川渝 work
points, 6 aspects and 32 tasks; or "8-city consultation n") → ``area`` (aspect) → ``task`` with
owners (cities, departments), a due date and a status → ``milestone`` (quarterly) → progress
reports with evidence. States: planned → in_progress → completed / partially_completed (基本完成) /
not_completed → assessed; ``completed`` needs evidence. A consultation's 议定事项 or a joint
meeting's decision becomes a task of the same table, linked to where it was decided.

:func:`validate_rows` checks the rows of an imported task list: every bad row is kept aside with
its row number and reason, the good rows go on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

__all__ = [
    "COLUMNS",
    "TASK_STATES",
    "TASK_TRANSITIONS",
    "KeyTaskError",
    "RowProblem",
    "TaskRow",
    "next_state",
    "validate_rows",
]

TASK_STATES = (
    "planned",
    "in_progress",
    "completed",
    "partially_completed",
    "not_completed",
    "assessed",
)
#: (from, action) → to
TASK_TRANSITIONS: dict[tuple[str, str], str] = {
    ("planned", "start"): "in_progress",
    ("planned", "report_progress"): "in_progress",
    ("in_progress", "report_progress"): "in_progress",
    ("in_progress", "complete"): "completed",
    ("in_progress", "complete_partly"): "partially_completed",
    ("in_progress", "fail"): "not_completed",
    ("planned", "fail"): "not_completed",
    ("completed", "assess"): "assessed",
    ("partially_completed", "assess"): "assessed",
    ("not_completed", "assess"): "assessed",
}
#: Columns of an imported task list (Chinese or English header names).
COLUMNS: dict[str, tuple[str, ...]] = {
    "area": ("area", "方面", "领域"),
    "code": ("code", "编号", "序号"),
    "title": ("title", "任务", "重点任务"),
    "owners": ("owners", "牵头单位", "责任单位"),
    "co_owners": ("co_owners", "配合单位"),
    "deliverable": ("deliverable", "成果", "工作目标"),
    "due": ("due", "完成时限", "时限"),
}
_REQUIRED = ("area", "code", "title", "owners", "due")


class KeyTaskError(ValueError):
    """A refused key-task action (bilingual)."""


def next_state(state: str, action: str, evidence_count: int) -> str:
    """The state after ``action``; ``completed`` needs evidence (§2.4)."""
    to = TASK_TRANSITIONS.get((state, action))
    if to is None:
        raise KeyTaskError(f"{action} is not possible in state {state} 当前状态不能执行该操作")
    if to == "completed" and evidence_count == 0:
        raise KeyTaskError("completing a task needs evidence 完成任务须附佐证材料")
    return to


@dataclass(frozen=True)
class TaskRow:
    """One good row of an imported list."""

    row: int
    area: str
    code: str
    title: str
    owners: tuple[str, ...]
    co_owners: tuple[str, ...]
    deliverable: str
    due: date


@dataclass(frozen=True)
class RowProblem:
    """A row kept aside: its number (1 = header), the reason, and the raw cells."""

    row: int
    reason: str
    raw: dict[str, Any]


def _header_map(header: Iterable[Any]) -> dict[int, str]:
    names = {alias: key for key, aliases in COLUMNS.items() for alias in aliases}
    return {i: names[str(h).strip()] for i, h in enumerate(header) if str(h).strip() in names}


def _due(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value).strip().replace("/", "-").replace(".", "-"))


def _split(value: Any) -> tuple[str, ...]:
    text = "" if value is None else str(value)
    for sep in ("、", "；", ";", "，"):
        text = text.replace(sep, ",")
    return tuple(p.strip() for p in text.split(",") if p.strip())


def validate_rows(rows: list[list[Any]]) -> tuple[list[TaskRow], list[RowProblem]]:
    """Good task rows and the rows kept aside (first row: the header).

    Raises
    ------
    KeyTaskError
        When the header lacks a required column (nothing can be read).
    """
    if not rows:
        raise KeyTaskError("the task list is empty 任务清单为空")
    columns = _header_map(rows[0])
    missing = [c for c in _REQUIRED if c not in columns.values()]
    if missing:
        raise KeyTaskError(f"header lacks columns {missing} 表头缺少列；expected e.g. {COLUMNS}")
    good: list[TaskRow] = []
    bad: list[RowProblem] = []
    seen: set[str] = set()
    for number, cells in enumerate(rows[1:], start=2):
        raw = {key: cells[i] if i < len(cells) else None for i, key in columns.items()}
        if all(v in (None, "") for v in raw.values()):
            continue
        reason = _row_problem(raw, seen)
        if reason:
            bad.append(RowProblem(number, reason, {k: _plain(v) for k, v in raw.items()}))
            continue
        seen.add(str(raw["code"]).strip())
        good.append(
            TaskRow(
                number,
                str(raw["area"]).strip(),
                str(raw["code"]).strip(),
                str(raw["title"]).strip(),
                _split(raw["owners"]),
                _split(raw.get("co_owners")),
                str(raw.get("deliverable") or "").strip(),
                _due(raw["due"]),
            )
        )
    return good, bad


def _row_problem(raw: Mapping[str, Any], seen: set[str]) -> str:
    empty = [c for c in _REQUIRED if raw.get(c) in (None, "")]
    if empty:
        return f"empty {', '.join(empty)} 必填项为空"
    if str(raw["code"]).strip() in seen:
        return f"duplicate code {raw['code']} 编号重复"
    try:
        _due(raw["due"])
    except ValueError:
        return f"due {raw['due']!r} is not a date (YYYY-MM-DD) 完成时限不是日期"
    return ""


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value
