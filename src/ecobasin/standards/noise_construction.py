"""Construction-site boundary noise (建筑施工场界环境噪声), GB 12523-2011 (issue 23).

The limits are versioned data (``catalog/data/noise/limits.toml``: the ``[[boundary]]`` row of
GB 12523-2011, day 70 / night 55 dB(A), night Lmax ≤ night limit + 15 dB(A), §4.1 Table 1 and
§4.2; ``[construction_site]`` says which sites it applies to). A noise site whose attribute
``boundary`` is ``construction`` is judged by GB 12523 instead of the GB 3096-2008 class of its
zone. Values are compared as HJ 706-2014 §5.4 emission values (whole dB, GB/T 8170 half-even);
without a background measurement a value within the limit is compliant (HJ 706-2014 §6.1) and
one above it is *over, to confirm* (``background_required``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from ecobasin.standards.noise import BoundaryResult, boundary_noise, hour_label, is_day_label
from ecobasin.standards.noise_tables import load_noise_text, noise_rules

__all__ = [
    "BoundaryDay",
    "ConstructionDay",
    "construction_day",
    "construction_limits",
    "construction_verdict",
    "is_construction_site",
    "judge_boundary_day",
]


@cache
def _section() -> dict[str, Any]:
    return dict(tomllib.loads(load_noise_text("limits.toml"))["construction_site"])


def construction_limits() -> tuple[str, float, float, float]:
    """(standard, day limit, night limit, night Lmax limit) [dB(A)] of GB 12523-2011.

    >>> construction_limits()
    ('GB 12523-2011', 70.0, 55.0, 70.0)
    """
    std = noise_rules().boundary[str(_section()["standard"])]
    night = std.night["*"]
    return std.standard, std.day["*"], night, night + std.lmax_margin_occasional


def is_construction_site(attributes: Mapping[str, Any]) -> bool:
    """Whether a noise site's attributes mark a construction-site boundary (GB 12523)."""
    section = _section()
    return str(attributes.get(section["site_attribute"], "")) == str(section["site_value"])


def construction_verdict(
    period: str,
    leq: float,
    night_lmax: float | None = None,
    background: float | None = None,
    indoor: bool = False,
) -> BoundaryResult:
    """One GB 12523-2011 measurement (Leq over the period measured [dB(A)], day or night).

    >>> r = construction_verdict("night", 54.6, night_lmax=71.0)
    >>> r.status, r.passed, r.lmax_limit, r.lmax_pass
    ('background_skipped', True, 70.0, False)
    """
    return boundary_noise(
        str(_section()["standard"]), "*", period, leq, background, night_lmax, "occasional", indoor
    )


@dataclass(frozen=True)
class BoundaryDay:
    """A boundary monitor's station-day by its standard (GB 12523-2011 or GB 12348-2008): the
    hour-ending labels over the limit (day Leq, night Leq, night LMx), the worst values [dB(A)]
    and the verdicts (None: no valid hour of that part)."""

    standard: str
    day_over: tuple[int, ...]
    night_over: tuple[int, ...]
    lmax_over: tuple[int, ...]
    day_worst: float | None
    night_worst: float | None
    night_lmax: float | None
    day_pass: bool | None
    night_pass: bool | None
    rule_version: str


#: The GB 12523-2011 station-day (the same shape as every boundary's).
ConstructionDay = BoundaryDay


def construction_day(
    labels: Sequence[int | str],
    leq: Sequence[float | None],
    lmx: Sequence[float | None] | None = None,
) -> BoundaryDay:
    """Judge every valid hourly Leq (and night LMx) of one station-day against GB 12523-2011.

    Labels are hour-ending CST labels 1…24 (day 07:00…22:00, night 23:00…06:00; GB 3096-2008
    §3.1-3.2 windows). Each hour is a measurement; the day part passes when every valid day hour
    does, the night part when every night hour's Leq and LMx do.

    >>> d = construction_day([10, 23, 2], [68.2, 56.0, 54.9], [80.0, 72.0, 69.6])
    >>> d.day_pass, d.night_over, d.lmax_over, d.night_pass
    (True, (23,), (23,), False)
    """
    standard, _, _, _ = construction_limits()
    return judge_boundary_day(standard, labels, leq, lmx, construction_verdict)


def judge_boundary_day(
    standard: str,
    labels: Sequence[int | str],
    leq: Sequence[float | None],
    lmx: Sequence[float | None] | None,
    verdict_of: Callable[[str, float, float | None], BoundaryResult],
) -> BoundaryDay:
    """Judge each valid hour by ``verdict_of(period, Leq, night LMx)`` of a boundary standard."""
    lmx = lmx if lmx is not None else [None] * len(labels)
    if not len(labels) == len(leq) == len(lmx):
        raise ValueError(f"{len(labels)} labels, {len(leq)} Leq and {len(lmx)} LMx values")
    over: dict[str, list[int]] = {"day": [], "night": [], "lmax": []}
    levels: dict[str, list[float]] = {"day": [], "night": [], "lmax": []}
    for raw, level, peak in zip(labels, leq, lmx, strict=True):
        label = hour_label(raw)
        period = "day" if is_day_label(label) else "night"
        if level is None or level != level:  # no valid hour: nothing to judge
            continue
        night_peak = None if period == "day" or peak is None or peak != peak else float(peak)
        verdict = verdict_of(period, float(level), night_peak)
        levels[period].append(float(level))
        if verdict.passed is not True:
            over[period].append(label)
        if night_peak is not None:
            levels["lmax"].append(night_peak)
            if verdict.lmax_pass is False:
                over["lmax"].append(label)
    return BoundaryDay(
        standard=standard,
        day_over=tuple(over["day"]),
        night_over=tuple(over["night"]),
        lmax_over=tuple(over["lmax"]),
        day_worst=max(levels["day"], default=None),
        night_worst=max(levels["night"], default=None),
        night_lmax=max(levels["lmax"], default=None),
        day_pass=None if not levels["day"] else not over["day"],
        night_pass=None if not levels["night"] else not (over["night"] or over["lmax"]),
        rule_version=noise_rules().version,
    )
