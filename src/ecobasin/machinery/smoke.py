"""In-use smoke of non-road diesel machinery: GB 36886-2018 (nonroad brief A3).

Two methods: free acceleration (自由加速法) with an opacimeter, reading the light-absorption
coefficient k [m⁻¹], and the Ringelmann method (林格曼烟气黑度法, grades 0–5). The free-acceleration
result is the arithmetic mean of three measured accelerations after the purge accelerations; a pass
needs mean ≤ limit. The limits (table 1) are data (``smoke_limits.toml``).

Class: Ⅰ for machines produced before the standard took effect (2018-12-01), Ⅱ after it, Ⅲ inside
a city's no-use zone. Table 1 has no Ⅲ row under 37 kW, so there the Ⅱ row applies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from ecobasin.machinery.tables import SmokeLimit, smoke_limits, smoke_settings

__all__ = ["STANDARD_IN_FORCE", "SmokeVerdict", "smoke_class", "smoke_limit", "smoke_verdict"]

#: GB 36886-2018 took effect on this date (brief A3): the Ⅰ/Ⅱ class boundary.
STANDARD_IN_FORCE = date(2018, 12, 1)


def smoke_class(manufactured: date | None, in_zone: bool) -> str:
    """``III`` in a no-use zone; ``II`` when produced on or after 2018-12-01; ``I`` otherwise
    (an unknown manufacture date counts as before: the laxer class, never a false failure)."""
    if in_zone:
        return "III"
    if manufactured is not None and manufactured >= STANDARD_IN_FORCE:
        return "II"
    return "I"


def smoke_limit(limit_class: str, power_kw: float) -> SmokeLimit:
    """The table 1 row of ``limit_class`` for rated net power ``power_kw`` [kW].

    Raises
    ------
    ValueError
        For a class that does not exist or a negative power.

    >>> smoke_limit("II", 37).k_limit, smoke_limit("I", 18.9).k_limit, smoke_limit("III", 20).k_limit
    (0.8, 3.0, 1.0)
    """
    if power_kw < 0:
        raise ValueError(f"rated power {power_kw} kW is negative")
    if limit_class not in ("I", "II", "III"):
        raise ValueError(f"smoke class {limit_class!r} is not I, II or III (GB 36886-2018)")
    for row in smoke_limits():
        if row.limit_class == limit_class and row.covers(power_kw):
            return row
    if limit_class == "III":  # table 1 has no class III row under 37 kW
        return smoke_limit("II", power_kw)
    raise ValueError(f"no GB 36886-2018 limit for class {limit_class} at {power_kw} kW")


@dataclass(frozen=True)
class SmokeVerdict:
    """A smoke test judged against GB 36886-2018 table 1."""

    limit_class: str
    power_kw: float
    k_mean: float | None  # [m⁻¹], mean of the measured accelerations
    k_limit: float  # [m⁻¹]
    ringelmann_grade: int | None
    ringelmann_max: int
    passed: bool
    reason: str
    source: str


def smoke_verdict(
    readings_k: Sequence[float],
    limit_class: str,
    power_kw: float,
    ringelmann_grade: int | None = None,
) -> SmokeVerdict:
    """Judge a test: mean of the three k readings [m⁻¹] ≤ limit, and Ringelmann ≤ its maximum.

    Either method may be absent (no readings, no grade); at least one is needed. Both apply when
    both were done (brief A3).

    Raises
    ------
    ValueError
        Without any result, with a number of readings other than three, or a negative reading.

    >>> smoke_verdict([0.72, 0.85, 0.79], "II", 37).passed
    True
    >>> v = smoke_verdict([0.82, 0.85, 0.79], "II", 37)
    >>> v.passed, round(v.k_mean, 6)
    (False, 0.82)
    """
    needed, decimals = smoke_settings()
    row = smoke_limit(limit_class, power_kw)
    if not readings_k and ringelmann_grade is None:
        raise ValueError("a smoke test needs three k readings or a Ringelmann grade")
    if readings_k and len(readings_k) != needed:
        raise ValueError(
            f"the free-acceleration result is the mean of {needed} readings; got "
            f"{len(readings_k)} 需要{needed}次读数"
        )
    if any(k < 0 for k in readings_k):
        raise ValueError(f"a light-absorption coefficient is negative: {list(readings_k)}")
    if ringelmann_grade is not None and not 0 <= ringelmann_grade <= 5:
        raise ValueError(f"Ringelmann grade {ringelmann_grade} is not 0–5")
    k_mean = round(sum(readings_k) / len(readings_k), decimals) if readings_k else None
    reasons = []
    if k_mean is not None and k_mean > row.k_limit:
        reasons.append(
            f"k mean {k_mean:g} m⁻¹ > limit {row.k_limit:.2f} m⁻¹ (class {limit_class}, "
            f"{power_kw:g} kW) 光吸收系数超标"
        )
    if ringelmann_grade is not None and ringelmann_grade > row.ringelmann_max:
        reasons.append(f"Ringelmann grade {ringelmann_grade} > {row.ringelmann_max} 林格曼黑度超标")
    return SmokeVerdict(
        limit_class=limit_class,
        power_kw=power_kw,
        k_mean=k_mean,
        k_limit=row.k_limit,
        ringelmann_grade=ringelmann_grade,
        ringelmann_max=row.ringelmann_max,
        passed=not reasons,
        reason="; ".join(reasons) or "within GB 36886-2018 limits 达标",
        source=row.source,
    )
