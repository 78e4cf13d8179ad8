"""Emergency control lists (应急减排清单) as a pure state machine (emergency.md §1.5, §2.4, §2.5).

A city's list is a chain of versions (the annual revision plus dynamic changes: new, closed,
re-graded, 保障类 added or removed). A warning activates the version in force at its start and
freezes each enterprise's grade at that instant; after the warning the compliance verdicts open
findings (non-compliance and insufficient data) for the supervision workflow. No I/O, no clock:
every time is an argument.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from ecobasin.standards.emergency import LEVELS, grade_at

__all__ = [
    "CATEGORIES",
    "METER_ROLES",
    "PROCESS_ACTIONS",
    "Activation",
    "Finding",
    "ListRecord",
    "ListVersion",
    "activate",
    "advance",
    "apply_change",
    "lift",
    "measure_at_outlet",
    "open_findings",
    "process_meters",
    "reconcile",
    "version_in_force",
]

#: list categories (§1.5): key industry, other 涉气, 民生保障类, exempt, and sector measures
#: (construction sites, non-road machinery, trucks, VOCs work: no outlets, §1.4)
CATEGORIES: tuple[str, ...] = ("key", "other", "保障类", "exempt", "sector")
#: what a sub-meter measures (§2.2): a production line or a treatment unit
METER_ROLES: tuple[str, ...] = ("production", "treatment")
#: what a measure does to a process or line (§1.5): stop it, limit it by a ratio, stagger it
#: (错峰, settled monthly on online data, §1.6) or leave it running
PROCESS_ACTIONS: tuple[str, ...] = ("stop", "limit", "stagger", "exempt")
#: activation states and the transitions allowed between them
_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "active": ("ended", "cancelled"),
    "ended": ("checked",),
    "checked": (),
    "cancelled": (),
}


@dataclass(frozen=True)
class ListRecord:
    """One enterprise of the list: USCC, category, grade history, outlets (HJ 212 MN) and its
    measures per level (``{level: {action, ratio, target, grace_hours}}``) and the
    pollutants checked at its outlets."""

    uscc: str
    name: str
    district: str
    industry: str
    category: str
    grades: tuple[Mapping[str, Any], ...]
    outlets: tuple[str, ...]
    measures: Mapping[str, Mapping[str, Any]]
    closed: bool = False
    pollutants: tuple[str, ...] = ("NOx",)
    #: sub-meters (分表计电, §2.2): ``{"site", "role": production|treatment, "process"}``
    meters: tuple[Mapping[str, Any], ...] = ()
    #: baseline daily emission per pollutant [t/d] and its method (online_data, permit,
    #: inventory), for the list accounting (§1.4, §1.5)
    baseline_t_per_d: Mapping[str, float] = field(default_factory=dict)
    baseline_method: str | None = None
    #: reference period of that baseline (``{"from": ISO date, "to": ISO date}``, §1.5)
    baseline_reference: Mapping[str, str] = field(default_factory=dict)
    #: sub-industry (子行业) within ``industry`` (§1.5)
    sub_industry: str = ""
    #: processes / lines (工序, §1.5): ``{"id", "name", "capacity", "capacity_unit",
    #: "baseline_load" [1], "outlets": [MN], "meters": [site], "measures": {level: {"action",
    #: "ratio", "effect_hours" [h], "grace_hours" [h]}}}``; a measure targets its process
    processes: tuple[Mapping[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"record {self.uscc}: unknown category {self.category!r}")
        bad = set(self.measures) - set(LEVELS)
        if bad:
            raise ValueError(f"record {self.uscc}: unknown levels {sorted(bad)}")
        for meter in self.meters:
            if meter.get("role") not in METER_ROLES or not meter.get("site"):
                raise ValueError(
                    f"record {self.uscc}: meter {dict(meter)} needs a site and a role "
                    f"({', '.join(METER_ROLES)})"
                )
        _check_processes(self)


def _check_processes(rec: ListRecord) -> None:
    """Each process: a unique id, outlets and meters of its own enterprise, known levels and
    actions (§1.5)."""
    sites = {str(m["site"]) for m in rec.meters}
    seen: set[str] = set()
    for proc in rec.processes:
        pid = str(proc.get("id") or "")
        if not pid or pid in seen:
            raise ValueError(f"record {rec.uscc}: process id {pid!r} missing or repeated")
        seen.add(pid)
        foreign = set(proc.get("outlets", ())) - set(rec.outlets)
        if foreign:
            raise ValueError(f"record {rec.uscc} process {pid}: outlets {sorted(foreign)} "
                             "are not the enterprise's")  # fmt: skip
        unknown = set(proc.get("meters", ())) - sites
        if unknown:
            raise ValueError(f"record {rec.uscc} process {pid}: meters {sorted(unknown)} "
                             "are not the enterprise's")  # fmt: skip
        for level, measure in dict(proc.get("measures", {})).items():
            if level not in LEVELS or measure.get("action") not in PROCESS_ACTIONS:
                raise ValueError(f"record {rec.uscc} process {pid}: bad measure {level} "
                                 f"{dict(measure)}")  # fmt: skip


def measure_at_outlet(rec: ListRecord, level: str, outlet: str) -> dict[str, Any]:
    """The measure judged at one outlet at ``level`` (§1.5, §2.5 step 3).

    When the list targets processes at that level, an outlet takes the measure of the
    targeted process it serves (the strictest if several), with ``target`` naming the process
    and the grace to judge from = time to take effect + grace hours [h]; an outlet serving
    only other lines is ``exempt`` (those lines may run). Otherwise the enterprise's measure.
    """
    targeted = [p for p in rec.processes if level in dict(p.get("measures", {}))]
    if not targeted:
        return dict(rec.measures.get(level, {"action": "exempt"}))
    serving = [p for p in targeted if outlet in p.get("outlets", ())]
    if not serving:
        lines = ", ".join(str(p["id"]) for p in targeted)
        return {"action": "exempt", "note": f"serves no targeted line ({lines}) 非管控工序"}
    proc = max(serving, key=lambda p: _strictness(p["measures"][level]))
    measure = dict(proc["measures"][level])
    effect = int(measure.get("effect_hours", 0))
    measure["plan_grace_hours"] = int(measure.get("grace_hours", 0))
    measure["grace_hours"] = effect + measure["plan_grace_hours"]
    measure["target"] = str(proc["id"])
    return measure


def _strictness(measure: Mapping[str, Any]) -> tuple[int, float]:
    action = str(measure.get("action"))
    return ({"stop": 3, "limit": 2, "stagger": 1}.get(action, 0), float(measure.get("ratio", 0)))


def process_meters(rec: ListRecord, process_id: str) -> tuple[Mapping[str, Any], ...]:
    """The enterprise's sub-meters linked to one process (§2.2)."""
    proc = next(p for p in rec.processes if str(p["id"]) == process_id)
    return tuple(m for m in rec.meters if str(m["site"]) in set(proc.get("meters", ())))


