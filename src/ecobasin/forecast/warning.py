"""Heavy-pollution weather warning level from forecast daily AQI (pure).

The thresholds are data (``ecobasin/catalog/data/air/warning_levels.toml``); the default rule is
环办大气函〔2019〕648号: yellow = daily AQI > 200 for ≥ 24 h or > 150 for ≥ 48 h; orange = > 200
for ≥ 48 h or > 150 for ≥ 72 h; red = > 200 for ≥ 72 h and > 300 for ≥ 24 h (the > 300 hours
inside the > 200 run). Thresholds are strict (AQI 150 or 200 does not trigger).

References
----------
.. [1] 生态环境部《关于加强重污染天气应对夯实应急减排措施的指导意见》(环办大气函〔2019〕648号).
"""

from __future__ import annotations

import functools
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from ecobasin.standards.air_tables import load_data_text

__all__ = [
    "REGIONAL_RULE",
    "CityWarning",
    "RegionalRule",
    "city_warning",
    "regional_warning",
    "warning_level",
    "warning_rule",
]


@functools.cache
def _rules() -> dict[str, Any]:
    rules: dict[str, Any] = tomllib.loads(load_data_text("warning_levels.toml"))["rules"]
    return rules


def warning_rule(rule: str = "HBDQH-2019-648") -> dict[str, Any]:
    """The level table of a warning rule (from ``warning_levels.toml``)."""
    try:
        return dict(_rules()[rule])
    except KeyError:
        raise KeyError(f"unknown warning rule {rule!r}; known: {list(_rules())}") from None


