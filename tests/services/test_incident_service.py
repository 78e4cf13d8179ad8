"""The river-incident service on a real DuckDB file, the whole response of one spill: the demo
network imported, a benzene spill on the Tuojiang in Chengdu above the Ziyang boundary opened
(grade and affected intakes from the rules and the forecast, notices with deadlines to the
downstream cities), one city acknowledging late and escalated, the joint plan approved, two
stations seeing a plume generated from the model with other hydraulics and noise, the refit
bringing the next intake's forecast arrival within 10 % of the truth, and the drill score."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecobasin.errors import Conflict, InputError
from ecobasin.rivers.network import Release, passage_to, release_curve_mg_L
from ecobasin.rivers.refit import scaled_network
from ecobasin.services import incidents as service
from ecobasin.store import incidents as db
from ecobasin.store.database import Store
from store_files import built_store_file, new_store_file

UTC = UTC
T0 = datetime(2026, 7, 14, 14, 40, tzinfo=UTC)  # 22:40 CST
REGION = ["510100", "510600", "510700", "510900", "511100", "511400", "511800", "512000"]
DATA = resources.files("ecobasin.demo") / "data"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    opened = Store(built_store_file(tmp_path / "store.duckdb", "demo network", network_store))
    yield opened  # type: ignore[misc]
    opened.close()


def network_store(path: Path) -> None:
    """A new store holding the demo river network (made once per process, then copied)."""
    with Store(new_store_file(path)) as opened:
        nodes, reaches = service.read_network_files(
            Path(str(DATA / "river_nodes.csv")), Path(str(DATA / "river_reaches.csv"))
        )
        summary = service.import_network(opened, "demo", nodes, reaches, T0)
        assert summary["rejected"] == [] and summary["reaches"] == len(reaches)


def open_spill(store: Store, **overrides: object) -> str:
    args: dict[str, object] = {
        "title": "沱江苯泄漏 Benzene spill on the Tuojiang", "network": "demo", "node_id": "T03",
        "city": "510100", "substance": "benzene",
        "release": {"mode": "instantaneous", "mass_kg": 2000.0},
        "facts": {"deaths": 0, "poisoned_or_injured": 0, "evacuated": 0, "direct_loss_cny": 1e6},
        "occurred_at": T0 - timedelta(hours=1), "discovered_at": T0 - timedelta(minutes=30),
        "determined_at": T0, "actor": "chengdu-duty", "region_cities": REGION, "now": T0,
    }  # fmt: skip
    args.update(overrides)
    return service.open_incident(store, **args)  # type: ignore[arg-type]


def test_a_spill_is_graded_and_downstream_cities_are_told(store: Store) -> None:
    incident_id = open_spill(store)
    view = service.incident_view(store, incident_id)
    record = view["incident"]
    # benzene reaches Ziyang's city intake above 0.01 mg/L: a prefecture-city intake shut -> I
    forecast = view["forecasts"][0]["table"].set_index("node_id")
    assert forecast.loc["I-ZY-1", "C_peak_mg_L_low"] > 0.01
    assert record["grade"] == "I" and "intake_interrupted" in record["grade_triggers"]
    assert record["grade_rule"] == "national_plan_2014_annex1"
    assert record["facts"]["cross_boundary"] == "prefecture"
    notices = view["notices"]
    cross = notices[notices["kind"] == "cross_boundary"]
    assert {"512000", "511000"} <= set(cross["to_city"])
    assert "510100" not in set(cross["to_city"])
    # Neijiang (511000) is outside the region: an external recipient
    assert bool(cross.set_index("to_city").loc["511000", "external"])
    initial = notices[notices["kind"] == "initial"]
    assert (
        pd.to_datetime(initial["deadline"], utc=True) == pd.Timestamp(T0 + timedelta(hours=2))
    ).all()
    assert notices["sent_at"].notna().all()
    roles = set(view["plan"]["role"])
    assert {"control", "incident", "intake"} <= roles


def test_late_acknowledgement_is_escalated_and_ack_is_once(store: Store) -> None:
    incident_id = open_spill(store)
    cross = db.notices(store, incident_id).query("kind == 'cross_boundary'").set_index("to_city")
    ziyang, neijiang = int(cross.loc["512000", "notice_id"]), int(cross.loc["511000", "notice_id"])
    service.acknowledge(
        store, incident_id, ziyang, "512000", "ziyang-duty", T0 + timedelta(minutes=10)
    )
    with pytest.raises(Conflict, match="already acknowledged"):
        service.acknowledge(
            store, incident_id, ziyang, "512000", "ziyang-duty", T0 + timedelta(minutes=11)
        )
    with pytest.raises(Conflict, match="addressed to"):
        service.acknowledge(store, incident_id, neijiang, "512000", "ziyang-duty", T0)
    assert service.escalate_overdue(store, T0 + timedelta(minutes=20)) == []
    escalated = service.escalate_overdue(store, T0 + timedelta(minutes=31))
    assert neijiang in escalated and ziyang not in escalated
    assert service.escalate_overdue(store, T0 + timedelta(minutes=40)) == []  # once
    service.acknowledge(
        store, incident_id, neijiang, "511000", "neijiang-duty", T0 + timedelta(minutes=45)
    )
    row = db.notices(store, incident_id).set_index("notice_id").loc[neijiang]
    assert row["escalated_to"] == "provincial office" and row["acked_by"] == "neijiang-duty"


def test_plan_is_joint_when_every_party_approves(store: Store) -> None:
    incident_id = open_spill(store)
    parties = sorted(set(service.incident_view(store, incident_id)["plan"]["responsible_city"]))
    assert len(parties) >= 2
    with pytest.raises(Conflict, match="no point"):
        service.approve_plan(store, incident_id, "510700", "mianyang", T0)
    for city in parties[:-1]:
        assert not service.approve_plan(store, incident_id, city, f"{city}-lead", T0)["joint"]
    assert service.approve_plan(store, incident_id, parties[-1], "last", T0)["joint"]


def test_bad_results_are_refused_with_reasons_and_the_good_kept(store: Store) -> None:
    incident_id = open_spill(store)
    rows = pd.DataFrame([
        {"node_id": "T05", "sampled_at": T0, "value_mg_L": 0.2, "method": "auto"},
        {"node_id": "M03", "sampled_at": T0, "value_mg_L": 0.2, "method": "auto"},
        {"node_id": "T05", "sampled_at": T0 - timedelta(days=2), "value_mg_L": 0.2, "method": "auto"},
        {"node_id": "T05", "sampled_at": T0, "value_mg_L": -3.0, "method": "auto"},
        {"node_id": "T04", "sampled_at": T0, "value_mg_L": 0.2, "method": "auto"},
    ])  # fmt: skip
    result = service.add_results(store, incident_id, rows, "512000", "ziyang-lab", T0)
    reasons = [r["reason"] for r in result["rejected"]]
    assert result["accepted"] == 1 and len(reasons) == 4
    assert "not on the incident's path" in reasons[0] and "before the release" in reasons[1]
    assert "impossible" in reasons[2] and "not 512000" in reasons[3]


def test_refit_from_two_stations_brings_the_next_intake_within_ten_percent(store: Store) -> None:
    incident_id = open_spill(store)
    graph = service.graph_of(store, "demo")
    truth = scaled_network(graph, 0.7, 2.0)
    true_release = Release("instantaneous", mass_kg=1300.0)
    rng = np.random.default_rng(3)
    occurred = T0 - timedelta(hours=1)
    for station, city in (("T04", "510100"), ("T05", "512000")):
        passage, discharge = passage_to(truth, "T03", station, 0.0)
        hours = np.arange(max(1.0, passage.mean_s / 3600 - 15), passage.mean_s / 3600 + 15, 1.0)
        values = [release_curve_mg_L(true_release, discharge, passage, h * 3600) for h in hours]
        rows = pd.DataFrame({
            "node_id": station, "sampled_at": [occurred + timedelta(hours=float(h)) for h in hours],
            "value_mg_L": np.maximum(0.0, np.array(values) * (1 + 0.05 * rng.standard_normal(len(hours)))),
            "method": "auto",
        })  # fmt: skip
        now = occurred + timedelta(hours=float(hours[-1]) + 1)
        assert (
            service.add_results(store, incident_id, rows, city, f"{city}-station", now)["rejected"]
            == []
        )
    target = "I-NJ-1"
    true_front = passage_to(truth, "T03", target, 0.0)[0].mean_s / 3600
    first = service.incident_view(store, incident_id)["forecasts"][0]["table"].set_index("node_id")
    assert abs(first.loc[target, "front_h"] - true_front) / true_front > 0.2
    fit = service.refit(store, incident_id, "province", now)
    runs = service.incident_view(store, incident_id)["forecasts"]
    assert fit["run"] == 2 and len(runs) == 2
    updated = runs[-1]["table"].set_index("node_id")
    assert abs(updated.loc[target, "front_h"] - true_front) / true_front < 0.10
    scored = service.score(store, incident_id)
    assert scored["notices"] > 0 and scored["max_arrival_error_h"] is not None


def test_implausible_times_and_releases_are_refused(store: Store) -> None:
    with pytest.raises(InputError, match="future"):
        open_spill(store, determined_at=T0 + timedelta(days=1))
    with pytest.raises(InputError, match="occurred_at ≤ discovered_at"):
        open_spill(store, discovered_at=T0 - timedelta(hours=3))
    with pytest.raises(InputError, match="positive amount"):
        open_spill(store, release={"mode": "instantaneous", "mass_kg": 0})
    with pytest.raises(InputError, match="not on network"):
        open_spill(store, node_id="NOWHERE")


def test_materials_move_between_cities_once(store: Store) -> None:
    incident_id = open_spill(store)
    db.upsert_stocks(store, pd.DataFrame([
        {"depot_id": "CD-1", "city_code": "510100", "depot_name": "成都应急物资库", "item": "activated carbon",
         "quantity": 50.0, "unit": "t", "expires_on": None},
    ]), T0)  # fmt: skip
    request_id = service.request_material(
        store, incident_id, "512000", "510100", "activated carbon", 20.0, "t", "ziyang", T0
    )
    service.dispatch_material(store, incident_id, request_id, "chengdu", T0)
    assert float(db.stocks(store).iloc[0]["quantity"]) == 30.0
    with pytest.raises(Conflict):
        service.dispatch_material(store, incident_id, request_id, "chengdu", T0)


def test_a_replayed_drill_shifts_every_deadline_by_the_offset(store: Store) -> None:
    incident_id = open_spill(store)
    later = T0 + timedelta(days=30)
    drill_id = service.replay(store, incident_id, later, "trainer", REGION, later)
    original, drill = db.notices(store, incident_id), db.notices(store, drill_id)
    shift = pd.to_datetime(drill["deadline"], utc=True) - pd.to_datetime(
        original["deadline"], utc=True
    )
    assert (shift == pd.Timedelta(days=30)).all() and len(drill) == len(original)
    record = service.incident_view(store, drill_id)["incident"]
    assert bool(record["drill"]) and record["grade"] == "I"
    assert "replayed" in set(service.incident_view(store, drill_id)["events"]["event"])


def test_end_to_end_spill_grade_notices_escalation_monitoring_refit(store: Store) -> None:
    """The issue's end-to-end case in one run: a spill above the Chengdu–Ziyang boundary; grade
    and affected intakes from the rules and the forecast; notices to the downstream cities with
    deadlines; Neijiang acknowledges late and is escalated; two simulated automatic stations see
    the plume (the model with other hydraulics, 5 % noise); the refit brings the next intake's
    forecast arrival within 10 % of the truth used to generate it."""
    incident_id = open_spill(store)
    view = service.incident_view(store, incident_id)
    affected = view["forecasts"][0]["table"].query("kind == 'intake' and C_peak_mg_L_high >= 0.01")
    assert {"I-ZY-1", "I-ZY-2", "I-NJ-1"} <= set(affected["node_id"])
    assert view["incident"]["grade"] == "I"
    cross = view["notices"].query("kind == 'cross_boundary'").set_index("to_city")
    assert (
        pd.to_datetime(cross["deadline"], utc=True) == pd.Timestamp(T0 + timedelta(hours=1))
    ).all()
    service.acknowledge(
        store,
        incident_id,
        int(cross.loc["512000", "notice_id"]),
        "512000",
        "zy",
        T0 + timedelta(minutes=8),
    )
    assert int(cross.loc["511000", "notice_id"]) in service.escalate_overdue(
        store, T0 + timedelta(minutes=35)
    )
    service.acknowledge(
        store,
        incident_id,
        int(cross.loc["511000", "notice_id"]),
        "511000",
        "nj",
        T0 + timedelta(minutes=50),
    )

    graph = service.graph_of(store, "demo")
    truth, true_release = scaled_network(graph, 0.72, 1.9), Release("instantaneous", mass_kg=1400.0)
    rng, occurred = np.random.default_rng(11), T0 - timedelta(hours=1)
    for station, city in (("T04", "510100"), ("T05", "512000")):
        passage, discharge = passage_to(truth, "T03", station, 0.0)
        hours = np.arange(max(1.0, passage.mean_s / 3600 - 15), passage.mean_s / 3600 + 15, 1.0)
        clean = np.array(
            [release_curve_mg_L(true_release, discharge, passage, h * 3600) for h in hours]
        )
        rows = pd.DataFrame({
            "node_id": station, "sampled_at": [occurred + timedelta(hours=float(h)) for h in hours],
            "value_mg_L": np.maximum(0.0, clean * (1 + 0.05 * rng.standard_normal(len(hours)))),
        })  # fmt: skip
        now = occurred + timedelta(hours=float(hours[-1]) + 1)
        assert (
            service.add_results(store, incident_id, rows, city, f"{city}-station", now)["rejected"]
            == []
        )
    service.refit(store, incident_id, "province", now)
    truth_front = passage_to(truth, "T03", "I-NJ-1", 0.0)[0].mean_s / 3600
    refitted = service.incident_view(store, incident_id)["forecasts"][-1]["table"].set_index(
        "node_id"
    )
    assert abs(refitted.loc["I-NJ-1", "front_h"] - truth_front) / truth_front < 0.10
    events = list(service.incident_view(store, incident_id)["events"]["event"])
    assert events.count("escalated") == 1 and "refit" in events


def test_the_source_of_the_release_is_recorded_and_checked(store: Store) -> None:
    """Issue 22 "record (time, place, substance, amount or rate, source)": what released it."""
    incident_id = open_spill(
        store, source_type="transport", source="槽罐车侧翻 tanker overturned on the G76 bridge"
    )
    record = service.incident_view(store, incident_id)["incident"]
    assert record["source_type"] == "transport"
    assert record["source"].startswith("槽罐车侧翻")
    with pytest.raises(InputError, match="source_type 'volcano'"):
        open_spill(store, source_type="volcano")


def test_reserves_are_kept_per_depot_with_bad_rows_aside_and_expired_stock_not_dispatched(
    store: Store,
) -> None:
    """Issue 22 "reserves by city and depot (item, quantity, expiry)": a city keeps its own
    depots' stock; a bad row comes back with its reason; expired stock is never dispatched."""
    rows = pd.DataFrame([
        {"depot_id": "CD-1", "depot_name": "成都库", "item": "activated carbon", "quantity": 50, "unit": "t", "expires_on": "2030-01-01"},
        {"depot_id": "CD-2", "depot_name": "成都二库", "item": "oil boom", "quantity": 900, "unit": "m", "expires_on": "2026-07-01"},
        {"depot_id": "CD-3", "depot_name": "坏行", "item": "oil boom", "quantity": -5, "unit": "m", "expires_on": None},
        {"depot_id": "CD-4", "depot_name": "坏日期", "item": "lime", "quantity": 5, "unit": "t", "expires_on": "someday"},
    ])  # fmt: skip
    kept = service.set_stocks(store, "510100", rows, "cd-stores", T0)
    assert kept["kept"] == 2
    reasons = {r["depot_id"]: r["reason"] for r in kept["rejected"]}
    assert "quantity" in reasons["CD-3"] and "expires_on" in reasons["CD-4"]
    listed = service.stocks(store, T0)
    assert set(listed["depot_id"]) == {"CD-1", "CD-2"}
    assert listed.set_index("depot_id").loc["CD-2", "expired"]  # 2026-07-01 < 14 July
    incident_id = open_spill(store)
    boom = service.request_material(
        store, incident_id, "512000", "510100", "oil boom", 100.0, "m", "ziyang", T0
    )
    with pytest.raises(Conflict, match="unexpired"):
        service.dispatch_material(store, incident_id, boom, "chengdu", T0)
    carbon = service.request_material(
        store, incident_id, "512000", "510100", "activated carbon", 20.0, "t", "ziyang", T0
    )
    service.dispatch_material(store, incident_id, carbon, "chengdu", T0)
    assert float(service.stocks(store, T0).set_index("depot_id").loc["CD-1", "quantity"]) == 30.0


