"""Refit the velocity and dispersion of a network to the observed passage of a plume.

Brief ``../shared/reference/incidents.md`` §6 step 4: "once two stations have seen the plume,
refit u and D to the observed passage curves (least squares). This is the most valuable
in-event update." The forecast's reach velocities and dispersion coefficients are scaled by two
factors (α_u, α_D), common to the path, and the released mass by α_M (the amount of a spill is
rarely known at first); the three are fitted to every observation (station, time, C) at once by
:func:`scipy.optimize.least_squares` on the log factors (so they stay positive).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ecobasin.errors import InputError
from ecobasin.rivers.network import Release, downstream_path, passage_to, release_curve_mg_L

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["Refit", "refit_passage", "scaled_network"]


@dataclass(frozen=True)
class Refit:
    """The fitted factors [1] on velocity, dispersion and mass, the stations used, and the root
    mean square of the residuals [mg/L]."""

    velocity_factor: float
    dispersion_factor: float
    mass_factor: float
    stations: tuple[str, ...]
    rms_mg_L: float


def scaled_network(
    graph: nx.DiGraph, velocity_factor: float, dispersion_factor: float
) -> nx.DiGraph:
    """A copy of ``graph`` with every reach's velocity and dispersion band scaled."""
    scaled = graph.copy()
    for _, _, data in scaled.edges(data=True):
        data["u_m_s"] = data["u_m_s"] * velocity_factor
        data["D_low_m2_s"] = data["D_low_m2_s"] * dispersion_factor
        data["D_high_m2_s"] = data["D_high_m2_s"] * dispersion_factor
    return scaled


def _scaled_release(release: Release, factor: float) -> Release:
    if release.mode == "instantaneous":
        return replace(release, mass_kg=release.mass_kg * factor)
    return replace(release, rate_kg_h=release.rate_kg_h * factor)


def _predict(
    graph: nx.DiGraph, spill: str, release: Release, observed: pd.DataFrame, params: np.ndarray
) -> np.ndarray:
    alpha_u, alpha_d, alpha_m = np.exp(params)
    net = scaled_network(graph, float(alpha_u), float(alpha_d))
    rel = _scaled_release(release, float(alpha_m))
    decay = rel.decay_per_day / 86400.0
    passages = {node: passage_to(net, spill, node, decay) for node in set(observed["node_id"])}
    return np.array([
        release_curve_mg_L(rel, passages[node][1], passages[node][0], float(hours) * 3600.0)
        for node, hours in zip(observed["node_id"], observed["time_h"], strict=True)
    ])  # fmt: skip


def refit_passage(
    graph: nx.DiGraph, spill_node: str, release: Release, observed: pd.DataFrame
) -> Refit:
    """Fit (α_u, α_D, α_M) to ``observed`` (columns node_id, time_h [h since the release],
    C_mg_L [mg/L]) from at least two stations below the spill; the low end of the dispersion
    band is the one scaled (a tracer-like fit replaces the band by one value)."""
    stations = tuple(dict.fromkeys(str(n) for n in observed["node_id"]))
    if len(stations) < 2:
        raise InputError(f"a refit needs the plume seen at two stations, got {list(stations)}")
    path = downstream_path(graph, spill_node)
    outside = [s for s in stations if s not in path[1:]]
    if outside:
        raise InputError(f"stations {outside} are not below the spill {spill_node}")
    values = observed["C_mg_L"].to_numpy(dtype=float)
    scale = max(float(np.max(np.abs(values))), 1e-12)

    def residuals(params: np.ndarray) -> np.ndarray:
        residual: np.ndarray = (
            _predict(graph, spill_node, release, observed, params) - values
        ) / scale
        return residual

    # here, not at the top: scipy costs every process its import
    from scipy.optimize import least_squares

    fit = least_squares(residuals, x0=np.zeros(3), bounds=(np.log(0.2), np.log(5.0)), x_scale=0.3)
    alpha_u, alpha_d, alpha_m = np.exp(fit.x)
    rms = float(np.sqrt(np.mean((residuals(fit.x) * scale) ** 2)))
    return Refit(float(alpha_u), float(alpha_d), float(alpha_m), stations, rms)
