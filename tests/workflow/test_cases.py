"""The rectification-case machine (consultation_and_cases.md §2.2): table, guards, timers."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from case_paths import CAL, HAPPY, ROLE, T0, facts, run

from ecobasin.workflow.cases import (
    STATES,
    CaseError,
    Refusal,
    apply,
    categories,
    checklist_missing,
    decide,
    due_status,
    new_case,
    open_status,
)


def test_six_campaigns_with_lead_departments_and_checklists() -> None:
    cats = categories()
    six = {"vocs", "noise_cooking_fumes", "clean_energy_substitution", "construction_sites",
           "urban_rural_fringe", "mobile_sources"}  # fmt: skip
    assert six <= set(cats)
    assert cats["construction_sites"].lead[0] == "住房和城乡建设局"
    assert "photo_after" in cats["vocs"].evidence


def test_happy_path_reaches_public_notice_then_closes_after_ten_working_days() -> None:
    case = run(HAPPY)
    assert case.state == "public_notice"
    # passed on T0 + 8 days = 2026-02-18 (Spring Festival, off until 23 Feb); by hand: 24, 25,
    # 26, 27, 28 Feb (Saturday, 调休), 2, 3, 4, 5, 6 Mar → 6 March
    assert case.notice_end == CAL.add(date(2026, 2, 18), 10).day == date(2026, 3, 6)
    with pytest.raises(CaseError, match="notice"):
        apply(
            case, "close", "x", "city_office", {}, T0 + timedelta(days=24), CAL
        )  # 6 March: last day
    closed = apply(case, "close", "x", "city_office", {}, T0 + timedelta(days=25), CAL)
    assert closed.state == "closed" and open_status(closed.state) == "closed"
    assert [e.to_state for e in closed.audit][-1] == "closed"
    assert len(closed.audit) == len(HAPPY) + 1


def test_plan_due_is_thirty_working_days_after_transfer() -> None:
    case = run(("register", "transfer"))
    # transferred on 2026-02-11: 30 WD across the Spring Festival
    assert case.plan_due == CAL.add(date(2026, 2, 11), 30).day == date(2026, 3, 31)


def test_wrong_role_is_refused_with_the_reason() -> None:
    outcome = decide("transferred", "accept", "supervision_office", facts("accept"))
    assert isinstance(outcome, Refusal)
    assert "lead_unit" in outcome.reason_en and "无权" in outcome.reason_zh


def test_missing_fields_name_the_field() -> None:
    outcome = decide("transferred", "dispute", "lead_unit", {})
    assert isinstance(outcome, Refusal) and "reason" in outcome.reason_en


def test_acceptance_request_needs_the_checklist_and_done_measures() -> None:
    case = run(HAPPY[:6])
    assert checklist_missing(case) == categories()["clean_energy_substitution"].evidence
    with pytest.raises(CaseError, match="checklist"):
        apply(case, "request_acceptance", "x", "lead_unit", {"self_check": "ok"}, T0, CAL)


def test_open_measure_blocks_acceptance_request() -> None:
    case = run(HAPPY[:5])
    from case_paths import with_evidence

    with pytest.raises(CaseError, match="measures not done"):
        apply(
            with_evidence(case, T0),
            "request_acceptance",
            "x",
            "lead_unit",
            {"self_check": "ok"},
            T0,
            CAL,
        )


def test_issued_acceptance_is_never_edited() -> None:
    case = run(HAPPY)
    with pytest.raises(CaseError, match="never edited"):
        apply(case, "edit_acceptance", "x", "city_office", {}, T0, CAL)


def test_province_level_acceptance_is_the_provinces() -> None:
    case = run(HAPPY[:8][:1])
    case = apply(
        case,
        "transfer",
        "x",
        "supervision_office",
        {**facts("transfer"), "acceptance_level": "province"},
        T0,
        CAL,
    )
    for action in HAPPY[2:7]:
        if action == "request_acceptance":
            from case_paths import with_evidence

            case = with_evidence(case, T0)
        case = apply(case, action, "x", ROLE[action], facts(action), T0, CAL)
    with pytest.raises(CaseError, match="province"):
        apply(case, "start_check", "x", "city_office", facts("start_check"), T0, CAL)
    assert (
        apply(case, "start_check", "x", "province", facts("start_check"), T0, CAL).state
        == "under_check"
    )


def test_extension_is_versioned_and_the_original_kept() -> None:
    case = run((*HAPPY[:5], "request_extension", "grant"))
    assert case.rectify_due == (date(2026, 6, 30), date(2026, 8, 31))
    status = due_status(case, date(2026, 7, 15), CAL)
    assert status.original_due == date(2026, 6, 30) and not status.overdue


def test_overdue_and_due_soon_in_working_days() -> None:
    case = run(HAPPY[:5])
    assert due_status(case, date(2026, 7, 2), CAL).overdue
    soon = due_status(case, date(2026, 6, 25), CAL)
    assert soon.due_soon and soon.working_days_left == 3


def test_dispute_pauses_the_plan_clock() -> None:
    case = run(("register", "transfer", "dispute"))
    before = case.plan_due
    assert due_status(case, date(2026, 12, 1), CAL).overdue is False  # paused: no clock
    after = apply(
        case, "confirm", "x", "supervision_office", facts("confirm"), T0 + timedelta(days=14), CAL
    )
    assert after.state == "transferred" and after.plan_due is not None and before is not None
    assert CAL.between(before, after.plan_due) == CAL.between(date(2026, 2, 12), date(2026, 2, 24))


def test_objection_reopens_the_check_and_rebound_counts_repeats() -> None:
    case = run((*HAPPY, "objection"))
    assert case.state == "under_check" and case.notice_end is None
    closed = apply(run(HAPPY), "close", "x", "city_office", {}, T0 + timedelta(days=30), CAL)
    again = apply(
        closed, "rebound", "x", "supervision_office", facts("rebound"), T0 + timedelta(days=40), CAL
    )
    assert again.state == "in_progress" and again.repeat_count == 1
    assert len(again.acceptances) == 1  # the issued acceptance stays as it was


def test_petition_machine_and_verdicts() -> None:
    p = new_case("P1", "petition", T0)
    p = apply(p, "register", "x", "supervision_office", facts("register"), T0, CAL)
    p = apply(
        p, "transfer", "x", "supervision_office", {"lead_unit": "成都市", "batch": "第3批"}, T0, CAL
    )
    with pytest.raises(CaseError, match="verdict"):
        apply(p, "verify", "x", "lead_unit", {"verdict": "maybe"}, T0, CAL)
    p = apply(p, "verify", "x", "lead_unit", {"verdict": "属实"}, T0, CAL)
    p = apply(p, "stage_handle", "x", "lead_unit", {"narrative": "阶段性办结"}, T0, CAL)
    p = apply(p, "promote", "x", "supervision_office", {"promoted_to": "T9"}, T0, CAL)
    assert p.state == "stage_handled" and p.promoted_to == "T9"
    assert set(STATES["petition"]) >= {"received", "verified", "published", "closed"}


def test_joint_case_transfers_only_when_every_side_signed() -> None:
    j = new_case("J1", "joint", T0)
    reg = {
        **facts("register"),
        "jurisdictions": (511100, 511400),
        "standard": "同标准：断面达III类",
    }
    j = apply(j, "register", "x", "joint_office", reg, T0, CAL)
    due = {"rectify_due": date(2026, 9, 30)}
    j = apply(j, "sign_transfer", "a", "joint_office", {"city": 511100}, T0, CAL)
    with pytest.raises(CaseError, match="511400"):
        apply(j, "transfer", "a", "joint_office", due, T0, CAL)
    with pytest.raises(CaseError, match="not a side"):
        apply(j, "sign_transfer", "b", "joint_office", {"city": 510100}, T0, CAL)
    j = apply(j, "sign_transfer", "b", "joint_office", {"city": 511400}, T0, CAL)
    j = apply(j, "transfer", "a", "joint_office", due, T0, CAL)
    assert j.state == "transferred"
    with pytest.raises(CaseError, match="children"):
        apply(j, "close", "a", "joint_office", {"children_open": "J1-511100"}, T0, CAL)
    j = apply(j, "sign_closure", "a", "joint_office", {"city": 511100}, T0, CAL)
    with pytest.raises(CaseError, match="closure"):
        apply(j, "close", "a", "joint_office", {}, T0, CAL)
    j = apply(j, "sign_closure", "b", "joint_office", {"city": 511400}, T0, CAL)
    assert apply(j, "close", "a", "joint_office", {}, T0, CAL).state == "closed"


def test_site_items_must_all_be_done_before_acceptance() -> None:
    """§2.2 hierarchy: a task may hold site items (点位), each closed before the task."""
    from case_paths import with_evidence

    case = new_case("T7", "task", T0)
    sites = [{"name": "A厂"}, {"name": "B厂", "location_text": "某镇"}]
    case = apply(
        case,
        "register",
        "x",
        "supervision_office",
        {**facts("register"), "site_items": sites, "feedback_ref": "第12项"},
        T0,
        CAL,
    )
    for action in HAPPY[1:6]:
        case = apply(case, action, "x", ROLE[action], facts(action), T0, CAL)
    case = with_evidence(case, T0)
    half = apply(
        case,
        "report_progress",
        "x",
        "lead_unit",
        {"narrative": "A", "sites_done": ["A厂"]},
        T0,
        CAL,
    )
    with pytest.raises(CaseError, match="site B厂"):
        apply(half, "request_acceptance", "x", "lead_unit", {"self_check": "ok"}, T0, CAL)
    with pytest.raises(CaseError, match="no site item"):
        apply(
            case,
            "report_progress",
            "x",
            "lead_unit",
            {"narrative": "?", "sites_done": ["C厂"]},
            T0,
            CAL,
        )
    done = apply(
        case,
        "report_progress",
        "x",
        "lead_unit",
        {"narrative": "all", "sites_done": ["A厂", "B厂"]},
        T0,
        CAL,
    )
    assert (
        apply(done, "request_acceptance", "x", "lead_unit", {"self_check": "ok"}, T0, CAL).state
        == "acceptance_requested"
    )
    assert case.feedback_ref == "第12项"
