"""The joint-consultation matrix of the forecast page (issue 15, item 5): one row per city of
the region, one column per lead day, each cell the AQI range, its level and the primary
pollutant, as the cities publish it after the consultation (联合会商).

A range that spans levels is named by both ends, the way CNEMC's regional forecasts read:
``75–105`` is 良至轻度污染 / *Good to Lightly polluted*, never one level (HJ 633-2012
Table 2 levels of the range's lower and upper AQI). A forecaster's adjusted range, where there
is one, is the one shown (it is what the consultation publishes), marked as adjusted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ecobasin.standards import air_tables
from ecobasin.standards.air_index import aqi_level

__all__ = ["MatrixCell", "level_span", "matrix_rows", "published_aqi"]

#: how the primary pollutant is written in the matrix (the stored code → the published name)
PRIMARY_NAMES = {"O3_8h": "O3-8h", "O3_1h": "O3-1h"}


@dataclass(frozen=True)
class MatrixCell:
    """One city and lead day: range [AQI, integers], both ends' levels, their label."""

    lead: int
    target_day: str
    lower: int
    upper: int
    level_lower: int
    level_upper: int
    label: str  # 良至轻度污染 / Good to Lightly polluted; one name when both ends agree
    primary: str  # published name(s), "" when the whole range is ≤ 50 (no primary pollutant)
    adjusted: bool  # the forecaster's range (consultation) rather than the model's


def published_aqi(value: float) -> int:
    """An AQI bound as published: the nearest integer, halves up (HJ 633-2012 §5.1; the same
    rounding as the page's script)."""
    return math.floor(value + 0.5)


def level_span(lower: int, upper: int, lang: str) -> tuple[int, int, str]:
    """(level of the lower end, level of the upper end, label) of an AQI range [AQI].

    >>> level_span(75, 105, "zh")
    (2, 3, '良至轻度污染')
    >>> level_span(60, 90, "en")
    (2, 2, 'Good')
    """
    low, high = (int(level) for level in aqi_level([lower, upper]))
    names = [
        info.category_zh if lang == "zh" else info.category_en
        for info in (air_tables.levels()[low - 1], air_tables.levels()[high - 1])
    ]
    if low == high:
        return low, high, names[0]
    return low, high, f"{names[0]}至{names[1]}" if lang == "zh" else f"{names[0]} to {names[1]}"


def _primary(code: Any, upper: int) -> str:
    if upper <= 50 or not isinstance(code, str) or not code:
        return ""
    return "、".join(PRIMARY_NAMES.get(part, part) for part in code.split(","))


def _cell(row: dict[str, Any], lang: str) -> MatrixCell | None:
    adjusted = pd.notna(row.get("adjusted_lower")) and pd.notna(row.get("adjusted_upper"))
    prefix = "adjusted_" if adjusted else ""
    lower_value, upper_value = row.get(f"{prefix}lower"), row.get(f"{prefix}upper")
    if pd.isna(lower_value) or pd.isna(upper_value):
        return None
    lower, upper = sorted((published_aqi(lower_value), published_aqi(upper_value)))
    low, high, label = level_span(lower, upper, lang)
    primary = row.get("adjusted_primary") if adjusted else row.get("primary_pollutant")
    return MatrixCell(
        lead=int(row["lead"]),
        target_day=str(pd.Timestamp(row["target_day"]).date()),
        lower=lower,
        upper=upper,
        level_lower=low,
        level_upper=high,
        label=label,
        primary=_primary(primary, upper),
        adjusted=bool(adjusted),
    )


def matrix_rows(
    frame: pd.DataFrame, model: str | None, cities: list[dict[str, Any]], lang: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The columns (lead [days] and target day, CST) and, per city of the region in its
    order, the cells by lead (None where the city has no AQI range for that lead)."""
    if frame.empty or model is None:
        return [], []
    aqi = frame[(frame["model"] == model) & (frame["parameter"] == "AQI")]
    days = aqi.groupby("lead")["target_day"].min().sort_index()
    leads = [int(lead) for lead in days.index]
    columns = [
        {"lead": lead, "day": str(pd.Timestamp(day).date())}
        for lead, day in zip(leads, days, strict=True)
    ]
    by_city: dict[str, dict[int, MatrixCell | None]] = {}
    records: list[dict[str, Any]] = aqi.to_dict("records")  # type: ignore[assignment]
    for row in records:
        by_city.setdefault(str(row["scope_id"]), {})[int(row["lead"])] = _cell(row, lang)
    rows = [
        {
            "code": city["code"],
            "name": city["name"],
            "cells": [by_city.get(city["code"], {}).get(lead) for lead in leads],
        }
        for city in cities
    ]
    return columns, rows
