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
import tomllib
from collections.abc import Sequence
from typing import Any

from ecobasin.standards.air_tables import load_data_text

__all__ = ["warning_level", "warning_rule"]


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
