"""Inspections (督察) and their feedback problems (反馈问题) as records of their own (issue 18;
consultation_and_cases.md §2.1–§2.2: an inspection round feeds back problems, each rectified as
one or more tasks).

Pure checks of what a person or a workbook gives: :func:`check_inspection` and
:func:`check_problems` answer the clean record or the reasons it is refused (bilingual); the
service stores them and opens or links the rectification cases.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

__all__ = [
    "INSPECTION_KINDS",
    "PROBLEM_HEADERS",
    "InspectionError",
    "Problem",
    "ProblemReject",
    "check_inspection",
    "check_problems",
]

#: kinds of inspection: label (zh, en) and the source type their problems' cases carry
INSPECTION_KINDS: dict[str, tuple[str, str, str]] = {
    "provincial": ("省级督察", "provincial inspection", "inspection_feedback"),
    "joint": ("联动督察", "joint inspection", "joint_inspection"),
    "routine": ("日常督察", "routine inspection", "routine_patrol"),
}
#: workbook headers of a problem list (Chinese or English), in order
PROBLEM_HEADERS = (("编号", "item_no"), ("城市", "city"), ("类别", "category"),
                   ("问题", "text"), ("案件", "case_id"))  # fmt: skip


class InspectionError(ValueError):
    """An inspection or problem refused, with the reason in Chinese and English."""


@dataclass(frozen=True)
class Problem:
    """A feedback problem (反馈问题): its item number in the feedback, city, category, text and
    the case it links to (empty: a new case is opened)."""

    item_no: str
    city: int
    category: str
    text: str
    case_id: str = ""
    row: int = 0  # the row it came from (workbook row number, or place in the request)


@dataclass(frozen=True)
class ProblemReject:
    """A problem row kept aside: ``row N`` (the workbook's row number) and why."""

    row: int
    reason: str
    raw: str


def check_inspection(facts: Mapping[str, Any], region_cities: Iterable[int]) -> dict[str, Any]:
    """The inspection record (title, kind, inspector, started_on, ended_on, cities) or
    :class:`InspectionError` naming the field."""
    title = str(facts.get("title") or "").strip()
    inspector = str(facts.get("inspector") or "").strip()
    if not title or not inspector:
        raise InspectionError("title and inspector are required 标题和督察组必填")
    kind = str(facts.get("kind") or "")
    if kind not in INSPECTION_KINDS:
        raise InspectionError(f"kind {kind!r} is not one of {', '.join(INSPECTION_KINDS)} 督察类型")
    try:
        started = _day(facts.get("started_on"))
        ended = _day(facts.get("ended_on")) if facts.get("ended_on") else None
    except ValueError:
        raise InspectionError(
            "started_on, ended_on: a day YYYY-MM-DD 日期格式应为YYYY-MM-DD"
        ) from None
    if ended is not None and ended < started:
        raise InspectionError(f"ended_on {ended} is before started_on {started} 结束早于开始")
    cities = sorted({int(c) for c in facts.get("cities") or ()})
    outside = [c for c in cities if c not in set(region_cities)]
    if not cities or outside:
        raise InspectionError(f"cities {outside or '[]'}: one or more of the region's cities 城市")
    return {"title": title, "kind": kind, "inspector": inspector, "started_on": started,
            "ended_on": ended, "cities": cities}  # fmt: skip


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def check_problems(
    rows: Sequence[Mapping[str, Any]],
    cities: Sequence[int],
    categories: Iterable[str],
    held: Iterable[str] = (),
    first_row: int = 2,
) -> tuple[list[Problem], list[ProblemReject]]:
    """(good problems, rejects) of rows with item_no, city, category, text, case_id: a row
    without text or item number, a city not inspected, an unknown category or an item number
    twice (in the rows or already held) is kept aside with its row number and reason."""
    known = set(categories)
    seen = set(held)
    good: list[Problem] = []
    bad: list[ProblemReject] = []
    for offset, raw in enumerate(rows):
        row = {k: "" if v is None else str(v).strip() for k, v in raw.items()}
        try:
            problem = _problem(row, cities, known, first_row + offset)
            if problem.item_no in seen:
                raise InspectionError(f"item {problem.item_no} appears twice 编号重复")
            seen.add(problem.item_no)
            good.append(problem)
        except InspectionError as error:
            bad.append(ProblemReject(first_row + offset, str(error), repr(dict(row))))
    return good, bad


def _problem(
    row: Mapping[str, str], cities: Sequence[int], categories: set[str], number: int
) -> Problem:
    missing = [k for k in ("item_no", "city", "category", "text") if not row.get(k)]
    if missing:
        raise InspectionError(f"missing {', '.join(missing)} 缺少必填字段")
    try:
        city = int(float(row["city"]))
    except ValueError:
        raise InspectionError(f"city {row['city']!r} is not a GB/T 2260 code") from None
    if city not in cities:
        raise InspectionError(f"city {city} was not inspected in this round 非本次督察城市")
    if row["category"] not in categories:
        raise InspectionError(f"category {row['category']!r} is unknown 未知问题类别")
    return Problem(
        row["item_no"], city, row["category"], row["text"], row.get("case_id", ""), number
    )
