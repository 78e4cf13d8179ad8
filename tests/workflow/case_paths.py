"""Helpers of the case tests: the facts of each action and the happy path of a task."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

from ecobasin.catalog.workdays import package_calendar
from ecobasin.workflow.cases import ACCEPTANCE_CRITERIA, Case, Evidence, apply, new_case

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 2, 10, 9, 0, tzinfo=CST)
CAL = package_calendar()

#: role of the actor of each action on a city-level task
ROLE = {
    "register": "supervision_office",
    "transfer": "supervision_office",
    "accept": "lead_unit",
    "dispute": "lead_unit",
    "reassign": "supervision_office",
    "confirm": "supervision_office",
    "submit_plan": "lead_unit",
    "approve_plan": "supervision_office",
    "return_plan": "supervision_office",
    "report_progress": "lead_unit",
    "request_extension": "lead_unit",
    "grant": "supervision_office",
    "deny": "supervision_office",
    "request_acceptance": "lead_unit",
    "start_check": "city_office",
    "pass": "city_office",
    "fail": "city_office",
    "objection": "public",
    "close": "city_office",
    "stage_complete": "city_office",
    "rebound": "supervision_office",
    "edit_acceptance": "city_office",
}


def facts(action: str) -> dict[str, Any]:
    """Complete facts of ``action`` (the guards beyond them still apply)."""
    return {
        "register": {
            "source_type": "inspection_feedback",
            "title": "锅炉未拆除",
            "problem_text": "某镇燃煤锅炉未按期拆除",
            "category": "clean_energy_substitution",
            "city_code": 510100,
        },
        "transfer": {
            "lead_unit": "成都市生态环境局",
            "acceptance_level": "city",
            "rectify_due": date(2026, 6, 30),
            "term_type": "限期",
        },
        "accept": {"contact": "张工"},
        "dispute": {"reason": "不属本辖区"},
        "reassign": {"lead_unit": "德阳市生态环境局"},
        "confirm": {"reason": "经核实属本辖区"},
        "submit_plan": {
            "measures": [
                {
                    "text": "拆除锅炉",
                    "owner": "某镇",
                    "due": date(2026, 5, 1),
                    "deliverable": "拆除证明",
                }
            ],
            "target": "锅炉全部拆除",
        },
        "approve_plan": {},
        "return_plan": {"reason": "措施不具体"},
        "report_progress": {"narrative": "已拆除", "percents": {0: 100}},
        "request_extension": {"reason": "设备采购", "new_due": date(2026, 8, 31)},
        "grant": {},
        "deny": {"reason": "理由不足"},
        "request_acceptance": {"self_check": "自查合格"},
        "start_check": {"team": "市验收组", "check_date": date(2026, 6, 1)},
        "pass": {
            "opinion": "同意销号",
            "criteria": [(c, True, "") for c in ACCEPTANCE_CRITERIA],
            "onsite_record": "现场已拆除",
            "signatures": ["李四", "王五"],
        },
        "fail": {"deficiencies": "缺少处罚材料", "rework_due": date(2026, 7, 31)},
        "objection": {"objection": "锅炉仍在使用"},
        "close": {},
        "stage_complete": {"opinion": "阶段性完成"},
        "rebound": {"reason": "回头看发现反弹"},
        "edit_acceptance": {},
    }[action]


def with_evidence(case: Case, at: datetime) -> Case:
    """The case holding one item of every evidence kind (the checklist complete)."""
    kinds = (
        "photo_before", "photo_after", "closure_certificate", "similar_problems", "self_check",
        "penalty_decision", "monitoring_data",
    )  # fmt: skip
    items = tuple(
        Evidence(f"{i:064x}", k, "after", f"{k}.png", "image/png", 10, "t", at)
        for i, k in enumerate(kinds)
    )
    return type(case)(**{**case.__dict__, "evidence": items})


HAPPY = (
    "register", "transfer", "accept", "submit_plan", "approve_plan", "report_progress",
    "request_acceptance", "start_check", "pass",
)  # fmt: skip


def run(actions: tuple[str, ...], case: Case | None = None, at: datetime = T0) -> Case:
    """Apply ``actions`` one day apart with their default facts and roles."""
    case = case or new_case("T1", "task", at)
    for i, action in enumerate(actions):
        when = at + timedelta(days=i)
        if action == "request_acceptance":
            case = with_evidence(case, when)
        case = apply(case, action, "tester", ROLE[action], facts(action), when, CAL)
    return case
