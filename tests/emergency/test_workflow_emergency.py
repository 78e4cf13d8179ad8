"""List versions, dynamic changes, activation and findings (emergency.md §1.5, §2.5)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ecobasin.workflow.emergency import (
    ListRecord,
    ListVersion,
    activate,
    advance,
    apply_change,
    open_findings,
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