def test_the_score_gives_each_station_and_each_late_acknowledgement(store: Store) -> None:
    """Issue 22 "scored afterwards (notification delays, forecast error at each station)"."""
    incident_id = open_spill(store)
    cross = db.notices(store, incident_id).query("kind == 'cross_boundary'").set_index("to_city")
    service.acknowledge(
        store, incident_id, int(cross.loc["512000", "notice_id"]), "512000", "zy",
        T0 + timedelta(minutes=10),
    )  # fmt: skip
    service.acknowledge(
        store, incident_id, int(cross.loc["511000", "notice_id"]), "511000", "nj",
        T0 + timedelta(minutes=75),
    )  # fmt: skip
    occurred = T0 - timedelta(hours=1)
    rows = pd.DataFrame([
        {"node_id": "T05", "sampled_at": occurred + timedelta(hours=h), "value_mg_L": v, "method": "auto"}
        for h, v in ((10, 0.01), (14, 0.4), (18, 0.05))
    ])  # fmt: skip
    service.add_results(store, incident_id, rows, None, "province", occurred + timedelta(hours=19))
    scored = service.score(store, incident_id)
    assert scored["ack_late"] == 1
    assert scored["max_ack_delay_min"] == pytest.approx(45.0)  # 75 min after a 30 min window
    delays = {d["to_city"]: d["ack_delay_min"] for d in scored["notice_delays"]}
    assert delays["512000"] == 0.0 and delays["511000"] == pytest.approx(45.0)
    station = {s["node_id"]: s for s in scored["stations"]}["T05"]
    assert station["observed_peak_h"] == pytest.approx(14.0)
    assert station["error_h"] == pytest.approx(station["forecast_peak_h"] - 14.0)


