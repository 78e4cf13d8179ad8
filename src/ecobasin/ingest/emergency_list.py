"""Emergency control lists in the spreadsheet layout bureaus exchange (emergency.md §1.5).

One row per enterprise (``.xlsx``, first sheet, header on row 1; Chinese or English headers):

| column | 列名 | content |
|---|---|---|
| uscc | 统一社会信用代码 | 18 characters |
| name | 企业名称 | |
| district | 区县 | district code or name (owner of its findings) |
| industry | 行业 | |
| category | 类别 | key / other / 保障类 / exempt (重点 / 其他 accepted) |
| grade | 绩效等级 | A+, A, B, B-, C, D, 引领性 … (empty: ungraded) |
| grade_from | 等级生效日期 | ISO date |
| outlets | 排放口MN | HJ 212 MNs, separated by , ; or 、 |
| pollutants | 污染物 | SO2, NOx, PM, VOCs (default NOx) |
| yellow, orange, red | 黄色措施, 橙色措施, 红色措施 | ``停产``/``stop``, ``限产30%``/``limit 30%``, ``豁免``/``exempt`` |
| grace_hours | 宽限小时 | hours to take effect (一厂一策 plan), default 0 |
| meters | 用电监控电表 | sub-meters (分表计电, §2.2): ``生产:SITE`` / ``production:SITE`` and ``治污:SITE`` / ``treatment:SITE``, separated by , ; or 、 (optional) |

Every bad row is returned with its row number and the reason; the good rows are not held back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook

from ecobasin.standards.emergency import LEVELS, POLLUTANTS
from ecobasin.workflow.emergency import ListRecord

__all__ = ["COLUMNS", "parse_measure", "parse_rows", "read_list_xlsx", "write_list_xlsx"]

#: column → Chinese header (both accepted on import; export writes "中文 English")
COLUMNS: dict[str, str] = {
    "uscc": "统一社会信用代码", "name": "企业名称", "district": "区县", "industry": "行业",
    "category": "类别", "grade": "绩效等级", "grade_from": "等级生效日期", "outlets": "排放口MN",
    "pollutants": "污染物", "yellow": "黄色措施", "orange": "橙色措施", "red": "红色措施",
    "grace_hours": "宽限小时", "meters": "用电监控电表",
}  # fmt: skip
_METER_ROLE = {"生产": "production", "production": "production", "治污": "treatment",
               "treatment": "treatment"}  # fmt: skip
_CATEGORY = {"重点": "key", "其他": "other", "豁免": "exempt"}
_SPLIT = re.compile(r"[,;，；、\s]+")
_LIMIT = re.compile(r"^(?:限产|limit)\s*(\d+(?:\.\d+)?)\s*%$", re.IGNORECASE)


def parse_measure(text: str, grace_hours: int) -> dict[str, Any]:
    """A measure from its cell text: stop, limit X %, or exempt (empty = exempt)."""
    t = text.strip()
    if t.lower() in ("", "exempt", "豁免", "自主减排"):
        return {"action": "exempt"}
    if t.lower() in ("stop", "停产"):
        return {"action": "stop", "grace_hours": grace_hours}
    m = _LIMIT.match(t)
    if m and 0 < float(m.group(1)) <= 100:
        return {"action": "limit", "ratio": float(m.group(1)) / 100, "grace_hours": grace_hours}
    raise ValueError(f"measure {text!r} is not 停产/stop, 限产X%/limit X% or 豁免/exempt")


def _header(cell: Any) -> str | None:
    name = str(cell or "").strip()
    for key, zh in COLUMNS.items():
        if name == key or name.startswith(zh) or name.endswith(key):
            return key
    return None


def _cell(row: Mapping[str, Any], key: str) -> str:
    value = row.get(key)
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    return "" if value is None else str(value).strip()


def _record(row: Mapping[str, Any]) -> ListRecord:
    uscc = _cell(row, "uscc")
    if len(uscc) != 18:
        raise ValueError(f"统一社会信用代码 {uscc!r} must have 18 characters")
    grace = int(float(_cell(row, "grace_hours") or 0))
    grade, since = _cell(row, "grade"), _cell(row, "grade_from")
    if grade and not since:
        raise ValueError("a grade needs its 等级生效日期 (effective date)")
    grades = (
        ({"grade": grade, "effective_from": date.fromisoformat(since).isoformat()},)
        if grade
        else ()
    )
    outlets = tuple(o for o in _SPLIT.split(_cell(row, "outlets")) if o)
    if not outlets:
        raise ValueError("no outlet (排放口MN)")
    pollutants = tuple(p for p in _SPLIT.split(_cell(row, "pollutants")) if p) or ("NOx",)
    unknown = set(pollutants) - set(POLLUTANTS)
    if unknown:
        raise ValueError(f"unknown pollutants {sorted(unknown)}; expected {list(POLLUTANTS)}")
    category = _cell(row, "category") or "key"
    meters = tuple(_meter(m) for m in _SPLIT.split(_cell(row, "meters")) if m)
    return ListRecord(
        uscc=uscc, name=_cell(row, "name"), district=_cell(row, "district"),
        industry=_cell(row, "industry"), category=_CATEGORY.get(category, category),
        grades=grades, outlets=outlets,
        measures={lv: parse_measure(_cell(row, lv), grace) for lv in LEVELS},
        pollutants=pollutants, meters=meters,
    )  # fmt: skip


def _meter(text: str) -> dict[str, str]:
    """``生产:SITE`` → ``{"role": "production", "site": "SITE"}`` (用电监控电表 column)."""
    role, sep, site = text.replace("：", ":").partition(":")
    if not sep or role.strip().lower() not in _METER_ROLE or not site.strip():
        raise ValueError(
            f"meter {text!r} is not 生产:SITE / production:SITE or 治污:SITE / treatment:SITE"
        )
    return {"role": _METER_ROLE[role.strip().lower()], "site": site.strip()}


def parse_rows(
    rows: Iterable[Mapping[str, Any]], first_row: int = 2
) -> tuple[list[ListRecord], list[tuple[int, str, str]]]:
    """Records of the good rows, and ``(row number, USCC, reason)`` of every bad one
    (a USCC seen twice is refused at its second row)."""
    good: list[ListRecord] = []
    bad: list[tuple[int, str, str]] = []
    seen: set[str] = set()
    for n, row in enumerate(rows, start=first_row):
        try:
            rec = _record(row)
            if rec.uscc in seen:
                raise ValueError("USCC listed twice")
        except (ValueError, TypeError) as exc:
            bad.append((n, _cell(row, "uscc"), str(exc)))
            continue
        seen.add(rec.uscc)
        good.append(rec)
    return good, bad


def read_list_xlsx(path: Path) -> tuple[list[ListRecord], list[tuple[int, str, str]]]:
    """Read the first sheet of a list workbook (see the module docstring for the columns)."""
    book = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        lines = sheet.iter_rows(values_only=True)
        header = [_header(c) for c in next(lines, ())]
        if "uscc" not in header:
            raise ValueError(f"{path}: no 统一社会信用代码 (uscc) column in the header row")
        rows = [{k: v for k, v in zip(header, line, strict=False) if k} for line in lines
                if any(v is not None for v in line)]  # fmt: skip
    finally:
        book.close()
    return parse_rows(rows)


def _measure_text(measure: Mapping[str, Any]) -> str:
    if measure.get("action") == "stop":
        return "停产"
    if measure.get("action") == "limit":
        return f"限产{float(measure['ratio']) * 100:g}%"
    return "豁免"


def write_list_xlsx(records: Iterable[ListRecord], path: Path) -> None:
    """Write a list in the same layout (bilingual headers); the file is readable by
    :func:`read_list_xlsx`. The latest grade entry is written."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append([f"{zh} {key}" for key, zh in COLUMNS.items()])
    for r in records:
        latest = max(r.grades, key=lambda g: str(g["effective_from"]), default=None)
        grace = max((int(m.get("grace_hours", 0)) for m in r.measures.values()), default=0)
        sheet.append([
            r.uscc, r.name, r.district, r.industry, r.category,
            latest["grade"] if latest else "", latest["effective_from"] if latest else "",
            ",".join(r.outlets), ",".join(r.pollutants),
            *(_measure_text(r.measures.get(lv, {})) for lv in LEVELS), grace,
            ",".join(f"{m['role']}:{m['site']}" for m in r.meters),
        ])  # fmt: skip
    book.save(path)
