"""Emergency control lists in the spreadsheet layout bureaus exchange (emergency.md §1.4, §1.5).

A list workbook (``.xlsx``) has four sheets, each with its header on row 1 (Chinese or English
headers; export and the template write both, ``中文 English``):

**企业 enterprises** (the first sheet): one row per enterprise.

| column | 列名 | content |
|---|---|---|
| uscc | 统一社会信用代码 | 18 characters |
| name | 企业名称 | |
| district | 区县 | district code or name (owner of its findings) |
| industry | 行业 | |
| category | 类别 | key / other / 保障类 / exempt (重点 / 其他 / 豁免 accepted) |
| grade | 绩效等级 | A+, A, B, B-, C, D, 引领性 … (empty: ungraded) |
| grade_from | 等级生效日期 | ISO date |
| outlets | 排放口MN | HJ 212 MNs, separated by , ; or 、 |
| pollutants | 污染物 | SO2, NOx, PM, VOCs (default NOx) |
| yellow, orange, red | 黄色措施, 橙色措施, 红色措施 | ``停产``/``stop``, ``限产30%``/``limit 30%``, ``豁免``/``exempt`` |
| grace_hours | 宽限小时 | hours to take effect (一厂一策 plan), default 0 |
| meters | 用电监控电表 | sub-meters (分表计电, §2.2): ``生产:SITE`` / ``production:SITE`` and ``治污:SITE`` / ``treatment:SITE`` (optional) |
| sub_industry | 子行业 | (optional) |
| grade_source | 等级依据文件 | document of the grade (empty: the grade scheme in force at grade_from) |

**工序 processes** (§1.5): one row per process or line of an enterprise of the first sheet:
uscc 统一社会信用代码, process_id 工序编号, process_name 工序名称, capacity 设计产能 and
capacity_unit 产能单位, baseline_load 基准负荷% [%], outlets 关联排放口MN (the enterprise's own),
meters 关联电表 (sites of its 用电监控电表), the measure on this line per level (黄色/橙色/红色措施:
停产/stop, 限产X%/limit X%, 错峰/stagger, empty: none), effect_hours 生效时间(小时) and grace_hours
宽限小时 [h]. When a level has line measures, each outlet is judged on the measure of the line it
serves and the outlets of the other lines may run.

**行业措施 sector measures** (§1.4: construction sites, non-road machinery, trucks, VOCs work):
one row per measure and level: id 编号, city 城市 (optional; must be the imported city), name
措施名称, sector 行业类别 (construction 施工工地, nonroad 非道路移动机械, trucks 货车, vocs VOCs作业,
roads 道路, other 其他), district 区县, level 预警级别, action 措施类型 (停止/stop, 限制/limit),
measure 管控内容 (what is stopped or limited), fraction 削减比例 [%] of the sector's baseline, and
the reduction it claims per pollutant [t/d] (申报减排; optional, checked against baseline × fraction).

**基准排放 baselines** (§1.4 ``b``, §1.5, §2.5 step 2): one row per enterprise or sector measure:
id 编号或信用代码, the baseline daily emission per pollutant [t/d], method 核算方法 (online_data
在线监测, permit 排污许可, inventory 排放清单) and its reference period 基准期起/基准期止.

Every bad row is returned as a :class:`BadRow` (sheet, row, column, id, reason); the good rows
are not held back.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from ecobasin.standards.emergency import LEVELS, POLLUTANTS, grade_scheme_at
from ecobasin.workflow.emergency import ListRecord

if TYPE_CHECKING:
    from openpyxl import Workbook
    from openpyxl.worksheet.worksheet import Worksheet

__all__ = [
    "BASELINE_COLUMNS",
    "BASELINE_METHODS",
    "COLUMNS",
    "ENTERPRISE_SHEET",
    "PROCESS_COLUMNS",
    "PROCESS_SHEET",
    "SECTOR_COLUMNS",
    "SECTOR_KINDS",
    "BadRow",
    "parse_measure",
    "parse_rows",
    "read_list_xlsx",
    "write_list_template",
    "write_list_xlsx",
]

ENTERPRISE_SHEET = "企业 enterprises"
SECTOR_SHEET = "行业措施 sector measures"
BASELINE_SHEET = "基准排放 baselines"
PROCESS_SHEET = "工序 processes"
_NOTES_SHEET = "说明 notes"

#: column → Chinese header (both accepted on import; export writes "中文 English")
COLUMNS: dict[str, str] = {
    "uscc": "统一社会信用代码", "name": "企业名称", "district": "区县", "industry": "行业",
    "category": "类别", "grade": "绩效等级", "grade_from": "等级生效日期", "outlets": "排放口MN",
    "pollutants": "污染物", "yellow": "黄色措施", "orange": "橙色措施", "red": "红色措施",
    "grace_hours": "宽限小时", "meters": "用电监控电表",
    # appended last, so workbooks written in the earlier column order still line up
    "sub_industry": "子行业", "grade_source": "等级依据文件",
}  # fmt: skip
#: sector-measure sheet (§1.4); ``claimed_<p>`` is the reduction claimed [t/d]
SECTOR_COLUMNS: dict[str, str] = {
    "id": "编号", "city": "城市", "name": "措施名称", "sector": "行业类别", "district": "区县",
    "level": "预警级别", "action": "措施类型", "measure": "管控内容", "fraction": "削减比例%",
    **{f"claimed_{p}": f"申报减排{p}(t/d)" for p in POLLUTANTS},
}  # fmt: skip
#: baseline sheet (§1.5); ``base_<p>`` is the baseline daily emission [t/d]
BASELINE_COLUMNS: dict[str, str] = {
    "id": "编号或信用代码", **{f"base_{p}": f"基准{p}(t/d)" for p in POLLUTANTS},
    "method": "核算方法", "reference_from": "基准期起", "reference_to": "基准期止",
}  # fmt: skip
#: process / line sheet (§1.5): one row per process; its measures target it
PROCESS_COLUMNS: dict[str, str] = {
    "uscc": "统一社会信用代码", "process_id": "工序编号", "process_name": "工序名称",
    "capacity": "设计产能", "capacity_unit": "产能单位", "baseline_load": "基准负荷%",
    "outlets": "关联排放口MN", "meters": "关联电表", "yellow": "黄色措施", "orange": "橙色措施",
    "red": "红色措施", "effect_hours": "生效时间(小时)", "grace_hours": "宽限小时",
}  # fmt: skip
#: sector kinds (§1.4, §1.6) → Chinese label
SECTOR_KINDS: dict[str, str] = {
    "construction": "施工工地", "nonroad": "非道路移动机械", "trucks": "货车",
    "vocs": "VOCs作业", "roads": "道路", "other": "其他",
}  # fmt: skip
#: baseline methods (§1.5) → Chinese label
BASELINE_METHODS: dict[str, str] = {
    "online_data": "在线监测", "permit": "排污许可", "inventory": "排放清单",
}  # fmt: skip
_LEVEL_ZH = {"黄色": "yellow", "橙色": "orange", "红色": "red"}
_ACTIONS = {"停止": "stop", "停产": "stop", "stop": "stop", "限制": "limit", "限产": "limit",
            "limit": "limit"}  # fmt: skip
_METER_ROLE = {"生产": "production", "production": "production", "治污": "treatment",
               "treatment": "treatment"}  # fmt: skip
_CATEGORY = {"重点": "key", "其他": "other", "豁免": "exempt"}
_SPLIT = re.compile(r"[,;，；、\s]+")
_LIMIT = re.compile(r"^(?:限产|limit)\s*(\d+(?:\.\d+)?)\s*%$", re.IGNORECASE)
#: a claimed cut may differ from baseline × fraction by this much [t/d] or share [1]
_CLAIM_ABS, _CLAIM_REL = 0.001, 0.01


class BadRow(NamedTuple):
    """A row kept aside: the sheet, the row number, the column at fault and why."""

    sheet: str
    row: int
    column: str
    id: str
    reason: str

    def text(self) -> str:
        """``sheet row N, column C (id): reason``, as the import report shows it."""
        return f"{self.sheet} row {self.row}, column {self.column} ({self.id}): {self.reason}"


class _CellError(ValueError):
    """A bad cell: the column it is in and why."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column


