"""Property tests of the consultation state machine (hypothesis).

No sequence of actions reaches an issued report with an unresolved divergence or a city without
a consensus, and an issued version never changes afterwards (amendments supersede it).
"""

from __future__ import annotations

import contextlib
import copy
from datetime import date, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from ecobasin.workflow.consultation import (
    ConsultationError,
    DayForecast,
    InputSnapshot,
    Session,
    Submission,
    schedule,
    transition,
)

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=CST)
CITIES = (510100, 510600, 510700)
DAYS = range(1, 8)

forecast_lows = st.sampled_from([10, 60, 90, 130, 160, 210])
actions = st.one_of(
    st.tuples(st.just("open"), st.booleans()),
    st.tuples(st.just("submit_city"), st.sampled_from(CITIES), forecast_lows),
    st.tuples(
        st.just("submit_day"), st.sampled_from(CITIES), st.sampled_from(list(DAYS)), forecast_lows
    ),
    st.tuples(st.just("consensus_city"), st.sampled_from(CITIES), forecast_lows),
    st.tuples(
        st.just("consensus_day"),
        st.sampled_from(CITIES),
        st.sampled_from(list(DAYS)),
        forecast_lows,
    ),
    st.tuples(st.just("resolve_one"), st.sampled_from(["accept_city", "note_dissent", "bogus"])),
    st.tuples(st.just("resolve_all"), st.text(max_size=3)),
    st.tuples(
        st.just("simple"),
        st.sampled_from(
            ["close_submissions", "start_session", "conclude", "draft_report", "sign", "archive"]
        ),
    ),
    st.tuples(st.just("warning"), st.sampled_from(["none", "yellow", "red"]), st.text(max_size=2)),
    st.tuples(st.just("amend"), st.sampled_from(CITIES), forecast_lows, st.text(max_size=2)),
)
with_cancel = st.one_of(actions, st.tuples(st.just("cancel"), st.text(max_size=2)))


@st.composite
def perturbed_paths(draw: st.DrawFn) -> list:  # type: ignore[type-arg]
    """The path to an issued report and its amendment, each step perhaps dropped, with random
    actions between the steps (random sequences alone rarely get past collection)."""
    low = forecast_lows
    path: list[tuple] = [("open", draw(st.booleans()))]  # type: ignore[type-arg]
    path += [("submit_city", c, draw(low)) for c in CITIES]
    path += [("simple", "close_submissions"), ("simple", "start_session"), ("resolve_all", "r")]
    path += [("consensus_city", c, draw(low)) for c in CITIES]
    path += [("warning", draw(st.sampled_from(["none", "red"])), "r"), ("simple", "conclude")]
    path += [("simple", "draft_report"), ("simple", "sign"), ("amend", CITIES[0], draw(low), "r")]
    path += [("simple", "sign"), ("simple", "archive")]
    seq = []
    for step in path:
        if draw(st.integers(0, 9)) > 0:
            seq.append(step)
        seq += draw(st.lists(with_cancel if draw(st.integers(0, 19)) == 0 else actions, max_size=1))
    return seq


def forecast(city: int, day: int, low: int) -> DayForecast:
    return DayForecast(city, day, low, low + 30, () if low + 30 <= 50 else ("PM2.5",))


def snapshot() -> InputSnapshot:
    guidance = tuple(forecast(c, d, 60) for c in CITIES for d in DAYS)
    return InputSnapshot("CDAQS", "1", T0 - timedelta(hours=8), T0, (), guidance)


