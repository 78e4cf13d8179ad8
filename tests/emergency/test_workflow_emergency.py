"""List versions, dynamic changes, activation and findings (emergency.md §1.5, §2.5)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ecobasin.workflow.emergency import (
    Activation,
    ListRecord,
    ListVersion,
    activate,
    advance,
    apply_change,
    lift,
    open_findings,
    reconcile,
    version_in_force,
)

CST = timezone(timedelta(hours=8))


def _record(uscc: str, grade: str, since: str = "2024-10-01") -> ListRecord:
    return ListRecord(
        uscc=uscc,
        name=f"企业 {uscc}",
        district="510104",
        industry="水泥",
        category="key",
        grades=({"grade": grade, "effective_from": since},),
        outlets=(f"MN{uscc}",),
        measures={"yellow": {"action": "limit", "ratio": 0.3}, "red": {"action": "stop"}},
    )


def _v1() -> ListVersion:
    return ListVersion(
        "510100", 1, datetime(2024, 10, 1, tzinfo=CST), "annual", (_record("X1", "C"),)
    )


def test_warning_uses_version_and_grade_at_its_start() -> None:
    v1 = _v1()
    v2 = apply_change(
        v1, {"kind": "regraded", "uscc": "X1", "grade": "B"}, datetime(2025, 1, 15, tzinfo=CST)
    )
    v3 = apply_change(
        v2, {"kind": "new", "record": _record("X2", "D")}, datetime(2025, 2, 1, tzinfo=CST)
    )
    before = activate(
        [v1, v2, v3],
        "510100",
        "yellow",
        datetime(2025, 1, 10, tzinfo=CST),
        datetime(2025, 1, 12, tzinfo=CST),
    )
    after = activate(
        [v1, v2, v3],
        "510100",
        "yellow",
        datetime(2025, 1, 20, tzinfo=CST),
        datetime(2025, 1, 22, tzinfo=CST),
    )
    assert (before.version, before.grades) == (1, {"X1": "C"})
    assert (after.version, after.grades) == (2, {"X1": "B"})
    assert v1.records[0].grades == ({"grade": "C", "effective_from": "2024-10-01"},)  # unchanged


def test_closed_enterprise_leaves_later_activations() -> None:
    v2 = apply_change(_v1(), {"kind": "closed", "uscc": "X1"}, datetime(2025, 3, 1, tzinfo=CST))
    act = activate(
        [_v1(), v2],
        "510100",
        "red",
        datetime(2025, 3, 2, tzinfo=CST),
        datetime(2025, 3, 3, tzinfo=CST),
    )
    assert act.grades == {}


def test_bad_changes_and_windows_are_refused_with_reasons() -> None:
    with pytest.raises(KeyError, match="X9"):
        apply_change(_v1(), {"kind": "closed", "uscc": "X9"}, datetime(2025, 3, 1, tzinfo=CST))
    with pytest.raises(ValueError, match="category"):
        ListRecord("Y", "y", "d", "i", "bogus", (), (), {})
    with pytest.raises(LookupError):
        version_in_force([_v1()], datetime(2020, 1, 1, tzinfo=CST))
    with pytest.raises(ValueError, match="end after"):
        activate(
            [_v1()],
            "510100",
            "red",
            datetime(2025, 1, 2, tzinfo=CST),
            datetime(2025, 1, 1, tzinfo=CST),
        )


def test_activation_state_machine() -> None:
    act = activate(
        [_v1()],
        "510100",
        "yellow",
        datetime(2025, 1, 2, tzinfo=CST),
        datetime(2025, 1, 3, tzinfo=CST),
    )
    checked = advance(advance(act, "ended"), "checked")
    assert checked.history == ("active", "ended", "checked")
    with pytest.raises(ValueError):
        advance(checked, "active")


def test_findings_only_for_non_compliance_and_missing_data() -> None:
    verdicts = [
        {"uscc": "X1", "outlet": "MN1", "verdict": "compliant"},
        {"uscc": "X2", "outlet": "MN2", "verdict": "non_compliant", "reasons": ["flow"]},
        {"uscc": "X3", "outlet": "MN3", "verdict": "insufficient_data"},
    ]
    found = open_findings(verdicts, {"X2": "锦江区"})
    assert [(f.uscc, f.kind, f.owner) for f in found] == [
        ("X2", "non_compliant", "锦江区"),
        ("X3", "insufficient_data", "city"),
    ]


def _warning(level: str, start_h: int, end_h: int) -> Activation:
    day = datetime(2025, 1, 2, tzinfo=CST)
    return activate(
        [_v1()], "510100", level, day + timedelta(hours=start_h), day + timedelta(hours=end_h)
    )


def test_an_upgrade_ends_the_warning_in_force_where_the_new_level_starts() -> None:
    orange = _warning("orange", 0, 48)
    changed, new = reconcile(orange, _warning("red", 12, 60))
    assert changed is not None and new is not None
    assert (changed.level, changed.end, changed.state) == ("orange", new.start, "active")
    assert (new.level, new.start, new.end) == ("red", orange.start + timedelta(hours=12),
                                               orange.start + timedelta(hours=60))  # fmt: skip


def test_a_new_level_from_the_same_start_replaces_the_warning() -> None:
    changed, new = reconcile(_warning("orange", 0, 48), _warning("yellow", 0, 24))
    assert changed is not None and changed.state == "cancelled"
    assert new is not None and new.level == "yellow"


def test_the_same_level_extends_or_changes_nothing() -> None:
    orange = _warning("orange", 0, 48)
    longer, none = reconcile(orange, _warning("orange", 24, 72))
    assert none is None and longer is not None and longer.end == orange.start + timedelta(hours=72)
    assert reconcile(orange, _warning("orange", 6, 30)) == (None, None)


def test_a_warning_after_the_one_in_force_or_ended_ones_are_left_alone() -> None:
    orange = _warning("orange", 0, 24)
    later = _warning("red", 24, 48)
    assert reconcile(orange, later) == (None, later)
    ended = advance(orange, "ended")
    inside = _warning("red", 6, 12)
    assert reconcile(ended, inside) == (None, inside)


def test_lifting_ends_or_cancels_the_warning_in_force() -> None:
    orange = _warning("orange", 6, 48)
    cut = lift(orange, orange.start + timedelta(hours=10))
    assert cut is not None and cut.end == orange.start + timedelta(hours=10)
    before = lift(orange, orange.start - timedelta(hours=1))
    assert before is not None and before.state == "cancelled"
    assert lift(orange, orange.end) is None and lift(advance(orange, "ended"), orange.start) is None
