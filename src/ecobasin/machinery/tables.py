"""The machinery tables of ``catalog/data/machinery`` (versioned data, each with its source).

``smoke_limits.toml`` is GB 36886-2018 table 1; ``rules.toml`` holds the thresholds of checks
C1–C11 (nonroad brief A9), the code patterns (A1), the stage tables (A2) and the emergency rule.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["CodePattern", "MachineryRules", "SmokeLimit", "machinery_rules", "smoke_limits"]


def _load(name: str) -> dict[str, Any]:
    path = resources.files("ecobasin").joinpath("catalog", "data", "machinery", name)
    return tomllib.loads(path.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class SmokeLimit:
    """One row of GB 36886-2018 table 1: class, rated-net-power range [kW] and limits."""

    limit_class: str
    p_min_kw: float
    p_min_inclusive: bool
    p_max_kw: float
    p_max_inclusive: bool
    k_limit: float  # light-absorption coefficient [m⁻¹]
    ringelmann_max: int  # Ringelmann grade 0–5
    source: str

    def covers(self, power_kw: float) -> bool:
        """Whether ``power_kw`` [kW] falls in this row's range (inclusive ends as the table says)."""
        above = power_kw >= self.p_min_kw if self.p_min_inclusive else power_kw > self.p_min_kw
        below = power_kw <= self.p_max_kw if self.p_max_inclusive else power_kw < self.p_max_kw
        return above and below


@dataclass(frozen=True)
class CodePattern:
    """A city's registration-code pattern (regex on the normalised code) and its source."""

    issuer_city: int
    pattern: str
    source: str


@dataclass(frozen=True)
class MachineryRules:
    """The thresholds of checks C1–C11 (``rules.toml``)."""

    registration_deadline_days: int
    default_code_pattern: str
    code_patterns: tuple[CodePattern, ...]
    stage_order: tuple[str, ...]
    g4_first_date: date
    inferred_stages: tuple[tuple[date, str], ...]
    terminal_p_min_kw: float
    terminal_p_max_kw: float
    smoke_max_age_days: int
    follow_up_grace_days: int
    coverage_default_rate: float
    coverage_rates: dict[tuple[int, int], float]
    emergency_min_stage: str
    emergency_from_level: str
    rectify_days: int
    ping_max_future_min: float = 10.0  # [min]
    ping_max_age_days: float = 30.0  # [d]
    ping_max_speed_kmh: float = 120.0  # [km/h]
    site_half_side_m: float = 150.0  # [m]
    presence_gap_h: float = 2.0  # [h]

    def coverage_rate(self, city: int, year: int) -> float:
        """The configured spot-check rate of ``city`` in ``year`` (C11) [fraction]."""
        return self.coverage_rates.get((city, year), self.coverage_default_rate)


@cache
def smoke_limits() -> tuple[SmokeLimit, ...]:
    """GB 36886-2018 table 1 as rows."""
    data = _load("smoke_limits.toml")
    return tuple(
        SmokeLimit(
            limit_class=row["class"],
            p_min_kw=float(row["p_min_kw"]),
            p_min_inclusive=bool(row["p_min_inclusive"]),
            p_max_kw=float(row["p_max_kw"]),
            p_max_inclusive=bool(row["p_max_inclusive"]),
            k_limit=float(row["k_limit"]),
            ringelmann_max=int(row["ringelmann_max"]),
            source=data["standard"],
        )
        for row in data["limit"]
    )


@cache
def smoke_settings() -> tuple[int, int]:
    """(readings averaged, decimals of the mean) of the free-acceleration method."""
    data = _load("smoke_limits.toml")
    return int(data["readings_averaged"]), int(data["mean_decimals"])


@cache
def machinery_rules() -> MachineryRules:
    """The rule thresholds of ``rules.toml``."""
    data = _load("rules.toml")
    coverage = data["coverage"]
    return MachineryRules(
        registration_deadline_days=int(data["registration"]["deadline_days"]),
        default_code_pattern=data["codes"]["default_pattern"],
        code_patterns=tuple(
            CodePattern(int(row["issuer_city"]), row["pattern"], row["source"])
            for row in data["codes"].get("city", [])
        ),
        stage_order=tuple(data["stages"]["order"]),
        g4_first_date=date.fromisoformat(data["stages"]["g4_first_date"]),
        inferred_stages=tuple(
            (date.fromisoformat(row["from"]), row["stage"]) for row in data["stages"]["inferred"]
        ),
        terminal_p_min_kw=float(data["terminal"]["p_min_kw"]),
        terminal_p_max_kw=float(data["terminal"]["p_max_kw"]),
        smoke_max_age_days=int(data["smoke"]["max_age_days"]),
        follow_up_grace_days=int(data["follow_up"]["grace_days"]),
        coverage_default_rate=float(coverage["default_rate"]),
        coverage_rates={
            (int(row["city"]), int(row["year"])): float(row["rate"])
            for row in coverage.get("city", [])
        },
        emergency_min_stage=data["emergency"]["min_stage"],
        emergency_from_level=data["emergency"]["applies_from_level"],
        rectify_days=int(data["spot_check"]["rectify_days"]),
        ping_max_future_min=float(data["pings"]["max_future_min"]),
        ping_max_age_days=float(data["pings"]["max_age_days"]),
        ping_max_speed_kmh=float(data["pings"]["max_speed_kmh"]),
        site_half_side_m=float(data["pings"]["site_half_side_m"]),
        presence_gap_h=float(data["pings"]["presence_gap_h"]),
    )
