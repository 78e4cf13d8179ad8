"""The pure decisions of the incident response on the demo network: the forecast's impact moves
the grade (a provincial boundary crossed makes II, a prefecture-city intake shut makes I), the
cross-boundary notice is urgent when the plume reaches an intake within a day, cities outside
the region are external, an unacknowledged notice escalates once after 30 minutes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from importlib import resources

import networkx as nx
import pandas as pd
import pytest

from ecobasin.catalog.incidents import ruleset_in_force
from ecobasin.rivers.network import Release, build_network, plume_forecast
from ecobasin.workflow import incidents as wf

DATA = resources.files("ecobasin.demo") / "data"
T0 = datetime(2026, 7, 14, 14, 40, tzinfo=UTC)
REGION = ["510100", "510600", "510700", "510900", "511100", "511400", "511800", "512000"]
GRADING = ruleset_in_force("grading", date(2026, 7, 14))
REPORTING = ruleset_in_force("reporting", date(2026, 7, 14))
NOTICE = ruleset_in_force("cross_boundary_notice", date(2026, 7, 14))
NO_HARM = {"deaths": 0, "poisoned_or_injured": 0, "evacuated": 0, "direct_loss_cny": 1e5}


@pytest.fixture(scope="module")
def graph() -> nx.DiGraph:
    nodes = pd.read_csv(str(DATA / "river_nodes.csv"), comment="#", dtype={"city": str})
    reaches = pd.read_csv(str(DATA / "river_reaches.csv"), comment="#")
    return build_network(nodes, reaches).graph


def test_a_plume_into_chongqing_is_at_least_grade_II(graph: nx.DiGraph) -> None:
    forecast = plume_forecast(graph, "P05", Release("instantaneous", mass_kg=300.0), 0.005)
    grade, facts = wf.grade_with_forecast(NO_HARM, "510900", forecast, 0.005, GRADING["body"])
    assert facts["cross_boundary"] == "provincial"
    assert grade.grade in ("I", "II") and "cross_boundary" in grade.triggered


def test_a_small_spill_below_every_threshold_stays_IV(graph: nx.DiGraph) -> None:
    forecast = plume_forecast(graph, "T03", Release("instantaneous", mass_kg=0.5), 0.01)
    grade, facts = wf.grade_with_forecast(NO_HARM, "510100", forecast, 0.01, GRADING["body"])
    assert facts["cross_boundary"] is None and facts["intake_interrupted"] is None
    assert (grade.grade, grade.triggered) == ("IV", ())


def test_notices_are_urgent_for_an_intake_within_a_day(graph: nx.DiGraph) -> None:
    forecast = plume_forecast(graph, "T03", Release("instantaneous", mass_kg=2000.0), 0.01)
    notices = wf.notices_for("510100", T0, "I", forecast, 0.01, REPORTING, NOTICE, REGION)
    initial = [n for n in notices if n.kind == "initial"]
    assert {n.deadline for n in initial} == {T0 + timedelta(hours=2)}
    cross = {n.to_city: n for n in notices if n.kind == "cross_boundary"}
    # the front reaches Ziyang's city intake in ~34 h: within 1 h, not urgent
    assert cross["512000"].deadline == T0 + timedelta(hours=1) and not cross["512000"].external
    assert cross["511000"].external and cross["510500"].external
    # from T04 the front reaches Ziyang's city intake in ~13 h: tell Ziyang within 15 minutes
    near = plume_forecast(graph, "T04", Release("instantaneous", mass_kg=2000.0), 0.01)
    assert float(near.set_index("node_id").loc["I-ZY-1", "front_h"]) < 24
    urgent = wf.notices_for("510100", T0, "I", near, 0.01, REPORTING, NOTICE, REGION)
    ziyang = next(n for n in urgent if n.kind == "cross_boundary" and n.to_city == "512000")
    assert ziyang.deadline == T0 + timedelta(minutes=15) and "intake" in ziyang.reason
    assert all(n.to_city != "510100" for n in urgent if n.kind == "cross_boundary")


def test_escalation_after_the_acknowledgement_window_and_once() -> None:
    table = pd.DataFrame([
        {"notification_id": 1, "sent_at": T0, "acked_at": None, "escalated_at": None},
        {"notification_id": 2, "sent_at": T0, "acked_at": T0 + timedelta(minutes=5), "escalated_at": None},
        {"notification_id": 3, "sent_at": T0, "acked_at": None, "escalated_at": T0 + timedelta(minutes=31)},
        {"notification_id": 4, "sent_at": None, "acked_at": None, "escalated_at": None},
    ])  # fmt: skip
    assert wf.escalations(table, T0 + timedelta(minutes=29), NOTICE) == []
    assert wf.escalations(table, T0 + timedelta(minutes=30), NOTICE) == [1]


def test_monitoring_points_cover_control_incident_intakes_and_the_boundary(
    graph: nx.DiGraph,
) -> None:
    release = Release("instantaneous", mass_kg=300.0)
    forecast = plume_forecast(graph, "P05", release, 0.005)
    windows = plume_forecast(graph, "P05", release, 0.0005)
    monitoring = ruleset_in_force("monitoring", date(2026, 7, 14))
    points = wf.monitoring_points(forecast, windows, "P05", "P04", "510900", 0.005, monitoring)
    roles = {p["node_id"]: p["role"] for p in points}
    assert roles["P04"] == "control" and roles["P05"] == "incident"
    assert roles["B-FJ-SC-CQ"] == "boundary"
    boundary = next(p for p in points if p["node_id"] == "B-FJ-SC-CQ")
    assert boundary["responsible_city"] == "500151" and boundary["window_from_h"] is not None


def test_every_hour_factor_and_recipient_comes_from_the_rule_data(graph: nx.DiGraph) -> None:
    """Issue 22: "every threshold, deadline and grade table is versioned rule data": the urgent
    notice minutes, the first report's recipients and the monitoring plan's factors and
    frequencies come from the rule sets handed in, so a new rule set changes them, not code."""
    near = plume_forecast(graph, "T04", Release("instantaneous", mass_kg=2000.0), 0.01)
    faster = {
        **NOTICE, "body": {**NOTICE["body"], "urgent_minutes": 5, "recipient_org": "值班室 duty office"}
    }  # fmt: skip
    named = {**REPORTING, "body": {**REPORTING["body"], "recipients_by_grade": {"I": ["省政府"]}}}
    notices = wf.notices_for("510100", T0, "I", near, 0.01, named, faster, REGION)
    ziyang = next(n for n in notices if n.kind == "cross_boundary" and n.to_city == "512000")
    assert ziyang.deadline == T0 + timedelta(minutes=5) and ziyang.to_org == "值班室 duty office"
    assert [n.to_org for n in notices if n.kind == "initial"] == ["省政府"]
    assert "recipients_by_grade" in REPORTING["body"] and "urgent_minutes" in NOTICE["body"]

    monitoring = ruleset_in_force("monitoring", date(2026, 7, 14))
    release = Release("instantaneous", mass_kg=2000.0)
    forecast = plume_forecast(graph, "T03", release, 0.01)
    windows = plume_forecast(graph, "T03", release, 0.01 * monitoring["body"]["window_fraction"])
    wide = wf.monitoring_points(forecast, windows, "T03", "J-TJ-JT", "510100", 0.01, monitoring)
    strict_body = {**monitoring["body"], "stop_fraction": 50.0, "inside_frequency": "每10分钟"}
    strict = wf.monitoring_points(
        forecast, windows, "T03", "J-TJ-JT", "510100", 0.01, {**monitoring, "body": strict_body}
    )
    assert len(strict) < len(wide)  # a higher stop fraction drops the faint points
    assert any(p["frequency"] == "每10分钟" for p in strict)
