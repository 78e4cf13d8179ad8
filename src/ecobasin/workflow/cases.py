"""Inspection problems and their rectification (督察整改) as a pure state machine.

The hierarchy, roles and task machine are those of the team brief consultation_and_cases.md
§2.2: a **task** goes registered → transferred (交办) → accepted (签收) or disputed → plan_submitted
→ in_progress (progress reports, extensions) → acceptance_requested → under_check → public_notice
(公示, an objection window of 10 working days, Puyang 2023) → closed (销号); a closed task reopens
on a rebound (反弹) with ``repeat_count + 1``; a long-term task may be ``sustaining``. A
**petition** (信访, §2.2 "Petition cases") runs the shorter machine received → transferred →
verified (属实 / 部分属实 / 不属实) → handled / stage_handled → published → closed, and may be promoted
to a task. A **joint** case (§2.2 "Joint cases": 同时督察、同步交办、同标准整改) is created by the joint
office, transferred to every city at once when every side has signed, holds one closure standard
its children inherit, and closes when every child is closed and every side has signed.

:func:`decide` is the table: (state, action, actor role, facts) → the new state or a
:class:`Refusal` naming the reason in Chinese and English. :func:`apply` runs it on a
:class:`Case`, sets the fields and timers (working days, :mod:`ecobasin.catalog.workdays`) and appends one
:class:`Entry` to the audit trail. Nothing here reads a clock or a database.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from importlib import resources
from typing import Any

from ecobasin.catalog.workdays import WorkCalendar

__all__ = [
    "ACCEPTANCE_CRITERIA",
    "KINDS",
    "PUBLIC_FIELDS",
    "ROLES",
    "STATES",
    "TRANSITIONS",
    "Acceptance",
    "Case",
    "CaseError",
    "CaseRules",
    "Category",
    "Entry",
    "Evidence",
    "Link",
    "Measure",
    "Refusal",
    "SiteItem",
    "add_evidence",
    "apply",
    "categories",
    "checklist_missing",
    "decide",
    "due_status",
    "evidence_kinds",
    "load_rules",
    "mark_overdue",
    "new_case",
    "open_status",
    "source_types",
]

CST = timezone(timedelta(hours=8))
KINDS = ("task", "petition", "joint")
#: The actor roles of §2.2 (``city_office``: a city's 督察整改 office; ``province``: the provincial
#: office, also the acceptance unit of province-level items; ``public``: anyone).
ROLES = (
    "supervision_office",
    "lead_unit",
    "co_unit",
    "city_office",
    "joint_office",
    "province",
    "public",
)
#: Anhui 2019 办法 five closure criteria (§2.1 "Verification and closure").
ACCEPTANCE_CRITERIA = (
    "measures_done",  # 整改措施全部完成
    "violations_punished",  # 违法行为依法查处
    "effect_meets_norms",  # 整改效果符合法律和技术规范
    "similar_fixed",  # 举一反三
    "mechanism_in_place",  # 建立长效机制
)
#: Fields of a case the public disclosure may show (Open311 view; never personal data).
PUBLIC_FIELDS = (
    "case_no",
    "title",
    "category",
    "city_code",
    "location_text",
    "lon",
    "lat",
    "state",
    "lead_unit",
    "registered_at",
    "rectify_due",
    "notice_end",
    "updated_at",
)

# (kind, from state or "" for creation, action) → (to state, who, required facts)
# "acceptance_unit" resolves to ``province`` or the case's ``city_office`` by acceptance level.
TRANSITIONS: dict[tuple[str, str, str], tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    ("task", "", "register"): (
        "registered",
        ("supervision_office", "joint_office"),  # the joint office: a joint case's children
        ("source_type", "title", "problem_text", "category", "city_code"),
    ),
    ("task", "registered", "transfer"): (
        "transferred",
        ("supervision_office", "joint_office"),
        ("lead_unit", "acceptance_level", "rectify_due", "term_type"),
    ),
    ("task", "transferred", "accept"): ("accepted", ("lead_unit",), ("contact",)),
    ("task", "transferred", "dispute"): ("disputed", ("lead_unit",), ("reason",)),
    ("task", "disputed", "reassign"): ("transferred", ("supervision_office",), ("lead_unit",)),
    ("task", "disputed", "confirm"): ("transferred", ("supervision_office",), ("reason",)),
    ("task", "accepted", "submit_plan"): ("plan_submitted", ("lead_unit",), ("measures", "target")),
    ("task", "plan_submitted", "approve_plan"): ("in_progress", ("supervision_office",), ()),
    ("task", "plan_submitted", "return_plan"): ("accepted", ("supervision_office",), ("reason",)),
    ("task", "in_progress", "report_progress"): (
        "in_progress",
        ("lead_unit", "co_unit"),
        ("narrative",),
    ),
    ("task", "in_progress", "request_extension"): (
        "extension_pending",
        ("lead_unit",),
        ("reason", "new_due"),
    ),
    ("task", "extension_pending", "grant"): ("in_progress", ("supervision_office",), ()),
    ("task", "extension_pending", "deny"): ("in_progress", ("supervision_office",), ("reason",)),
    ("task", "in_progress", "request_acceptance"): (
        "acceptance_requested",
        ("lead_unit",),
        ("self_check",),
    ),
    ("task", "acceptance_requested", "start_check"): (
        "under_check",
        ("acceptance_unit",),
        ("team", "check_date"),
    ),
    ("task", "under_check", "pass"): (
        "public_notice",
        ("acceptance_unit",),
        ("opinion", "criteria", "onsite_record", "signatures"),
    ),
    ("task", "under_check", "fail"): (
        "in_progress",
        ("acceptance_unit",),
        ("deficiencies", "rework_due"),
    ),
    ("task", "public_notice", "objection"): ("under_check", ROLES, ("objection",)),
    ("task", "public_notice", "close"): ("closed", ("acceptance_unit",), ()),
    ("task", "in_progress", "stage_complete"): ("sustaining", ("acceptance_unit",), ("opinion",)),
    # the final target of a long-term task is accepted like any other (check, notice, close)
    ("task", "sustaining", "request_acceptance"): (
        "acceptance_requested",
        ("lead_unit",),
        ("self_check",),
    ),
    ("task", "closed", "rebound"): (
        "in_progress",
        ("supervision_office", "province"),
        ("reason",),
    ),
    # petitions 信访 (§2.2 "Petition cases")
    ("petition", "", "register"): (
        "received",
        ("supervision_office",),
        ("source_type", "title", "problem_text", "category", "city_code"),
    ),
    ("petition", "received", "transfer"): (
        "transferred",
        ("supervision_office",),
        ("lead_unit", "batch"),
    ),
    ("petition", "transferred", "verify"): ("verified", ("lead_unit",), ("verdict",)),
    ("petition", "verified", "handle"): ("handled", ("lead_unit",), ("narrative",)),
    ("petition", "verified", "stage_handle"): ("stage_handled", ("lead_unit",), ("narrative",)),
    ("petition", "handled", "publish"): ("published", ("supervision_office",), ()),
    ("petition", "stage_handled", "publish"): ("published", ("supervision_office",), ()),
    ("petition", "published", "revisit_ok"): ("closed", ("supervision_office",), ()),
    ("petition", "published", "revisit_not_ok"): (
        "transferred",
        ("supervision_office",),
        ("reason",),
    ),
    ("petition", "stage_handled", "promote"): ("stage_handled", ("supervision_office",), ()),
    ("petition", "published", "promote"): ("published", ("supervision_office",), ()),
    # joint cases 联动督察 (§2.2 "Joint cases")
    ("joint", "", "register"): (
        "registered",
        ("joint_office",),
        ("source_type", "title", "problem_text", "category", "jurisdictions", "standard"),
    ),
    ("joint", "registered", "sign_transfer"): ("registered", ("joint_office",), ()),
    ("joint", "registered", "transfer"): ("transferred", ("joint_office",), ("rectify_due",)),
    ("joint", "transferred", "sign_closure"): ("transferred", ("joint_office",), ()),
    ("joint", "transferred", "close"): ("closed", ("joint_office",), ()),
}
#: Every state of each kind, in order.
STATES: dict[str, tuple[str, ...]] = {
    kind: tuple(
        dict.fromkeys(
            s
            for (k, frm, _), (to, _, _) in TRANSITIONS.items()
            if k == kind
            for s in (frm, to)
            if s
        )
    )
    for kind in KINDS
}
#: Closed-type states (Open311 ``closed``); every other state is ``open`` (§3.1).
_CLOSED = frozenset({"closed"})


@dataclass(frozen=True)
class Refusal:
    """Why an action is refused (Chinese and English)."""

    reason_zh: str
    reason_en: str


class CaseError(ValueError):
    """A refused action, naming the case and the reason."""

    def __init__(self, record: str, refusal: Refusal) -> None:
        super().__init__(f"{record}: {refusal.reason_en} ({refusal.reason_zh})")
        self.record, self.refusal = record, refusal


@dataclass(frozen=True)
class Category:
    """A campaign category with its lead departments and evidence checklist (configuration)."""

    code: str
    zh: str
    en: str
    action: str
    lead: tuple[str, ...]
    subtypes: tuple[str, ...]
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class CaseRules:
    """Timers [working days] and attachment limits (``catalog/data/cases/rules.toml``)."""

    source: str
    plan_due_wd: int
    notice_wd: int
    due_soon_wd: int
    petition_handle_wd: int
    max_attachment_bytes: int
    allowed_media: tuple[str, ...]
    thumbnail_px: int


def _data(name: str) -> dict[str, Any]:
    path = resources.files("ecobasin").joinpath("catalog", "data", "cases", name)
    return tomllib.loads(path.read_text(encoding="utf-8"))


@functools.cache
def load_rules() -> CaseRules:
    """The case timers and limits."""
    raw = _data("rules.toml")
    return CaseRules(
        source=raw["source"],
        plan_due_wd=raw["plan_due_wd"],
        notice_wd=raw["notice_wd"],
        due_soon_wd=raw["due_soon_wd"],
        petition_handle_wd=raw["petition_handle_wd"],
        max_attachment_bytes=raw["max_attachment_bytes"],
        allowed_media=tuple(raw["allowed_media"]),
        thumbnail_px=raw["thumbnail_px"],
    )


@functools.cache
def categories() -> dict[str, Category]:
    """The categories (six campaigns and ``other``) by code."""
    raw = _data("categories.toml")["categories"]
    return {
        code: Category(
            code,
            c["zh"],
            c["en"],
            c["action"],
            tuple(c["lead"]),
            tuple(c["subtypes"]),
            tuple(c["evidence"]),
        )
        for code, c in raw.items()
    }


@functools.cache
def evidence_kinds() -> dict[str, dict[str, str]]:
    """Evidence kinds with their bilingual labels."""
    return dict(_data("categories.toml")["evidence_kinds"])


@functools.cache
def source_types() -> dict[str, dict[str, str]]:
    """Problem sources (督察反馈, 信访, …) with labels and case-number prefixes."""
    return dict(_data("categories.toml")["source_types"])


@dataclass(frozen=True)
class Measure:
    """One measure of a plan: owner, due day, deliverable, percent done [%]."""

    text: str
    owner: str
    due: date
    deliverable: str
    percent: int = 0


@dataclass(frozen=True)
class SiteItem:
    """A point or enterprise under a task (点位; Liaoning/Panjin closed task by task per point):
    the task is accepted only when every site item is done."""

    name: str
    location_text: str = ""
    enterprise_id: str = ""
    done: bool = False


@dataclass(frozen=True)
class Evidence:
    """An attachment's metadata (the bytes live content-addressed in the store)."""

    sha256: str
    kind: str
    phase: str  # before, during, after
    name: str
    media_type: str
    size: int  # [bytes]
    uploader: str
    at: datetime