def _column(key: str, columns: Mapping[str, str]) -> str:
    return f"{columns[key]} {key}" if key in columns else key


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


def _header(cell: Any, columns: Mapping[str, str] = COLUMNS) -> str | None:
    name = str(cell or "").strip()
    for key, zh in columns.items():
        if name == key or name.startswith(zh) or name.endswith(f" {key}"):
            return key
    return None


def _cell(row: Mapping[str, Any], key: str) -> str:
    value = row.get(key)
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    return "" if value is None else str(value).strip()


def _checked(key: str, check: Any, *args: Any) -> Any:
    """Run ``check``; a ValueError becomes a :class:`_CellError` of column ``key``."""
    try:
        return check(*args)
    except _CellError:
        raise
    except (ValueError, TypeError) as exc:
        raise _CellError(key, str(exc)) from exc


# ---------------------------------------------------------------------------------------------
# enterprises (first sheet)
# ---------------------------------------------------------------------------------------------
def _record(row: Mapping[str, Any]) -> ListRecord:
    uscc = _cell(row, "uscc")
    if len(uscc) != 18:
        raise _CellError("uscc", f"统一社会信用代码 {uscc!r} must have 18 characters")
    grace = _checked("grace_hours", lambda: int(float(_cell(row, "grace_hours") or 0)))
    grade, since = _cell(row, "grade"), _cell(row, "grade_from")
    if grade and not since:
        raise _CellError("grade_from", "a grade needs its 等级生效日期 (effective date)")
    grades = (
        (_checked("grade", _grade_entry, grade, since, _cell(row, "grade_source")),)
        if grade
        else ()
    )
    outlets = tuple(o for o in _SPLIT.split(_cell(row, "outlets")) if o)
    if not outlets:
        raise _CellError("outlets", "no outlet (排放口MN)")
    pollutants = tuple(p for p in _SPLIT.split(_cell(row, "pollutants")) if p) or ("NOx",)
    unknown = set(pollutants) - set(POLLUTANTS)
    if unknown:
        raise _CellError(
            "pollutants", f"unknown pollutants {sorted(unknown)}; expected {list(POLLUTANTS)}"
        )
    category = _cell(row, "category") or "key"
    meters = _checked("meters", lambda: tuple(
        _meter(m) for m in _SPLIT.split(_cell(row, "meters")) if m
    ))  # fmt: skip
    measures = {lv: _checked(lv, parse_measure, _cell(row, lv), grace) for lv in LEVELS}
    record: ListRecord = _checked("category", lambda: ListRecord(
        uscc=uscc, name=_cell(row, "name"), district=_cell(row, "district"),
        industry=_cell(row, "industry"), sub_industry=_cell(row, "sub_industry"),
        category=_CATEGORY.get(category, category),
        grades=grades, outlets=outlets, measures=measures, pollutants=pollutants, meters=meters,
    ))  # fmt: skip
    return record