def test_the_notice_board_shows_overdue_notices_by_the_clock(store: Store) -> None:
    """Issue 22 "the notification board (sent, acknowledged, overdue)"."""
    incident_id = open_spill(store)
    cross = db.notices(store, incident_id).query("kind == 'cross_boundary'").set_index("to_city")
    service.acknowledge(
        store, incident_id, int(cross.loc["512000", "notice_id"]), "512000", "zy",
        T0 + timedelta(minutes=10),
    )  # fmt: skip
    early = service.notice_board(store, incident_id, T0 + timedelta(minutes=20))
    late = service.notice_board(store, incident_id, T0 + timedelta(minutes=31))
    early_states = dict(zip(early["to_city"], early["state"], strict=False))
    late_states = dict(zip(late["to_city"], late["state"], strict=False))
    assert early_states["512000"] == "acknowledged" and early_states["511000"] == "sent"
    assert late_states["512000"] == "acknowledged" and late_states["511000"] == "overdue"
    assert set(late.query("kind == 'initial'")["state"]) == {"sent"}


def test_a_city_reports_only_at_a_point_of_its_own(store: Store) -> None:
    """Found trying the API as Chengdu's editor: an incident at Ziyang's intake filed as
    Chengdu's was accepted (and graded, and noticed, as if Chengdu were the source)."""
    with pytest.raises(InputError, match="I-ZY-1 lies in city 512000, not 510100"):
        open_spill(store, node_id="I-ZY-1")