@dataclass(frozen=True)
class Link:
    """A link to a record elsewhere (an alarm, a finding, a complaint, a section), never a copy."""

    source_kind: str
    source_id: str
    url: str
    note: str = ""


@dataclass(frozen=True)
class Acceptance:
    """An issued acceptance opinion (验收意见): never edited once issued."""

    opinion: str
    criteria: tuple[tuple[str, bool, str], ...]  # (criterion, passed, note)
    onsite_record: str
    signatures: tuple[str, ...]
    team: str
    check_date: date
    issued_by: str
    issued_at: datetime


@dataclass(frozen=True)
class Entry:
    """One audit row: who did what, when, why, and which fields changed (before, after)."""

    event: str
    from_state: str
    to_state: str
    actor: str
    role: str
    at: datetime
    reason: str
    changed: dict[str, Any]


@dataclass(frozen=True)
class Case:
    """A rectification task, a petition or a joint case, as the machine leaves it."""

    case_id: str
    kind: str
    state: str
    title: str
    problem_text: str
    source_type: str
    category: str
    city_code: int | None
    registered_at: datetime
    updated_at: datetime
    inspection: str = ""  # the round and batch: 省级第三轮第四批, 川渝联动督察2023 (§2.2 hierarchy)
    feedback_ref: str = ""  # the item of the feedback report the task comes from
    batch: str = ""
    subtype: str = ""
    medium: str = ""
    location_text: str = ""
    lon: float | None = None
    lat: float | None = None
    enterprise_id: str = ""
    severity: str = ""
    lead_unit: str = ""
    co_units: tuple[str, ...] = ()
    acceptance_level: str = "city"  # city or province
    term_type: str = ""
    contact: str = ""
    plan_due: date | None = None
    rectify_due: tuple[date, ...] = ()  # versioned: first is the original, last the current
    notice_end: date | None = None
    provisional_due: bool = False
    paused_on: date | None = None
    measures: tuple[Measure, ...] = ()
    site_items: tuple[SiteItem, ...] = ()
    target: str = ""
    mechanism: str = ""
    percent: int = 0
    evidence: tuple[Evidence, ...] = ()
    acceptances: tuple[Acceptance, ...] = ()
    objections_open: int = 0
    pending_extension: date | None = None
    repeat_count: int = 0
    verdict: str = ""
    promoted_to: str = ""
    parent_id: str = ""
    jurisdictions: tuple[int, ...] = ()
    standard: str = ""
    signatures: tuple[tuple[str, int], ...] = ()  # (stage, city) of joint co-signatures
    links: tuple[Link, ...] = ()
    audit: tuple[Entry, ...] = field(default=())

    def signed(self, stage: str) -> frozenset[int]:
        """The cities whose joint office signed ``stage`` (transfer or closure)."""
        return frozenset(c for s, c in self.signatures if s == stage)


