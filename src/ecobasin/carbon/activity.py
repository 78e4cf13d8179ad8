"""Activity-data tables (CSV/Excel rows) → inventory lines, GDP and rejected rows.

One row per activity: ``city`` (code, 成都, Chengdu), ``year``, ``sector`` (an id of
``sectors.csv``), ``activity`` (fuel id or name: 柴油, diesel, electricity …), ``amount``,
``unit`` (t, 10^4 Nm3, MWh, 万千瓦时 …); optional ``resold``, ``subsector`` (``grid_generation``),
``scope``, ``factor_ids`` (``|``-separated), ``enthalpy_kj_per_kg`` (steam), ``note``. A row with
sector ``economy`` and activity ``gdp`` gives the city's GDP at constant prices that year (unit
10^4 CNY, 亿元 …). Column names may also be the Chinese headers of :data:`HEADERS`.

Pure: a DataFrame in, lines out; reading the file is the shell's job. A bad row is returned with
its reason (``rejects``), never dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pandas as pd

from ecobasin import catalog
from ecobasin.carbon import factors as fx
from ecobasin.carbon.factors import FactorError
from ecobasin.carbon.inventory import ActivityLine
from ecobasin.errors import UnitError

__all__ = ["HEADERS", "ActivityTable", "inventory_id", "parse_activity"]

#: Accepted header names → column.
HEADERS: dict[str, str] = {
    "城市": "city",
    "city_code": "city",
    "年份": "year",
    "部门": "sector",
    "子部门": "subsector",
    "活动": "activity",
    "能源品种": "activity",
    "fuel": "activity",
    "活动水平": "amount",
    "数量": "amount",
    "value": "amount",
    "单位": "unit",
    "转售": "resold",
    "范围": "scope",
    "因子": "factor_ids",
    "factor_id": "factor_ids",
    "焓值": "enthalpy_kj_per_kg",
    "备注": "note",
}
REQUIRED = ("city", "year", "sector", "activity", "amount", "unit")


def inventory_id(city_code: int, year: int) -> str:
    """The id of a city's inventory of a year (``510100-2022``)."""
    return f"{city_code}-{year}"


@dataclass
class ActivityTable:
    """What a table holds: lines by inventory id, GDP [10⁴ CNY] by inventory id, rejects."""

    lines: dict[str, list[ActivityLine]] = field(default_factory=dict)
    gdp: dict[str, Decimal] = field(default_factory=dict)
    inventories: dict[str, tuple[int, int]] = field(default_factory=dict)
    rejects: list[dict[str, Any]] = field(default_factory=list)


def _text(value: Any) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(value).strip()


def _row_line(row: Mapping[str, Any], number: int) -> ActivityLine:
    sector = _text(row.get("sector"))
    if sector not in fx.sectors():
        raise FactorError(f"unknown sector {sector!r} (one of {', '.join(fx.sectors())})")
    name = _text(row.get("activity"))
    factor_ids = tuple(p.strip() for p in _text(row.get("factor_ids")).split("|") if p.strip())
    try:
        activity = fx.fuel(name).id
    except FactorError:
        if not factor_ids:
            raise
        activity = name  # a process or waste activity, computed with the named factors
    unit = _text(row.get("unit"))
    fx.quantity(1, unit)  # an unknown unit fails here, naming it
    scope_text = _text(row.get("scope"))
    enthalpy = _text(row.get("enthalpy_kj_per_kg"))
    resold = _text(row.get("resold"))
    return ActivityLine(
        line=number,
        sector=sector,
        activity=activity,
        amount=fx.decimal(row.get("amount"), "amount"),
        unit=unit,
        resold=fx.decimal(resold, "resold") if resold else Decimal(0),
        subsector=_text(row.get("subsector")),
        scope=int(float(scope_text)) if scope_text else None,
        factor_ids=factor_ids,
        enthalpy_kj_per_kg=fx.decimal(enthalpy, "enthalpy") if enthalpy else None,
        note=_text(row.get("note")),
    )


def _gdp(row: Mapping[str, Any]) -> Decimal:
    value = fx.quantity(row.get("amount"), _text(row.get("unit")) or "10^4 CNY")
    return fx.convert(value, "10^4 CNY", "GDP")


def parse_activity(frame: pd.DataFrame, source: str, first_line: int = 2) -> ActivityTable:
    """Parse an activity table; row ``i`` is ``line first_line + i`` (2 = after a CSV header).

    Rejects carry ``source``, ``record_ref`` (``line N``), ``reason_code`` (missing_column,
    unknown_city, bad_year, unknown_sector, unknown_activity, unknown_unit, bad_number,
    unit_mismatch), ``reason`` and ``raw``.
    """
    frame = frame.rename(columns=lambda c: HEADERS.get(str(c).strip(), str(c).strip().lower()))
    out = ActivityTable()
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        out.rejects.append(
            _reject(source, "header", "missing_column", f"missing columns {missing}", "")
        )
        return out
    for i, record in enumerate(frame.to_dict(orient="records")):
        row: dict[str, Any] = {str(k): v for k, v in record.items()}
        number = first_line + i
        raw = ",".join(_text(v) for v in row.values())
        try:
            code = catalog.city_code(_text(row["city"]).removesuffix(".0"))
        except KeyError:
            out.rejects.append(
                _reject(source, number, "unknown_city", f"unknown city {row['city']!r}", raw)
            )
            continue
        try:
            year = int(float(_text(row["year"])))
        except ValueError:
            out.rejects.append(
                _reject(source, number, "bad_year", f"{row['year']!r} is not a year", raw)
            )
            continue
        inv = inventory_id(code, year)
        try:
            if _text(row["sector"]).lower() in ("economy", "经济") and _text(
                row["activity"]
            ).lower() in ("gdp", "地区生产总值"):
                out.gdp[inv] = _gdp(row)
            else:
                out.lines.setdefault(inv, []).append(_row_line(row, number))
        except (FactorError, UnitError) as error:
            out.rejects.append(_reject(source, number, _code(error), str(error), raw))
            continue
        out.inventories[inv] = (code, year)
    return out


def _code(error: Exception) -> str:
    text = str(error)
    if isinstance(error, UnitError):
        return "unit_mismatch" if "converted" in text else "unknown_unit"
    if "sector" in text:
        return "unknown_sector"
    if "fuel or activity" in text:
        return "unknown_activity"
    return "bad_number"


def _reject(source: str, line: int | str, code: str, reason: str, raw: str) -> dict[str, Any]:
    ref = f"line {line}" if isinstance(line, int) else line
    return {"source": source, "record_ref": ref, "reason_code": code, "reason": reason, "raw": raw}