@dataclass(frozen=True)
class ListVersion:
    """A city's list version, in force from ``effective_from`` until the next one."""

    city: str
    version: int
    effective_from: datetime
    reason: str
    records: tuple[ListRecord, ...]


def version_in_force(versions: Sequence[ListVersion], at: datetime) -> ListVersion:
    """The version with the latest ``effective_from`` ≤ ``at`` (§1.5: a check uses it)."""
    past = [v for v in versions if v.effective_from <= at]
    if not past:
        raise LookupError(f"no list version in force at {at.isoformat()}")
    return max(past, key=lambda v: (v.effective_from, v.version))


def apply_change(
    current: ListVersion, change: Mapping[str, Any], effective_from: datetime
) -> ListVersion:
    """A new version after one dynamic change (§1.5): ``new``, ``closed``, ``regraded``,
    ``guarantee_added`` or ``guarantee_removed``; the old version stays unchanged."""
    kind, uscc = str(change["kind"]), str(change.get("uscc", ""))
    if effective_from < current.effective_from:
        raise ValueError("a change cannot take effect before the version it changes")
    records = list(current.records)
    index = {r.uscc: i for i, r in enumerate(records)}
    if kind == "new":
        rec: ListRecord = change["record"]
        if rec.uscc in index:
            raise ValueError(f"record {rec.uscc} is already in the list")
        records.append(rec)
    elif uscc not in index:
        raise KeyError(f"record {uscc} is not in list {current.city} v{current.version}")
    else:
        old = records[index[uscc]]
        records[index[uscc]] = _changed(old, kind, change, effective_from)
    return ListVersion(
        current.city, current.version + 1, effective_from, f"{kind} {uscc}".strip(), tuple(records)
    )