def _runs(flags: Sequence[bool]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    start = None
    for i, f in enumerate([*flags, False]):
        if f and start is None:
            start = i
        elif not f and start is not None:
            runs.append((start, i))
            start = None
    return runs


def _longest(values: Sequence[float], threshold: float) -> int:
    return max((b - a for a, b in _runs([v > threshold for v in values])), default=0)


def _alternative_holds(
    values: Sequence[float], conds: Sequence[dict[str, Any]], hours: float
) -> bool:
    first, rest = conds[0], conds[1:]
    for a, b in _runs([v > first["threshold"] for v in values]):
        if (b - a) * hours < first["min_hours"]:
            continue
        seg = values[a:b]
        if all(_longest(seg, c["threshold"]) * hours >= c["min_hours"] for c in rest):
            return True
    return False


def warning_level(
    forecast_daily_aqi: Sequence[float | None],
    rule: str = "HBDQH-2019-648",
    hours_per_value: float = 24,
) -> str:
    """Warning level reached by a forecast sequence of daily AQI.

    Parameters
    ----------
    forecast_daily_aqi : sequence of float
        Consecutive forecast daily AQI (each over 24 consecutive hours, which may cross
        midnight); None counts as not above any threshold.
    rule : str, default "HBDQH-2019-648"
        Rule name in ``warning_levels.toml``.
    hours_per_value : float, default 24
        Hours each value stands for (24 for one value per day; 1 for an hourly rolling series).

    Returns
    -------
    str
        ``"red"``, ``"orange"``, ``"yellow"`` or ``"none"``.

    Examples
    --------
    >>> warning_level([180, 160, 120])
    'yellow'

    References
    ----------
    .. [1] 环办大气函〔2019〕648号.
    """
    values = [float("-inf") if v is None else float(v) for v in forecast_daily_aqi]
    for level in warning_rule(rule)["levels"]:
        if any(_alternative_holds(values, alt, hours_per_value) for alt in level["alternatives"]):
            return str(level["name"])
    return "none"


LEVEL_ORDER: tuple[str, ...] = ("none", "yellow", "orange", "red")
LEVEL_NAMES: dict[str, tuple[str, str]] = {
    "none": ("无预警", "no warning"),
    "yellow": ("黄色预警", "yellow"),
    "orange": ("橙色预警", "orange"),
    "red": ("红色预警", "red"),
}


@dataclass(frozen=True)
class CityWarning:
    """A city's warning decision from its forecast daily AQI sequence.

    Attributes
    ----------
    level : str
        ``"red"``, ``"orange"``, ``"yellow"`` or ``"none"``.
    start, end : date or None
        First and last day of the run of forecast days that triggered the level.
    days : list of (date, float)
        The forecast days and AQI values of that run (the basis).
    condition : str
        The alternative that held, e.g. ``"AQI > 200 ≥ 48 h"``.
    reason_zh, reason_en : str
    """

    level: str
    start: date | None
    end: date | None
    days: list[tuple[date, float]] = field(default_factory=list)
    condition: str = ""
    reason_zh: str = ""
    reason_en: str = ""


def _holding_run(
    values: Sequence[float], conds: Sequence[dict[str, Any]], hours: float
) -> tuple[int, int] | None:
    first, rest = conds[0], conds[1:]
    for a, b in _runs([v > first["threshold"] for v in values]):
        if (b - a) * hours < first["min_hours"]:
            continue
        seg = values[a:b]
        if all(_longest(seg, c["threshold"]) * hours >= c["min_hours"] for c in rest):
            return a, b
    return None


def _describe(conds: Sequence[dict[str, Any]]) -> tuple[str, str]:
    zh = "且".join(f"日AQI > {c['threshold']} 持续 ≥ {c['min_hours']} 小时" for c in conds)
    en = " and ".join(f"daily AQI > {c['threshold']} for ≥ {c['min_hours']} h" for c in conds)
    return zh, en


def city_warning(
    days: Sequence[date],
    forecast_daily_aqi: Sequence[float | None],
    rule: str = "HBDQH-2019-648",
) -> CityWarning:
    """A city's warning level with its reason from consecutive forecast days.

    Parameters
    ----------
    days : sequence of date
        Consecutive forecast days (one value per day: 24 h each).
    forecast_daily_aqi : sequence of float or None
        Forecast daily AQI of those days (None: no forecast, never above a threshold).
    rule : str
        Rule name in ``warning_levels.toml`` (default 环办大气函〔2019〕648号).

    Returns
    -------
    CityWarning
        The highest level reached, the days and values of the run that reached it, and the
        reason in Chinese and English naming the condition, days and values.

    Examples
    --------
    >>> from datetime import date
    >>> w = city_warning([date(2024, 1, 1), date(2024, 1, 2)], [160, 170])
    >>> w.level, w.condition
    ('yellow', 'daily AQI > 150 for ≥ 48 h')

    References
    ----------
    .. [1] 环办大气函〔2019〕648号 (levels and durations); see the module docstring.
    """
    if len(days) != len(forecast_daily_aqi):
        raise ValueError(f"{len(days)} days but {len(forecast_daily_aqi)} AQI values")
    values = [float("-inf") if v is None else float(v) for v in forecast_daily_aqi]
    for level in warning_rule(rule)["levels"]:
        for alt in level["alternatives"]:
            run = _holding_run(values, alt, 24)
            if run is None:
                continue
            a, b = run
            basis = [(days[i], values[i]) for i in range(a, b)]
            cond_zh, cond_en = _describe(alt)
            listed = ", ".join(f"{d.isoformat()} ({v:.0f})" for d, v in basis)
            name_zh, name_en = LEVEL_NAMES[str(level["name"])]
            return CityWarning(
                level=str(level["name"]),
                start=days[a],
                end=days[b - 1],
                days=basis,
                condition=cond_en,
                reason_zh=f"{name_zh}：预报{cond_zh}：{listed}",
                reason_en=f"{name_en}: forecast {cond_en}: {listed}",
            )
    return CityWarning(
        level="none",
        start=None,
        end=None,
        reason_zh="预报未达到黄色预警条件",
        reason_en="forecast below the yellow-warning conditions",
    )


@dataclass(frozen=True)
class RegionalRule:
    """When several cities' warnings make a regional warning (configurable: the Sichuan
    provincial trigger text was not available, see docs/forecast.md).

    Attributes
    ----------
    min_cities : int
        A regional warning of level L needs at least this many cities at L or above.
    min_share : float
        ... or at least this share of the region's cities (whichever is met first; 1.0 and
        above disables it).
    overlap : bool
        The cities' warning periods must share at least one day.
    source : str
    """

    min_cities: int = 3
    min_share: float = 1.0
    overlap: bool = True
    source: str = "configurable default (provincial trigger text not obtained)"


REGIONAL_RULE = RegionalRule()


def regional_warning(
    warnings: Mapping[str, CityWarning],
    n_cities: int,
    rule: RegionalRule = REGIONAL_RULE,
) -> tuple[str, list[str], date | None, date | None]:
    """The regional level from the cities' warnings.

    Parameters
    ----------
    warnings : mapping of city → CityWarning
    n_cities : int
        Number of cities in the region.
    rule : RegionalRule

    Returns
    -------
    (level, cities, start, end)
        The highest level L that at least ``min_cities`` cities (or ``min_share`` of the
        region) reach or exceed, with overlapping periods when ``rule.overlap``; the cities
        at L or above and the common period (``"none"``, [], None, None when no level is).
    """
    needed = rule.min_cities
    if rule.min_share < 1:
        needed = min(needed, max(1, math.ceil(rule.min_share * n_cities)))
    for level in reversed(LEVEL_ORDER[1:]):
        rank = LEVEL_ORDER.index(level)
        spans = {
            c: (w.start, w.end)
            for c, w in warnings.items()
            if LEVEL_ORDER.index(w.level) >= rank and w.start is not None and w.end is not None
        }
        if len(spans) < needed:
            continue
        if not rule.overlap:
            starts, ends = zip(*spans.values(), strict=True)
            return level, sorted(spans), min(starts), max(ends)
        days = {s + timedelta(days=k) for s, e in spans.values() for k in range((e - s).days + 1)}
        best = max(sorted(days), key=lambda d: sum(s <= d <= e for s, e in spans.values()))
        group = sorted(c for c, (s, e) in spans.items() if s <= best <= e)
        if len(group) >= needed:
            start = max(spans[c][0] for c in group)
            end = min(spans[c][1] for c in group)
            return level, group, start, end
    return "none", [], None, None