def apply(s: Session, action: tuple, at: datetime) -> list[Session]:  # type: ignore[type-arg]
    """The sessions after ``action`` (two after an amendment); refusals raise."""
    kind, *args = action
    go = lambda event, reason="", **kw: transition(s, event, "u", at, reason, **kw)  # noqa: E731
    if kind == "open":
        return [
            go("open_submissions", snapshot=snapshot())
            if args[0]
            else go("open_submissions", "no model guidance")
        ]
    if kind in ("submit_city", "submit_day"):
        days = DAYS if kind == "submit_city" else [args[1]]
        for day in days:
            s = transition(
                s,
                "submit",
                "u",
                at,
                submission=Submission(forecast(args[0], day, args[-1]), "u", at),
            )  # type: ignore[assignment]
        return [s]
    if kind in ("consensus_city", "consensus_day"):
        days = DAYS if kind == "consensus_city" else [args[1]]
        for day in days:
            s = transition(s, "set_consensus", "u", at, forecast=forecast(args[0], day, args[-1]))  # type: ignore[assignment]
        return [s]
    if kind == "resolve_one":
        key = s.unresolved()[0].key if s.unresolved() else "none"
        return [go("resolve", "理由", key=key, resolution=args[0])]
    if kind == "resolve_all":
        for item in s.unresolved():
            s = transition(s, "resolve", "u", at, args[0], key=item.key, resolution="adjust_city")  # type: ignore[assignment]
        return [s]
    if kind == "simple":
        payload = {"draft_report": {"template_version": "t1"}, "sign": {"report_hash": "c" * 64}}
        return [go(args[0], **payload.get(args[0], {}))]
    if kind == "warning":
        return [go("set_warning", args[1], narrative="综述", levels=dict.fromkeys(CITIES, args[0]))]
    if kind == "amend":
        out = go("amend", args[2], changes=[forecast(args[0], 1, args[1])])
        assert isinstance(out, tuple)
        return list(out)
    return [go("cancel", args[0])]


def check_issued(s: Session) -> None:
    assert not s.unresolved(), "issued with an unresolved divergence"
    assert not s.consensus_gaps(), "issued with a city or day missing"
    assert set(s.warning) == set(CITIES)
    assert all(d.rationale.strip() for d in s.divergences)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.lists(with_cancel, max_size=40), perturbed_paths()))
def test_no_sequence_issues_an_incomplete_report_or_edits_an_issued_one(seq: list) -> None:  # type: ignore[type-arg]
    s = schedule(
        "p", "episode", date(2026, 3, 2), 510100, 510100, CITIES, T0 + timedelta(hours=1), "u", T0
    )
    issued: list[tuple[Session, Session]] = []  # (the object, a deep copy taken when issued)
    for i, action in enumerate(seq):
        try:
            after = apply(s, action, T0 + timedelta(minutes=i))
        except ConsultationError:
            continue
        if s.state == "issued" and after[-1] is not s:
            assert action[0] in ("amend", "simple"), f"{action} changed an issued session"
        for new in after:
            if new.state == "issued" and s.state != "issued":
                check_issued(new)
                issued.append((new, copy.deepcopy(new)))
        s = after[-1]
        assert len(s.audit) >= 1 and all(a.actor for a in s.audit)
    for obj, frozen in issued:
        assert obj == frozen


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(CITIES), max_size=3, unique=True), forecast_lows)
def test_issuing_needs_every_participant(submitting: list[int], low: int) -> None:
    """However many cities submitted, the report is issued only with all of them in it."""
    s = schedule("q", "routine", date(2026, 3, 2), 510100, 510100, CITIES, T0, "u", T0)
    steps: list[tuple] = [("open", False)]  # type: ignore[type-arg]
    steps += [("submit_city", c, low) for c in submitting]
    steps += [("simple", "close_submissions"), ("simple", "start_session"), ("resolve_all", "r")]
    steps += [("consensus_city", c, low) for c in submitting]
    steps += [
        ("warning", "red", "r"),
        ("simple", "conclude"),
        ("simple", "draft_report"),
        ("simple", "sign"),
    ]
    for i, action in enumerate(steps):
        with contextlib.suppress(ConsultationError):
            s = apply(s, action, T0 + timedelta(minutes=i))[-1]
    assert (s.state == "issued") == (len(submitting) == len(CITIES))
