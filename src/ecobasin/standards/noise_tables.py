"""Noise limits, grades and rule parameters read from ``catalog/data/noise`` (versioned data).

The numbers live in ``limits.toml`` (GB 3096-2008 Table 1, GB 12348-2008, GB 22337-2008,
GB 12523-2011, HJ 706-2014 correction, HJ 906-2017 validity) and ``grades.toml`` (HJ 640-2012
grades); each row names its source and whether it was verified. This module only parses them.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

__all__ = [
    "BoundaryLimits",
    "Grade",
    "NoiseRules",
    "ZoneLimits",
    "load_noise_text",
    "noise_rules",
]


def load_noise_text(name: str) -> str:
    """Return the text of a data file in ``ecobasin/catalog/data/noise``."""
    path = resources.files("ecobasin").joinpath("catalog", "data", "noise", name)
    return path.read_text(encoding="utf-8")


@dataclass(frozen=True)
class ZoneLimits:
    """GB 3096-2008 Table 1 limits of one functional-zone class [dB(A)]."""

    zone_class: str
    use_zh: str
    use_en: str
    day: float
    night: float


@dataclass(frozen=True)
class BoundaryLimits:
    """Boundary (emission) limits of one standard [dB(A)], by the class outside the boundary."""

    standard: str
    day: dict[str, float]
    night: dict[str, float]
    lmax_margin_frequent: float
    lmax_margin_occasional: float
    indoor_offset: float


@dataclass(frozen=True)
class Grade:
    """One HJ 640-2012 grade (1 = 一级 好 … 5 = 五级 差), labels in Chinese and English."""

    number: int
    grade_zh: str
    rating_zh: str
    rating_en: str


@dataclass(frozen=True)
class NoiseRules:
    """All noise rule data of one version."""

    version: str
    grades_version: str
    zones: dict[str, ZoneLimits]
    boundary: dict[str, BoundaryLimits]
    day_start_hour: int
    day_end_hour: int
    min_vdr: float
    min_day_hours: int
    min_night_hours: int
    night_lmax_margin: float
    correction_rows: tuple[tuple[int, int, int], ...]
    no_correction_above: int
    min_difference: int
    grades: tuple[Grade, ...]
    grade_bounds: dict[tuple[str, str], tuple[float, ...]]
    traffic_over_db: float


def _boundary(row: dict[str, Any]) -> BoundaryLimits:
    classes = [str(c) for c in row["classes"]]
    return BoundaryLimits(
        standard=str(row["standard"]),
        day=dict(zip(classes, map(float, row["day"]), strict=True)),
        night=dict(zip(classes, map(float, row["night"]), strict=True)),
        lmax_margin_frequent=float(row["lmax_margin_frequent_db"]),
        lmax_margin_occasional=float(row["lmax_margin_occasional_db"]),
        indoor_offset=float(row["indoor_offset_db"]),
    )


@cache
def noise_rules() -> NoiseRules:
    """Parse the noise data files once.

    >>> noise_rules().zones["4b"].night
    60.0
    """
    lim = tomllib.loads(load_noise_text("limits.toml"))
    grd = tomllib.loads(load_noise_text("grades.toml"))
    zones = {
        str(z["zone_class"]): ZoneLimits(
            str(z["zone_class"]), z["use_zh"], z["use_en"], float(z["day"]), float(z["night"])
        )
        for z in lim["zone"]
    }
    corr = lim["background_correction"]
    return NoiseRules(
        version=str(lim["version"]),
        grades_version=str(grd["version"]),
        zones=zones,
        boundary={str(b["standard"]): _boundary(b) for b in lim["boundary"]},
        day_start_hour=int(lim["day_night"]["day_start_hour"]),
        day_end_hour=int(lim["day_night"]["day_end_hour"]),
        min_vdr=float(lim["validity"]["min_vdr"]),
        min_day_hours=int(lim["validity"]["min_day_hours"]),
        min_night_hours=int(lim["validity"]["min_night_hours"]),
        night_lmax_margin=float(lim["night_lmax"]["margin_db"]),
        correction_rows=tuple(
            (int(r["min"]), int(r["max"]), int(r["correction"])) for r in corr["rows"]
        ),
        no_correction_above=int(corr["no_correction_above_db"]),
        min_difference=int(corr["min_difference_db"]),
        grades=tuple(
            Grade(i + 1, g["grade_zh"], g["rating_zh"], g["rating_en"])
            for i, g in enumerate(grd["grade"])
        ),
        grade_bounds={
            (str(b["index"]), str(b["period"])): tuple(float(u) for u in b["upper"])
            for b in grd["bounds"]
        },
        traffic_over_db=float(grd["traffic_share"]["over_db"]),
    )
