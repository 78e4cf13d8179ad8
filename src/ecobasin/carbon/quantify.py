"""Quantification patterns of carbon-inclusive (碳普惠) behaviours and project reductions.

The formulas only (carbon brief §3); the ledger that credits them (accounts, rule sets, caps,
hash chain) is a separate part: ``carbon.ledger`` and ``carbon.rules``.

* trip substitution: R = d × (EF_baseline − EF_mode) [kg CO2] (CCER/碳普惠 trip methodologies);
* car-free day: R = km × fuel [L/100 km] / 100 × EF_fuel [kg CO2/L];
* per-step rules: grams proportional to steps, points per full block (Luzhou 绿芽积分: 500 steps =
  8.2 g, 1 point);
* points: proportional (points per gram) or per event (not proportional; both stored);
* projects: ER = BE − PE − LE; grid displacement BE = EG × EF_grid.

Pure: no I/O; Decimals in, Decimals out.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

__all__ = [
    "car_free_day",
    "grid_displacement",
    "project_reduction",
    "step_rule",
    "trip_substitution",
]


def trip_substitution(
    distance_km: Decimal, baseline_ef_kg_per_pkm: Decimal, mode_ef_kg_per_pkm: Decimal
) -> Decimal:
    """Reduction of a low-carbon trip [kg CO2] = d [km] × (EF_baseline − EF_mode) [kg/pkm]."""
    if distance_km < 0:
        raise ValueError("distance must not be negative")
    return distance_km * (baseline_ef_kg_per_pkm - mode_ef_kg_per_pkm)


def car_free_day(
    avoided_km: Decimal, fuel_l_per_100km: Decimal, fuel_ef_kg_per_l: Decimal
) -> Decimal:
    """Reduction of a day without driving [kg CO2] = km × L/100 km / 100 × kg CO2/L."""
    return avoided_km * fuel_l_per_100km / 100 * fuel_ef_kg_per_l


def step_rule(
    steps: int, g_per_block: Decimal, points_per_block: Decimal, block: int = 500
) -> tuple[Decimal, Decimal]:
    """(grams [g CO2] proportional to steps, points for full blocks only)."""
    if steps < 0 or block <= 0:
        raise ValueError("steps must not be negative and the block must be positive")
    grams = Decimal(steps) / block * g_per_block
    blocks = (Decimal(steps) / block).to_integral_value(rounding=ROUND_FLOOR)
    return grams, blocks * points_per_block


def step_points_rule(
    steps: int, points_per_step: Decimal, g_per_point: Decimal
) -> tuple[Decimal, Decimal]:
    """(grams [g CO2], whole points) of the points-per-step shape (碳碳星球, Wuhan: 0.02 pt per
    step, 1 pt = 1 g; carbon brief §3): points = ⌊steps × points_per_step⌋ [pt], grams
    proportional to the steps, steps × points_per_step × g_per_point [g]."""
    if steps < 0 or points_per_step < 0 or g_per_point < 0:
        raise ValueError("steps, points per step and grams per point must not be negative")
    exact_points = Decimal(steps) * points_per_step
    return exact_points * g_per_point, exact_points.to_integral_value(rounding=ROUND_FLOOR)


def project_reduction(
    baseline_t: Decimal, project_t: Decimal = Decimal(0), leakage_t: Decimal = Decimal(0)
) -> Decimal:
    """ER = BE − PE − LE [t CO2e]."""
    return baseline_t - project_t - leakage_t


def grid_displacement(net_generation_mwh: Decimal, ef_grid_t_per_mwh: Decimal) -> Decimal:
    """BE = EG [MWh] × EF_grid [t CO2/MWh] (the EF the methodology prescribes)."""
    return net_generation_mwh * ef_grid_t_per_mwh
