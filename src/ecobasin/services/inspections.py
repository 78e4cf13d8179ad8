"""Inspections (督察) and their feedback problems (反馈问题) as records of their own (issue 18):
what ``ecobasin cases inspection …``, ``/api/v1/inspections/…`` and the supervision board share.

An inspection names who inspected, when, which cities and its kind (provincial, joint,
routine); each of its feedback problems opens a rectification task (source 督察反馈 / 联动督察 /
日常巡查 by the kind, the inspection and the item carried on the task, the problem linked) or is
linked to a case already open. A problem list comes one by one or from a workbook; every bad row
is kept aside with its row number and reason (``ecobasin rejected``), the good rows go on.
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from ecobasin.services import cases as case_service
from ecobasin.store import inspections as store_inspections
from ecobasin.store.database import Store
from ecobasin.workflow.cases import Link, categories
from ecobasin.workflow.inspections import (
    INSPECTION_KINDS,
    PROBLEM_HEADERS,
    InspectionError,
    Problem,
    check_inspection,
    check_problems,
)

__all__ = [
    "add_problems",
    "create_inspection",
    "import_problems",
    "inspection_detail",
    "inspection_list",
]

#: the largest problem workbook read [bytes]
MAX_WORKBOOK_BYTES = 5_000_000


def create_inspection(
    store: Store, facts: dict[str, Any], actor: str, at: datetime, region_cities: list[int]
) -> dict[str, Any]:
    """Record an inspection (InspectionError naming a bad field); returns it with its id."""
    record = check_inspection(facts, region_cities)
    inspection_id = store_inspections.save_inspection(store, record, actor, at)
    return inspection_detail(store, inspection_id)


def add_problems(
    store: Store,
    inspection_id: int,
    rows: list[dict[str, Any]],
    actor: str,
    role: str,
    at: datetime,
    source: str = "api",
    first_row: int = 1,
) -> dict[str, Any]:
    """Add feedback problems: each opens a task (or links the case it names); bad rows (and a
    case id that names no case) are kept aside as ``row N`` with the reason."""
    record = store_inspections.inspection(store, inspection_id)
    good, bad = check_problems(
        rows, [int(c) for c in record["cities"]], categories(),
        store_inspections.item_numbers(store, inspection_id), first_row,
    )  # fmt: skip
    rejects = [{"row": b.row, "reason": b.reason, "raw": b.raw} for b in bad]
    opened, linked = [], []
    for problem in good:
        if problem.case_id:
            try:
                case_service.load(store, problem.case_id)
            except LookupError:
                rejects.append({"row": problem.row, "raw": repr(problem),
                                "reason": f"case {problem.case_id} does not exist 案件不存在"})  # fmt: skip
                continue
        with store.transaction():
            problem_id = store_inspections.add_problem(store, inspection_id, problem.__dict__, at)
            if problem.case_id:
                store_inspections.link_case(store, problem_id, problem.case_id, opened=False)
                linked.append(problem.case_id)
            else:
                case = _open_case(store, record, problem, problem_id, actor, role, at)
                store_inspections.link_case(store, problem_id, case.case_id, opened=True)
                opened.append(case.case_id)
        store_inspections.settle(store)
    _keep_aside(store, inspection_id, source, rejects)
    rejects.sort(key=lambda r: int(str(r["row"])))
    return {"added": len(opened) + len(linked), "opened": opened, "linked": linked,
            "rejects": [{"row": r["row"], "reason": r["reason"]} for r in rejects]}  # fmt: skip


def _open_case(
    store: Store,
    record: dict[str, Any],
    problem: Problem,
    problem_id: int,
    actor: str,
    role: str,
    at: datetime,
) -> Any:
    """The task a feedback problem opens: its source by the inspection's kind, the inspection
    and the item on the task, the problem linked (not copied)."""
    link = Link("inspection_problem", str(problem_id),
                f"/supervision/inspections/{record['inspection_id']}")  # fmt: skip
    facts = {
        "source_type": INSPECTION_KINDS[str(record["kind"])][2],
        "title": f"{record['title']} 第{problem.item_no}项 {problem.text[:40]}",
        "problem_text": problem.text, "category": problem.category, "city_code": problem.city,
        "inspection": str(record["title"]), "feedback_ref": problem.item_no, "links": (link,),
    }  # fmt: skip
    return case_service.register(store, "task", facts, actor, role, at)


def _keep_aside(
    store: Store, inspection_id: int, source: str, rejects: list[dict[str, Any]]
) -> None:
    store.reject(pd.DataFrame([
        {"source": f"inspection-problems:{inspection_id}:{source}", "record_ref": f"row {r['row']}",
         "reason_code": "inspection_problem", "reason": r["reason"], "raw": r["raw"][:2000]}
        for r in rejects
    ]))  # fmt: skip


def import_problems(
    store: Store,
    inspection_id: int,
    source: Path | bytes,
    actor: str,
    role: str,
    at: datetime,
    name: str = "",
) -> dict[str, Any]:
    """Import a problem list (.xlsx, first sheet, header 编号 城市 类别 问题 案件 or item_no city
    category text case_id); InspectionError for a file that is no workbook or is too large."""
    data = source.read_bytes() if isinstance(source, Path) else source
    label = name or (source.name if isinstance(source, Path) else "upload.xlsx")
    if len(data) > MAX_WORKBOOK_BYTES:
        raise InspectionError(f"{label}: over {MAX_WORKBOOK_BYTES} bytes 文件过大")
    # here, not at the top: the web app and the CLI import this module
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a file that is no workbook
        raise InspectionError(
            f"{label}: not an .xlsx workbook ({error}) 不是有效的Excel文件"
        ) from None
    sheet = book.worksheets[0]
    table = [list(r) for r in sheet.iter_rows(values_only=True)]
    book.close()
    if not table:
        raise InspectionError(f"{label}: the sheet is empty 工作表为空")
    names = {zh: en for zh, en in PROBLEM_HEADERS} | {en: en for _, en in PROBLEM_HEADERS}
    header = [names.get(str(h or "").strip(), "") for h in table[0]]
    rows = [{k: v for k, v in zip(header, r, strict=False) if k} for r in table[1:]]
    return add_problems(store, inspection_id, rows, actor, role, at, label, first_row=2)


def inspection_list(store: Store) -> list[dict[str, Any]]:
    """Every inspection, newest first, with its problem and case counts and kind's labels."""
    store_inspections.settle(store)
    items = []
    for row in store_inspections.inspections(store).to_dict("records"):
        item = _clean(row)
        item["kind_zh"], item["kind_en"], _ = INSPECTION_KINDS[item["kind"]]
        items.append(item)
    return items


def inspection_detail(store: Store, inspection_id: int) -> dict[str, Any]:
    """An inspection with its problems, each with its cases and their states (LookupError)."""
    store_inspections.settle(store)  # a case read before may have left its result pending
    record = _clean(store_inspections.inspection(store, inspection_id))
    record["kind_zh"], record["kind_en"], _ = INSPECTION_KINDS[record["kind"]]
    problems = []
    for row in store_inspections.problems(store, inspection_id).to_dict("records"):
        item = _clean(row)
        ids = item.pop("case_ids") or []
        item["cases"] = [{"case_id": c, "state": case_service.load(store, c).state} for c in ids]
        problems.append(item)
    record["problems"] = problems
    return record


def _clean(row: dict[Any, Any]) -> dict[str, Any]:
    """A stored row as plain values: lists for arrays, None for missing, Python dates."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if hasattr(value, "tolist"):
            value = value.tolist()
        elif isinstance(value, pd.Timestamp):
            value = value.to_pydatetime()
        elif value is not None and not isinstance(value, list | str) and pd.isna(value):
            value = None
        out[str(key)] = value
    if out.get("cities") is not None:
        out["cities"] = [int(c) for c in out["cities"]]
    return out