def _grade_entry(grade: str, since: str, source: str) -> dict[str, str]:
    """A grade entry with its source document (§1.5); the grade must belong to the grade scheme
    in force at its effective date (grade_schemes.toml), which is the default source."""
    try:
        effective = _iso_date(since)
    except ValueError as exc:
        raise _CellError("grade_from", str(exc)) from exc
    try:
        scheme = grade_scheme_at(effective)
    except LookupError as exc:
        raise _CellError("grade_from", str(exc)) from exc
    if grade not in (*scheme["order"], *scheme.get("fallback", {})):
        raise ValueError(
            f"grade {grade!r} is not in the scheme in force on {effective} "
            f"({scheme['document']}: {', '.join(scheme['order'])})"
        )
    return {"grade": grade, "effective_from": effective, "source": source or scheme["document"]}


def _iso_date(text: str) -> str:
    return date.fromisoformat(text).isoformat()


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
) -> tuple[list[ListRecord], list[BadRow]]:
    """Records of the good enterprise rows, and a :class:`BadRow` for every bad one (a USCC
    seen twice is refused at its second row)."""
    good: list[ListRecord] = []
    bad: list[BadRow] = []
    seen: set[str] = set()
    for n, row in enumerate(rows, start=first_row):
        try:
            rec = _record(row)
            if rec.uscc in seen:
                raise _CellError("uscc", "USCC listed twice")
        except _CellError as exc:
            column = _column(exc.column, COLUMNS)
            bad.append(BadRow(ENTERPRISE_SHEET, n, column, _cell(row, "uscc"), str(exc)))
            continue
        seen.add(rec.uscc)
        good.append(rec)
    return good, bad


# ---------------------------------------------------------------------------------------------
# processes / lines (§1.5)
# ---------------------------------------------------------------------------------------------
def _process_measure(text: str) -> dict[str, Any] | None:
    """A process measure from its cell: 停产/stop, 限产X%/limit X%, 错峰/stagger; empty = none."""
    t = text.strip()
    if not t:
        return None
    if t.lower() in ("错峰", "错峰生产", "stagger"):
        return {"action": "stagger"}
    return parse_measure(t, 0)


def _hours(text: str, what: str) -> int:
    value = int(float(text or 0))
    if value < 0:
        raise ValueError(f"{what} {text!r} h is negative")
    return value


