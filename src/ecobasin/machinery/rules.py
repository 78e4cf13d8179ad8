"""The rule engine of checks C1–C11 (nonroad brief A9); every threshold from ``rules.toml``.

:func:`run_checks` takes a :class:`Snapshot` of the registry (plain records, no database) and
the instant of the check, and returns one :class:`Finding` per firing: the rule, the machine (its
code as seen), the evidence and the reason a person reads. A finding can open a rectification case
(its ``violation`` type follows brief A5). Each rule is a function of its own (``check_c1`` …).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from ecobasin.machinery.codes import disclosure_stage, normalise_code
from ecobasin.machinery.smoke import smoke_limit
from ecobasin.machinery.stages import STAGE_LABELS, effective_stage, inferred_stage, meets
from ecobasin.machinery.tables import MachineryRules, machinery_rules
from ecobasin.machinery.zones import Zone, zones_at

__all__ = [
    "RULES",
    "WARNING_LEVELS",
    "Finding",
    "Inspection",
    "Machine",
    "Ping",
    "Presence",
    "Snapshot",
    "Violation",
    "run_checks",
]

#: Checks, with their bilingual titles and the violation type a case files them under (A5).
RULES: dict[str, tuple[str, str]] = {
    "C1": ("未登记 registration", "UNREGISTERED"),
    "C2": ("30日内登记 30-day registration", "UNREGISTERED"),
    "C3": ("环保标牌 label", "LABEL_MISSING"),
    "C4": ("信息一致性 data consistency", "DATA_MISMATCH"),
    "C5": ("烟度限值 smoke limit", "SMOKE_FAIL"),
    "C6": ("禁用区排放阶段 no-use zone stage", "LEZ_STAGE"),
    "C7": ("禁用区烟度Ⅲ类 no-use zone smoke class", "LEZ_SMOKE_CLASS"),
    "C8": ("定位终端 terminal", "TERMINAL_OFFLINE"),
    "C9": ("跨市重复登记 duplicates across cities", "DATA_MISMATCH"),
    "C10": ("整改逾期 follow-up overdue", "FOLLOW_UP"),
    "C11": ("抽测覆盖率 spot-check coverage", "COVERAGE"),
}
#: Heavy-pollution warning levels in rising order (648号).
WARNING_LEVELS = ("blue", "yellow", "orange", "red")


@dataclass(frozen=True)
class Machine:
    """A registered machine with its engine (brief A8)."""

    machine_id: int
    registration_code: str
    issuer_city: int
    registered_at: datetime
    status: str = "active"
    machine_type: str | None = None
    machine_serial: str | None = None
    engine_serial: str | None = None
    manufacture_date: date | None = None
    disclosure_no: str | None = None
    fuel: str = "diesel"
    stage_declared: str | None = None
    stage_verified: str | None = None
    rated_power_kw: float | None = None
    terminal_id: str | None = None
    current_city: int | None = None

    @property
    def code_norm(self) -> str:
        return normalise_code(self.registration_code)

    @property
    def stage(self) -> str:
        """The stage enforcement uses; electric machines are ELEC whatever was declared."""
        if self.fuel == "electric":
            return "ELEC"
        return effective_stage(self.stage_declared, self.stage_verified)


@dataclass(frozen=True)
class Presence:
    """A machine (by the code seen) on a site from ``entered_at`` to ``left_at`` (A6)."""

    code_observed: str
    site_id: str
    city: int
    lon: float
    lat: float
    entered_at: datetime
    left_at: datetime | None = None
    source: str = "gate"

    def on_site(self, at: datetime) -> bool:
        return self.entered_at <= at and (self.left_at is None or at < self.left_at)


@dataclass(frozen=True)
class Inspection:
    """A spot check (监督抽测, A5) as recorded: what was seen and measured."""

    inspection_id: int
    code_observed: str
    city: int
    at: datetime
    agency: str = ""
    site_id: str | None = None
    lon: float | None = None
    lat: float | None = None
    label_present: bool | None = None
    engine_serial_observed: str | None = None
    limit_class: str | None = None
    k_mean: float | None = None  # [m⁻¹]
    ringelmann_grade: int | None = None
    result: str = "not_tested"  # pass, fail, not_tested


@dataclass(frozen=True)
class Ping:
    """A positioning terminal's report [°E, °N]."""

    terminal_id: str
    at: datetime
    lon: float
    lat: float


