"""The river network: import with bad rows kept aside, invariants, the plume along the demo
network, and the refit of velocity and dispersion to two stations' observed passage."""

from __future__ import annotations

import math
from importlib import resources

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from ecobasin.errors import InputError
from ecobasin.rivers.network import (
    Release,
    build_network,
    check_network,
    cities_on_path,
    downstream_path,
    intakes_on_path,
    passage_to,
    plume_forecast,
    release_curve_mg_L,
)
from ecobasin.rivers.refit import refit_passage, scaled_network

DATA = resources.files("ecobasin.demo") / "data"


def demo_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    nodes = pd.read_csv(str(DATA / "river_nodes.csv"), comment="#", dtype={"city": str})
    reaches = pd.read_csv(str(DATA / "river_reaches.csv"), comment="#")
    return nodes, reaches


@pytest.fixture(scope="module")
def graph() -> nx.DiGraph:
    net = build_network(*demo_tables())
    assert net.rejected.empty, net.rejected
    return net.graph


def test_demo_network_keeps_its_invariants(graph: nx.DiGraph) -> None:
    assert check_network(graph) == []
    assert nx.number_weakly_connected_components(graph) == 3  # Minjiang, Tuojiang, Jialing
    sections = [n for n, d in graph.nodes(data=True) if d["kind"] == "site"]
    assert len(sections) >= 30


def test_bad_rows_are_kept_aside_with_their_reason() -> None:
    nodes = pd.DataFrame(
        [
            {"node_id": "A", "kind": "site", "city": "510100"},
            {"node_id": "B", "kind": "site", "city": "512000"},
            {"node_id": "C", "kind": "outlet", "city": "512000"},
            {"node_id": "A", "kind": "site", "city": "510100"},
            {"node_id": "X", "kind": "volcano", "city": "510100"},
        ]
    )
    reaches = pd.DataFrame(
        [
            {"reach_id": "r1", "from_node": "A", "to_node": "B", "length_km": 10, "u_m_s": 1, "Q_m3_s": 100, "D_m2_s": 50},
            {"reach_id": "r2", "from_node": "B", "to_node": "C", "length_km": 5, "u_m_s": 1, "Q_m3_s": 100, "D_m2_s": 50},
            {"reach_id": "r3", "from_node": "C", "to_node": "A", "length_km": 5, "u_m_s": 1, "Q_m3_s": 100, "D_m2_s": 50},
            {"reach_id": "r4", "from_node": "A", "to_node": "C", "length_km": 5, "u_m_s": 1, "Q_m3_s": 100, "D_m2_s": 50},
            {"reach_id": "r5", "from_node": "B", "to_node": "Z", "length_km": 5, "u_m_s": 1},
            {"reach_id": "r6", "from_node": "C", "to_node": "B", "length_km": -1, "u_m_s": 1},
        ]
    )  # fmt: skip
    net = build_network(nodes, reaches)
    reasons = dict(zip(net.rejected["id"], net.rejected["reason"], strict=True))
    assert "duplicate" in reasons["A"] and "kind" in reasons["X"]
    assert "cycle" in reasons["r3"] and "already has a reach" in reasons["r4"]
    assert "unknown node Z" in reasons["r5"]
    assert list(net.graph.edges) == [("A", "B"), ("B", "C")]
    assert check_network(net.graph) == []


def test_broken_invariants_are_reported() -> None:
    g = nx.DiGraph()
    g.add_nodes_from(
        [("A", {"kind": "site"}), ("B", {"kind": "outlet"}), ("C", {"kind": "outlet"})]
    )
    g.add_edge("A", "B")
    assert check_network(g) == []
    g.add_edge("A", "C")  # a split: two ends in one basin
    assert any("2 outlets" in p for p in check_network(g))
    g.remove_edge("A", "C")
    g.nodes["B"]["kind"] = "junction"  # a basin ending anywhere but at an outlet
    assert any("not of kind 'outlet'" in p for p in check_network(g))
    g.add_edge("B", "A")
    assert "the network has a cycle" in check_network(g)


def test_a_tuojiang_spill_reaches_ziyang_intakes_in_order(graph: nx.DiGraph) -> None:
    table = plume_forecast(graph, "T03", Release("instantaneous", mass_kg=5000.0), 0.01)
    assert list(table["node_id"]) == downstream_path(graph, "T03")[1:]
    assert table["front_h"].is_monotonic_increasing
    assert table["distance_km"].is_monotonic_increasing
    # the high end of the dispersion band spreads the plume: lower peaks, earlier first crossing
    assert (table["C_peak_mg_L_high"] <= table["C_peak_mg_L_low"] + 1e-12).all()
    assert (table["above_from_h_high"] <= table["above_from_h_low"]).all()
    assert intakes_on_path(graph, "T03")[:2] == ["I-ZY-1", "I-ZY-2"]
    assert cities_on_path(graph, "T03")[:3] == ["510100", "512000", "511000"]


def test_a_continuous_release_plateaus_at_load_over_discharge(graph: nx.DiGraph) -> None:
    release = Release("continuous", rate_kg_h=36.0)
    table = plume_forecast(graph, "T03", release).set_index("node_id")
    expected = 36e3 / 3600 / table.loc["T05", "Q_m3_s"]
    assert math.isclose(table.loc["T05", "C_peak_mg_L_low"], expected, rel_tol=1e-3)