def _need(facts: Mapping[str, Any], keys: tuple[str, ...]) -> Refusal | None:
    missing = [k for k in keys if facts.get(k) in (None, "", (), [], {})]
    if missing:
        return Refusal(f"缺少必填项：{', '.join(missing)}", f"missing {', '.join(missing)}")
    return None


def decide(
    state: str, action: str, role: str, facts: Mapping[str, Any], kind: str = "task"
) -> str | Refusal:
    """The state after ``action`` by ``role``, or the refusal (the transition table and guards).

    ``state`` is ``""`` for a case not yet registered. ``role`` is the actor's role *on this
    case* (``acceptance_unit`` already resolved to ``province`` or ``city_office``). ``facts``
    carry the action's fields and what :func:`apply` derives from the case (``notice_elapsed``,
    ``objections_open``, ``checklist_missing``, ``measures_open``, ``children_open``,
    ``unsigned``, ``acceptance_role``).
    """
    row = TRANSITIONS.get((kind, state, action))
    if row is None:
        return Refusal(
            f"状态“{state or '未登记'}”下不能执行“{action}”",
            f"{action} is not possible in state {state or 'unregistered'} of a {kind}",
        )
    to, who, required = row
    allowed = {
        facts.get("acceptance_role", "city_office") if w == "acceptance_unit" else w for w in who
    }
    if role not in allowed:
        return Refusal(
            f"角色“{role}”无权执行“{action}”（需要：{'、'.join(sorted(allowed))}）",
            f"role {role} may not {action} (needs {', '.join(sorted(allowed))})",
        )
    refused = _need(facts, required)
    return refused if refused is not None else _guard(kind, state, action, facts) or to