@dataclass(frozen=True)
class Violation:
    """An open or closed violation with its rectification deadline (A5)."""

    violation_id: int
    machine_code: str
    city: int
    kind: str
    deadline: datetime | None
    closed_at: datetime | None = None


@dataclass
class Snapshot:
    """What the checks read: the shared registry of every city (mutual recognition, A7)."""

    machines: list[Machine] = field(default_factory=list)
    presences: list[Presence] = field(default_factory=list)
    inspections: list[Inspection] = field(default_factory=list)
    pings: list[Ping] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    zones: list[Zone] = field(default_factory=list)
    #: Heavy-pollution warning level in force per city code (blue … red), if any.
    warnings: dict[int, str] = field(default_factory=dict)

    def by_code(self) -> dict[str, list[Machine]]:
        """Active machines by normalised code (any issuer: a code of one city holds in all)."""
        found: dict[str, list[Machine]] = defaultdict(list)
        for machine in self.machines:
            if machine.status == "active":
                found[machine.code_norm].append(machine)
        return found


@dataclass(frozen=True)
class Finding:
    """One firing of a check: rule, machine (code as seen), city, reason and evidence."""

    rule: str
    code: str
    city: int
    reason: str
    evidence: dict[str, Any]
    machine_id: int | None = None

    @property
    def violation_type(self) -> str:
        return RULES[self.rule][1]


def _zone_hits(snapshot: Snapshot, at: datetime) -> Iterable[tuple[Machine, Presence, Zone]]:
    """(machine, presence, zone) for every registered machine on a site inside an active zone."""
    codes = snapshot.by_code()
    for presence in snapshot.presences:
        if not presence.on_site(at):
            continue
        for machine in codes.get(normalise_code(presence.code_observed), [])[:1]:
            for zone in zones_at(snapshot.zones, presence.lon, presence.lat, at):
                if machine.fuel in zone.rule.exempt_fuel or machine.machine_type in (
                    zone.rule.exempt_types
                ):
                    continue
                yield machine, presence, zone


def check_c1(snapshot: Snapshot, at: datetime, rules: MachineryRules) -> list[Finding]:
    """C1: a code seen on a site or in an inspection matches no active machine."""
    codes = snapshot.by_code()
    seen: dict[str, tuple[int, dict[str, Any]]] = {}
    for presence in snapshot.presences:
        if presence.entered_at <= at and normalise_code(presence.code_observed) not in codes:
            seen.setdefault(
                normalise_code(presence.code_observed),
                (presence.city, {"site_id": presence.site_id, "seen_at": presence.entered_at}),
            )
    for inspection in snapshot.inspections:
        if inspection.at <= at and normalise_code(inspection.code_observed) not in codes:
            seen.setdefault(
                normalise_code(inspection.code_observed),
                (inspection.city, {"inspection_id": inspection.inspection_id}),
            )
    return [
        Finding("C1", code, city, f"machine {code} is not registered in any city 未登记", evidence)
        for code, (city, evidence) in seen.items()
        if code
    ]