def _changed(
    old: ListRecord, kind: str, change: Mapping[str, Any], effective_from: datetime
) -> ListRecord:
    if kind == "closed":
        return replace(old, closed=True)
    if kind == "regraded":
        entry = {"grade": str(change["grade"]), "effective_from": effective_from.date().isoformat()}
        if change.get("source"):  # the document that published the re-grade (§1.5)
            entry["source"] = str(change["source"])
        return replace(old, grades=(*old.grades, entry))
    if kind == "guarantee_added":
        return replace(old, category="保障类")
    if kind == "guarantee_removed":
        return replace(old, category=str(change.get("category", "key")))
    raise ValueError(f"unknown change {kind!r}")


@dataclass(frozen=True)
class Activation:
    """A list version switched on for a warning window; grades frozen at the warning start."""

    city: str
    level: str
    start: datetime
    end: datetime
    version: int
    grades: Mapping[str, str | None]
    state: str = "active"
    history: tuple[str, ...] = field(default_factory=lambda: ("active",))


def activate(
    versions: Sequence[ListVersion], city: str, level: str, start: datetime, end: datetime
) -> Activation:
    """Switch on the version in force at ``start`` for the warning window (§1.5, §2.5 step 1)."""
    if level not in LEVELS:
        raise ValueError(f"unknown warning level {level!r}")
    if end <= start:
        raise ValueError("a warning window must end after it starts")
    own = [v for v in versions if v.city == city]
    version = version_in_force(own, start)
    grades = {r.uscc: grade_at(r.grades, start) for r in version.records if not r.closed}
    return Activation(city, level, start, end, version.version, grades)


def advance(activation: Activation, to: str) -> Activation:
    """Move an activation along ``active → ended → checked`` (or ``active → cancelled``)."""
    if to not in _TRANSITIONS.get(activation.state, ()):
        raise ValueError(f"cannot go from {activation.state!r} to {to!r}")
    return replace(activation, state=to, history=(*activation.history, to))


def reconcile(
    in_force: Activation | None, new: Activation
) -> tuple[Activation | None, Activation | None]:
    """What a new warning does to the activation in force for the same city (one warning at a
    time per city): returns ``(in_force changed, new to switch on)``, ``None`` where nothing is
    stored.

    Upgrades and downgrades follow the issue procedure (升级/降级, consultation_and_cases.md
    §1.1; emergency.md §1.1): at another level the warning in force ends when the new one
    starts, so each level's hours are checked against that level's measures; a new level
    from the very start replaces it (cancelled). At the same level a longer window extends
    the one in force (延长) and a window inside it changes nothing. ``in_force`` is only
    considered while ``active`` and overlapping ``new``.
    """
    overlaps = (
        in_force is not None
        and in_force.state == "active"
        and new.start < in_force.end
        and in_force.start < new.end
    )
    if in_force is None or not overlaps:
        return None, new
    if new.level == in_force.level:
        return (replace(in_force, end=new.end), None) if new.end > in_force.end else (None, None)
    if new.start <= in_force.start:
        return advance(in_force, "cancelled"), new
    return replace(in_force, end=new.start), new


def lift(in_force: Activation, at: datetime) -> Activation | None:
    """A warning lifted at ``at`` (解除): the activation in force ends there, or is cancelled
    when lifted before it started; ``None`` when it was no longer active or had ended by then."""
    if in_force.state != "active" or at >= in_force.end:
        return None
    return advance(in_force, "cancelled") if at <= in_force.start else replace(in_force, end=at)


@dataclass(frozen=True)
class Finding:
    """An open finding for the supervision workflow: who owns it and why (§2.4, §2.5 step 5)."""

    uscc: str
    outlet: str
    kind: str
    owner: str
    reasons: tuple[str, ...]


def open_findings(
    verdicts: Sequence[Mapping[str, Any]], owners: Mapping[str, str]
) -> list[Finding]:
    """Findings for every non-compliant or insufficient-data verdict; the owner is the district
    bureau of the enterprise (``owners``: USCC → owner), else the city bureau."""
    found = []
    for v in verdicts:
        if v["verdict"] in ("non_compliant", "insufficient_data"):
            owner = owners.get(str(v["uscc"]), "city")
            reasons = tuple(str(r) for r in v.get("reasons", ()))
            found.append(
                Finding(str(v["uscc"]), str(v["outlet"]), str(v["verdict"]), owner, reasons)
            )
    return found
