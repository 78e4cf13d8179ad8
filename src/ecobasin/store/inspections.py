"""Inspections (督察) and their feedback problems in DuckDB (issue 18): SQL only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd

from ecobasin.store import _sql
from ecobasin.store.database import Store

__all__ = [
    "add_problem",
    "inspection",
    "inspections",
    "item_numbers",
    "link_case",
    "problems",
    "save_inspection",
    "settle",
]


def save_inspection(store: Store, record: dict[str, Any], actor: str, at: datetime) -> int:
    """Add an inspection; returns its id."""
    row = _sql.rows(
        store,
        "INSERT INTO supervision_inspections (title, kind, inspector, started_on, ended_on, "
        "cities, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING inspection_id",
        [record["title"], record["kind"], record["inspector"], record["started_on"],
         record["ended_on"], record["cities"], actor, at],
    )  # fmt: skip
    return int(row[0][0])


def inspections(where: _sql.Connection) -> pd.DataFrame:
    """Every inspection, newest first, with its problem and case counts."""
    return _sql.frame(
        where,
        "SELECT i.*, count(DISTINCT p.problem_id) AS problems, count(c.case_id) AS cases "
        "FROM supervision_inspections i LEFT JOIN supervision_problems p USING (inspection_id) "
        "LEFT JOIN supervision_problem_cases c USING (problem_id) "
        "GROUP BY ALL ORDER BY i.started_on DESC, i.inspection_id DESC",
    )


def inspection(where: _sql.Connection, inspection_id: int) -> dict[str, Any]:
    """One inspection; LookupError when there is none."""
    frame = _sql.frame(
        where, "SELECT * FROM supervision_inspections WHERE inspection_id = ?", [inspection_id]
    )
    if frame.empty:
        raise LookupError(f"no inspection {inspection_id} 无此督察")
    record: dict[str, Any] = {str(k): v for k, v in frame.iloc[0].to_dict().items()}
    return record


def item_numbers(where: _sql.Connection, inspection_id: int) -> list[str]:
    rows = _sql.rows(
        where, "SELECT item_no FROM supervision_problems WHERE inspection_id = ?", [inspection_id]
    )
    return [str(r[0]) for r in rows]


def add_problem(store: Store, inspection_id: int, problem: dict[str, Any], at: datetime) -> int:
    row = _sql.rows(
        store,
        "INSERT INTO supervision_problems (inspection_id, item_no, city, category, text, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING problem_id",
        [inspection_id, problem["item_no"], problem["city"], problem["category"],
         problem["text"], at],
    )  # fmt: skip
    return int(row[0][0])


def link_case(store: Store, problem_id: int, case_id: str, opened: bool) -> None:
    _sql.rows(
        store,
        "INSERT OR IGNORE INTO supervision_problem_cases VALUES (?, ?, ?) RETURNING problem_id",
        [problem_id, case_id, opened],
    )


def problems(where: _sql.Connection, inspection_id: int) -> pd.DataFrame:
    """The problems of an inspection with their cases' ids (a list), by item number."""
    return _sql.frame(
        where,
        "SELECT p.*, list(c.case_id ORDER BY c.case_id) FILTER (WHERE c.case_id IS NOT NULL) "
        "AS case_ids FROM supervision_problems p LEFT JOIN supervision_problem_cases c "
        "USING (problem_id) WHERE p.inspection_id = ? GROUP BY ALL ORDER BY p.item_no",
        [inspection_id],
    )


def settle(where: _sql.Connection) -> None:
    """Finish any result the case workflow's writes left on the connection (DuckDB's relation
    reads refuse to run while one is pending)."""
    _sql.rows(where, "SELECT 1")
