"""What ``ecobasin cases …``, ``/api/v1/cases/…``, ``/open311/v2/…`` and the supervision pages
all answer and do (issue 18).

Every step loads the stored case, applies one action of the pure machine
(:mod:`ecobasin.workflow.cases`) and stores the result with its new audit rows in one
transaction, so the command line, the API and the pages go through the same guards. Rights are
decided before (by :mod:`ecobasin.web.security.policy`, which names the role the actor acts in);
this module takes that role. Refusals raise :class:`~ecobasin.workflow.cases.CaseError`;
unknown cases :class:`LookupError`; bad attachments :class:`AttachmentError`.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import asdict, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any

from ecobasin import catalog
from ecobasin.catalog.workdays import WorkCalendar, package_calendar
from ecobasin.services.cells import pick
from ecobasin.store import cases as store_cases
from ecobasin.store.cases import (  # stored records the web reads as they are
    attachment,
    case_to_dict,
    cases,
    grant_role,
    load,
    roles_of,
    transitions,
)
from ecobasin.store.database import Store
from ecobasin.workflow.cases import (
    PUBLIC_FIELDS,
    Case,
    CaseError,
    Evidence,
    Link,
    Refusal,
    add_evidence,
    apply,
    categories,
    checklist_missing,
    due_status,
    evidence_kinds,
    load_rules,
    mark_overdue,
    new_case,
    open_status,
    source_types,
)

__all__ = [
    "FINDING_KINDS",
    "AttachmentError",
    "act",
    "attach",
    "attachment",
    "board",
    "calendar",
    "case_to_dict",
    "case_view",
    "cases",
    "grant_role",
    "load",
    "open311_request",
    "open311_requests",
    "open311_services",
    "open_from_finding",
    "parse_facts",
    "register",
    "roles_of",
    "store_attachment",
    "sweep_overdue",
    "transitions",
]

CST = timezone(timedelta(hours=8))
#: Records a case may be opened from, with the API path that shows them (a link, not a copy):
#: the gateway's over-limit alarms, the emergency-list compliance findings (its own hook
#: passes any ``(source_kind, source_id, url)``), noise complaints (issue 23), a consultation
#: decision or a joint-meeting item, a water section of a boundary river.
FINDING_KINDS = {
    "alarm": "/api/v1/alarms/{id}",
    "emergency_finding": "/api/v1/emergency/findings/{id}",
    "machinery_finding": "/api/v1/machinery/findings?id={id}",
    "noise_complaint": "/api/v1/noise/complaints/{id}",
    "consultation_decision": "/api/v1/consultation/sessions/{id}",
    "water_section": "/water/section/{id}",
    "petition": "/api/v1/cases/{id}",
}


class AttachmentError(ValueError):
    """An attachment refused (too large, type not allowed or not what its content is)."""


def calendar() -> WorkCalendar:
    """The working-day calendar of the deadlines (the installed chinese-calendar)."""
    return package_calendar()


def _case_id(store: Store, source_type: str, city: int | None, at: datetime) -> str:
    """``DC-510100-2026-0001``: source prefix, city (JT for joint), year, sequence."""
    prefix = source_types().get(source_type, {}).get("prefix", "QT")
    head = f"{prefix}-{city or 'JT'}-{at.astimezone(CST).year}-"
    return f"{head}{store_cases.next_number(store, head):04d}"


#: Facts that are CST calendar days (sent as ``YYYY-MM-DD`` by the API, the CLI and forms).
_DAY_FACTS = ("rectify_due", "new_due", "rework_due", "check_date")


def parse_facts(raw: dict[str, Any]) -> dict[str, Any]:
    """Facts from JSON: days parsed, measures' due days parsed, criteria as tuples.

    Raises
    ------
    ValueError
        Naming the fact that is not a day.
    """
    facts = dict(raw)
    try:
        for key in _DAY_FACTS:
            if isinstance(facts.get(key), str):
                facts[key] = date.fromisoformat(facts[key])
        key = "measures"
        if isinstance(facts.get("measures"), list):
            facts["measures"] = [
                {**m, "due": date.fromisoformat(str(m.get("due", "")))} for m in facts["measures"]
            ]
    except ValueError:
        raise ValueError(f"{key}: not a day YYYY-MM-DD 日期格式应为YYYY-MM-DD") from None
    if isinstance(facts.get("criteria"), list):
        facts["criteria"] = [tuple(c) for c in facts["criteria"]]
    if isinstance(facts.get("percents"), dict):
        facts["percents"] = {int(k): int(v) for k, v in facts["percents"].items()}
    return facts


def register(
    store: Store,
    kind: str,
    facts: dict[str, Any],
    actor: str,
    role: str,
    at: datetime,
    client: str = "cli",
) -> Case:
    """Register a task, a petition or a joint case; returns it with its new id."""
    if facts.get("source_type") not in source_types():
        raise CaseError(
            "new case",
            Refusal(
                "未知问题来源",
                f"unknown source_type {facts.get('source_type')!r}; known: {sorted(source_types())}",
            ),
        )
    if facts.get("category") not in categories():
        raise CaseError(
            "new case",
            Refusal(
                "未知问题类别",
                f"unknown category {facts.get('category')!r}; known: {sorted(categories())}",
            ),
        )
    city = None if kind == "joint" else facts.get("city_code")
    case_id = _case_id(store, facts["source_type"], city, at)
    case = apply(new_case(case_id, kind, at), "register", actor, role, facts, at, calendar())
    store_cases.save(store, case, client)
    return case


def act(
    store: Store,
    case_id: str,
    action: str,
    actor: str,
    role: str,
    facts: dict[str, Any],
    at: datetime,
    client: str = "cli",
) -> Case:
    """Apply one action to the stored case and store the result (joint transfers create and
    transfer every side's task in the same transaction: 同步交办)."""
    with store.transaction():
        case = store_cases.load(store, case_id)
        extra = dict(facts)
        if case.kind == "joint" and action == "close":
            children = store_cases.cases(store, parent=case_id)
            extra["children_open"] = ", ".join(c.case_id for c in children if c.state != "closed")
        after = apply(case, action, actor, role, extra, at, calendar())
        if case.kind == "joint" and action == "transfer":
            _transfer_sides(store, after, facts, actor, at, client)
        if action == "promote":
            after = _promote(store, after, actor, at, client)
        store_cases.save(store, after, client)
    return after


def _transfer_sides(
    store: Store, parent: Case, facts: dict[str, Any], actor: str, at: datetime, client: str
) -> None:
    """One task per side, registered and transferred at once with the shared standard."""
    leads: dict[Any, str] = facts.get("leads", {})
    for city in parent.jurisdictions:
        child = register(
            store,
            "task",
            {
                "source_type": parent.source_type, "title": parent.title,
                "problem_text": parent.problem_text, "category": parent.category,
                "city_code": city, "parent_id": parent.case_id, "standard": parent.standard,
                "inspection": parent.inspection, "links": parent.links,
            },
            actor, "joint_office", at, client,
        )  # fmt: skip
        lead = leads.get(city) or leads.get(str(city)) or f"{city} 生态环境局"
        moved = apply(
            child, "transfer", actor, "joint_office",
            {"lead_unit": lead, "acceptance_level": "city", "rectify_due": parent.rectify_due[-1],
             "term_type": facts.get("term_type", "限期"), "reason": "同步交办 joint transfer"},
            at, calendar(),
        )  # fmt: skip
        store_cases.save(store, moved, client)


def _promote(store: Store, petition: Case, actor: str, at: datetime, client: str) -> Case:
    """A petition that needs rectification becomes a task linked to it (§2.2)."""
    task = register(
        store,
        "task",
        {
            "source_type": "petition", "title": petition.title,
            "problem_text": petition.problem_text, "category": petition.category,
            "city_code": petition.city_code, "location_text": petition.location_text,
            "links": (Link("petition", petition.case_id, f"/api/v1/cases/{petition.case_id}"),),
        },
        actor, "supervision_office", at, client,
    )  # fmt: skip
    return replace(petition, promoted_to=task.case_id)


def attach(
    store: Store,
    case_id: str,
    content: bytes,
    name: str,
    kind: str,
    phase: str,
    actor: str,
    role: str,
    at: datetime,
    client: str = "cli",
) -> Evidence:
    """Store an attachment content-addressed and add it to the case's evidence.

    The size is capped, the type is read from the content (magic numbers, ``filetype``), never
    from the name; images get a PNG thumbnail (Pillow). The same bytes are stored once.
    """
    sha, media, size = _checked(content, name)
    item = Evidence(sha, kind, phase, name[:200], media, size, actor, at)
    with store.transaction():
        case = add_evidence(store_cases.load(store, case_id), item, role)
        store_attachment(store, content, name, at)
        store_cases.save(store, case, client)
    return item


def _checked(content: bytes, name: str) -> tuple[str, str, int]:
    """(sha256, media type read from the content, size [bytes]) or :class:`AttachmentError`."""
    rules = load_rules()
    if len(content) > rules.max_attachment_bytes:
        raise AttachmentError(
            f"{name}: {len(content)} bytes is over the limit of {rules.max_attachment_bytes} "
            "附件超过大小上限"
        )
    import filetype  # only an upload needs it: not imported by every `ecobasin serve` start

    guessed = filetype.guess(content)
    media = guessed.mime if guessed is not None else "unknown"
    if media not in rules.allowed_media:
        raise AttachmentError(
            f"{name}: content is {media}, allowed: {', '.join(rules.allowed_media)} 附件类型不允许"
        )
    return hashlib.sha256(content).hexdigest(), media, len(content)


def store_attachment(store: Store, content: bytes, name: str, at: datetime) -> tuple[str, str, int]:
    """Check and store an attachment once under its SHA-256 (images with a thumbnail); returns
    (sha256, media type, size [bytes]). Key-task evidence uses it directly."""
    sha, media, size = _checked(content, name)
    rules = load_rules()
    thumb = _thumbnail(content, name, rules.thumbnail_px) if media.startswith("image/") else None
    store_cases.put_attachment(store, sha, content, media, name[:200], thumb, at)
    return sha, media, size


def _thumbnail(content: bytes, name: str, size: int) -> bytes:
    """A PNG thumbnail (longest side ``size`` [px]); a broken image is refused."""
    from PIL import Image, ImageFile  # only an image upload needs Pillow (~0.3 s to import)

    loose = ImageFile.LOAD_TRUNCATED_IMAGES
    # WeasyPrint sets this process-wide on import (the PDF reports): evidence must still be whole
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with Image.open(io.BytesIO(content)) as image:
            image.thumbnail((size, size))
            out = io.BytesIO()
            image.convert("RGB").save(out, format="PNG")
    except (OSError, Image.DecompressionBombError) as error:
        raise AttachmentError(f"{name}: not a readable image ({error}) 图片无法读取") from None
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = loose
    return out.getvalue()


def open_from_finding(
    store: Store,
    source_kind: str,
    source_id: str,
    url: str,
    facts: dict[str, Any],
    actor: str,
    role: str,
    at: datetime,
    client: str = "cli",
) -> tuple[Case, bool]:
    """Open a task from a finding, linked to it (not copied); (case, created).

    A finding already linked to a case opens nothing new: that case is returned.
    """
    existing = store_cases.linked(store, source_kind, source_id)
    if existing:
        return store_cases.load(store, existing[0]), False
    link = Link(
        source_kind, source_id, url or FINDING_KINDS.get(source_kind, "").format(id=source_id)
    )
    merged = {"source_type": "finding", **facts, "links": (link,)}
    return register(store, "task", merged, actor, role, at, client), True


def _names(lang: str) -> dict[int, str]:
    rows: list[dict[Any, Any]] = catalog.cities()[["code", "name_zh", "name_en"]].to_dict("records")
    return {int(r["code"]): pick(lang, r["name_zh"], r["name_en"]) or str(r["code"]) for r in rows}


def case_view(case: Case, today: date, lang: str = "zh") -> dict[str, Any]:
    """The whole case as people read it (internal: evidence, acceptances, trail)."""
    cat = categories().get(case.category)
    status = due_status(case, today, calendar())
    raw = store_cases.case_to_dict(case)
    raw["city_name"] = _names(lang).get(case.city_code or 0, "")
    raw["category_name"] = pick(lang, cat.zh, cat.en) if cat else case.category
    raw["due"] = {
        k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(status).items()
    }
    raw["checklist_missing"] = list(checklist_missing(case))
    raw["evidence_labels"] = {k: pick(lang, v["zh"], v["en"]) for k, v in evidence_kinds().items()}
    raw["open311_status"] = open_status(case.state)
    return raw


def board(
    store: Store, today: date, city: int | None = None, kind: str | None = None
) -> list[dict[str, Any]]:
    """Open cases with their running clock, overdue first, then due soon, then by due day."""
    rows = []
    for case in store_cases.cases(store, kind=kind, city=city):
        if case.state == "closed":
            continue
        status = due_status(case, today, calendar())
        rows.append(
            {
                "case_id": case.case_id, "kind": case.kind, "title": case.title,
                "state": case.state, "city_code": case.city_code, "lead_unit": case.lead_unit,
                "category": case.category, "parent_id": case.parent_id,
                "clock": status.clock, "due": status.due.isoformat() if status.due else None,
                "original_due": status.original_due.isoformat() if status.original_due else None,
                "working_days_left": status.working_days_left, "overdue": status.overdue,
                "due_soon": status.due_soon, "provisional": status.provisional,
                "percent": case.percent, "repeat_count": case.repeat_count,
            }
        )  # fmt: skip
    rows.sort(key=lambda r: (not r["overdue"], not r["due_soon"], r["due"] or "9999"))
    return rows


def sweep_overdue(store: Store, at: datetime) -> list[str]:
    """Record an ``overdue`` event on every open case whose clock tripped since the last sweep
    (once per clock and due day); returns the cases marked. ``ecobasin cases sweep`` runs it."""
    marked = []
    with store.transaction():
        for case in store_cases.cases(store):
            if case.state == "closed":
                continue
            after = mark_overdue(case, at, calendar())
            if after is not None:
                store_cases.save(store, after, "sweep")
                marked.append(case.case_id)
    return marked


# -- Open311 GeoReport v2 (read-only, published fields only) ------------------------------------
def _published(case: Case) -> bool:
    """Tasks once transferred (plans are public), joint cases, petitions once published."""
    if case.kind == "petition":
        return case.state in ("published", "closed")
    return case.state not in ("", "registered")


def open311_services(lang: str = "zh") -> list[dict[str, Any]]:
    """GeoReport v2 ``services``: one per category (service_code = category code)."""
    return [
        {
            "service_code": code,
            "service_name": pick(lang, c.zh, c.en),
            "description": f"{c.zh} / {c.en}; lead 牵头: {'、'.join(c.lead)}",
            "metadata": False,
            "type": "batch",
            "keywords": ",".join(c.subtypes),
            "group": c.action or "其他",
        }
        for code, c in categories().items()
    ]


def _open311(case: Case, lang: str) -> dict[str, Any]:
    """A case as a GeoReport v2 service request, from :data:`PUBLIC_FIELDS` only."""
    public = {k: getattr(case, k) for k in PUBLIC_FIELDS if hasattr(case, k)}
    cat = categories().get(case.category)
    due = case.rectify_due[-1] if case.rectify_due else None
    notice = (
        f"公示期至 {case.notice_end.isoformat()}，可提出异议 objections until {case.notice_end}"
        if case.state == "public_notice" and case.notice_end
        else ""
    )
    return {
        "service_request_id": case.case_id,
        "status": open_status(case.state),
        "status_notes": case.state,
        "service_name": pick(lang, cat.zh, cat.en) if cat else case.category,
        "service_code": case.category,
        "description": public["title"],
        "agency_responsible": public["lead_unit"],
        "service_notice": notice,
        "requested_datetime": case.registered_at.astimezone(CST).isoformat(),
        "updated_datetime": case.updated_at.astimezone(CST).isoformat(),
        "expected_datetime": (
            datetime(due.year, due.month, due.day, tzinfo=CST).isoformat() if due else None
        ),
        "address": public["location_text"],
        "address_id": None,
        "zipcode": None,
        "lat": public["lat"],
        "long": public["lon"],
        "media_url": None,
    }


def open311_requests(
    store: Store,
    lang: str = "zh",
    service_code: str | None = None,
    status: str | None = None,
    ids: list[str] | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """GeoReport v2 ``requests``: published cases, newest first, filtered as the spec allows."""
    out = []
    for case in store_cases.cases(store):
        if not _published(case) or (ids and case.case_id not in ids):
            continue
        if service_code and case.category != service_code:
            continue
        if status and open_status(case.state) != status:
            continue
        out.append(_open311(case, lang))
        if len(out) >= limit:
            break
    return out


def open311_request(store: Store, case_id: str, lang: str = "zh") -> dict[str, Any]:
    """One published case; LookupError for an unknown or unpublished one (no difference shown)."""
    try:
        case = store_cases.load(store, case_id)
    except LookupError:
        case = None
    if case is None or not _published(case):
        raise LookupError(f"no published request {case_id} 无此公开案件")
    return _open311(case, lang)