def check_c2(snapshot: Snapshot, at: datetime, rules: MachineryRules) -> list[Finding]:
    """C2: first sighting more than ``deadline_days`` before registration, or still unregistered
    ``deadline_days`` after it."""
    limit = timedelta(days=rules.registration_deadline_days)
    first: dict[str, Presence] = {}
    for presence in sorted(snapshot.presences, key=lambda p: p.entered_at):
        if presence.entered_at <= at:
            first.setdefault(normalise_code(presence.code_observed), presence)
    codes = snapshot.by_code()
    findings = []
    for code, presence in first.items():
        machines = codes.get(code)
        registered = machines[0].registered_at if machines else None
        late = (registered or at) - presence.entered_at
        if late > limit:
            state = (
                f"registered {late.days} days" if registered else f"unregistered {late.days} days"
            )
            findings.append(
                Finding(
                    "C2",
                    code,
                    presence.city,
                    f"machine {code} first seen {presence.entered_at:%Y-%m-%d} at site "
                    f"{presence.site_id}, {state} later (limit {rules.registration_deadline_days}"
                    " days) 超过30日未登记",
                    {"first_seen": presence.entered_at, "site_id": presence.site_id,
                     "registered_at": registered, "days": late.days},
                    machines[0].machine_id if machines else None,
                )
            )  # fmt: skip
    return findings


def _inspected(snapshot: Snapshot, at: datetime) -> Iterable[tuple[Inspection, Machine]]:
    codes = snapshot.by_code()
    for inspection in snapshot.inspections:
        machines = codes.get(normalise_code(inspection.code_observed))
        if inspection.at <= at and machines:
            yield inspection, machines[0]


def check_c3(snapshot: Snapshot, at: datetime, rules: MachineryRules) -> list[Finding]:
    """C3: the label was missing at an inspection, or the code seen is not the code as issued."""
    findings = []
    for inspection, machine in _inspected(snapshot, at):
        evidence = {"inspection_id": inspection.inspection_id, "agency": inspection.agency}
        if inspection.label_present is False:
            reason = f"label of {machine.registration_code} missing at inspection 未悬挂环保标牌"
        elif inspection.code_observed.strip() != machine.registration_code.strip():
            reason = (
                f"label shows {inspection.code_observed!r}, registered as "
                f"{machine.registration_code!r} 标牌编码与登记不符"
            )
        else:
            continue
        findings.append(
            Finding("C3", machine.code_norm, inspection.city, reason, evidence, machine.machine_id)
        )
    return findings


def check_c4(snapshot: Snapshot, at: datetime, rules: MachineryRules) -> list[Finding]:
    """C4: declared stage ≠ the label's disclosure number, a different engine serial, 国四 made
    before it could exist, a smoke class applied for the wrong power; the inferred stage differing
    from the declared one is a review flag of its own (``review`` in the evidence)."""
    findings = []
    for machine in snapshot.machines:
        if machine.status != "active":
            continue
        label_stage = disclosure_stage(machine.disclosure_no)
        problems = []
        if label_stage and machine.stage_declared and label_stage != machine.stage_declared:
            problems.append(
                f"declared {machine.stage_declared}, disclosure number says {label_stage} "
                "申报阶段与信息公开编号不符"
            )
        made = machine.manufacture_date
        if machine.stage_declared == "G4" and made and made < rules.g4_first_date:
            problems.append(
                f"declared 国四 but made {made} before {rules.g4_first_date} 国四日期不符"
            )
        for problem in problems:
            findings.append(
                Finding("C4", machine.code_norm, machine.current_city or machine.issuer_city,
                        problem, {"disclosure_no": machine.disclosure_no,
                                  "manufacture_date": made}, machine.machine_id)
            )  # fmt: skip
        guess = inferred_stage(made, rules)
        declared = machine.stage_declared
        if (
            guess
            and declared in rules.stage_order
            and guess != declared
            and machine.fuel != "electric"
        ):
            findings.append(
                Finding("C4", machine.code_norm, machine.current_city or machine.issuer_city,
                        f"review: made {made}, which suggests {guess}, declared {declared} "
                        "推断阶段与申报不符（仅供复核）",
                        {"review": True, "stage_inferred": guess}, machine.machine_id)
            )  # fmt: skip
    for inspection, machine in _inspected(snapshot, at):
        observed = inspection.engine_serial_observed
        if observed and machine.engine_serial and observed.strip() != machine.engine_serial.strip():
            findings.append(
                Finding("C4", machine.code_norm, inspection.city,
                        f"engine serial {observed!r} seen, {machine.engine_serial!r} registered "
                        "发动机编号不符", {"inspection_id": inspection.inspection_id},
                        machine.machine_id)
            )  # fmt: skip
    return findings


