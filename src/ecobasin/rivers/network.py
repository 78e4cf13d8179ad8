"""The river network as a directed graph, and the plume of a release along it.

Brief ``../shared/reference/incidents.md`` §2.1 (travel time along the downstream path), §2.2
(a reach's velocity by preference), §2.3 (the dispersion band), §2.6 (confluences dilute;
moments of the passage curve add over reaches) and §3 (nodes and reaches). A node is a source,
junction, outlet, site (a water section or automatic station), intake, boundary or spill point,
with its city; a reach joins two nodes downstream with its length and hydraulics.

Graph invariants (:func:`check_network`): acyclic, one outlet per basin (a weakly connected
component), at most one reach leaving a node (a river network below its sources is a tree),
every site and intake reaches its outlet.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from ecobasin.errors import InputError
from ecobasin.rivers import hydraulics
from ecobasin.rivers.transport import Passage, ReachTransport, passage_over_reaches

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "NODE_KINDS",
    "Network",
    "Release",
    "build_network",
    "check_network",
    "cities_on_path",
    "downstream_path",
    "intakes_on_path",
    "passage_to",
    "plume_forecast",
    "release_curve_mg_L",
]

NODE_KINDS = ("source", "junction", "outlet", "site", "intake", "boundary", "spill")
NODE_COLUMNS = (
    "node_id", "kind", "name_zh", "name_en", "river", "city", "lon", "lat", "intake_level",
    "population",
)  # fmt: skip
REACH_COLUMNS = ("reach_id", "from_node", "to_node", "river", "length_km")
#: hydraulic columns a reach may carry (any that give a velocity are enough)
HYDRAULIC_COLUMNS = (
    "u_m_s", "Q_m3_s", "A_m2", "width_m", "depth_m", "slope", "manning_n", "D_m2_s", "analytic_ok",
    "stage_m", "rating_a", "rating_h0_m", "rating_b",
)  # fmt: skip


@dataclass(frozen=True)
class Network:
    """A river network: the graph (node and reach attributes as networkx data) and the rows
    that were refused on import, each with its reason."""

    graph: nx.DiGraph
    rejected: pd.DataFrame = field(default_factory=pd.DataFrame)


def _float(row: Mapping[str, Any], key: str) -> float | None:
    value = row.get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return None
    number = float(value)
    if not math.isfinite(number):
        raise InputError(f"{key} is not finite")
    return number


def reach_discharge_m3_s(reach: Mapping[str, Any]) -> tuple[float | None, str]:
    """(Q [m³/s] or None, how): the given discharge, else the reach's rating curve
    Q = a·(h − h₀)^b at its gauged stage h (``stage_m``, ``rating_a``, ``rating_h0_m``,
    ``rating_b``; brief §2.2 item 3)."""
    q = _float(reach, "Q_m3_s")
    if q is not None:
        return q, ""
    stage, a = _float(reach, "stage_m"), _float(reach, "rating_a")
    h0, b = _float(reach, "rating_h0_m"), _float(reach, "rating_b")
    if stage is None or a is None or h0 is None or b is None:
        return None, ""
    rated = hydraulics.rating_curve_discharge_m3_s(stage, a, h0, b)
    if not rated > 0:
        raise InputError(
            f"stage {stage:g} m is at or below the rating curve's h0 {h0:g} m: no flow"
        )
    return rated, "rating+"


def reach_velocity_m_s(reach: Mapping[str, Any]) -> tuple[float, str]:
    """(u [m/s], how): measured, Q/A, Manning from Q and the section, or hydraulic geometry
    (brief §2.2, in that order of preference); Q is the given discharge or that of the rating
    curve at the gauged stage (``how`` then starts with ``rating+``)."""
    u = _float(reach, "u_m_s")
    if u is not None:
        return u, "measured"
    q, rated = reach_discharge_m3_s(reach)
    area = _float(reach, "A_m2")
    if q is not None and area is not None:
        return q / area, f"{rated}Q/A"
    n, slope, width = _float(reach, "manning_n"), _float(reach, "slope"), _float(reach, "width_m")
    if q is not None and n is not None and slope is not None and width is not None:
        section = hydraulics.Section(width)
        depth = hydraulics.manning_depth_m(q, n, slope, section)
        return hydraulics.manning_velocity_m_s(
            n, slope, section.hydraulic_radius_m(depth)
        ), f"{rated}manning"
    if q is not None:
        return hydraulics.hydraulic_geometry_velocity_m_s(q), f"{rated}hydraulic_geometry"
    raise InputError("no velocity: give u_m_s, Q_m3_s with A_m2, Manning n/slope/width, or Q_m3_s")


def reach_dispersion_band_m2_s(reach: Mapping[str, Any], velocity: float) -> tuple[float, float]:
    """(D_low, D_high) [m²/s]: a fitted or tracer D when the reach has one, else the band of
    Fischer (1975) and Kashefipour & Falconer (2002) from its width, depth and slope (§2.3)."""
    fitted = _float(reach, "D_m2_s")
    if fitted is not None:
        return fitted, fitted
    width, depth, slope = _float(reach, "width_m"), _float(reach, "depth_m"), _float(reach, "slope")
    q, _ = reach_discharge_m3_s(reach)
    if depth is None and q is not None and width is not None:
        depth = q / (velocity * width)
    if width is None or depth is None or slope is None:
        raise InputError("no dispersion: give D_m2_s, or width_m, slope and depth_m (or Q_m3_s)")
    u_star = hydraulics.shear_velocity_m_s(depth, slope)
    return hydraulics.dispersion_band_m2_s(velocity, width, depth, u_star)


def _reach_attributes(row: Mapping[str, Any]) -> dict[str, Any]:
    length_km = _float(row, "length_km")
    if length_km is None or length_km <= 0:
        raise InputError("length_km must be a positive number")
    velocity, how = reach_velocity_m_s(row)
    if not velocity > 0:
        raise InputError(f"velocity {velocity} m/s is not positive")
    d_low, d_high = reach_dispersion_band_m2_s(row, velocity)
    discharge, _ = reach_discharge_m3_s(row)
    area = _float(row, "A_m2")
    if discharge is None and area is not None:
        discharge = area * velocity
    analytic = row.get("analytic_ok")
    return {
        "reach_id": str(row["reach_id"]),
        "river": str(row.get("river") or ""),
        "length_m": length_km * 1000.0,
        "u_m_s": velocity,
        "velocity_from": how,
        "Q_m3_s": discharge,
        "D_low_m2_s": d_low,
        "D_high_m2_s": d_high,
        "analytic_ok": analytic is None or str(analytic).lower() not in ("false", "0", "no"),
    }


def build_network(nodes: pd.DataFrame, reaches: pd.DataFrame) -> Network:
    """The graph from node and reach tables (columns: :data:`NODE_COLUMNS`,
    :data:`REACH_COLUMNS` + any of :data:`HYDRAULIC_COLUMNS`); every bad row is kept aside in
    ``rejected`` (table, row id, reason), never dropped silently; a reach closing a cycle or
    making a second way out of a node is refused."""
    # here, not at the top: the web app and the CLI import this module
    import networkx as nx

    graph = nx.DiGraph()
    rejected: list[dict[str, Any]] = []
    for row in nodes.to_dict("records"):
        node_id, kind = str(row.get("node_id") or ""), str(row.get("kind") or "")
        if not node_id or kind not in NODE_KINDS:
            reason = "no node_id" if not node_id else f"kind {kind!r} not one of {NODE_KINDS}"
            rejected.append({"table": "nodes", "id": node_id, "reason": reason})
        elif node_id in graph:
            rejected.append({"table": "nodes", "id": node_id, "reason": "duplicate node_id"})
        else:
            graph.add_node(node_id, **{k: row.get(k) for k in NODE_COLUMNS if k != "node_id"})
    for reach in reaches.to_dict("records"):
        refusal = _add_reach(graph, {str(k): v for k, v in reach.items()})
        if refusal:
            rejected.append(
                {"table": "reaches", "id": str(reach.get("reach_id")), "reason": refusal}
            )
    return Network(graph, pd.DataFrame(rejected, columns=["table", "id", "reason"]))


def _add_reach(graph: nx.DiGraph, row: Mapping[str, Any]) -> str | None:
    """Add one reach; the reason it was refused, or None."""
    # here, not at the top: the web app and the CLI import this module
    import networkx as nx

    start, end = str(row.get("from_node")), str(row.get("to_node"))
    missing = [n for n in (start, end) if n not in graph]
    if missing:
        return f"unknown node {', '.join(missing)}"
    if graph.out_degree(start) > 0:
        return f"node {start} already has a reach leaving it (a river does not split here)"
    if start == end or nx.has_path(graph, end, start):
        return f"reach {start} → {end} would close a cycle"
    try:
        graph.add_edge(start, end, **_reach_attributes(row))
    except (InputError, ValueError, TypeError) as exc:
        return str(exc)
    return None


def check_network(graph: nx.DiGraph) -> list[str]:
    """The broken invariants of a network (empty when sound): acyclic; one outlet (a node with
    no reach leaving it) per basin, and it is of kind ``outlet``; every site and intake has a
    path to that outlet."""
    # here, not at the top: the web app and the CLI import this module
    import networkx as nx

    problems = []
    if not nx.is_directed_acyclic_graph(graph):
        problems.append("the network has a cycle")
    for basin in nx.weakly_connected_components(graph):
        sinks = sorted(n for n in basin if graph.out_degree(n) == 0)
        if len(sinks) != 1:
            problems.append(f"basin of {min(basin)} has {len(sinks)} outlets: {sinks}")
            continue
        outlet = sinks[0]
        if graph.nodes[outlet].get("kind") != "outlet":
            problems.append(f"basin end {outlet} is not of kind 'outlet'")
        for node in basin:
            kind = graph.nodes[node].get("kind")
            if kind in ("site", "intake") and not nx.has_path(graph, node, outlet):
                problems.append(f"{kind} {node} does not reach outlet {outlet}")
    return problems


def downstream_path(graph: nx.DiGraph, start: str) -> list[str]:
    """The nodes from ``start`` down to its outlet, in flow order (start included)."""
    if start not in graph:
        raise InputError(f"unknown node {start!r}")
    path = [start]
    while graph.out_degree(path[-1]) == 1:
        path.append(next(iter(graph.successors(path[-1]))))
    return path


@dataclass(frozen=True)
class Release:
    """What entered the river: ``mode`` instantaneous (``mass_kg``), continuous (``rate_kg_h``
    from the start, still running) or finite (``rate_kg_h`` for ``duration_h``); ``decay_per_day``
    [1/d] first-order (0 = conservative, the brief's default when no sourced value exists)."""

    mode: str
    mass_kg: float = 0.0
    rate_kg_h: float = 0.0
    duration_h: float = 0.0
    decay_per_day: float = 0.0

    def __post_init__(self) -> None:
        if self.mode not in ("instantaneous", "continuous", "finite"):
            raise InputError(f"release mode {self.mode!r} is not instantaneous/continuous/finite")
        amount = self.mass_kg if self.mode == "instantaneous" else self.rate_kg_h
        if not (math.isfinite(amount) and amount > 0):
            raise InputError(f"a {self.mode} release needs a positive amount, got {amount!r}")
        if self.mode == "finite" and not self.duration_h > 0:
            raise InputError("a finite release needs duration_h > 0")


def release_curve_mg_L(
    release: Release, discharge_m3_s: float, passage: Passage, t_s: float
) -> float:
    """C(t) [mg/L] at a point of the path from the Gaussian passage curve (brief §2.6): the slug,
    or its integral over the release time for continuous and finite releases."""
    mean, sigma, frac = passage.mean_s, math.sqrt(passage.variance_s2), passage.mass_fraction
    if release.mode == "instantaneous":
        mass_g = release.mass_kg * 1e3 * frac
        z = (t_s - mean) / sigma
        return mass_g / (discharge_m3_s * math.sqrt(2 * math.pi) * sigma) * math.exp(-0.5 * z * z)
    # here, not at the top: scipy costs every process its import
    from scipy.special import ndtr

    rate_g_s = release.rate_kg_h * 1e3 / 3600.0
    on = float(ndtr((t_s - mean) / sigma))
    off = 0.0
    if release.mode == "finite":
        off = float(ndtr((t_s - release.duration_h * 3600.0 - mean) / sigma))
    return rate_g_s * frac / discharge_m3_s * (on - off)


def passage_to(
    graph: nx.DiGraph, spill_node: str, node: str, decay_per_s: float, end: str = "low"
) -> tuple[Passage, float]:
    """The passage curve's moments from the spill to ``node`` with the ``end`` ("low"/"high")
    of the dispersion band, and the discharge there [m³/s] (that of the reach arriving)."""
    path = downstream_path(graph, spill_node)
    if node not in path[1:]:
        raise InputError(f"node {node} is not below the spill {spill_node}")
    legs = path[: path.index(node) + 1]
    reaches = [graph.edges[a, b] for a, b in itertools.pairwise(legs)]
    transport = [
        ReachTransport(r["length_m"], r["u_m_s"], r[f"D_{end}_m2_s"], decay_per_s) for r in reaches
    ]
    discharge = reaches[-1]["Q_m3_s"]
    if discharge is None:
        raise InputError(f"reach {reaches[-1]['reach_id']} has no discharge (Q_m3_s)")
    return passage_over_reaches(transport), float(discharge)


def _window_s(
    release: Release, discharge: float, passage: Passage, threshold: float
) -> tuple[float, float] | None:
    """The first and last instants [s] with C ≥ threshold, on a grid of σ/50 (the curves are
    smooth and unimodal), or None; the end is infinite while a continuous release runs."""
    mean, sigma = passage.mean_s, math.sqrt(passage.variance_s2)
    end = mean + 8 * sigma + (release.duration_h * 3600.0 if release.mode == "finite" else 0.0)
    step = max(sigma / 50.0, 1.0)
    start = max(mean - 8 * sigma, 0.0)
    times = [start + i * step for i in range(int((end - start) / step) + 2)]
    above = [t for t in times if release_curve_mg_L(release, discharge, passage, t) >= threshold]
    if not above:
        return None
    last = above[-1] if release.mode != "continuous" or above[-1] < times[-1] else math.inf
    return above[0], last


def plume_forecast(
    graph: nx.DiGraph, spill_node: str, release: Release, threshold_mg_L: float | None = None
) -> pd.DataFrame:
    """The plume at every node below ``spill_node``, for the low and the high end of the
    dispersion band (brief §2.1, §2.3, §2.6): distance [km], advective front arrival [h],
    peak time [h] and concentration [mg/L] (for continuous releases the plateau), and the window
    above ``threshold_mg_L`` [h] (the intake shut-down window). Tributaries joining the path
    dilute by the discharge of the reach below the junction; reaches marked ``analytic_ok``
    false are flagged (dams, sluices: the analytic forms do not hold there)."""
    path = downstream_path(graph, spill_node)
    decay_per_s = release.decay_per_day / 86400.0
    rows = []
    distance, trusted = 0.0, True
    for upper, lower in itertools.pairwise(path):
        reach = graph.edges[upper, lower]
        distance += reach["length_m"]
        trusted = trusted and bool(reach["analytic_ok"])
        node = graph.nodes[lower]
        row: dict[str, Any] = {
            "node_id": lower, "kind": node.get("kind"), "name_zh": node.get("name_zh"),
            "name_en": node.get("name_en"), "city": node.get("city"), "river": reach["river"],
            "intake_level": node.get("intake_level"),
            "distance_km": distance / 1000.0, "analytic_ok": trusted,
        }  # fmt: skip
        for end in ("low", "high"):
            passage, discharge = passage_to(graph, spill_node, lower, decay_per_s, end)
            row["Q_m3_s"], row["front_h"] = discharge, passage.mean_s / 3600.0
            row |= _point_forecast(release, discharge, passage, threshold_mg_L, end)
        rows.append(row)
    return pd.DataFrame(rows)


def _point_forecast(
    release: Release, discharge: float, passage: Passage, threshold: float | None, end: str
) -> dict[str, Any]:
    mean, sigma = passage.mean_s, math.sqrt(passage.variance_s2)
    if release.mode == "instantaneous":
        t_peak = mean
    elif release.mode == "finite":
        t_peak = mean + release.duration_h * 1800.0  # the middle of the plateau
    else:
        t_peak = mean + 4 * sigma  # the front has passed: the plateau
    out: dict[str, Any] = {
        f"t_peak_h_{end}": t_peak / 3600.0,
        f"C_peak_mg_L_{end}": release_curve_mg_L(release, discharge, passage, t_peak),
        f"above_from_h_{end}": None,
        f"above_to_h_{end}": None,
    }
    window = None if threshold is None else _window_s(release, discharge, passage, threshold)
    if window is not None:
        out[f"above_from_h_{end}"] = window[0] / 3600.0
        out[f"above_to_h_{end}"] = window[1] / 3600.0 if math.isfinite(window[1]) else None
    return out


def cities_on_path(graph: nx.DiGraph, spill_node: str) -> list[str]:
    """The cities (codes) along the path below the spill, in flow order, each once."""
    seen: list[str] = []
    for node in downstream_path(graph, spill_node):
        city = graph.nodes[node].get("city")
        if city and str(city) not in seen:
            seen.append(str(city))
    return seen


def intakes_on_path(graph: nx.DiGraph, spill_node: str) -> list[str]:
    """The drinking-water intakes below the spill, in flow order."""
    return [
        n for n in downstream_path(graph, spill_node)[1:] if graph.nodes[n].get("kind") == "intake"
    ]
