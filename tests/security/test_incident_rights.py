"""Every incident action × role in the one policy module (issue 22): the province (admin) does
everything, viewers read, a city's editors open and refit their own city's incidents and act on
any incident their city is on, others are refused with the reason, the public gets nothing."""

from __future__ import annotations

import pytest

from ecobasin.web.security.policy import INCIDENT_ACTIONS, PUBLIC, Principal, incident_denial

CHENGDU, ZIYANG, DEYANG = 510100, 512000, 510600
PEOPLE = {
    "admin": Principal("prov", "admin"),
    "viewer": Principal("watch", "viewer"),
    "source editor": Principal("cd", "editor", CHENGDU),
    "downstream editor": Principal("zy", "editor", ZIYANG),
    "other editor": Principal("dy", "editor", DEYANG),
    "partner": Principal("app", "partner", scopes=("ledger:events",)),
    "public": PUBLIC,
}
ALLOWED = {
    "admin": set(INCIDENT_ACTIONS),
    "viewer": {"read"},
    "source editor": set(INCIDENT_ACTIONS),
    "downstream editor": {"read", "acknowledge", "results", "approve", "materials"},
    "other editor": set(),
    "partner": set(),
    "public": set(),
}


@pytest.mark.parametrize("who", list(PEOPLE))
@pytest.mark.parametrize("action", INCIDENT_ACTIONS)
def test_action_by_role(who: str, action: str) -> None:
    reason = incident_denial(PEOPLE[who], action, CHENGDU, (CHENGDU, ZIYANG))
    assert (reason is None) == (action in ALLOWED[who]), reason
    if reason is not None:
        assert "突发事件权限不足" in reason and str(CHENGDU) in reason


def test_a_city_keeps_only_its_own_stock() -> None:
    """Reserves (issue 22): a city's editors keep their own depots' stock; the province any."""
    zy = PEOPLE["downstream editor"]
    assert incident_denial(zy, "stock", ZIYANG) is None
    assert incident_denial(zy, "stock", CHENGDU) is not None
    assert incident_denial(PEOPLE["viewer"], "stock", ZIYANG) is not None
    assert incident_denial(PEOPLE["admin"], "stock", ZIYANG) is None


def test_unknown_actions_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown incident action"):
        incident_denial(PEOPLE["admin"], "delete", CHENGDU)
