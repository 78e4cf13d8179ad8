"""The consultation state machine: hand-computed cases (design §1.2; HJ 633; 648号)."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from importlib import resources

import pytest

from ecobasin.workflow.consultation import (
    ConsultationError,
    DayForecast,
    InputSnapshot,
    ModelRun,
    Observed,
    Session,
    Submission,
    aqi_levels,
    check_city_decision,
    check_named_levels,
    check_no_gaps,
    consensus_lift,
    control_measures,
    find_divergences,
    load_rota,
    load_rules,
    rule_levels,
    schedule,
    scores,
    transition,
    validate_forecast,
)

CST = timezone(timedelta(hours=8))
CHENGDU, DEYANG, MIANYANG, MEISHAN = 510100, 510600, 510700, 511400
T0 = datetime(2026, 2, 2, 9, 0, tzinfo=CST)
RULES = load_rules()


def region_cities() -> set[int]:
    path = resources.files("ecobasin").joinpath("catalog", "data", "regions", "chengdu_plain.toml")
    return set(tomllib.loads(path.read_text(encoding="utf-8"))["cities"])


@pytest.mark.parametrize(
    ("low", "high", "levels"),
    [(0, 50, (1, 1)), (50, 51, (1, 2)), (100, 101, (2, 3)), (200, 201, (4, 5)), (300, 301, (5, 6))],
)
def test_levels_of_a_range_follow_hj633_table(low: int, high: int, levels: tuple[int, int]) -> None:
    assert aqi_levels(low, high) == levels


@pytest.mark.parametrize(
    ("fc", "reason"),
    [
        (DayForecast(CHENGDU, 1, 90, 60, ("PM2.5",)), "0 ≤ low ≤ high"),
        (DayForecast(CHENGDU, 1, 60, 111, ("PM2.5",)), "wider than 50"),
        (DayForecast(CHENGDU, 8, 60, 90, ("PM2.5",)), "lead day not in 1..7"),
        (DayForecast(CHENGDU, 1, 20, 50, ("O3",)), "no primary pollutant when AQI ≤ 50"),
        (DayForecast(CHENGDU, 1, 60, 90, ()), "AQI > 50 needs a primary"),
        (DayForecast(CHENGDU, 1, 60, 90, ("PM1",)), "not one of"),
        (DayForecast(CHENGDU, 1, 60, 90, ("O3", "O3")), "named twice"),
    ],
)
def test_bad_forecasts_are_refused_naming_city_day_and_reason(fc: DayForecast, reason: str) -> None:
    with pytest.raises(ConsultationError, match=reason) as err:
        validate_forecast(fc, RULES)
    assert err.value.record == f"city {CHENGDU} day {fc.lead_day}"
    assert err.value.reason_zh


def test_a_range_over_three_levels_is_refused_even_when_narrow_enough() -> None:
    wide_rules = replace(RULES, max_range_width=100)
    with pytest.raises(ConsultationError, match="more than 2 levels"):
        validate_forecast(DayForecast(CHENGDU, 1, 95, 155, ("PM2.5",)), wide_rules)
    validate_forecast(DayForecast(CHENGDU, 1, 105, 155, ("PM2.5",)), wide_rules)


def test_good_forecasts_pass() -> None:
    validate_forecast(DayForecast(CHENGDU, 1, 20, 45, ()), RULES)
    validate_forecast(DayForecast(CHENGDU, 7, 40, 70, ("O3",)), RULES)  # may straddle 50


def test_rules_and_rota_name_only_region_cities() -> None:
    cities = region_cities()
    assert {c for pair in RULES.neighbours for c in pair} == cities
    assert all(len(pair) == 2 for pair in RULES.neighbours)
    rota = load_rota(2026)
    assert {c for pair in rota.months.values() for c in pair} <= cities
    assert all(chair != deputy for chair, deputy in rota.months.values())


def test_chair_comes_from_the_rota_for_the_session_date_unless_handed_over() -> None:
    rota = load_rota(2026)
    assert rota.chair(date(2026, 2, 10)) == CHENGDU
    handovers = {date(2026, 2, 15): MEISHAN}
    assert rota.chair(date(2026, 2, 14), handovers) == CHENGDU
    assert rota.chair(date(2026, 2, 15), handovers) == MEISHAN
    assert rota.chair(date(2026, 3, 1), handovers) == DEYANG  # a hand-over ends with its month
    with pytest.raises(KeyError, match="2026 rota"):
        rota.chair(date(2027, 1, 1))


def test_divergences_hand_computed() -> None:
    cities = [
        DayForecast(CHENGDU, 1, 60, 90, ("PM2.5",)),  # central 75: level 2
        DayForecast(DEYANG, 1, 160, 200, ("PM2.5",)),  # central 180: level 4, two above Chengdu
        DayForecast(MIANYANG, 1, 120, 150, ("O3",)),  # central 135: level 3, as Deyang ± 1
    ]
    model = [DayForecast(CHENGDU, 1, 100, 130, ("PM2.5",))]  # central 115: level 3
    found = {d.key for d in find_divergences(cities, model, RULES)}
    assert found == {
        f"model_gap:{CHENGDU}:d1",  # 60-90 does not reach 100
        f"level:{CHENGDU}:d1",  # 2 ≠ 3
        f"neighbour_jump:{CHENGDU}-{DEYANG}:d1",  # |2 - 4| = 2
        f"primary:{MIANYANG}:d1",  # O3 against PM2.5 in the two other cities
    }


def test_touching_ranges_overlap_and_one_level_apart_is_not_a_jump() -> None:
    cities = [
        DayForecast(CHENGDU, 2, 70, 100, ("PM2.5",)),
        DayForecast(DEYANG, 2, 110, 140, ("PM2.5",)),
    ]
    model = [DayForecast(CHENGDU, 2, 100, 120, ("PM2.5",))]
    found = {d.key for d in find_divergences(cities, model, RULES)}
    assert found == {f"level:{CHENGDU}:d2"}  # central 85 (level 2) against 110 (level 3)


def test_rule_levels_use_648_on_the_consensus_upper_bound() -> None:
    consensus = [
        DayForecast(CHENGDU, 1, 130, 160, ("PM2.5",)),
        DayForecast(CHENGDU, 2, 140, 170, ("PM2.5",)),  # two days > 150: yellow
        DayForecast(DEYANG, 1, 120, 150, ("PM2.5",)),  # 150 is not > 150
        DayForecast(DEYANG, 2, 120, 150, ("PM2.5",)),
    ]
    assert rule_levels(consensus, date(2026, 2, 2), RULES) == {CHENGDU: "yellow", DEYANG: "none"}


def test_a_city_may_go_earlier_or_higher_but_not_later_or_lower_without_a_reason() -> None:
    start = datetime(2026, 2, 3, 0, 0, tzinfo=CST)
    check_city_decision(CHENGDU, "yellow", start, "orange", start - timedelta(hours=12))
    with pytest.raises(ConsultationError, match="lower level"):
        check_city_decision(CHENGDU, "orange", start, "yellow", start)
    with pytest.raises(ConsultationError, match="later start"):
        check_city_decision(CHENGDU, "orange", start, "orange", start + timedelta(hours=1))
    check_city_decision(CHENGDU, "orange", start, "yellow", start, override_reason="本地观测转好")


# ---- the whole session ---------------------------------------------------------------------


def day_forecast(city: int, day: int, low: int = 60) -> DayForecast:
    return DayForecast(city, day, low, low + 30, ("PM2.5",))


def scheduled(participants: tuple[int, ...] = (CHENGDU, DEYANG)) -> Session:
    return schedule(
        "2026-02-m1",
        "monthly",
        date(2026, 2, 2),
        CHENGDU,
        CHENGDU,
        participants,
        deadline=T0 + timedelta(hours=2),
        actor="chair",
        at=T0,
    )


def step(s: Session, event: str, minutes: int, reason: str = "", **payload: object) -> Session:
    out = transition(s, event, "chair", T0 + timedelta(minutes=minutes), reason, **payload)
    assert isinstance(out, Session)
    return out


def snapshot() -> InputSnapshot:
    guidance = tuple(day_forecast(c, d) for c in (CHENGDU, DEYANG) for d in range(1, 8))
    return InputSnapshot(
        "CDAQS", "2026.1", T0 - timedelta(hours=9), T0, ("GRAPES-2026020120",), guidance
    )


def collected() -> Session:
    s = step(scheduled(), "open_submissions", 1, snapshot=snapshot())
    for d in range(1, 8):
        s = step(s, "submit", 10, submission=Submission(day_forecast(CHENGDU, d), "cd", T0))
    late = T0 + timedelta(hours=3)
    for d in range(1, 8):
        low = 130 if d == 1 else 60  # day 1 diverges from the model's 60-90
        sub = Submission(day_forecast(DEYANG, d, low), "dy", T0)
        s = transition(s, "submit", "dy", late, submission=sub)  # type: ignore[assignment]
    return step(s, "close_submissions", 200)


def test_late_submissions_are_kept_and_flagged() -> None:
    s = collected()
    assert not s.submissions[(CHENGDU, 1)].late
    assert s.submissions[(DEYANG, 1)].late
    assert s.missing == ()
    assert {d.key for d in s.divergences} == {f"model_gap:{DEYANG}:d1", f"level:{DEYANG}:d1"}


def test_a_city_that_did_not_submit_every_day_is_missing_not_blocking() -> None:
    s = step(scheduled(), "open_submissions", 1, reason="no model guidance")
    s = step(s, "submit", 2, submission=Submission(day_forecast(CHENGDU, 1), "cd", T0))
    s = step(s, "close_submissions", 3)
    assert s.state == "reconciling" and s.missing == (CHENGDU, DEYANG)


def test_opening_needs_a_snapshot_or_an_explicit_none() -> None:
    with pytest.raises(ConsultationError, match="input snapshot"):
        step(scheduled(), "open_submissions", 1)


def concluded_session() -> Session:
    s = step(collected(), "start_session", 210)
    with pytest.raises(ConsultationError, match="unresolved"):
        step(s, "conclude", 211)
    for item in s.divergences:
        s = step(s, "resolve", 220, "德阳本地源排放增加", key=item.key, resolution="note_dissent")
    for c in (CHENGDU, DEYANG):
        for d in range(1, 8):
            s = step(s, "set_consensus", 230, forecast=day_forecast(c, d))
    s = step(s, "set_warning", 240, narrative="区域以良为主", levels={})
    return step(s, "conclude", 250)


def test_a_full_session_is_issued_and_audited() -> None:
    s = concluded_session()
    s = step(s, "draft_report", 260, template_version="opinion-1")
    s = step(s, "sign", 270, report_hash="a" * 64)
    assert s.state == "issued"
    assert [a.after for a in s.audit][:3] == ["scheduled", "collecting", "collecting"]
    assert s.audit[-1].event == "sign" and s.audit[-1].at == T0 + timedelta(minutes=270)
    assert all(d.rationale == "德阳本地源排放增加" for d in s.divergences)
    for event in ("set_consensus", "resolve", "cancel", "submit"):
        with pytest.raises(ConsultationError, match="not allowed in state issued"):
            step(s, event, 280, "x")


def test_amending_supersedes_and_links_never_edits() -> None:
    s = concluded_session()
    s = step(
        step(s, "draft_report", 260, template_version="opinion-1"),
        "sign",
        270,
        report_hash="b" * 64,
    )
    changed = DayForecast(CHENGDU, 3, 100, 130, ("PM2.5",))
    old, new = transition(
        s, "amend", "chair", T0 + timedelta(hours=6), "模式更新", changes=[changed]
    )  # type: ignore[misc]
    assert old.state == "superseded" and old.consensus == s.consensus
    assert new.state == "report_draft" and new.version == 2 and new.supersedes == "2026-02-m1/v1"
    assert new.consensus[(CHENGDU, 3)] == changed and s.consensus[(CHENGDU, 3)] != changed
    assert new.report_hash == ""
    with pytest.raises(ConsultationError, match="needs a reason"):
        transition(s, "amend", "chair", T0, "")


def test_a_warning_below_the_rule_needs_a_reason() -> None:
    s = step(collected(), "start_session", 210)
    for c in (CHENGDU, DEYANG):
        for d in range(1, 8):
            s = step(s, "set_consensus", 230, forecast=day_forecast(c, d, 140 if d < 3 else 60))
    with pytest.raises(ConsultationError, match="below the yellow"):
        step(s, "set_warning", 240, narrative="n", levels={DEYANG: "yellow"})
    s = step(s, "set_warning", 240, narrative="n", levels={CHENGDU: "orange", DEYANG: "yellow"})
    assert s.warning[CHENGDU] == ("orange", "")


def test_cancel_needs_a_reason_and_unknown_kinds_are_refused() -> None:
    with pytest.raises(ConsultationError, match="needs a reason"):
        step(scheduled(), "cancel", 1)
    assert step(scheduled(), "cancel", 1, "暴雨停会").state == "cancelled"
    with pytest.raises(ConsultationError, match="kind must be"):
        schedule("x", "weekly", date(2026, 2, 2), CHENGDU, CHENGDU, (CHENGDU,), T0, "c", T0)


# ---- verification -------------------------------------------------------------------------


def test_scores_hand_computed() -> None:
    forecasts = [
        DayForecast(CHENGDU, 1, 60, 90, ("PM2.5",)),  # obs 80 PM2.5: range, level, primary hit
        DayForecast(CHENGDU, 2, 90, 120, ("PM2.5",)),  # obs 130 O3: level 3 hit; > 100 hit
        DayForecast(CHENGDU, 3, 140, 170, ("PM2.5",)),  # obs 95 PM10: all miss; > 100 false alarm
        DayForecast(DEYANG, 1, 180, 210, ("PM2.5",)),  # obs 230: level 5 hit, primary; > 200 hit
        DayForecast(DEYANG, 2, 20, 45, ()),  # obs 40: range, level hit; no primary day
        DayForecast(DEYANG, 3, 20, 45, ()),  # not observed yet: left out
    ]
    observed = {
        (CHENGDU, 1): Observed(80, ("PM2.5",)),
        (CHENGDU, 2): Observed(130, ("O3",)),
        (CHENGDU, 3): Observed(95, ("PM10",)),
        (DEYANG, 1): Observed(230, ("PM2.5",)),
        (DEYANG, 2): Observed(40),
    }
    assert scores(forecasts, observed) == {
        "n": 5.0,
        "range_hit": 2 / 5,
        "level_hit": 4 / 5,
        "primary_hit": 2 / 4,
        "ts_100": 2 / 3,  # hits: Chengdu d2, Deyang d1; false alarm: Chengdu d3
        "ts_200": 1.0,
    }
    assert scores([], observed)["range_hit"] is None


def test_consensus_lift_against_the_mean_city_and_the_best_model() -> None:
    s = replace(
        scheduled((CHENGDU,)),
        submissions={
            (CHENGDU, d): Submission(DayForecast(CHENGDU, d, 60, 90, ("PM2.5",)), "cd", T0)
            for d in (1, 2)
        },
        consensus={
            (CHENGDU, 1): DayForecast(CHENGDU, 1, 60, 90, ("PM2.5",)),
            (CHENGDU, 2): DayForecast(CHENGDU, 2, 110, 140, ("PM2.5",)),
        },
    )
    observed = {(CHENGDU, 1): Observed(80, ("PM2.5",)), (CHENGDU, 2): Observed(130, ("PM2.5",))}
    models = {
        "CDAQS": [
            DayForecast(CHENGDU, 1, 70, 100, ("PM2.5",)),
            DayForecast(CHENGDU, 2, 80, 110, ("PM2.5",)),
        ],
        "CMAQ": [
            DayForecast(CHENGDU, 1, 100, 130, ("PM2.5",)),
            DayForecast(CHENGDU, 2, 60, 90, ("PM2.5",)),
        ],
    }
    lift = consensus_lift(s, observed, models)
    assert lift["range_hit"] == {"consensus": 1.0, "minus_mean_city": 0.5, "minus_best_model": 0.5}
    assert lift["ts_200"] == {"consensus": None, "minus_mean_city": None, "minus_best_model": None}


def test_the_snapshot_names_every_model_the_primary_first_and_winning_a_clash() -> None:
    primary = (DayForecast(CHENGDU, 1, 60, 90, ("PM2.5",)),)
    blend = (DayForecast(CHENGDU, 1, 100, 130, ("PM2.5",)),)
    snap = InputSnapshot(
        "CDAQS", "1", T0, T0, (), primary,
        other_models=(ModelRun("lightgbm:blend", "job", T0, blend),
                      ModelRun("CDAQS", "old", T0, blend)),
    )  # fmt: skip
    assert snap.models() == {"CDAQS": primary, "lightgbm:blend": blend}
    assert list(InputSnapshot("CDAQS", "1", T0, T0).models()) == ["CDAQS"]


def _three_cities_in_session(low: int) -> Session:
    """Chengdu, Deyang, Meishan in session with every consensus day at ``low``–``low + 30``."""
    s = step(scheduled((CHENGDU, DEYANG, MEISHAN)), "open_submissions", 1, "no model guidance")
    s = step(step(s, "close_submissions", 2), "start_session", 3)
    for c in (CHENGDU, DEYANG, MEISHAN):
        for d in range(1, 8):
            s = step(s, "set_consensus", 4, forecast=day_forecast(c, d, low if d < 3 else 60))
    return s


def test_the_regional_warning_follows_the_regional_rule_of_the_plan_version() -> None:
    """Issue 16: a warning proposal per city AND for the region, by the regional rule of the
    plan version (rules.toml: three cities at a level, warning periods overlapping)."""
    assert (RULES.regional.min_cities, RULES.regional.overlap) == (3, True)
    s = _three_cities_in_session(140)  # days 1–2 above 150 everywhere: yellow by 648号
    cities = dict.fromkeys((CHENGDU, DEYANG, MEISHAN), "yellow")
    proposed = step(s, "set_warning", 5, narrative="n", levels=cities)
    assert proposed.regional == ("yellow", "")  # three cities at yellow, the same days
    two = step(s, "set_warning", 5, "美山地形", narrative="n", levels={**cities, MEISHAN: "none"})
    assert two.regional == ("none", "")  # two cities are no regional warning
    with pytest.raises(ConsultationError, match="below the regional yellow"):
        step(s, "set_warning", 5, narrative="n", levels=cities, regional="none")
    kept = step(s, "set_warning", 5, "区域传输弱", narrative="n", levels=cities, regional="none")
    assert kept.regional == ("none", "区域传输弱")
    higher = step(s, "set_warning", 5, narrative="n", levels=cities, regional="orange")
    assert higher.regional == ("orange", "")  # higher than the rule: always allowed


def test_control_suggestions_are_part_of_the_proposal() -> None:
    s = _three_cities_in_session(140)
    levels = dict.fromkeys((CHENGDU, DEYANG, MEISHAN), "yellow")
    s = step(s, "set_warning", 5, narrative="n", levels=levels, controls="成都加强夜间施工管控")
    assert s.controls == "成都加强夜间施工管控"
    measures = control_measures(s)
    assert [m.city for m in measures] == [CHENGDU, DEYANG, MEISHAN]
    assert {m.source for m in measures[0].items} == {"industry", "dust", "vehicles", "burning"}
    assert "应急减排清单" in measures[0].items[0].text_zh  # industry by the city's control list


def test_named_levels_must_hold_the_range() -> None:
    """Issue 16 "validated (range inside the levels it names …)": HJ 633 levels 1..6."""
    fc = DayForecast(CHENGDU, 1, 80, 120, ("PM2.5",))  # levels 2 (良) and 3 (轻度)
    check_named_levels(fc, (2, 3), RULES)
    check_named_levels(fc, (), RULES)  # none named: derived from the range
    with pytest.raises(ConsultationError, match=r"city 510100 day 1: AQI 80–120 is not inside"):
        check_named_levels(fc, (2,), RULES)
    with pytest.raises(ConsultationError, match="not inside"):
        check_named_levels(DayForecast(CHENGDU, 1, 60, 90, ("PM2.5",)), (3,), RULES)
    with pytest.raises(ConsultationError, match="levels must be"):
        check_named_levels(fc, (2, 4), RULES)  # not next to each other
    with pytest.raises(ConsultationError, match="levels must be"):
        check_named_levels(fc, (0, 7), RULES)


def test_a_citys_days_leave_no_gap() -> None:
    """Issue 16 "validated (… no gaps)": after a submission a city's lead days are 1..k."""
    check_no_gaps(CHENGDU, set(), [1, 2, 3])
    check_no_gaps(CHENGDU, {1, 2, 3}, [4, 5, 6, 7])
    check_no_gaps(CHENGDU, {1, 2}, [2])  # a revision of a day already sent
    with pytest.raises(ConsultationError, match="city 510100: lead day 3 missing"):
        check_no_gaps(CHENGDU, set(), [1, 2, 4])
    with pytest.raises(ConsultationError, match="city 510100: lead day 1 missing"):
        check_no_gaps(CHENGDU, set(), [2])
    with pytest.raises(ConsultationError, match="lead day 2 named twice"):
        check_no_gaps(CHENGDU, set(), [1, 2, 2])


def test_a_deadline_needs_an_offset() -> None:
    """A naive deadline cannot be compared with the (aware) submission instants."""
    with pytest.raises(ConsultationError, match="deadline needs a UTC offset"):
        schedule("x", "ad_hoc", date(2026, 2, 2), CHENGDU, CHENGDU, (CHENGDU,),
                 datetime(2026, 2, 2, 10), "chair", T0)  # fmt: skip
