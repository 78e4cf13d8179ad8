"""Rectification cases and key tasks: every action × every case role (issue 18), in the one
policy module, plus the per-case scope (city, unit, acceptance level, joint sides)."""

from __future__ import annotations

import pytest

from ecobasin.web.security.policy import (
    CASE_ACTIONS,
    CASE_ROLES,
    CaseScope,
    Principal,
    case_actor_role,
)

SO, LU, CU, CO, JO, PR, PUB = CASE_ROLES
#: who may do what, written out by hand from §2.2 "Roles" and the state-machine table
EXPECTED: dict[str, set[str]] = {
    "register": {SO, JO},
    "transfer": {SO, JO},
    "accept": {LU},
    "dispute": {LU},
    "reassign": {SO},
    "confirm": {SO},
    "submit_plan": {LU},
    "approve_plan": {SO},
    "return_plan": {SO},
    "report_progress": {LU, CU},
    "request_extension": {LU},
    "grant": {SO},
    "deny": {SO},
    "request_acceptance": {LU},
    "start_check": {CO, PR},
    "pass": {CO, PR},
    "fail": {CO, PR},
    "objection": {SO, LU, CU, CO, JO, PR, PUB},
    "close": {CO, JO, PR},
    "stage_complete": {CO, PR},
    "rebound": {SO, PR},
    "verify": {LU},
    "handle": {LU},
    "stage_handle": {LU},
    "publish": {SO},
    "revisit_ok": {SO},
    "revisit_not_ok": {SO},
    "promote": {SO},
    "sign_transfer": {JO},
    "sign_closure": {JO},
    "edit_acceptance": set(),
    "read_internal": {SO, LU, CU, CO, JO, PR},
    "upload_evidence": {SO, LU, CU, CO, PR},
    "open_from_finding": {SO, PR},
    "grant_case_role": {PR},
    "manage_key_tasks": {SO, JO, PR},
    "manage_inspections": {SO, JO},
    "report_key_task": {SO, LU, CO, PR},
    "read_public": {SO, LU, CU, CO, JO, PR, PUB},
}
USER = Principal(name="u", role="viewer", user_id=1)


def test_every_action_is_listed() -> None:
    assert set(EXPECTED) == set(CASE_ACTIONS)


@pytest.mark.parametrize("action", sorted(EXPECTED))
@pytest.mark.parametrize("role", CASE_ROLES)
def test_action_by_role(action: str, role: str) -> None:
    held = () if role == "public" else ((role, None, "成都市生态环境局"),)
    acting, reason = case_actor_role(USER, held, action)
    if role in EXPECTED[action]:
        assert reason is None and acting is not None
    else:
        assert acting is None
        assert reason is not None and action in reason and "权限" in reason


CASE = CaseScope(city_code=510100, lead_unit="成都市生态环境局", co_units=("成都市住建局",))


def test_lead_unit_of_another_unit_or_city_is_refused() -> None:
    assert case_actor_role(USER, (("lead_unit", 510100, "成都市生态环境局"),), "accept", CASE)[0]
    assert (
        case_actor_role(USER, (("lead_unit", 510100, "成都市水务局"),), "accept", CASE)[0] is None
    )
    assert (
        case_actor_role(USER, (("lead_unit", 510600, "成都市生态环境局"),), "accept", CASE)[0]
        is None
    )
    assert (
        case_actor_role(USER, (("co_unit", 510100, "成都市住建局"),), "report_progress", CASE)[0]
        == CU
    )


def test_city_office_of_another_city_may_not_accept() -> None:
    _, reason = case_actor_role(USER, (("city_office", 510600, ""),), "pass", CASE)
    assert reason is not None and "510100" in reason
    assert case_actor_role(USER, (("city_office", 510100, ""),), "pass", CASE)[0] == CO


def test_province_level_items_are_accepted_by_the_province_only() -> None:
    provincial = CaseScope(city_code=510100, lead_unit="x", acceptance_level="province")
    assert case_actor_role(USER, (("city_office", 510100, ""),), "pass", provincial)[0] is None
    assert case_actor_role(USER, (("province", None, ""),), "pass", provincial)[0] == PR
    # and a city-level item by the city office, not the province
    assert case_actor_role(USER, (("province", None, ""),), "pass", CASE)[0] is None


def test_joint_office_acts_on_its_sides_only() -> None:
    joint = CaseScope(jurisdictions=(511100, 511400), kind="joint")
    assert case_actor_role(USER, (("joint_office", 511100, ""),), "sign_closure", joint)[0] == JO
    assert case_actor_role(USER, (("joint_office", 510100, ""),), "sign_closure", joint)[0] is None
    assert case_actor_role(USER, (("joint_office", 511400, ""),), "close", joint)[0] == JO


def test_unknown_action_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown case action"):
        case_actor_role(USER, (), "delete_everything")
