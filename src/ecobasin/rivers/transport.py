"""1-D transport of a pollutant in a river: advection, longitudinal dispersion, first-order decay.

Brief ``../shared/reference/incidents.md`` §2.4–2.6. The cross-section is fully mixed (the
near field on the spill bank is higher: :func:`mixing_length_m` tells how far that lasts), the
domain is infinite and the reach uniform. The solutions are the standard ones compiled by van
Genuchten et al. (2013), J. Hydrol. Hydromech. 61:146, in the *resident* form the acceptance
cases use.

Units (brief §2): x [m], t [s], u [m/s], D [m²/s], k [1/s], A [m²], Q [m³/s], M [g], W [g/s];
concentrations come out in [g/m³] = [mg/L].
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ecobasin.errors import InputError

__all__ = [
    "Passage",
    "confluence_mg_L",
    "finite_release_mg_L",
    "mixing_length_m",
    "passage_concentration_mg_L",
    "passage_over_reaches",
    "slug_concentration_mg_L",
    "slug_peak",
    "slug_peak_time_s",
    "slug_window_above_s",
    "steady_advective_mg_L",
    "steady_dispersive_mg_L",
    "step_source_mg_L",
]


def _check(**values: float) -> None:
    for name, value in values.items():
        if not math.isfinite(value) or value < 0:
            raise InputError(f"{name} must be a finite non-negative number, got {value!r}")


def slug_concentration_mg_L(
    mass_g: float,
    area_m2: float,
    velocity_m_s: float,
    dispersion_m2_s: float,
    decay_per_s: float,
    x_m: float,
    t_s: float,
) -> float:
    """Concentration of an instantaneous release (slug) C(x, t) [mg/L] (brief §2.4).

    C = M/(A·√(4πDt))·exp(−(x−ut)²/(4Dt))·exp(−kt); zero at and before the release (t ≤ 0).
    """
    _check(mass_g=mass_g, area_m2=area_m2, dispersion_m2_s=dispersion_m2_s, decay=decay_per_s)
    if t_s <= 0:
        return 0.0
    four_dt = 4.0 * dispersion_m2_s * t_s
    gauss = math.exp(-((x_m - velocity_m_s * t_s) ** 2) / four_dt)
    return mass_g / (area_m2 * math.sqrt(math.pi * four_dt)) * gauss * math.exp(-decay_per_s * t_s)


def slug_peak_time_s(
    velocity_m_s: float, dispersion_m2_s: float, decay_per_s: float, x_m: float
) -> float:
    """Time of the concentration peak at station x [s] (brief §2.4, from ∂lnC/∂t = 0):

    t_p = [−D + √(D² + (u² + 4Dk)·x²)]/(u² + 4Dk); tends to x/u when ux/D ≫ 1.
    """
    _check(dispersion_m2_s=dispersion_m2_s, decay=decay_per_s, x_m=x_m)
    a = velocity_m_s**2 + 4.0 * dispersion_m2_s * decay_per_s
    d = dispersion_m2_s
    return (-d + math.sqrt(d * d + a * x_m * x_m)) / a


def slug_peak(
    mass_g: float,
    area_m2: float,
    velocity_m_s: float,
    dispersion_m2_s: float,
    decay_per_s: float,
    x_m: float,
) -> tuple[float, float]:
    """(t_p [s], C_p [mg/L]): the time and concentration of the peak passing station x."""
    t_peak = slug_peak_time_s(velocity_m_s, dispersion_m2_s, decay_per_s, x_m)
    args = (mass_g, area_m2, velocity_m_s, dispersion_m2_s, decay_per_s, x_m)
    return t_peak, slug_concentration_mg_L(*args, t_peak)


def slug_window_above_s(
    threshold_mg_L: float,
    mass_g: float,
    area_m2: float,
    velocity_m_s: float,
    dispersion_m2_s: float,
    decay_per_s: float,
    x_m: float,
) -> tuple[float, float] | None:
    """(t_start, t_end) [s] during which C(x, t) ≥ ``threshold_mg_L`` at station x, or None
    when the peak stays below it (brief §2.4: Brent's method on each side of t_p). The first
    crossing tells the waterworks when to close its intake (add the works' own lead time).
    """
    args = (mass_g, area_m2, velocity_m_s, dispersion_m2_s, decay_per_s, x_m)
    t_peak, c_peak = slug_peak(*args)
    if not c_peak > threshold_mg_L:
        return None
    # here, not at the top: scipy costs every process its import
    from scipy.optimize import brentq

    def excess(t: float) -> float:
        return slug_concentration_mg_L(*args, t) - threshold_mg_L

    start = brentq(excess, t_peak * 1e-9, t_peak, xtol=1e-6)
    late = 2.0 * t_peak
    while excess(late) > 0:
        late *= 2.0
    end = brentq(excess, t_peak, late, xtol=1e-6)
    return float(start), float(end)


def steady_advective_mg_L(
    load_g_s: float,
    discharge_m3_s: float,
    background_mg_L: float,
    velocity_m_s: float,
    decay_per_s: float,
    x_m: float,
) -> tuple[float, float]:
    """(C₀, C(x)) [mg/L] of a steady continuous release, advection and decay only (brief §2.5;
    the environmental-impact practice of HJ 2.3-2018): C₀ = (W + Q·C_b)/Q after full mixing,
    C = C₀·exp(−k·x/u)."""
    _check(load_g_s=load_g_s, discharge_m3_s=discharge_m3_s, background_mg_L=background_mg_L)
    c0 = (load_g_s + discharge_m3_s * background_mg_L) / discharge_m3_s
    return c0, c0 * math.exp(-decay_per_s * x_m / velocity_m_s)


def _m_factor(velocity_m_s: float, dispersion_m2_s: float, decay_per_s: float) -> float:
    """m = √(1 + 4kD/u²) of the advective–dispersive solutions (Chapra 1997, ch. 9)."""
    return math.sqrt(1.0 + 4.0 * decay_per_s * dispersion_m2_s / velocity_m_s**2)


def steady_dispersive_mg_L(
    load_g_s: float,
    discharge_m3_s: float,
    velocity_m_s: float,
    dispersion_m2_s: float,
    decay_per_s: float,
    x_m: float,
) -> tuple[float, float]:
    """(m, C(x)) of a steady continuous release with dispersion, x ≥ 0 downstream (brief §2.5;
    Chapra 1997, Surface Water-Quality Modeling, ch. 9): C = W/(Q·m)·exp(u·x·(1−m)/(2D)) [mg/L].
    """
    m = _m_factor(velocity_m_s, dispersion_m2_s, decay_per_s)
    exponent = velocity_m_s * x_m * (1.0 - m) / (2.0 * dispersion_m2_s)
    return m, load_g_s / (discharge_m3_s * m) * math.exp(exponent)


def _exp_erfc(a: float, b: float) -> float:
    """e^a·erfc(b) without overflow: erfcx(b)·e^(a−b²) for b ≥ 0 (brief §2.5)."""
    # here, not at the top: scipy costs every process its import
    from scipy.special import erfc, erfcx

    if b >= 0:
        return float(erfcx(b)) * math.exp(a - b * b)
    return math.exp(a) * float(erfc(b))


def step_source_mg_L(
    load_g_s: float,
    area_m2: float,
    velocity_m_s: float,
    dispersion_m2_s: float,
    decay_per_s: float,
    x_m: float,
    t_s: float,
) -> float:
    """C(x, t) [mg/L] of a source of constant rate W switched on at t = 0 (brief §2.5, the time
    integral of the slug kernel):

    Cs = W/(2·A·u·m)·[e^(ux(1−m)/2D)·erfc((x − umt)/(2√(Dt))) − e^(ux(1+m)/2D)·erfc((x + umt)/(2√(Dt)))].
    """
    if t_s <= 0:
        return 0.0
    u, d = velocity_m_s, dispersion_m2_s
    m = _m_factor(u, d, decay_per_s)
    root = 2.0 * math.sqrt(d * t_s)
    first = _exp_erfc(u * x_m * (1.0 - m) / (2.0 * d), (x_m - u * m * t_s) / root)
    second = _exp_erfc(u * x_m * (1.0 + m) / (2.0 * d), (x_m + u * m * t_s) / root)
    return load_g_s / (2.0 * area_m2 * u * m) * (first - second)


def finite_release_mg_L(
    load_g_s: float,
    duration_s: float,
    area_m2: float,
    velocity_m_s: float,
    dispersion_m2_s: float,
    decay_per_s: float,
    x_m: float,
    t_s: float,
) -> float:
    """C(x, t) [mg/L] of a leak of constant rate lasting T: Cs(t) − Cs(t − T) (brief §2.5)."""
    args = (load_g_s, area_m2, velocity_m_s, dispersion_m2_s, decay_per_s, x_m)
    return step_source_mg_L(*args, t_s) - step_source_mg_L(*args, t_s - duration_s)


def confluence_mg_L(branches: Iterable[tuple[float, float]]) -> tuple[float, float]:
    """(Q [m³/s], C [mg/L]) below a junction of branches (Q_i, C_i): C = ΣQ_iC_i/ΣQ_i (§2.6),
    assuming complete mixing below the junction (it may take several km: :func:`mixing_length_m`).
    """
    pairs = list(branches)
    total = sum(q for q, _ in pairs)
    if not total > 0:
        raise InputError("a confluence needs a positive total discharge")
    return total, sum(q * c for q, c in pairs) / total


def mixing_length_m(velocity_m_s: float, width_m: float, depth_m: float, u_star: float) -> float:
    """Distance below a bank-side release before the cross-section is mixed [m]:
    L_mix ≈ 0.4·u·B²/ε_t with ε_t ≈ 0.6·h·u* (Fischer et al. 1979, Mixing in Inland and Coastal
    Waters, §5.1; brief §2.4). Closer than this the 1-D solutions underestimate the spill bank."""
    return 0.4 * velocity_m_s * width_m**2 / (0.6 * depth_m * u_star)


@dataclass(frozen=True)
class Passage:
    """The passage curve of a slug at a point below several reaches (brief §2.6, design).

    ``mean_s`` [s] mean travel time ΣL/u; ``variance_s2`` [s²] Σ2DL/u³; ``mass_fraction`` [1]
    exp(−ΣkL/u), the share of the released mass left.
    """

    mean_s: float
    variance_s2: float
    mass_fraction: float


@dataclass(frozen=True)
class ReachTransport:
    """One reach as the transport sees it: length [m], velocity [m/s], D [m²/s], k [1/s]."""

    length_m: float
    velocity_m_s: float
    dispersion_m2_s: float
    decay_per_s: float = 0.0


def passage_over_reaches(reaches: Sequence[ReachTransport]) -> Passage:
    """Propagate the moments of the passage curve over a path of reaches (brief §2.6):
    mean time ΣL_i/u_i, variance Σ2D_iL_i/u_i³, mass M·exp(−Σk_iL_i/u_i)."""
    if not reaches:
        raise InputError("a path needs at least one reach")
    mean = sum(r.length_m / r.velocity_m_s for r in reaches)
    var = sum(2.0 * r.dispersion_m2_s * r.length_m / r.velocity_m_s**3 for r in reaches)
    decay = sum(r.decay_per_s * r.length_m / r.velocity_m_s for r in reaches)
    return Passage(mean_s=mean, variance_s2=var, mass_fraction=math.exp(-decay))


def passage_concentration_mg_L(
    mass_g: float, discharge_m3_s: float, passage: Passage, t_s: float
) -> float:
    """C(t) [mg/L] at the end of a path: M_x/(Q_x·√(2π)·σ_t)·exp(−(t − t̄)²/(2σ_t²)) (brief
    §2.6), with Q_x the discharge there (tributaries dilute)."""
    sigma = math.sqrt(passage.variance_s2)
    mass = mass_g * passage.mass_fraction
    z = (t_s - passage.mean_s) / sigma
    return mass / (discharge_m3_s * math.sqrt(2.0 * math.pi) * sigma) * math.exp(-0.5 * z * z)