def check_c5(snapshot: Snapshot, at: datetime, rules: MachineryRules) -> list[Finding]:
    """C5: k mean above the table 1 limit for (class, registered power), or Ringelmann > 1."""
    findings = []
    for inspection, machine in _inspected(snapshot, at):
        if inspection.limit_class is None or machine.rated_power_kw is None:
            continue
        row = smoke_limit(inspection.limit_class, machine.rated_power_kw)
        reasons = []
        if inspection.k_mean is not None and inspection.k_mean > row.k_limit:
            reasons.append(f"k mean {inspection.k_mean:g} m⁻¹ > {row.k_limit:.2f} m⁻¹")
        if (
            inspection.ringelmann_grade is not None
            and inspection.ringelmann_grade > row.ringelmann_max
        ):
            reasons.append(f"Ringelmann {inspection.ringelmann_grade} > {row.ringelmann_max}")
        if reasons:
            findings.append(
                Finding("C5", machine.code_norm, inspection.city,
                        f"{'; '.join(reasons)} (GB 36886-2018 class {inspection.limit_class}, "
                        f"{machine.rated_power_kw:g} kW) 排气烟度超标",
                        {"inspection_id": inspection.inspection_id, "k_limit": row.k_limit,
                         "k_mean": inspection.k_mean, "agency": inspection.agency},
                        machine.machine_id)
            )  # fmt: skip
    return findings


def check_c6(snapshot: Snapshot, at: datetime, rules: MachineryRules) -> list[Finding]:
    """C6: a machine on a site inside an active zone with a stage below the zone's minimum; and,
    during a heavy-pollution warning of its city, below the emergency rule's minimum on any site."""
    findings = []
    for machine, presence, zone in _zone_hits(snapshot, at):
        if not meets(machine.stage, zone.rule.min_stage, rules):
            findings.append(
                Finding("C6", machine.code_norm, zone.city,
                        f"{STAGE_LABELS[machine.stage]} inside zone {zone.name} "
                        f"(needs {STAGE_LABELS[zone.rule.min_stage]}) 禁用区内使用高排放机械",
                        {"zone_id": zone.zone_id, "site_id": presence.site_id,
                         "stage": machine.stage}, machine.machine_id)
            )  # fmt: skip
    findings.extend(_emergency_findings(snapshot, at, rules))
    return findings


def _emergency_findings(snapshot: Snapshot, at: datetime, rules: MachineryRules) -> list[Finding]:
    """The emergency list's mobile-source measure: machines below the emergency minimum stop on
    every site of a city under a warning at or above the configured level."""
    threshold = WARNING_LEVELS.index(rules.emergency_from_level)
    codes = snapshot.by_code()
    findings = []
    for presence in snapshot.presences:
        level = snapshot.warnings.get(presence.city)
        if level is None or WARNING_LEVELS.index(level) < threshold or not presence.on_site(at):
            continue
        for machine in codes.get(normalise_code(presence.code_observed), [])[:1]:
            if not meets(machine.stage, rules.emergency_min_stage, rules):
                findings.append(
                    Finding("C6", machine.code_norm, presence.city,
                            f"{STAGE_LABELS[machine.stage]} on site {presence.site_id} during a "
                            f"{level} warning: stop use 重污染预警期间停止使用",
                            {"site_id": presence.site_id, "warning": level, "emergency": True,
                             "stage": machine.stage}, machine.machine_id)
                )  # fmt: skip
    return findings


