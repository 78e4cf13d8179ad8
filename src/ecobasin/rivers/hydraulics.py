"""Reach hydraulics: mean velocity from discharge and the longitudinal dispersion coefficient.

Brief ``../shared/reference/incidents.md`` §2.2 (velocity, in order of preference: measured,
Q/A, rating curve, Manning, hydraulic geometry) and §2.3 (dispersion). SI units throughout;
every function names its units.

The dispersion coefficient of a natural river is uncertain by a factor of 2–3 between published
formulas, so :func:`dispersion_band_m2_s` reports the low and high of the chosen formulas and the
forecast runs with both (§2.3, design).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from ecobasin.errors import InputError

__all__ = [
    "DISPERSION_FORMULAS",
    "Section",
    "dispersion_band_m2_s",
    "dispersion_m2_s",
    "hydraulic_geometry_velocity_m_s",
    "manning_depth_m",
    "manning_velocity_m_s",
    "rating_curve_discharge_m3_s",
    "shear_velocity_m_s",
]

#: standard gravity [m/s²]
G_M_S2 = 9.81


@dataclass(frozen=True)
class Section:
    """A channel cross-section: rectangular (``side_slope`` 0) or trapezoidal.

    ``bottom_width_m`` [m] is the bed width, ``side_slope`` [m/m] the horizontal run per unit
    rise of each bank (z in B + z·h).
    """

    bottom_width_m: float
    side_slope: float = 0.0

    def area_m2(self, depth_m: float) -> float:
        """Flow area A = (B + z·h)·h [m²]."""
        return (self.bottom_width_m + self.side_slope * depth_m) * depth_m

    def wetted_perimeter_m(self, depth_m: float) -> float:
        """Wetted perimeter P = B + 2·h·√(1 + z²) [m]."""
        return self.bottom_width_m + 2.0 * depth_m * math.sqrt(1.0 + self.side_slope**2)

    def top_width_m(self, depth_m: float) -> float:
        """Water-surface width B + 2·z·h [m]."""
        return self.bottom_width_m + 2.0 * self.side_slope * depth_m

    def hydraulic_radius_m(self, depth_m: float) -> float:
        """Hydraulic radius R = A/P [m]."""
        return self.area_m2(depth_m) / self.wetted_perimeter_m(depth_m)


def _positive(name: str, value: float) -> float:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise InputError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def manning_velocity_m_s(n: float, slope: float, hydraulic_radius_m: float) -> float:
    """Manning's mean velocity u = (1/n)·R^(2/3)·S^(1/2) [m/s], SI (C_m = 1).

    Brief §2.2 item 4: ``n`` [s/m^(1/3)] (0.025–0.05 in natural channels), ``slope`` [m/m] the
    energy slope, ``hydraulic_radius_m`` [m].
    """
    n = _positive("Manning n", n)
    slope = _positive("slope S", slope)
    radius = _positive("hydraulic radius R", hydraulic_radius_m)
    return float(radius ** (2.0 / 3.0) * math.sqrt(slope) / n)


def manning_depth_m(discharge_m3_s: float, n: float, slope: float, section: Section) -> float:
    """The normal depth h [m] carrying ``discharge_m3_s`` by Manning's equation (Brent's method).

    Brief §2.2 item 4, "solve h for a given Q by root-finding".
    """
    q = _positive("discharge Q", discharge_m3_s)

    def excess(depth: float) -> float:
        radius = section.hydraulic_radius_m(depth)
        return section.area_m2(depth) * manning_velocity_m_s(n, slope, radius) - q

    high = 1.0
    while excess(high) < 0:
        high *= 2.0
        if high > 1e4:
            raise InputError(f"no depth below 10 km carries Q = {q} m³/s")
    # here, not at the top: scipy costs every process its import
    from scipy.optimize import brentq

    return float(brentq(excess, 1e-9, high, xtol=1e-12, rtol=1e-12))


def rating_curve_discharge_m3_s(stage_m: float, a: float, h0_m: float, b: float) -> float:
    """A stage–discharge rating Q = a·(h − h₀)^b [m³/s] (brief §2.2 item 3); zero below h₀."""
    return float(a * max(stage_m - h0_m, 0.0) ** b)


def hydraulic_geometry_velocity_m_s(
    discharge_m3_s: float, k: float = 0.194, m: float = 0.285
) -> float:
    """Velocity of an ungauged tributary U = k·Q^m [m/s] (Raymond et al. 2012, Limnology and
    Oceanography: Fluids and Environments 2:41; defaults k = 0.194, m = 0.285; brief §2.2 item 5).
    """
    return float(k * _positive("discharge Q", discharge_m3_s) ** m)


def shear_velocity_m_s(depth_or_radius_m: float, slope: float, g_m_s2: float = G_M_S2) -> float:
    """Shear velocity u* = √(g·R·S) [m/s]; a wide channel uses the depth h for R (brief §2.3)."""
    return math.sqrt(g_m_s2 * _positive("R or h", depth_or_radius_m) * _positive("slope", slope))


# ── longitudinal dispersion coefficient D [m²/s] ───────────────────────────────────────────────
# Each formula takes u [m/s], B [m] (top width), h [m] (mean depth), u* [m/s].
DispersionFormula = Callable[[float, float, float, float], float]


def _fischer_1975(u: float, width: float, depth: float, u_star: float) -> float:
    """Fischer (1975), J. Env. Eng. Div. ASCE 101:453: D = 0.011·u²B²/(h·u*)."""
    return 0.011 * u**2 * width**2 / (depth * u_star)


def _kashefipour_falconer_2002(u: float, width: float, depth: float, u_star: float) -> float:
    """Kashefipour & Falconer (2002), Water Research 36:1596: D = [7.428 + 1.775·(B/h)^0.62·
    (u*/u)^0.572]·h·u·(u/u*) for B/h < 50, else 10.612·h·u·(u/u*). (B/h)^0.62 as in the paper
    (brief §2.3: MASCARET's ``B/H**0.62`` reads differently in Fortran)."""
    ratio = width / depth
    if ratio >= 50.0:
        return 10.612 * depth * u * (u / u_star)
    return float((7.428 + 1.775 * ratio**0.62 * (u_star / u) ** 0.572) * depth * u * (u / u_star))


def _elder_1959(u: float, width: float, depth: float, u_star: float) -> float:
    """Elder (1959), J. Fluid Mech. 5:544: D = 5.93·h·u* — a lower bound for natural rivers."""
    return 5.93 * depth * u_star


def _liu_1977(u: float, width: float, depth: float, u_star: float) -> float:
    """Liu (1977), J. Env. Eng. Div. ASCE 103:59: D = β·u²B²/(u*·h), β = 0.18·(u*/u)^1.5."""
    beta = 0.18 * (u_star / u) ** 1.5
    return float(beta * u**2 * width**2 / (u_star * depth))


def _seo_cheong_1998(u: float, width: float, depth: float, u_star: float) -> float:
    """Seo & Cheong (1998), J. Hydraul. Eng. 124:25: D = 5.915·(B/h)^0.620·(u/u*)^1.428·h·u*."""
    return float(5.915 * (width / depth) ** 0.620 * (u / u_star) ** 1.428 * depth * u_star)


def _iwasa_aya_1991(u: float, width: float, depth: float, u_star: float) -> float:
    """Iwasa & Aya (1991), Proc. JSCE (in Japanese), as compiled by Seo & Cheong (1998):
    D = 2.0·(B/h)^1.5·h·u*."""
    return float(2.0 * (width / depth) ** 1.5 * depth * u_star)


def _deng_2001(u: float, width: float, depth: float, u_star: float) -> float:
    """Deng, Singh & Bengtsson (2001), J. Hydraul. Eng. 127:919: D = 0.15/(8·ε_t0)·(u/u*)²·
    (B/h)^(5/3)·h·u*, ε_t0 = 0.145 + (1/3520)·(u/u*)·(B/h)^1.38."""
    ratio = width / depth
    eps_t0 = 0.145 + (u / u_star) * ratio**1.38 / 3520.0
    return float(0.15 / (8.0 * eps_t0) * (u / u_star) ** 2 * ratio ** (5.0 / 3.0) * depth * u_star)


def _koussis_rodriguez_1998(u: float, width: float, depth: float, u_star: float) -> float:
    """Koussis & Rodríguez-Mirasol (1998), J. Hydraul. Eng. 124:317: D = 0.6·u*·B²/h."""
    return 0.6 * u_star * width**2 / depth


#: name -> formula; the names are those of the acceptance cases (author_year).
DISPERSION_FORMULAS: Mapping[str, DispersionFormula] = {
    "fischer_1975": _fischer_1975,
    "kashefipour_falconer_2002": _kashefipour_falconer_2002,
    "elder_1959": _elder_1959,
    "liu_1977": _liu_1977,
    "seo_cheong_1998": _seo_cheong_1998,
    "iwasa_aya_1991": _iwasa_aya_1991,
    "deng_2001": _deng_2001,
    "koussis_rodriguez_1998": _koussis_rodriguez_1998,
}

#: the two formulas of the forecast band (brief §2.3, design); Elder is a lower bound only.
BAND_FORMULAS = ("fischer_1975", "kashefipour_falconer_2002")


def dispersion_m2_s(
    method: str, velocity_m_s: float, width_m: float, depth_m: float, shear_velocity: float
) -> float:
    """The longitudinal dispersion coefficient D [m²/s] by the named published formula."""
    formula = DISPERSION_FORMULAS.get(method)
    if formula is None:
        known = ", ".join(DISPERSION_FORMULAS)
        raise InputError(f"unknown dispersion formula {method!r} (known: {known})")
    return formula(
        _positive("velocity u", velocity_m_s),
        _positive("width B", width_m),
        _positive("depth h", depth_m),
        _positive("shear velocity u*", shear_velocity),
    )


def dispersion_band_m2_s(
    velocity_m_s: float,
    width_m: float,
    depth_m: float,
    shear_velocity: float,
    methods: Iterable[str] = BAND_FORMULAS,
) -> tuple[float, float]:
    """The (low, high) of D [m²/s] over ``methods``: the forecast runs with both ends."""
    values = [dispersion_m2_s(m, velocity_m_s, width_m, depth_m, shear_velocity) for m in methods]
    if not values:
        raise InputError("no dispersion formula named for the band")
    return min(values), max(values)