def test_a_time_outside_every_rule_set_is_refused_with_the_reason(store: Store) -> None:
    """Found trying a 1990 determination: a 404 "no … rule set" instead of a refused input."""
    old = datetime(1990, 5, 1, 2, 0, tzinfo=UTC)
    with pytest.raises(InputError, match=r"no \w+ rule set in force on 1990-05-01"):
        open_spill(store, occurred_at=old, discovered_at=old, determined_at=old)


def test_materials_are_asked_of_another_city_that_keeps_the_item(store: Store) -> None:
    """Found trying the API: a request to the asking city itself, or to a city code that keeps
    no such item anywhere, was recorded (and could never be dispatched)."""
    incident_id = open_spill(store)
    db.upsert_stocks(store, pd.DataFrame([
        {"depot_id": "CD-1", "city_code": "510100", "depot_name": "成都库", "item": "activated carbon",
         "quantity": 50.0, "unit": "t", "expires_on": None},
    ]), T0)  # fmt: skip
    with pytest.raises(InputError, match="its own city"):
        service.request_material(
            store, incident_id, "510100", "510100", "activated carbon", 1.0, "t", "cd", T0
        )
    with pytest.raises(InputError, match="999999 keeps no activated carbon"):
        service.request_material(
            store, incident_id, "512000", "999999", "activated carbon", 1.0, "t", "zy", T0
        )
    assert service.material_requests(store, incident_id).empty


def test_a_rating_curve_is_stored_with_its_network(tmp_path: Path) -> None:
    with Store(tmp_path / "r.duckdb") as opened:
        nodes = pd.DataFrame([
            {"node_id": "A", "kind": "site", "city": "510100"},
            {"node_id": "C", "kind": "outlet", "city": "510100"},
        ])  # fmt: skip
        reaches = pd.DataFrame([
            {"reach_id": "r1", "from_node": "A", "to_node": "C", "river": "x", "length_km": 10,
             "stage_m": 3.0, "rating_a": 40.0, "rating_h0_m": 1.0, "rating_b": 1.6,
             "width_m": 80, "slope": 3e-4, "manning_n": 0.03},
        ])  # fmt: skip
        service.import_network(opened, "rated", nodes, reaches, T0)
        edge = service.graph_of(opened, "rated").edges["A", "C"]
        assert edge["Q_m3_s"] == pytest.approx(40.0 * 2.0**1.6)