def _guard(kind: str, state: str, action: str, facts: Mapping[str, Any]) -> Refusal | None:
    """The guards beyond required fields (§2.2 table, "guard" column)."""
    if action == "request_acceptance":
        if facts.get("measures_open"):
            return Refusal("仍有整改措施未完成", f"measures not done: {facts['measures_open']}")
        if facts.get("checklist_missing"):
            missing = ", ".join(facts["checklist_missing"])
            return Refusal(f"证据清单不全：{missing}", f"evidence checklist incomplete: {missing}")
    if action == "pass":
        failed = [c for c, ok, _ in facts["criteria"] if not ok]
        named = {c for c, _, _ in facts["criteria"]}
        if failed or not set(ACCEPTANCE_CRITERIA) <= named:
            return Refusal(
                "五项销号标准未全部通过",
                f"the five closure criteria are not all met: {failed or sorted(set(ACCEPTANCE_CRITERIA) - named)}",
            )
    if action == "close" and kind == "task" and state == "public_notice":
        if not facts.get("notice_elapsed"):
            return Refusal("公示期未满", "the public-notice window has not elapsed")
        if facts.get("objections_open"):
            return Refusal("公示期内异议未处理", "an objection of the notice period is open")
    if action == "edit_acceptance":
        return Refusal("已出具的验收意见不能修改", "an issued acceptance is never edited")
    if kind == "joint" and action == "transfer" and facts.get("unsigned"):
        return Refusal(
            f"尚有城市未会签交办：{facts['unsigned']}",
            f"not every side signed the transfer: {facts['unsigned']}",
        )
    if kind == "joint" and action == "close":
        if facts.get("children_open"):
            return Refusal(
                f"各方任务尚未全部销号：{facts['children_open']}",
                f"children not closed: {facts['children_open']}",
            )
        if facts.get("unsigned"):
            return Refusal(
                f"尚有城市未会签销号：{facts['unsigned']}",
                f"not every side signed the closure: {facts['unsigned']}",
            )
    if action == "verify" and facts["verdict"] not in ("属实", "部分属实", "不属实"):
        return Refusal(
            "核查结论须为属实、部分属实或不属实", "verdict must be 属实, 部分属实 or 不属实"
        )
    return None