def check_c7(snapshot: Snapshot, at: datetime, rules: MachineryRules) -> list[Finding]:
    """C7: in a zone needing Ⅲ类, the last smoke test is missing, too old or above Ⅲ类."""
    max_age = timedelta(days=rules.smoke_max_age_days)
    last: dict[str, Inspection] = {}
    for inspection in sorted(snapshot.inspections, key=lambda i: i.at):
        if inspection.at <= at and inspection.result in ("pass", "fail"):
            last[normalise_code(inspection.code_observed)] = inspection
    findings = []
    for machine, _, zone in _zone_hits(snapshot, at):
        if zone.rule.smoke_class_required != "III" or machine.rated_power_kw is None:
            continue
        test = last.get(machine.code_norm)
        limit = smoke_limit("III", machine.rated_power_kw).k_limit
        if test is None:
            reason = "no smoke test on record 无烟度检测记录"
        elif at - test.at > max_age:
            reason = (
                f"last smoke test {test.at:%Y-%m-%d} is older than {max_age.days} days 检测过期"
            )
        elif test.k_mean is None or test.k_mean > limit:
            reason = f"last k mean {test.k_mean} m⁻¹ is above class III {limit:.2f} m⁻¹ 未达Ⅲ类"
        else:
            continue
        findings.append(
            Finding("C7", machine.code_norm, zone.city, f"zone {zone.name}: {reason}",
                    {"zone_id": zone.zone_id, "inspection_id": test.inspection_id if test else None},
                    machine.machine_id)
        )  # fmt: skip
    return findings


def check_c8(snapshot: Snapshot, at: datetime, rules: MachineryRules) -> list[Finding]:
    """C8: a 国四 37–560 kW machine without a terminal; or on a site in a zone needing an online
    terminal whose last ping is older than the zone's silence limit [h]."""
    findings = []
    for machine in snapshot.machines:
        power = machine.rated_power_kw
        if (machine.status == "active" and machine.stage == "G4" and power is not None
                and rules.terminal_p_min_kw <= power <= rules.terminal_p_max_kw
                and not machine.terminal_id):  # fmt: skip
            findings.append(
                Finding("C8", machine.code_norm, machine.current_city or machine.issuer_city,
                        f"国四 {power:g} kW machine has no remote terminal 国四机械未安装终端",
                        {"rated_power_kw": power}, machine.machine_id)
            )  # fmt: skip
    last_ping: dict[str, datetime] = {}
    for ping in sorted(snapshot.pings, key=lambda p: p.at):
        if ping.at <= at:
            last_ping[ping.terminal_id] = ping.at
    for machine, presence, zone in _zone_hits(snapshot, at):
        if not zone.rule.require_terminal_online:
            continue
        seen = last_ping.get(machine.terminal_id or "")
        silence = timedelta(hours=zone.rule.terminal_max_silence_h)
        if seen is None or at - seen > silence:
            since = f"silent since {seen:%Y-%m-%d %H:%M}" if seen else "never reported"
            findings.append(
                Finding("C8", machine.code_norm, zone.city,
                        f"terminal {machine.terminal_id or '(none)'} {since} inside zone "
                        f"{zone.name} (limit {zone.rule.terminal_max_silence_h:g} h) 终端不在线",
                        {"zone_id": zone.zone_id, "site_id": presence.site_id,
                         "last_ping": seen}, machine.machine_id)
            )  # fmt: skip
    return findings


def check_c9(snapshot: Snapshot, at: datetime, rules: MachineryRules) -> list[Finding]:
    """C9: the same engine + machine serial under two codes, or one code from two issuers."""
    by_serials: dict[tuple[str, str], list[Machine]] = defaultdict(list)
    by_code: dict[str, list[Machine]] = defaultdict(list)
    for machine in snapshot.machines:
        if machine.status != "active":
            continue
        if machine.engine_serial and machine.machine_serial:
            key = (normalise_code(machine.engine_serial), normalise_code(machine.machine_serial))
            by_serials[key].append(machine)
        by_code[machine.code_norm].append(machine)
    findings = []
    for (engine, serial), group in by_serials.items():
        codes = sorted({m.code_norm for m in group})
        if len(codes) > 1:
            findings.append(_duplicate(group, f"engine {engine} / machine {serial} registered "
                                       f"under {', '.join(codes)} 同一机械重复登记"))  # fmt: skip
    for code, group in by_code.items():
        issuers = sorted({m.issuer_city for m in group})
        if len(issuers) > 1:
            findings.append(_duplicate(group, f"code {code} issued by {issuers} 编码跨市重复"))
    return findings