def _process(row: Mapping[str, Any], record: ListRecord) -> dict[str, Any]:
    pid = _cell(row, "process_id")
    if not pid:
        raise _CellError("process_id", "no 工序编号 (process id)")
    if any(str(p["id"]) == pid for p in record.processes):
        raise _CellError("process_id", f"process {pid} listed twice for {record.uscc}")
    outlets = [o for o in _SPLIT.split(_cell(row, "outlets")) if o]
    foreign = sorted(set(outlets) - set(record.outlets))
    if foreign:
        raise _CellError("outlets", f"outlets {foreign} are not the enterprise's 排放口MN")
    meters = [m for m in _SPLIT.split(_cell(row, "meters")) if m]
    unknown = sorted(set(meters) - {str(m["site"]) for m in record.meters})
    if unknown:
        raise _CellError("meters", f"meters {unknown} are not in the enterprise's 用电监控电表")
    timing = {k: _checked(k, _hours, _cell(row, k), k) for k in ("effect_hours", "grace_hours")}
    measures = {}
    for lv in LEVELS:
        measure = _checked(lv, _process_measure, _cell(row, lv))
        if measure is not None and measure["action"] != "exempt":
            measures[lv] = {**measure, **timing}
    capacity = _checked("capacity", lambda: float(_cell(row, "capacity") or 0))
    load = _checked("baseline_load", lambda: _percent(_cell(row, "baseline_load") or "100", "load"))
    return {
        "id": pid, "name": _cell(row, "process_name"), "capacity": capacity,
        "capacity_unit": _cell(row, "capacity_unit"), "baseline_load": load,
        "outlets": outlets, "meters": meters, "measures": measures,
    }  # fmt: skip


def _with_processes(
    records: list[ListRecord], rows: Iterable[Mapping[str, Any]]
) -> tuple[list[ListRecord], list[BadRow]]:
    """The records with the processes of the 工序 sheet attached; a row naming no enterprise of
    the list, or with a bad cell, is kept aside."""
    by_uscc = {r.uscc: r for r in records}
    bad: list[BadRow] = []
    for n, row in enumerate(rows, start=2):
        uscc = _cell(row, "uscc")
        try:
            if uscc not in by_uscc:
                raise _CellError("uscc", f"{uscc!r} is no enterprise of this list")
            rec = by_uscc[uscc]
            by_uscc[uscc] = replace(rec, processes=(*rec.processes, _process(row, rec)))
        except _CellError as exc:
            column = _column(exc.column, PROCESS_COLUMNS)
            bad.append(BadRow(PROCESS_SHEET, n, column, uscc, str(exc)))
    return [by_uscc[r.uscc] for r in records], bad


# ---------------------------------------------------------------------------------------------
# sector measures and baselines
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _SectorRow:
    """One sector-measure row: its record facts, level, measure and claimed cuts [t/d]."""

    row: int
    id: str
    name: str
    sector: str
    district: str
    level: str
    measure: dict[str, Any]
    claimed: dict[str, float]


def _keyed(text: str, table: Mapping[str, str], what: str) -> str:
    """The key of ``text`` in a key → Chinese table (key or Chinese accepted)."""
    t = text.strip()
    for key, zh in table.items():
        if t.lower() == key.lower() or t == zh:
            return key
    choices = ", ".join(f"{k}/{zh}" for k, zh in table.items())
    raise ValueError(f"{what} {text!r} is not one of {choices}")


def _level(text: str) -> str:
    t = text.strip().removesuffix("预警")
    if t.lower() in LEVELS:
        return t.lower()
    if t in _LEVEL_ZH:
        return _LEVEL_ZH[t]
    raise ValueError(f"level {text!r} is not 黄色/yellow, 橙色/orange or 红色/red")


def _percent(text: str, what: str) -> float:
    """A share written in per cent (``30`` or ``30%``) → [1]; above 0, at most 100."""
    share = float(text.strip().removesuffix("%")) / 100
    if not 0 < share <= 1:
        raise ValueError(f"{what} {text!r} must be above 0 and at most 100 (per cent)")
    return share


def _tonnes(text: str, what: str) -> float | None:
    """A non-negative daily amount [t/d], or None for an empty cell."""
    if not text:
        return None
    value = float(text)
    if value < 0:
        raise ValueError(f"{what} {text!r} t/d is negative")
    return value


