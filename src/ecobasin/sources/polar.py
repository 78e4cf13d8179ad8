"""The bivariate polar plot (B5) and the percentile rose, binned exactly and smoothed by scipy.

Brief ``../shared/reference/nonroad_and_source.md`` B5 (Carslaw, Beevers, Ropkins & Bell 2006,
Atmos. Environ. 40:5424; CBPF: Uria-Tellaetxe & Carslaw 2014) and openair's percentileRose (B1
conventions). The binned statistics (steps 1–4) are deterministic and tested to the number; the
surface (step 5) is a thin-plate spline from :class:`scipy.interpolate.RBFInterpolator` on the
square root of the bin values, each bin's smoothing divided by its B5 step-3 weight, so it is
only ever judged qualitatively (peak direction, no negatives, CPF ≤ 1).

Wind direction ``wd`` [°] is where the wind comes **from**; wind speed ``ws`` [m/s]. These
show a **likely source direction, not a source share** (B8).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ecobasin.errors import InputError
from ecobasin.sources.directional import (
    Values,
    bin_weights,
    percentile_type7,
    sector_of,
    wind_uv,
)

__all__ = [
    "PolarSurface",
    "percentile_rose",
    "polar_bins",
    "polar_surface",
]

#: B5 step 1: the speed axis is cut into this many equal intervals from 0 to the maximum
WS_INTERVALS = 30
#: B5 step 6: grid points farther than this from any bin (unit-square coordinates) are dropped
TOO_FAR = 0.05


def _arrays(wd: Values, ws: Values, conc: Values) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    wd_a, ws_a, c_a = (np.asarray(x, dtype=float) for x in (wd, ws, conc))
    if not (wd_a.shape == ws_a.shape == c_a.shape):
        raise InputError(f"wd, ws and conc lengths differ: {wd_a.size}, {ws_a.size}, {c_a.size}")
    keep = np.isfinite(wd_a) & np.isfinite(ws_a) & np.isfinite(c_a)
    if not keep.any():
        raise InputError("no hour has a wind direction, a wind speed and a concentration")
    return wd_a[keep], ws_a[keep], c_a[keep]


def polar_bins(
    wd: Values,
    ws: Values,
    conc: Values,
    *,
    statistic: str = "mean",
    percentile: float | Sequence[float] = 75.0,
    min_bin: int = 1,
    weights: Sequence[float] = (0.25, 0.5, 0.75),
) -> pd.DataFrame:
    """The binned polar plot (B5 steps 1–4), one row per (wd, ws) bin holding data.

    ws is shifted so its minimum is 0, wd binned at 10° when every wd is a multiple of 10,
    else 5° (B1 rounding), ws cut into 30 equal intervals (0, max] (the first includes 0).
    ``statistic``: ``mean`` [conc unit] or ``cpf`` (C > P strict, or P_low < C ≤ P_high with
    two percentiles, B4) [1]. Columns: wd [°], ws [m/s] (interval centre), n, value, weight
    (None under ``min_bin``, whose value is also NaN), u, v [m/s].
    """
    wd_a, ws_a, c_a = _arrays(wd, ws, conc)
    if statistic not in ("mean", "cpf"):
        raise InputError(f"statistic must be mean or cpf, got {statistic!r}")
    angle = 10.0 if np.all(np.isclose(wd_a % 10, 0) | np.isclose(wd_a % 10, 10)) else 5.0
    speed = ws_a - ws_a.min()
    top = float(speed.max()) or 1.0
    width = top / WS_INTERVALS
    interval = np.clip(np.ceil(speed / width) - 1, 0, WS_INTERVALS - 1).astype(int)
    if statistic == "cpf":
        levels = percentile_type7(c_a, percentile)
        hit = c_a > levels[0] if levels.size == 1 else (c_a > levels[0]) & (c_a <= levels[1])
        values = hit.astype(float)
    else:
        values = c_a
    frame = pd.DataFrame({"wd": sector_of(wd_a, angle), "k": interval, "value": values})
    table = pd.DataFrame(frame.groupby(["wd", "k"], sort=True)["value"].agg(n="size", value="mean"))
    table = table.reset_index()
    table["ws"] = (table["k"] + 0.5) * width
    table["weight"] = bin_weights(table["n"].tolist(), weights, min_bin)
    table.loc[table["weight"].isna(), "value"] = np.nan
    uv = wind_uv(table["ws"].to_numpy(), table["wd"].to_numpy())
    table["u"], table["v"] = uv[:, 0], uv[:, 1]
    out = pd.DataFrame(table[["wd", "ws", "n", "value", "weight", "u", "v"]])
    out.attrs["upper"] = top  # the radius of the plot [m/s]
    return out


@dataclass(frozen=True)
class PolarSurface:
    """A smoothed polar surface on a square grid [m/s]: ``z`` NaN outside the data."""

    axis: np.ndarray  # grid coordinates along u and v [m/s]
    z: np.ndarray  # (len(axis), len(axis)): rows v, columns u
    upper: float  # radius of the plot [m/s]

    def peak_direction(self) -> float:
        """The direction [°, from] of the surface's highest point."""
        row, col = np.unravel_index(np.nanargmax(self.z), self.z.shape)
        return float(np.degrees(np.arctan2(self.axis[col], self.axis[row])) % 360)


