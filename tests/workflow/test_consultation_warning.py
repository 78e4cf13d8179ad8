"""The warning proposal's state machine (brief §1.2): every event from every state, the
direction of escalations, reasons, and a city's acknowledgement never later or lower without an
override reason."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ecobasin.workflow.consultation import ConsultationError
from ecobasin.workflow.consultation_warning import (
    WARNING_EVENTS,
    WARNING_STATES,
    WarningProposal,
    propose,
    warning_step,
)

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 2, 2, 18, 0, tzinfo=CST)
START = datetime(2026, 2, 3, 0, 0, tzinfo=CST)
CHENGDU, DEYANG, MEISHAN = 510100, 510600, 511400


def proposed() -> WarningProposal:
    levels = {CHENGDU: "orange", DEYANG: "yellow", MEISHAN: "none"}
    return propose("s1", levels, dict.fromkeys(levels, START), "chair", T0)


def recommended() -> WarningProposal:
    return warning_step(proposed(), "recommend", "prov", T0)


#: A valid payload per event (from a state where it is allowed).
VALID = {
    "recommend": ("", {}),
    "reject": ("模式分歧大", {}),
    "escalate": ("过程加重", {"levels": {DEYANG: "orange"}, "episode": "s2"}),
    "de_escalate": ("扩散转好", {"levels": {CHENGDU: "yellow"}, "episode": "s2"}),
    "lift": ("低于黄色超过36小时", {}),
    "city_ack": ("", {"city": CHENGDU, "level": "orange", "start": START}),
}
ALLOWED = {
    "recommend": {"proposed"},
    "reject": {"proposed"},
    "escalate": {"recommended"},
    "de_escalate": {"recommended"},
    "lift": {"recommended"},
    "city_ack": {"recommended"},
}
AFTER = {"recommend": "recommended", "reject": "rejected", "escalate": "recommended",
         "de_escalate": "recommended", "lift": "lifted", "city_ack": "recommended"}  # fmt: skip


def in_state(state: str) -> WarningProposal:
    return {
        "proposed": proposed,
        "recommended": recommended,
        "rejected": lambda: warning_step(proposed(), "reject", "prov", T0, "x"),
        "lifted": lambda: warning_step(recommended(), "lift", "prov", T0, "x"),
    }[state]()


def test_the_tables_cover_every_event() -> None:
    assert set(VALID) == set(ALLOWED) == set(WARNING_EVENTS)


@pytest.mark.parametrize("state", WARNING_STATES)
@pytest.mark.parametrize("event", WARNING_EVENTS)
def test_every_event_from_every_state(event: str, state: str) -> None:
    p = in_state(state)
    reason, payload = VALID[event]
    if state in ALLOWED[event]:
        after = warning_step(p, event, "prov", T0 + timedelta(hours=1), reason, **payload)
        assert after.state == AFTER[event]
        assert after.audit[-1].event == event and after.audit[-1].before == state
        assert len(after.audit) == len(p.audit) + 1 and p.state == state  # p is not changed
    else:
        with pytest.raises(ConsultationError, match=f"{event} not allowed in state {state}"):
            warning_step(p, event, "prov", T0, reason, **payload)


def test_recommend_may_change_levels_only_with_a_reason() -> None:
    with pytest.raises(ConsultationError, match="needs a reason"):
        warning_step(proposed(), "recommend", "prov", T0, levels={MEISHAN: "yellow"})
    p = warning_step(proposed(), "recommend", "prov", T0, "眉山加入", levels={MEISHAN: "yellow"})
    assert p.levels[MEISHAN] == "yellow" and p.version == 2


@pytest.mark.parametrize(
    ("event", "levels", "message"),
    [
        ("escalate", {CHENGDU: "yellow"}, "must raise"),
        ("escalate", {CHENGDU: "red", DEYANG: "none"}, "must raise"),
        ("escalate", {CHENGDU: "orange"}, "must raise"),  # no change at all
        ("de_escalate", {DEYANG: "red"}, "must lower"),
        ("escalate", {110000: "red"}, "not in the proposal"),
        ("escalate", {CHENGDU: "purple"}, "level must be one of"),
    ],
)
def test_escalations_move_one_way(event: str, levels: dict[int, str], message: str) -> None:
    with pytest.raises(ConsultationError, match=message):
        warning_step(recommended(), event, "prov", T0, "r", levels=levels, episode="s2")


def test_escalation_needs_a_reason_and_its_episode_and_asks_changed_cities_again() -> None:
    p = warning_step(recommended(), "city_ack", "dy", T0, city=DEYANG, level="yellow", start=START)
    p = warning_step(p, "city_ack", "cd", T0, city=CHENGDU, level="orange", start=START)
    with pytest.raises(ConsultationError, match="needs a reason"):
        warning_step(p, "escalate", "prov", T0, levels={DEYANG: "orange"}, episode="s2")
    with pytest.raises(ConsultationError, match="episode"):
        warning_step(p, "escalate", "prov", T0, "r", levels={DEYANG: "orange"})
    up = warning_step(p, "escalate", "prov", T0, "加重", levels={DEYANG: "orange"}, episode="s2")
    assert up.levels[DEYANG] == "orange" and up.episode == "s2" and up.version == p.version + 1
    assert set(up.acks) == {CHENGDU}  # Deyang must acknowledge the new level


def test_lift_some_cities_then_all() -> None:
    with pytest.raises(ConsultationError, match="needs a reason"):
        warning_step(recommended(), "lift", "prov", T0)
    some = warning_step(recommended(), "lift", "prov", T0, "德阳转好", cities=(DEYANG,))
    assert some.state == "recommended" and some.levels[DEYANG] == "none"
    assert warning_step(some, "lift", "prov", T0, "全部解除").state == "lifted"


def test_a_city_never_later_or_lower_without_an_override_reason() -> None:
    p = recommended()
    ack = warning_step(
        p, "city_ack", "cd", T0, city=CHENGDU, level="red", start=START - timedelta(hours=6)
    )
    assert ack.acks[CHENGDU].level == "red"  # higher and earlier: always
    with pytest.raises(ConsultationError, match="lower level"):
        warning_step(p, "city_ack", "cd", T0, city=CHENGDU, level="yellow", start=START)
    with pytest.raises(ConsultationError, match="later start"):
        warning_step(
            p, "city_ack", "cd", T0, city=CHENGDU, level="orange", start=START + timedelta(hours=1)
        )
    kept = warning_step(p, "city_ack", "cd", T0, city=CHENGDU, level="yellow", start=START,
                        override_reason="本地降雨")  # fmt: skip
    assert kept.acks[CHENGDU].override_reason == "本地降雨" and kept.audit[-1].reason == "本地降雨"
    with pytest.raises(ConsultationError, match="not in the proposal"):
        warning_step(p, "city_ack", "x", T0, city=110000, level="red", start=START)


def test_reject_needs_a_reason_and_unknown_events_are_refused() -> None:
    with pytest.raises(ConsultationError, match="needs a reason"):
        warning_step(proposed(), "reject", "prov", T0)
    with pytest.raises(ConsultationError, match="unknown event"):
        warning_step(proposed(), "vote", "prov", T0)
