"""Consultation rights, every action × role (web/security/policy.py, design §1.2 "Roles")."""

from __future__ import annotations

import pytest

from ecobasin.web.security.policy import CONSULTATION_RIGHTS, Principal, consultation_denial

CHAIR_CITY, OWN, OTHER = 510100, 510600, 510700
ACTORS = {
    "chair": (("city_approver", CHAIR_CITY),),
    "province": (("province_coordinator", None),),
    "forecaster_own": (("city_forecaster", OWN),),
    "forecaster_other": (("city_forecaster", OTHER),),
    "approver_own": (("city_approver", OWN),),
    "chair_city_forecaster": (("city_forecaster", CHAIR_CITY),),
    "expert": (("expert", None),),
    "observer": (("observer", None),),
    "nobody": (),
}
CHAIRS = {"chair", "province"}
EXPECTED: dict[str, set[str]] = {
    "read": set(ACTORS) - {"nobody"},
    "comment": set(ACTORS) - {"nobody", "observer"},
    "schedule": CHAIRS,
    "open_submissions": CHAIRS,
    "submit": {"forecaster_own", "approver_own"},
    "close_submissions": CHAIRS,
    "start_session": CHAIRS,
    "resolve": CHAIRS,
    "set_consensus": CHAIRS,
    "set_warning": CHAIRS,
    "conclude": CHAIRS,
    "draft_report": CHAIRS,
    "sign": {"chair"},
    "amend": CHAIRS,
    "cancel": CHAIRS,
    "archive": {"province"},
    "handover": {"province"},
    "recommend_warning": {"province"},
    "reject_warning": {"province"},
    "escalate_warning": {"province"},
    "de_escalate_warning": {"province"},
    "lift_warning": {"province"},
    "city_ack": {"approver_own"},
    "notifications": set(ACTORS) - {"nobody"},
    "record_minutes": CHAIRS,
    "close_action": CHAIRS | {"approver_own"},
    "issue_letter": {"province"},
    "publish_forecast": CHAIRS,
}


def test_the_table_covers_every_action() -> None:
    assert set(EXPECTED) == set(CONSULTATION_RIGHTS)


@pytest.mark.parametrize("action", sorted(EXPECTED))
@pytest.mark.parametrize("actor", sorted(ACTORS))
def test_every_action_for_every_role(action: str, actor: str) -> None:
    who = Principal(name=actor, role="viewer")
    reason = consultation_denial(who, ACTORS[actor], action, CHAIR_CITY, city=OWN)  # type: ignore[arg-type]
    if actor in EXPECTED[action]:
        assert reason is None
    else:
        assert reason is not None and action in reason and "会商权限不足" in reason


def test_the_chair_follows_the_rota_not_the_user() -> None:
    lead = Principal(name="cd_lead", role="viewer")
    roles = (("city_approver", CHAIR_CITY),)
    assert consultation_denial(lead, roles, "conclude", chair_city=CHAIR_CITY) is None  # type: ignore[arg-type]
    assert consultation_denial(lead, roles, "conclude", chair_city=OWN) is not None  # type: ignore[arg-type]


def test_a_city_may_not_submit_for_another() -> None:
    who = Principal(name="my_fc", role="viewer")
    roles = (("city_forecaster", OTHER),)
    reason = consultation_denial(who, roles, "submit", CHAIR_CITY, city=OWN)  # type: ignore[arg-type]
    assert reason is not None and f"for {OWN}" in reason
    with pytest.raises(ValueError, match="unknown consultation action"):
        consultation_denial(who, roles, "vote", CHAIR_CITY)  # type: ignore[arg-type]
