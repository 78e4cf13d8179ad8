"""The preliminary grade of a sudden environmental incident and its reporting deadlines.

Brief ``../shared/reference/incidents.md`` §1.1 (the grade table of the 2014 national plan,
国办函〔2014〕119号 annex 1: an incident takes the most severe grade for which any one row is met)
and §1.2/§1.6 (环境保护部令第17号 Art. 3: 4 h for III/IV, 2 h for I/II, from the preliminary
determination). The thresholds and the hours are *rule data* handed in (versioned in
``catalog/data/incident_rules.json``; a newer national plan replaces the rule set, not this code).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ecobasin.errors import InputError

__all__ = ["Grade", "ReportDeadline", "grade_incident", "report_deadline"]

#: facts compared as numbers; the others are ordinal levels named in the rule
NUMERIC_FACTS = ("deaths", "poisoned_or_injured", "evacuated", "direct_loss_cny")
#: ordinal facts -> the rule key listing their levels from the least to the most severe
ORDINAL_FACTS = {"intake_interrupted": "intake_levels", "cross_boundary": "cross_boundary_levels"}


@dataclass(frozen=True)
class Grade:
    """The preliminary grade and the criteria (fact names) that decided it, in rule order."""

    grade: str
    triggered: tuple[str, ...]
    rule: str


def _meets_number(value: Any, threshold: Any, inclusive: bool) -> bool:
    if value is None or threshold is None:
        return False
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise InputError(f"an incident count or loss must be finite and ≥ 0, got {value!r}")
    return number >= float(threshold) if inclusive else number > float(threshold)


def _meets_level(value: Any, threshold: Any, levels: Sequence[str], fact: str) -> bool:
    if value is None or threshold is None:
        return False
    if value not in levels:
        raise InputError(f"{fact} {value!r} is not one of the rule's levels {list(levels)}")
    return levels.index(value) >= levels.index(threshold)


def _triggered(
    facts: Mapping[str, Any], row: Mapping[str, Any], rule: Mapping[str, Any]
) -> list[str]:
    inclusive = bool(rule.get("inclusive_lower_bounds", True))
    hits = []
    for fact, threshold in row.items():
        if fact in ORDINAL_FACTS:
            levels = list(rule.get(ORDINAL_FACTS[fact], []))
            met = _meets_level(facts.get(fact), threshold, levels, fact)
        elif fact in NUMERIC_FACTS:
            met = _meets_number(facts.get(fact), threshold, inclusive)
        else:
            raise InputError(f"rule {rule.get('name')!r} names an unknown criterion {fact!r}")
        if met:
            hits.append(fact)
    return hits


def grade_incident(facts: Mapping[str, Any], rule: Mapping[str, Any]) -> Grade:
    """The most severe grade of ``rule['order']`` for which any one criterion is met, else
    ``rule['default']`` (brief §1.1; "以上" includes the number when ``inclusive_lower_bounds``).

    ``facts``: deaths, poisoned_or_injured, evacuated [persons], direct_loss_cny [CNY],
    intake_interrupted (a level of ``intake_levels`` or None), cross_boundary (a level of
    ``cross_boundary_levels`` or None).
    """
    thresholds = rule.get("thresholds")
    if not isinstance(thresholds, Mapping):
        raise InputError(f"rule {rule.get('name')!r} has no thresholds table")
    for grade in rule.get("order", []):
        hits = _triggered(facts, thresholds[grade], rule)
        if hits:
            return Grade(grade=str(grade), triggered=tuple(hits), rule=str(rule.get("name")))
    return Grade(grade=str(rule.get("default", "IV")), triggered=(), rule=str(rule.get("name")))


#: recipients of the first report by grade group (令第17号 Art. 3)
_RECIPIENTS_LOW = ("same-level government", "next-higher ecology-environment department")
_RECIPIENTS_HIGH = (
    "same-level government",
    "provincial ecology-environment department",
    "Ministry of Ecology and Environment",
)


@dataclass(frozen=True)
class ReportDeadline:
    """When the first report is due (local time of the rule's zone) and to whom."""

    deadline: datetime
    hours: float
    recipients: tuple[str, ...]


def report_deadline(determined_at: datetime, grade: str, rule: Mapping[str, Any]) -> ReportDeadline:
    """The first-report deadline: the preliminary determination + ``rule['hours_by_grade'][grade]``
    [h], in ``rule['timezone']`` (brief §1.6: computed in Asia/Shanghai, stored in UTC).

    The recipients come from ``rule['recipients_by_grade']`` when the rule names them, else
    from Art. 3 of 令第17号: III/IV to the same-level government and the next-higher department;
    I/II to the same-level government and the provincial department, "同时上报" the ministry.
    """
    if determined_at.tzinfo is None:
        raise InputError(f"determined_at {determined_at.isoformat()} has no UTC offset")
    hours_by_grade = rule.get("hours_by_grade") or {}
    if grade not in hours_by_grade:
        raise InputError(f"rule {rule.get('name')!r} has no deadline for grade {grade!r}")
    hours = float(hours_by_grade[grade])
    zone = ZoneInfo(str(rule.get("timezone", "Asia/Shanghai")))
    deadline = (determined_at + timedelta(hours=hours)).astimezone(zone)
    named = (rule.get("recipients_by_grade") or {}).get(grade)
    if named is not None:
        recipients = tuple(str(r) for r in named)
    else:
        recipients = _RECIPIENTS_HIGH if grade in ("I", "II") else _RECIPIENTS_LOW
    return ReportDeadline(deadline=deadline, hours=hours, recipients=recipients)