def checklist_missing(case: Case) -> tuple[str, ...]:
    """Evidence kinds of the category's checklist the case does not hold yet (§2.2 "Evidence")."""
    category = categories().get(case.category) or categories()["other"]
    held = {e.kind for e in case.evidence}
    return tuple(k for k in category.evidence if k not in held)


def _derived(case: Case, today: date, facts: Mapping[str, Any]) -> dict[str, Any]:
    """Facts computed from the case (callers cannot override them)."""
    open_measures = [m.text for m in case.measures if m.percent < 100]
    stage = "closure" if case.state == "transferred" else "transfer"
    return {
        "acceptance_role": "province" if case.acceptance_level == "province" else "city_office",
        "notice_elapsed": case.notice_end is not None and today > case.notice_end,
        "objections_open": case.objections_open,
        "checklist_missing": checklist_missing(case),
        "measures_open": ", ".join(
            [*open_measures, *(f"site {i.name}" for i in case.site_items if not i.done)]
        ),
        "unsigned": ", ".join(str(c) for c in case.jurisdictions if c not in case.signed(stage)),
        "children_open": facts.get("children_open", ""),
    }


def new_case(case_id: str, kind: str, at: datetime) -> Case:
    """An unregistered case shell (state ``""``) for :func:`apply` with ``register``."""
    if kind not in KINDS:
        raise ValueError(f"unknown case kind {kind!r}; expected one of {KINDS}")
    return Case(case_id, kind, "", "", "", "", "", None, at, at)