def _duplicate(group: list[Machine], reason: str) -> Finding:
    first = min(group, key=lambda m: m.machine_id)
    return Finding(
        "C9", first.code_norm, first.issuer_city, reason,
        {"machine_ids": sorted(m.machine_id for m in group),
         "cities": sorted({m.issuer_city for m in group})}, first.machine_id,
    )  # fmt: skip


def check_c10(snapshot: Snapshot, at: datetime, rules: MachineryRules) -> list[Finding]:
    """C10: a violation past its deadline (plus grace days) with no closing inspection."""
    grace = timedelta(days=rules.follow_up_grace_days)
    return [
        Finding("C10", normalise_code(v.machine_code), v.city,
                f"violation {v.violation_id} ({v.kind}) past its deadline {v.deadline:%Y-%m-%d} "
                "without a closing inspection 整改逾期", {"violation_id": v.violation_id,
                                                         "deadline": v.deadline})
        for v in snapshot.violations
        if v.closed_at is None and v.deadline is not None and at > v.deadline + grace
    ]  # fmt: skip


def check_c11(snapshot: Snapshot, at: datetime, rules: MachineryRules) -> list[Finding]:
    """C11: per city over the calendar year of ``at``, inspected ÷ active machines on sites below
    the configured rate."""
    start = at.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    on_sites: dict[int, set[str]] = defaultdict(set)
    for p in snapshot.presences:
        if p.entered_at <= at and (p.left_at is None or p.left_at > start):
            on_sites[p.city].add(normalise_code(p.code_observed))
    inspected: dict[int, set[str]] = defaultdict(set)
    for i in snapshot.inspections:
        if start <= i.at <= at and i.result != "not_tested":
            inspected[i.city].add(normalise_code(i.code_observed))
    findings = []
    for city, machines in sorted(on_sites.items()):
        rate = rules.coverage_rate(city, at.year)
        share = len(inspected[city] & machines) / len(machines)
        if share < rate:
            findings.append(
                Finding("C11", "", city,
                        f"city {city} tested {len(inspected[city] & machines)} of "
                        f"{len(machines)} machines on sites in {at.year} ({share:.1%} < "
                        f"{rate:.0%}) 抽测覆盖率不足", {"inspected": len(inspected[city] & machines),
                                                    "on_sites": len(machines), "rate": rate})
            )  # fmt: skip
    return findings


CHECKS: dict[str, Callable[[Snapshot, datetime, MachineryRules], list[Finding]]] = {
    "C1": check_c1, "C2": check_c2, "C3": check_c3, "C4": check_c4, "C5": check_c5,
    "C6": check_c6, "C7": check_c7, "C8": check_c8, "C9": check_c9, "C10": check_c10,
    "C11": check_c11,
}  # fmt: skip


def run_checks(
    snapshot: Snapshot,
    at: datetime,
    only: Iterable[str] | None = None,
    rules: MachineryRules | None = None,
) -> list[Finding]:
    """Every finding of checks C1–C11 (or ``only`` those) at ``at`` (timezone-aware)."""
    if at.tzinfo is None:
        raise ValueError("the check instant needs a timezone")
    rules = rules or machinery_rules()
    selected = list(only) if only else list(CHECKS)
    unknown = [rule for rule in selected if rule not in CHECKS]
    if unknown:
        raise ValueError(f"unknown check {', '.join(unknown)}; expected C1–C11")
    return [finding for rule in selected for finding in CHECKS[rule](snapshot, at, rules)]