def test_releases_are_validated() -> None:
    with pytest.raises(InputError, match="positive amount"):
        Release("instantaneous", mass_kg=0.0)
    with pytest.raises(InputError, match="duration_h"):
        Release("finite", rate_kg_h=5.0)
    with pytest.raises(InputError, match="mode"):
        Release("spray", mass_kg=1.0)


def test_refit_to_two_stations_brings_the_next_intake_within_ten_percent(graph: nx.DiGraph) -> None:
    """The truth is the model with other velocities, dispersion and mass than assumed; two
    stations observe it with 5 % noise; the refit moves the next intake's arrival from far off to
    within 10 % of the truth."""
    release = Release("instantaneous", mass_kg=3000.0)
    truth_net = scaled_network(graph, 0.75, 1.8)
    truth_release = Release("instantaneous", mass_kg=1800.0)
    rng = np.random.default_rng(7)
    rows = []
    for station in ("T04", "T05"):
        passage, discharge = passage_to(truth_net, "T03", station, 0.0)
        for hours in np.arange(passage.mean_s / 3600 - 12, passage.mean_s / 3600 + 12, 1.0):
            c = release_curve_mg_L(truth_release, discharge, passage, hours * 3600)
            rows.append(
                {
                    "node_id": station,
                    "time_h": hours,
                    "C_mg_L": c * (1 + 0.05 * rng.standard_normal()),
                }
            )
    observed = pd.DataFrame(rows)
    target = "I-NJ-1"
    true_arrival = passage_to(truth_net, "T03", target, 0.0)[0].mean_s
    before = passage_to(graph, "T03", target, 0.0)[0].mean_s
    assert abs(before - true_arrival) / true_arrival > 0.2  # the first forecast is far off
    fit = refit_passage(graph, "T03", release, observed)
    after = passage_to(
        scaled_network(graph, fit.velocity_factor, fit.dispersion_factor), "T03", target, 0.0
    )[0].mean_s
    assert abs(after - true_arrival) / true_arrival < 0.10
    assert fit.stations == ("T04", "T05")
    with pytest.raises(InputError, match="two stations"):
        refit_passage(graph, "T03", release, observed[observed["node_id"] == "T04"])


def test_a_reach_with_a_rating_curve_and_a_stage_gets_its_discharge_from_it() -> None:
    """Issue 22 "hydraulics (velocity, or discharge with cross-section, rating curve or
    Manning)", brief §2.2 item 3: a gauged stage through Q = a·(h − h₀)^b gives the discharge,
    then Manning's velocity from the section (or hydraulic geometry without one)."""
    nodes = pd.DataFrame([
        {"node_id": "A", "kind": "site", "city": "510100"},
        {"node_id": "B", "kind": "site", "city": "510100"},
        {"node_id": "C", "kind": "outlet", "city": "510100"},
    ])  # fmt: skip
    reaches = pd.DataFrame([
        {"reach_id": "r1", "from_node": "A", "to_node": "B", "length_km": 10, "stage_m": 3.0,
         "rating_a": 40.0, "rating_h0_m": 1.0, "rating_b": 1.6, "width_m": 80, "slope": 3e-4,
         "manning_n": 0.03},
        {"reach_id": "r2", "from_node": "B", "to_node": "C", "length_km": 5, "stage_m": 0.5,
         "rating_a": 40.0, "rating_h0_m": 1.0, "rating_b": 1.6, "width_m": 80, "slope": 3e-4},
    ])  # fmt: skip
    net = build_network(nodes, reaches)
    edge = net.graph.edges["A", "B"]
    assert edge["Q_m3_s"] == pytest.approx(40.0 * 2.0**1.6)
    assert edge["velocity_from"] == "rating+manning" and edge["u_m_s"] > 0
    # a stage below h0: no flow, so no velocity: the row is refused with its reason
    assert "stage 0.5 m" in dict(zip(net.rejected["id"], net.rejected["reason"], strict=True))["r2"]


def test_the_demo_sites_are_the_demo_water_sections_snapped_to_the_network(
    graph: nx.DiGraph,
) -> None:
    """Issue 22 "sites, water sections and drinking-water intakes snapped to it": every site
    node is a demo water section (its code, its city, its point within 1 km): 31 of the 33, the
    other two being reservoirs (L01, L02), not rivers; every Minjiang and Tuojiang main-stem
    section is on the network."""
    sections = pd.read_csv(str(DATA / "water_sections.csv"), comment="#", dtype={"city": str})
    by_code = sections.set_index("code")
    sites = {n: d for n, d in graph.nodes(data=True) if d["kind"] == "site"}
    assert len(sites) == 31
    assert set(sections["code"]) - set(sites) == {"L01", "L02"}
    for node, data in sites.items():
        section = by_code.loc[node]
        assert str(data["city"]) == section["city"], node
        km = 111.2 * math.hypot(
            (float(data["lon"]) - section["lon"]) * math.cos(math.radians(section["lat"])),
            float(data["lat"]) - section["lat"],
        )
        assert km < 1.0, (node, km)
    main_stems = sections[sections["river_en"].isin(["Minjiang", "Tuojiang"])]
    assert set(main_stems["code"]) <= set(sites)
    assert all(nx.has_path(graph, s, downstream_path(graph, s)[-1]) for s in sites)