def _sector_row(n: int, row: Mapping[str, Any], city: str | None) -> _SectorRow:
    sid = _cell(row, "id")
    if not sid:
        raise _CellError("id", "no 编号 (id)")
    if city and _cell(row, "city") not in ("", city):
        raise _CellError("city", f"row of city {_cell(row, 'city')}, not the imported {city}")
    sector = _checked("sector", _keyed, _cell(row, "sector"), SECTOR_KINDS, "sector")
    level = _checked("level", _level, _cell(row, "level"))
    action = _checked("action", _keyed, _cell(row, "action"), _ACTIONS, "action")
    action = _ACTIONS[action]
    text = _cell(row, "measure")
    if not text:
        raise _CellError("measure", "no 管控内容: say what is stopped or limited")
    fraction = _checked("fraction", _percent, _cell(row, "fraction"), "fraction")
    measure: dict[str, Any] = {"action": action, "fraction": fraction, "text": text}
    if action == "limit":
        measure["ratio"] = fraction
    claimed = {}
    for p in POLLUTANTS:
        key = f"claimed_{p}"
        value = _checked(key, _tonnes, _cell(row, key), f"claimed {p}")
        if value is not None:
            claimed[p] = value
    return _SectorRow(n, sid, _cell(row, "name"), sector, _cell(row, "district"), level,
                      measure, claimed)  # fmt: skip


def _sector_rows(
    rows: Iterable[Mapping[str, Any]], city: str | None, taken: set[str]
) -> tuple[list[_SectorRow], list[BadRow]]:
    """Good sector rows (one per id and level, the id not an enterprise's) and the bad ones."""
    good: list[_SectorRow] = []
    bad: list[BadRow] = []
    first: dict[str, _SectorRow] = {}
    for n, row in enumerate(rows, start=2):
        try:
            s = _sector_row(n, row, city)
            _consistent(s, first.get(s.id), taken, {(g.id, g.level) for g in good})
        except _CellError as exc:
            column = _column(exc.column, SECTOR_COLUMNS)
            bad.append(BadRow(SECTOR_SHEET, n, column, _cell(row, "id"), str(exc)))
            continue
        first.setdefault(s.id, s)
        good.append(s)
    return good, bad


def _consistent(
    s: _SectorRow, earlier: _SectorRow | None, taken: set[str], levels: set[tuple[str, str]]
) -> None:
    if s.id in taken:
        raise _CellError("id", f"id {s.id} is an enterprise's USCC on the first sheet")
    if (s.id, s.level) in levels:
        raise _CellError("level", f"{s.id} has a second row at {s.level}")
    if earlier is not None and (earlier.name, earlier.sector, earlier.district) != (
        s.name, s.sector, s.district,
    ):  # fmt: skip
        raise _CellError("name", f"name, sector or district differ from {s.id}'s row {earlier.row}")


def _baseline(row: Mapping[str, Any]) -> dict[str, Any]:
    amounts = {}
    for p in POLLUTANTS:
        value = _checked(f"base_{p}", _tonnes, _cell(row, f"base_{p}"), f"baseline {p}")
        if value is not None:
            amounts[p] = value
    if not amounts:
        raise _CellError("base_NOx", "no baseline amount for any pollutant")
    method = _checked("method", _keyed, _cell(row, "method"), BASELINE_METHODS, "method")
    period = {k: _checked(f"reference_{k}", _iso_date, _cell(row, f"reference_{k}"))
              for k in ("from", "to") if _cell(row, f"reference_{k}")}  # fmt: skip
    if len(period) == 2 and period["from"] > period["to"]:
        raise _CellError("reference_to", "the reference period ends before it starts")
    return {"baseline_t_per_d": amounts, "baseline_method": method, "baseline_reference": period}


def _baselines(
    rows: Iterable[Mapping[str, Any]], ids: set[str]
) -> tuple[dict[str, dict[str, Any]], list[BadRow]]:
    """Baselines by record id; rows naming no record, or a record twice, are kept aside."""
    good: dict[str, dict[str, Any]] = {}
    bad: list[BadRow] = []
    for n, row in enumerate(rows, start=2):
        rid = _cell(row, "id")
        try:
            if rid not in ids:
                raise _CellError("id", f"{rid!r} is no enterprise or sector measure of this list")
            if rid in good:
                raise _CellError("id", f"{rid} has a second baseline row")
            good[rid] = _baseline(row)
        except _CellError as exc:
            bad.append(BadRow(BASELINE_SHEET, n, _column(exc.column, BASELINE_COLUMNS), rid,
                              str(exc)))  # fmt: skip
    return good, bad


