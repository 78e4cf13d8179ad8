"""The pure machinery core: codes, stages, GB 36886-2018 smoke, zones and checks C1–C11.

The cases are the hand-worked examples of the nonroad brief (A9 "Worked rule examples") and small
registries built here, each with the one fact that makes a check fire or stay silent.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
import shapely

from ecobasin.machinery.codes import code_problem, disclosure_stage, normalise_code
from ecobasin.machinery.rules import (
    RULES,
    Inspection,
    Machine,
    Ping,
    Presence,
    Snapshot,
    Violation,
    run_checks,
)
from ecobasin.machinery.smoke import smoke_class, smoke_limit, smoke_verdict
from ecobasin.machinery.stages import inferred_stage, meets, parse_stage
from ecobasin.machinery.tables import machinery_rules, smoke_limits
from ecobasin.machinery.zones import Zone, ZoneRule, zone_from_feature, zones_at

AT = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)
SQUARE = shapely.box(104.0, 30.6, 104.1, 30.7)


def machine(**fields: object) -> Machine:
    base = Machine(
        machine_id=1,
        registration_code="CD-0001",
        issuer_city=510100,
        registered_at=AT - timedelta(days=400),
        machine_serial="M1",
        engine_serial="E1",
        manufacture_date=date(2019, 5, 1),
        stage_declared="G3",
        rated_power_kw=90.0,
        current_city=510100,
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def zone(**rule: object) -> Zone:
    return Zone(
        zone_id="Z1", city=510100, name="二环内", geometry=SQUARE,
        valid_from=AT - timedelta(days=10), valid_to=None, rule=ZoneRule(**rule),  # type: ignore[arg-type]
    )  # fmt: skip


def on_site(code: str = "CD-0001", lon: float = 104.05, **fields: object) -> Presence:
    base = Presence(code, "S1", 510100, lon, 30.65, AT - timedelta(days=5))
    return replace(base, **fields)  # type: ignore[arg-type]


def fired(snapshot: Snapshot, rule: str) -> list[str]:
    return [f.reason for f in run_checks(snapshot, AT, only=[rule])]


# ---- codes and stages ----------------------------------------------------------------------


def test_code_kept_as_issued_and_normalised_for_matching() -> None:
    assert normalise_code("cd·0001 - a") == "CD0001A"
    assert normalise_code("ＣＤ－０００１") == "CD0001"
    assert code_problem("川A·0001", 510100) is None
    assert "empty" in (code_problem("  ", 510100) or "")
    assert "1–20" in (code_problem("CD_0001!", 510100) or "")


def test_city_pattern_from_configuration_decides_that_issuer_only() -> None:
    rules = machinery_rules()
    from ecobasin.machinery.tables import CodePattern

    strict = replace(rules, code_patterns=(CodePattern(510600, r"DY\d{4}", "德阳 notice"),))
    assert code_problem("DY-0012", 510600, strict) is None
    assert "德阳 notice" in (code_problem("DY-12", 510600, strict) or "")
    assert code_problem("DY-12", 510100, strict) is None  # other issuers keep the default


def test_disclosure_number_stage_field() -> None:
    assert disclosure_stage("CNFJG4000012345678901234") == "G4"
    assert disclosure_stage("CN FJ G3 00 1234") == "G3"
    assert disclosure_stage("XXFJG3") is None


def test_stage_rule_worked_example_min_g3() -> None:
    """Brief A9: min_stage=G3: G2 fires; G3 passes; ELEC passes; unknown counts as G0."""
    assert not meets("G2", "G3")
    assert meets("G3", "G3")
    assert meets("ELEC", "G3")
    assert not meets(parse_stage(None), "G3")
    assert not meets("OTHER_FUEL", "G1")
    with pytest.raises(ValueError, match="unknown emission stage"):
        parse_stage("国五")


def test_inferred_stage_from_the_configured_table() -> None:
    assert inferred_stage(date(2016, 3, 31)) == "G2"
    assert inferred_stage(date(2016, 4, 1)) == "G3"
    assert inferred_stage(None) is None


# ---- GB 36886-2018 -------------------------------------------------------------------------


def test_smoke_table_names_the_standard_and_has_seven_rows() -> None:
    rows = smoke_limits()
    assert len(rows) == 7
    assert {row.source for row in rows} == {"GB 36886-2018 表1"}


def test_smoke_limits_by_class_and_power_boundaries() -> None:
    """Brief A9: class II at 37 kW is 0.80 (37 ≤ P ≤ 560); class I at 18.9 kW is 3.00."""
    assert smoke_limit("II", 37).k_limit == 0.80
    assert smoke_limit("II", 36.99).k_limit == 1.00
    assert smoke_limit("I", 18.9).k_limit == 3.00
    assert smoke_limit("I", 19).k_limit == 2.00
    assert smoke_limit("I", 560).k_limit == 1.61
    assert smoke_limit("III", 600).k_limit == 0.50
    with pytest.raises(ValueError, match="class"):
        smoke_limit("IV", 50)


def test_smoke_verdict_worked_examples_three_readings_averaged() -> None:
    passing = smoke_verdict([0.72, 0.85, 0.79], "II", 37)
    assert passing.passed and passing.k_mean == pytest.approx(0.786667, abs=1e-6)
    failing = smoke_verdict([0.82, 0.85, 0.79], "II", 37)
    assert not failing.passed and failing.k_mean == pytest.approx(0.82)
    assert "0.80" in failing.reason
    exactly = smoke_verdict([0.80, 0.80, 0.80], "II", 37)
    assert exactly.passed  # mean ≤ limit passes, without floating-point noise


def test_smoke_verdict_ringelmann_and_bad_input() -> None:
    assert not smoke_verdict([], "I", 50, ringelmann_grade=2).passed
    assert smoke_verdict([], "I", 50, ringelmann_grade=1).passed
    with pytest.raises(ValueError, match="3 readings"):
        smoke_verdict([0.5, 0.6], "II", 50)
    with pytest.raises(ValueError, match="needs"):
        smoke_verdict([], "II", 50)


def test_smoke_class_by_date_and_zone() -> None:
    assert smoke_class(date(2018, 11, 30), in_zone=False) == "I"
    assert smoke_class(date(2018, 12, 1), in_zone=False) == "II"
    assert smoke_class(None, in_zone=True) == "III"


# ---- zones ---------------------------------------------------------------------------------


def test_point_on_boundary_counts_inside_when_boundary_roads_are_included() -> None:
    inclusive = zone()
    exclusive = replace(inclusive, boundary_inclusive=False)
    assert inclusive.holds(104.1, 30.65)  # exactly on the eastern edge
    assert not exclusive.holds(104.1, 30.65)
    assert not inclusive.holds(104.1000001, 30.65)
    closed = replace(inclusive, valid_to=AT - timedelta(days=1))
    assert zones_at([inclusive, closed], 104.05, 30.65, AT) == [inclusive]


def test_zone_from_geojson_feature_names_missing_property() -> None:
    feature = {
        "type": "Feature",
        "geometry": shapely.geometry.mapping(SQUARE),
        "properties": {"zone_id": "Z", "city": 510100, "name": "n",
                       "valid_from": "2026-01-01T00:00:00+08:00", "min_stage": "G2"},
    }  # fmt: skip
    assert zone_from_feature(feature).rule.min_stage == "G2"
    del feature["properties"]["city"]  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="'city'"):
        zone_from_feature(feature)


# ---- checks C1–C11 -------------------------------------------------------------------------


def test_every_check_has_a_title_and_a_violation_type() -> None:
    assert sorted(RULES, key=lambda r: int(r[1:])) == [f"C{i}" for i in range(1, 12)]


def test_c1_unregistered_code_on_site_and_recognised_code_of_another_city() -> None:
    snap = Snapshot(machines=[machine(issuer_city=510600)], presences=[on_site(), on_site("X-9")])
    reasons = fired(snap, "C1")
    assert len(reasons) == 1 and "X9" in reasons[0]  # Deyang's code is valid in Chengdu


def test_c2_registered_too_late_and_still_unregistered() -> None:
    late = machine(registered_at=AT - timedelta(days=20))
    snap = Snapshot(
        machines=[late],
        presences=[on_site(entered_at=AT - timedelta(days=51)), on_site("NEW-1", entered_at=AT - timedelta(days=29))],
    )  # fmt: skip
    assert len(fired(snap, "C2")) == 1  # 31 days late; the new machine is within 30 days
    snap.presences.append(on_site("OLD-1", entered_at=AT - timedelta(days=31)))
    assert any("OLD1" in r and "unregistered 31 days" in r for r in fired(snap, "C2"))


def test_c3_label_missing_and_code_differs() -> None:
    snap = Snapshot(
        machines=[machine()],
        inspections=[Inspection(1, "CD-0001", 510100, AT, label_present=False),
                     Inspection(2, "cd0001", 510100, AT, label_present=True),
                     Inspection(3, "CD-0001", 510100, AT, label_present=True)],
    )  # fmt: skip
    reasons = fired(snap, "C3")
    assert len(reasons) == 2 and "missing" in reasons[0] and "'cd0001'" in reasons[1]


def test_c4_stage_label_g4_date_engine_serial_and_review_flag() -> None:
    snap = Snapshot(
        machines=[machine(disclosure_no="CNFJG2000011112222333344"),
                  machine(machine_id=2, registration_code="CD-2", stage_declared="G4",
                          manufacture_date=date(2022, 6, 1), terminal_id="T")],
        inspections=[Inspection(1, "CD-0001", 510100, AT, engine_serial_observed="E9")],
    )  # fmt: skip
    found = run_checks(snap, AT, only=["C4"])
    text = " | ".join(f.reason for f in found)
    assert "disclosure number says G2" in text
    assert "before 2022-12-01" in text
    assert "'E9'" in text
    assert any(f.evidence.get("review") for f in found)  # 2022-06 suggests G3, declared G4


def test_c5_smoke_over_the_limit_for_registered_power() -> None:
    snap = Snapshot(
        machines=[machine(rated_power_kw=37.0)],
        inspections=[Inspection(1, "CD-0001", 510100, AT, limit_class="II", k_mean=0.82),
                     Inspection(2, "CD-0001", 510100, AT, limit_class="II", k_mean=0.786667),
                     Inspection(3, "CD-0001", 510100, AT, limit_class="I", ringelmann_grade=2)],
    )  # fmt: skip
    found = run_checks(snap, AT, only=["C5"])
    assert [f.evidence["inspection_id"] for f in found] == [1, 3]
    assert found[0].violation_type == "SMOKE_FAIL"


def test_c6_zone_stage_and_emergency_rule_during_warning() -> None:
    g2 = machine(stage_declared="G2")
    snap = Snapshot(machines=[g2], presences=[on_site()], zones=[zone(min_stage="G3")])
    assert len(fired(snap, "C6")) == 1
    snap.machines = [replace(g2, stage_verified="G3")]  # the inspector's stage decides
    assert fired(snap, "C6") == []
    snap.machines = [replace(g2, fuel="electric")]
    assert fired(snap, "C6") == []
    # outside every zone, a G2 machine may work, except during an orange warning of its city
    outside = Snapshot(machines=[g2], presences=[on_site(lon=104.5)], zones=[zone()])
    assert fired(outside, "C6") == []
    outside.warnings = {510100: "orange"}
    assert "orange warning" in fired(outside, "C6")[0]
    outside.warnings = {510100: "blue"}  # below the configured level
    assert fired(outside, "C6") == []


def test_c7_zone_needing_class_iii_smoke() -> None:
    snap = Snapshot(
        machines=[machine()], presences=[on_site()], zones=[zone(smoke_class_required="III")]
    )
    assert "no smoke test" in fired(snap, "C7")[0]
    snap.inspections = [
        Inspection(
            1,
            "CD-0001",
            510100,
            AT - timedelta(days=400),
            limit_class="III",
            k_mean=0.3,
            result="pass",
        )
    ]
    assert "older than 365" in fired(snap, "C7")[0]
    snap.inspections = [
        Inspection(
            1,
            "CD-0001",
            510100,
            AT - timedelta(days=3),
            limit_class="II",
            k_mean=0.6,
            result="pass",
        )
    ]
    assert "above class III" in fired(snap, "C7")[0]
    snap.inspections = [
        Inspection(
            1,
            "CD-0001",
            510100,
            AT - timedelta(days=3),
            limit_class="III",
            k_mean=0.5,
            result="pass",
        )
    ]
    assert fired(snap, "C7") == []


def test_c8_g4_without_terminal_and_silent_terminal_in_zone() -> None:
    g4 = machine(stage_declared="G4", manufacture_date=date(2023, 1, 1), rated_power_kw=37.0)
    assert "no remote terminal" in fired(Snapshot(machines=[g4]), "C8")[0]
    assert fired(Snapshot(machines=[replace(g4, rated_power_kw=36.9)]), "C8") == []
    with_terminal = replace(g4, terminal_id="T1")
    snap = Snapshot(
        machines=[with_terminal], presences=[on_site()],
        zones=[zone(require_terminal_online=True, terminal_max_silence_h=24)],
        pings=[Ping("T1", AT - timedelta(hours=25), 104.05, 30.65)],
    )  # fmt: skip
    assert "silent since" in fired(snap, "C8")[0]
    snap.pings.append(Ping("T1", AT - timedelta(hours=23), 104.05, 30.65))
    assert fired(snap, "C8") == []


def test_c9_duplicates_across_cities() -> None:
    snap = Snapshot(
        machines=[machine(), machine(machine_id=2, registration_code="DY-7", issuer_city=510600),
                  machine(machine_id=3, registration_code="cd0001", issuer_city=510700,
                          engine_serial="E3", machine_serial="M3")],
    )  # fmt: skip
    found = run_checks(snap, AT, only=["C9"])
    assert {tuple(f.evidence["machine_ids"]) for f in found} == {(1, 2), (1, 3)}


def test_c10_follow_up_overdue_only_when_open_and_past_deadline() -> None:
    snap = Snapshot(violations=[
        Violation(1, "CD-0001", 510100, "SMOKE_FAIL", AT - timedelta(days=1)),
        Violation(2, "CD-0001", 510100, "SMOKE_FAIL", AT + timedelta(days=1)),
        Violation(3, "CD-0001", 510100, "SMOKE_FAIL", AT - timedelta(days=9), closed_at=AT),
    ])  # fmt: skip
    found = run_checks(snap, AT, only=["C10"])
    assert [f.evidence["violation_id"] for f in found] == [1]


def test_c11_coverage_below_configured_rate() -> None:
    presences = [on_site(f"CD-{i}") for i in range(20)]
    snap = Snapshot(
        presences=presences, inspections=[Inspection(1, "CD-1", 510100, AT, result="pass")]
    )
    found = run_checks(snap, AT, only=["C11"])
    assert len(found) == 1 and found[0].evidence == {"inspected": 1, "on_sites": 20, "rate": 0.10}
    snap.inspections.append(Inspection(2, "CD-2", 510100, AT, result="fail"))
    assert run_checks(snap, AT, only=["C11"]) == []  # 2/20 = 10% meets 10%


def test_run_checks_refuses_naive_time_and_unknown_rule() -> None:
    with pytest.raises(ValueError, match="timezone"):
        run_checks(Snapshot(), datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="C12"):
        run_checks(Snapshot(), AT, only=["C12"])