def apply(
    case: Case,
    action: str,
    actor: str,
    role: str,
    facts: Mapping[str, Any],
    at: datetime,
    calendar: WorkCalendar,
    rules: CaseRules | None = None,
) -> Case:
    """``case`` after ``action`` (one more audit :class:`Entry`), or :class:`CaseError`.

    ``at`` is the instant of the action (aware); deadlines are CST calendar days counted in
    working days of ``calendar``.
    """
    rules = rules or load_rules()
    today = at.astimezone(CST).date()
    merged = {**facts, **_derived(case, today, facts)}
    if action == "edit_acceptance" and case.acceptances:
        raise CaseError(
            case.case_id,
            Refusal("已出具的验收意见不能修改", "an issued acceptance is never edited"),
        )
    outcome = decide(case.state, action, role, merged, case.kind)
    if isinstance(outcome, Refusal):
        raise CaseError(case.case_id, outcome)
    changes = _effects(case, action, actor, merged, at, today, calendar, rules)
    before = {k: _plain(getattr(case, k)) for k in changes if k not in ("audit", "evidence")}
    after = {k: _plain(v) for k, v in changes.items() if k not in ("audit", "evidence")}
    entry = Entry(
        action,
        case.state,
        outcome,
        actor,
        role,
        at,
        str(facts.get("reason", "")),
        {"before": before, "after": after},
    )
    return replace(case, **changes, state=outcome, updated_at=at, audit=(*case.audit, entry))