def _claim_error(s: _SectorRow, baseline: Mapping[str, float]) -> _CellError | None:
    """A claimed cut that is not baseline × fraction (§1.4 ``R = b × f``), or None."""
    for p, claim in s.claimed.items():
        if p not in baseline:
            return _CellError(f"claimed_{p}", f"claims {p} {claim:g} t/d but has no {p} baseline")
        expected = baseline[p] * float(s.measure["fraction"])
        if abs(claim - expected) > max(_CLAIM_ABS, _CLAIM_REL * expected):
            return _CellError(
                f"claimed_{p}",
                f"claims {p} {claim:g} t/d; baseline {baseline[p]:g} t/d × "
                f"{float(s.measure['fraction']):.0%} = {expected:.4g} t/d",
            )
    return None


def _sector_records(
    rows: list[_SectorRow], baselines: Mapping[str, Mapping[str, Any]]
) -> tuple[list[ListRecord], list[BadRow]]:
    """One ``sector`` record per id (no outlets; measures per level with their fraction)."""
    bad: list[BadRow] = []
    kept: dict[str, list[_SectorRow]] = {}
    for s in rows:
        base = baselines.get(s.id, {}).get("baseline_t_per_d", {})
        error = _claim_error(s, base)
        if error is not None:
            column = _column(error.column, SECTOR_COLUMNS)
            bad.append(BadRow(SECTOR_SHEET, s.row, column, s.id, str(error)))
            continue
        kept.setdefault(s.id, []).append(s)
    records = [
        ListRecord(
            uscc=sid, name=group[0].name, district=group[0].district, industry=group[0].sector,
            category="sector", grades=(), outlets=(), pollutants=(),
            measures={s.level: s.measure for s in group}, **baselines.get(sid, {}),
        )
        for sid, group in kept.items()
    ]  # fmt: skip
    return records, bad


# ---------------------------------------------------------------------------------------------
# reading and writing the workbook
# ---------------------------------------------------------------------------------------------
def _sheet_rows(sheet: Worksheet | None, columns: Mapping[str, str]) -> list[dict[str, Any]]:
    """Rows of a sheet as ``{column key: value}`` (rows entirely empty are skipped, but keep
    their number: the row numbers people see are the sheet's)."""
    if sheet is None:
        return []
    lines = sheet.iter_rows(values_only=True)
    header = [_header(c, columns) for c in next(lines, ())]
    return [{k: v for k, v in zip(header, line, strict=False) if k} for line in lines]


def _find(book: Any, *words: str) -> Worksheet | None:
    for sheet in book.worksheets[1:]:
        if any(w in sheet.title.lower() for w in words):
            return sheet
    return None


def read_list_xlsx(path: Path, city: str | None = None) -> tuple[list[ListRecord], list[BadRow]]:
    """Read a list workbook (the module docstring gives the sheets and columns): enterprise
    records, then sector-measure records, with their baselines; every bad row as a
    :class:`BadRow`. ``city``: the city imported (a sector row of another city is refused)."""
    # here, not at the top: the web app and the CLI import this module
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError) as exc:
        raise ValueError(f"not an .xlsx workbook ({exc}) 不是有效的Excel文件") from exc
    try:
        first = book.worksheets[0]
        header = [_header(c) for c in next(first.iter_rows(values_only=True), ())]
        if "uscc" not in header:
            raise ValueError(f"{path}: no 统一社会信用代码 (uscc) column in the header row")
        enterprise = _sheet_rows(first, COLUMNS)
        sectors = _sheet_rows(_find(book, "行业措施", "sector"), SECTOR_COLUMNS)
        baselines = _sheet_rows(_find(book, "基准", "baseline"), BASELINE_COLUMNS)
        processes = _sheet_rows(_find(book, "工序", "process"), PROCESS_COLUMNS)
    finally:
        book.close()
    return _assemble(enterprise, sectors, baselines, city, processes)