def polar_surface(
    bins: pd.DataFrame,
    *,
    grid: int = 101,
    smoothing: float = 1.0,
    force_positive: bool = True,
    probability: bool = False,
) -> PolarSurface:
    """The smoothed surface of :func:`polar_bins` (B5 steps 5–6).

    A thin-plate spline (scipy ``RBFInterpolator``) through √value (``force_positive``: squared
    back, never negative), each bin's smoothing ``smoothing``/weight, so thin bins pull less;
    predicted on a ``grid`` × ``grid`` square over [−upper, upper]², points beyond ``upper`` or
    farther than 0.05 (unit square) from every bin are NaN; ``probability`` clips to [0, 1].
    """
    from scipy.interpolate import RBFInterpolator
    from scipy.spatial import cKDTree

    used = bins.dropna(subset=["value", "weight"])
    if len(used) < 3:
        raise InputError(f"a surface needs at least 3 bins with data, got {len(used)}")
    if force_positive and (used["value"] < 0).any():
        raise InputError("force_positive needs non-negative bin values")
    points = used[["u", "v"]].to_numpy(dtype=float)
    response = used["value"].to_numpy(dtype=float)
    response = np.sqrt(response) if force_positive else response
    weight = used["weight"].to_numpy(dtype=float)
    spline = RBFInterpolator(
        points, response, kernel="thin_plate_spline", smoothing=smoothing / weight
    )
    upper = float(bins.attrs.get("upper", bins["ws"].max()))
    axis = np.linspace(-upper, upper, grid)
    uu, vv = np.meshgrid(axis, axis)
    nodes = np.column_stack([uu.ravel(), vv.ravel()])
    z = spline(nodes)
    z = z**2 if force_positive else z
    near, _ = cKDTree(points / (2 * upper)).query(nodes / (2 * upper))
    z[(near > TOO_FAR) | (np.hypot(nodes[:, 0], nodes[:, 1]) > upper)] = np.nan
    if probability:
        z = np.clip(z, 0.0, 1.0)
    return PolarSurface(axis=axis, z=z.reshape(grid, grid), upper=upper)


def percentile_rose(
    wd: Values,
    conc: Values,
    *,
    ws: Values | None = None,
    percentiles: Sequence[float] = (25, 50, 75, 90, 95),
    angle: float = 10.0,
    calm_ws: float = 0.5,
) -> tuple[pd.DataFrame, float]:
    """Type-7 percentiles [conc unit] of the concentration per ``angle`` sector (B1), calms
    (ws < ``calm_ws`` [m/s]) left out and their share [1] returned. Columns: sector, n, p25 …"""
    wd_a, c_a = np.asarray(wd, dtype=float), np.asarray(conc, dtype=float)
    keep = np.isfinite(wd_a) & np.isfinite(c_a)
    calm = np.zeros_like(keep)
    if ws is not None:
        calm = keep & (np.asarray(ws, dtype=float) < calm_ws)
    share = float(calm.sum() / keep.sum()) if keep.sum() else 0.0
    keep &= ~calm
    if not keep.any():
        raise InputError("no non-calm hour with a direction and a concentration")
    frame = pd.DataFrame({"sector": sector_of(wd_a[keep], angle), "conc": c_a[keep]})
    rows = []
    for sector, group in frame.groupby("sector", sort=True):
        levels = percentile_type7(group["conc"].to_numpy(), list(percentiles))
        row = {"sector": float(sector), "n": len(group)}  # type: ignore[arg-type]
        row.update({f"p{p:g}": float(x) for p, x in zip(percentiles, levels, strict=True)})
        rows.append(row)
    return pd.DataFrame(rows), share