def _plain(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {k: _plain(getattr(value, k)) for k in value.__dataclass_fields__}
    return value


def _effects(
    case: Case,
    action: str,
    actor: str,
    f: Mapping[str, Any],
    at: datetime,
    today: date,
    cal: WorkCalendar,
    rules: CaseRules,
) -> dict[str, Any]:
    """The fields an action sets (timers in working days)."""
    if action == "register":
        keys = (
            "title", "problem_text", "source_type", "category", "inspection", "batch", "subtype",
            "medium", "location_text", "lon", "lat", "enterprise_id", "severity", "standard",
            "feedback_ref",
        )  # fmt: skip
        out: dict[str, Any] = {k: f[k] for k in keys if k in f}
        out["city_code"] = f.get("city_code")
        out["jurisdictions"] = tuple(f.get("jurisdictions", ()))
        out["registered_at"] = at
        out["links"] = (*case.links, *f.get("links", ()))
        out["parent_id"] = f.get("parent_id", "")
        out["site_items"] = tuple(
            i if isinstance(i, SiteItem) else SiteItem(**i) for i in f.get("site_items", ())
        )
        return out
    if action == "transfer":
        if case.kind == "petition":
            due = cal.add(today, rules.petition_handle_wd)
            return {
                "lead_unit": f["lead_unit"],
                "batch": f["batch"],
                "plan_due": due.day,
                "provisional_due": due.provisional,
            }
        plan = cal.add(today, int(f.get("plan_wd", rules.plan_due_wd)))
        return {
            "lead_unit": f.get("lead_unit", case.lead_unit),
            "co_units": tuple(f.get("co_units", case.co_units)),
            "acceptance_level": f.get("acceptance_level", case.acceptance_level),
            "term_type": f.get("term_type", case.term_type),
            "plan_due": plan.day,
            "provisional_due": plan.provisional,
            "rectify_due": (f["rectify_due"],),
        }
    if action == "accept":
        return {"contact": f["contact"]}
    if action == "dispute":
        return {"paused_on": today}
    if action in ("reassign", "confirm"):
        # the clock stops while disputed (§2.2 "Pause rules"): the plan due moves by the pause
        paused = cal.between(case.paused_on or today, today)
        moved = cal.add(case.plan_due, paused).day if case.plan_due else None
        out = {"paused_on": None, "plan_due": moved}
        if action == "reassign":
            out["lead_unit"] = f["lead_unit"]
        return out
    if action == "submit_plan":
        measures = tuple(m if isinstance(m, Measure) else Measure(**m) for m in f["measures"])
        return {"measures": measures, "target": f["target"], "mechanism": f.get("mechanism", "")}
    if action == "report_progress":
        return _progress(case, f)
    if action == "request_extension":
        return {"pending_extension": f["new_due"]}
    if action == "grant":
        # versioned: the original stays first for the 逾期 statistics
        return {
            "rectify_due": (*case.rectify_due, case.pending_extension),
            "pending_extension": None,
        }
    if action == "deny":
        return {"pending_extension": None}
    if action == "pass":
        acceptance = Acceptance(
            f["opinion"],
            tuple((c, bool(ok), note) for c, ok, note in f["criteria"]),
            f["onsite_record"],
            tuple(f["signatures"]),
            str(f.get("team", "")),
            f.get("check_date") or today,
            actor,
            at,
        )
        notice = cal.add(today, rules.notice_wd)
        return {
            "acceptances": (*case.acceptances, acceptance),
            "notice_end": notice.day,
            "objections_open": 0,
        }
    if action == "fail":
        return {"rectify_due": (*case.rectify_due, f["rework_due"]), "notice_end": None}
    if action == "objection":
        return {"objections_open": case.objections_open + 1, "notice_end": None}
    if action == "start_check":
        return {"objections_open": 0}
    if action == "rebound":
        return {
            "repeat_count": case.repeat_count + 1,
            "notice_end": None,
            "links": (*case.links, *f.get("links", ())),
        }
    if action == "verify":
        return {"verdict": f["verdict"]}
    if action == "promote":
        return {"promoted_to": str(f.get("promoted_to", ""))}
    if action in ("sign_transfer", "sign_closure"):
        return _sign(case, action, f)
    return {}


def _progress(case: Case, f: Mapping[str, Any]) -> dict[str, Any]:
    """Percent per measure (``percents``: {measure index: percent}), and the case's mean."""
    percents = {int(k): int(v) for k, v in dict(f.get("percents", {})).items()}
    for index, value in percents.items():
        if not 0 <= value <= 100 or not 0 <= index < len(case.measures):
            raise CaseError(
                case.case_id,
                Refusal("进度百分比或措施编号无效", f"bad measure {index} or percent {value}"),
            )
    measures = tuple(
        replace(m, percent=percents.get(i, m.percent)) for i, m in enumerate(case.measures)
    )
    mean = round(sum(m.percent for m in measures) / len(measures)) if measures else case.percent
    done = set(f.get("sites_done", ()))
    unknown = done - {i.name for i in case.site_items}
    if unknown:
        raise CaseError(
            case.case_id, Refusal(f"无此点位：{sorted(unknown)}", f"no site item {sorted(unknown)}")
        )
    sites = tuple(replace(i, done=i.done or i.name in done) for i in case.site_items)
    return {"measures": measures, "percent": mean, "site_items": sites}


def _sign(case: Case, action: str, f: Mapping[str, Any]) -> dict[str, Any]:
    stage = "transfer" if action == "sign_transfer" else "closure"
    city = int(f["city"])
    if city not in case.jurisdictions:
        raise CaseError(
            case.case_id,
            Refusal(f"{city}不是本案涉及城市", f"{city} is not a side of this joint case"),
        )
    if city in case.signed(stage):
        return {}
    return {"signatures": (*case.signatures, (stage, city))}


def add_evidence(case: Case, item: Evidence, role: str) -> Case:
    """``case`` holding one more piece of evidence, audited (the state does not change).

    Evidence is added while the case is open (not after ``closed``), never removed.
    """
    if item.kind not in evidence_kinds():
        raise CaseError(
            case.case_id, Refusal(f"未知证据类型{item.kind}", f"unknown evidence kind {item.kind}")
        )
    if item.phase not in ("before", "during", "after"):
        raise CaseError(
            case.case_id, Refusal("阶段须为整改前/中/后", "phase must be before, during or after")
        )
    if case.state in ("", "closed"):
        raise CaseError(
            case.case_id,
            Refusal(
                "已销号或未登记的案件不能添加证据",
                f"no evidence on a {case.state or 'unregistered'} case",
            ),
        )
    entry = Entry(
        "add_evidence", case.state, case.state, item.uploader, role, item.at, "",
        {"before": {}, "after": {"evidence": [item.sha256, item.kind, item.phase]}},
    )  # fmt: skip
    return replace(
        case, evidence=(*case.evidence, item), updated_at=item.at, audit=(*case.audit, entry)
    )


def open_status(state: str) -> str:
    """Open311 ``status``: ``closed`` for closed-type states, else ``open`` (§3.1)."""
    return "closed" if state in _CLOSED else "open"


@dataclass(frozen=True)
class DueStatus:
    """Which deadline runs, when, and how far it is [working days]."""

    clock: str  # plan, rectify, notice, handle or ""
    due: date | None
    original_due: date | None
    working_days_left: int | None  # negative: overdue by that many working days
    overdue: bool
    due_soon: bool
    provisional: bool


def due_status(
    case: Case, today: date, calendar: WorkCalendar, lead_wd: int | None = None
) -> DueStatus:
    """The running clock of ``case`` on ``today`` (paused while disputed, §2.2 "Pause rules")."""
    lead = load_rules().due_soon_wd if lead_wd is None else lead_wd
    clock, due, original = "", None, None
    if case.kind == "joint":
        if case.state == "transferred" and case.rectify_due:
            clock, due, original = "rectify", case.rectify_due[-1], case.rectify_due[0]
    elif case.kind == "petition" and case.state in ("transferred", "verified"):
        clock, due, original = "handle", case.plan_due, case.plan_due
    elif case.state in ("transferred", "accepted", "plan_submitted"):
        clock, due, original = "plan", case.plan_due, case.plan_due
    elif case.state in ("in_progress", "extension_pending") and case.rectify_due:
        clock, due, original = "rectify", case.rectify_due[-1], case.rectify_due[0]
    elif case.state == "public_notice":
        clock, due, original = "notice", case.notice_end, case.notice_end
    if due is None:
        return DueStatus(clock, None, None, None, False, False, False)
    left = calendar.between(today, due)
    provisional = not calendar.covers(due) or not calendar.covers(today)
    overdue = today > due and clock != "notice"
    return DueStatus(
        clock,
        due,
        original,
        left,
        overdue,
        not overdue and 0 <= left <= lead and clock != "notice",
        provisional,
    )


def mark_overdue(case: Case, at: datetime, calendar: WorkCalendar) -> Case | None:
    """``case`` with an ``overdue`` event when its running clock has just tripped (§2.2
    "Record overdue as an event the first time it trips"), else None (not overdue, or already
    recorded for that clock and due day). The state does not change."""
    status = due_status(case, at.astimezone(CST).date(), calendar)
    if not status.overdue or status.due is None:
        return None
    reason = f"{status.clock} due {status.due.isoformat()}"
    if any(e.event == "overdue" and e.reason == reason for e in case.audit):
        return None
    entry = Entry(
        "overdue", case.state, case.state, "system", "system", at, reason,
        {"before": {}, "after": {"overdue_working_days": -(status.working_days_left or 0)}},
    )  # fmt: skip
    return replace(case, audit=(*case.audit, entry))