def _nonempty(rows: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    return [(n, r) for n, r in enumerate(rows, start=2) if any(v is not None for v in r.values())]


def _assemble(
    enterprise: list[dict[str, Any]],
    sectors: list[dict[str, Any]],
    baselines: list[dict[str, Any]],
    city: str | None,
    processes: list[dict[str, Any]] | None = None,
) -> tuple[list[ListRecord], list[BadRow]]:
    parsed, bad = _numbered(parse_rows, enterprise)
    records, bad_processes = _numbered(lambda rows: _with_processes(parsed, rows), processes or [])
    bad = [*bad, *bad_processes]
    taken = {r.uscc for r in records}
    sector_rows, bad_sectors = _numbered(lambda rows: _sector_rows(rows, city, taken), sectors)
    ids = taken | {s.id for s in sector_rows}
    found, bad_baselines = _numbered(lambda rows: _baselines(rows, ids), baselines)
    with_base = [replace(r, **found[r.uscc]) if r.uscc in found else r for r in records]
    sector_records, bad_claims = _sector_records(sector_rows, found)
    return [*with_base, *sector_records], [*bad, *bad_sectors, *bad_baselines, *bad_claims]


def _numbered(parse: Any, rows: list[dict[str, Any]]) -> tuple[Any, list[BadRow]]:
    """Run a sheet parser on the non-empty rows, keeping the sheet's own row numbers."""
    kept = _nonempty(rows)
    good, bad = parse([r for _, r in kept])
    numbers = [n for n, _ in kept]
    renumbered = [b._replace(row=numbers[b.row - 2]) for b in bad]
    if good and isinstance(good, list) and isinstance(good[0], _SectorRow):
        good = [replace(s, row=numbers[s.row - 2]) for s in good]
    return good, renumbered


def _measure_text(measure: Mapping[str, Any]) -> str:
    if measure.get("action") == "stagger":
        return "错峰"
    if measure.get("action") == "stop":
        return "停产"
    if measure.get("action") == "limit":
        return f"限产{float(measure['ratio']) * 100:g}%"
    return "豁免"


def _headers(columns: Mapping[str, str]) -> list[str]:
    return [f"{zh} {key}" for key, zh in columns.items()]


def _new_book() -> tuple[Workbook, Worksheet, Worksheet, Worksheet, Worksheet]:
    # here, not at the top: the web app and the CLI import this module
    from openpyxl import Workbook

    book = Workbook()
    first = book.active
    assert first is not None
    first.title = ENTERPRISE_SHEET
    sheets = (first, book.create_sheet(SECTOR_SHEET), book.create_sheet(BASELINE_SHEET),
              book.create_sheet(PROCESS_SHEET))  # fmt: skip
    layouts = (COLUMNS, SECTOR_COLUMNS, BASELINE_COLUMNS, PROCESS_COLUMNS)
    for sheet, columns in zip(sheets, layouts, strict=True):
        sheet.append(_headers(columns))
    return book, *sheets


def _enterprise_line(r: ListRecord) -> list[Any]:
    latest = max(r.grades, key=lambda g: str(g["effective_from"]), default=None)
    grace = max((int(m.get("grace_hours", 0)) for m in r.measures.values()), default=0)
    return [
        r.uscc, r.name, r.district, r.industry, r.category,
        latest["grade"] if latest else "", latest["effective_from"] if latest else "",
        ",".join(r.outlets), ",".join(r.pollutants),
        *(_measure_text(r.measures.get(lv, {})) for lv in LEVELS), grace,
        ",".join(f"{m['role']}:{m['site']}" for m in r.meters),
        r.sub_industry, latest.get("source", "") if latest else "",
    ]  # fmt: skip


def _sector_lines(r: ListRecord, city: str) -> list[list[Any]]:
    lines = []
    for lv in LEVELS:
        m = r.measures.get(lv)
        if not m or m.get("action") == "exempt":
            continue
        f = float(m.get("fraction", m.get("ratio", 1.0)))
        claims = [round(float(r.baseline_t_per_d[p]) * f, 6) if p in r.baseline_t_per_d else None
                  for p in POLLUTANTS]  # fmt: skip
        lines.append([r.uscc, city, r.name, r.industry, r.district, lv, m["action"],
                      m.get("text", ""), round(f * 100, 6), *claims])  # fmt: skip
    return lines


def _process_line(uscc: str, p: Mapping[str, Any]) -> list[Any]:
    measures = p.get("measures", {})
    first: Mapping[str, Any] = next(iter(measures.values()), {})
    return [uscc, p["id"], p.get("name", ""), p.get("capacity", 0), p.get("capacity_unit", ""),
            round(float(p.get("baseline_load", 1.0)) * 100, 6), ",".join(p.get("outlets", ())),
            ",".join(p.get("meters", ())),
            *(_measure_text(measures[lv]) if lv in measures else "" for lv in LEVELS),
            first.get("effect_hours", 0), first.get("grace_hours", 0)]  # fmt: skip


def _baseline_line(r: ListRecord) -> list[Any]:
    period = r.baseline_reference
    return [r.uscc, *(r.baseline_t_per_d.get(p) for p in POLLUTANTS), r.baseline_method or "",
            period.get("from", ""), period.get("to", "")]  # fmt: skip


def write_list_xlsx(records: Iterable[ListRecord], path: Path, city: str = "") -> None:
    """Write a list in the same layout (bilingual headers, four sheets); the file reads back
    with :func:`read_list_xlsx` to the same records. The latest grade entry is written; a
    sector measure's claimed cuts are written as baseline × fraction [t/d]."""
    book, enterprises, sectors, baselines, processes = _new_book()
    for r in records:
        if r.category == "sector":
            for line in _sector_lines(r, city):
                sectors.append(line)
        else:
            enterprises.append(_enterprise_line(r))
        for p in r.processes:
            processes.append(_process_line(r.uscc, p))
        if r.baseline_t_per_d:
            baselines.append(_baseline_line(r))
    book.save(path)


#: what each column of the template holds, for its notes sheet (column, meaning, example)
_NOTES: tuple[tuple[str, str, str, str], ...] = (
    (ENTERPRISE_SHEET, "统一社会信用代码 uscc", "18 位 · 18 characters", "91510100MA0000001X"),
    (ENTERPRISE_SHEET, "类别 category", "重点/其他/保障类/豁免 · key/other/保障类/exempt", "重点"),
    (ENTERPRISE_SHEET, "黄色措施 yellow …", "停产 / 限产30% / 豁免 · stop / limit 30% / exempt",
     "限产30%"),
    (ENTERPRISE_SHEET, "用电监控电表 meters", "生产:站点 治污:站点 · production:SITE treatment:SITE",
     "生产:MNP1、治污:MNT1"),
    (ENTERPRISE_SHEET, "等级依据文件 grade_source", "空则取当时的分级文件 · empty: the grade "
     "scheme in force", "环办大气〔2026〕2号"),
    (PROCESS_SHEET, "工序编号 process_id", "企业内唯一 · unique within the enterprise", "L1"),
    (PROCESS_SHEET, "关联排放口MN / 关联电表 outlets / meters",
     "须为该企业的排放口和电表 · the enterprise's own outlets and meter sites", "MN1、MNP1"),
    (PROCESS_SHEET, "黄色措施 yellow …", "停产 / 限产30% / 错峰 / 空 · stop / limit 30% / "
     "stagger / empty: no measure on this line", "停产"),
    (PROCESS_SHEET, "基准负荷% baseline_load", "正常生产负荷 [%] · normal load", "85"),
    (SECTOR_SHEET, "行业类别 sector", " / ".join(f"{k} {v}" for k, v in SECTOR_KINDS.items()),
     "construction"),
    (SECTOR_SHEET, "预警级别 level", "黄色/橙色/红色 · yellow/orange/red", "橙色"),
    (SECTOR_SHEET, "措施类型 action", "停止/限制 · stop/limit", "停止"),
    (SECTOR_SHEET, "管控内容 measure", "停止或限制什么 · what is stopped or limited",
     "停止土石方作业 stop earthworks"),
    (SECTOR_SHEET, "削减比例% fraction", "占该类基准排放的比例 [%] · share of its baseline", "60"),
    (SECTOR_SHEET, "申报减排 claimed_* (t/d)", "可选，须等于 基准 × 比例 · optional, = baseline × "
     "fraction", "3.6"),
    (BASELINE_SHEET, "编号或信用代码 id", "企业信用代码或行业措施编号 · USCC or sector id", "S1"),
    (BASELINE_SHEET, "基准 base_* (t/d)", "正常生产日排放 · normal daily emission [t/d]", "6.0"),
    (BASELINE_SHEET, "核算方法 method",
     " / ".join(f"{k} {v}" for k, v in BASELINE_METHODS.items()), "inventory"),
    (BASELINE_SHEET, "基准期起/止 reference_from/to", "ISO 日期 · ISO date", "2024-11-01"),
)  # fmt: skip


def write_list_template(path: Path) -> None:
    """An empty list workbook with the four sheets' bilingual headers and a notes sheet
    (说明 notes: each column's meaning and an example); it reads back as an empty list."""
    book, *_ = _new_book()
    notes = book.create_sheet(_NOTES_SHEET)
    notes.append(["工作表 sheet", "列 column", "内容 content", "示例 example"])
    for line in _NOTES:
        notes.append(list(line))
    book.save(path)
