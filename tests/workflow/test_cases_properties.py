"""Property tests of the case machine (hypothesis): any sequence of actions, by any role, at any
pace, including the Spring Festival and 调休 Saturdays of 2026.

* no sequence reaches ``closed`` without an issued acceptance and the whole notice window after it;
* an issued acceptance is never edited (later cases hold it unchanged);
* the audit trail replays to the state (each row starts where the previous ended).
"""

from __future__ import annotations

from datetime import timedelta

from case_paths import CAL, HAPPY, ROLE, T0, facts, with_evidence
from hypothesis import given, settings
from hypothesis import strategies as st

from ecobasin.workflow.cases import ROLES, CaseError, apply, new_case

ACTIONS = sorted(ROLE)
step = st.tuples(
    st.sampled_from(ACTIONS),
    st.one_of(st.none(), st.sampled_from(ROLES)),  # None: the action's proper role
    st.integers(min_value=0, max_value=6),  # days until the next action
    st.booleans(),  # attach the evidence checklist first
)
CLOSING = (*HAPPY, "close", "rebound", *HAPPY[5:], "close")


@st.composite
def steps(draw: st.DrawFn) -> list[tuple[str, str | None, int, bool]]:
    """The closing path with random steps inserted (so closures are reached), or any steps."""
    path: list[tuple[str, str | None, int, bool]] = [
        (a, None, draw(st.integers(0, 9)), a == "request_acceptance") for a in CLOSING
    ]
    for _ in range(draw(st.integers(0, 12))):
        path.insert(draw(st.integers(0, len(path))), draw(step))
    return path if draw(st.booleans()) else draw(st.lists(step, max_size=40))


CLOSED_RUNS: list[int] = []


@settings(max_examples=300, deadline=None)
@given(steps())
def test_no_closure_without_acceptance_and_notice(
    path: list[tuple[str, str | None, int, bool]],
) -> None:
    case = new_case("T1", "task", T0)
    at = T0
    seen_acceptances: tuple[object, ...] = ()
    for action, role, days, evidence in path:
        at += timedelta(days=days)
        if evidence:
            case = with_evidence(case, at)
        try:
            case = apply(case, action, "p", role or ROLE[action], facts(action), at, CAL)
        except CaseError:
            continue
        # acceptances only grow, never change
        assert case.acceptances[: len(seen_acceptances)] == seen_acceptances
        seen_acceptances = case.acceptances
        if case.state == "closed" and case.audit[-1].event == "close":
            passes = [e for e in case.audit if e.event == "pass"]
            assert passes, "closed without an acceptance"
            last_pass = passes[-1]
            # nothing sent the case back after that acceptance
            after = case.audit[case.audit.index(last_pass) + 1 :]
            assert [e.event for e in after] == ["close"]
            window_end = CAL.add(last_pass.at.date(), 10).day
            assert at.date() > window_end
            CLOSED_RUNS.append(1)
    for previous, entry in zip(case.audit, case.audit[1:], strict=False):
        assert entry.from_state == previous.to_state
    assert (case.audit[-1].to_state if case.audit else "") == case.state


def test_the_properties_saw_closures() -> None:
    """The generated paths did reach ``closed`` (the property above is not vacuous)."""
    test_no_closure_without_acceptance_and_notice()
    assert len(CLOSED_RUNS) > 10
