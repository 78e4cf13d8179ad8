"""Rectification cases API (issue 18): the board, one case, every action of the machine,
evidence upload and download, cases opened from findings, case roles.

Every action is decided by :func:`ecobasin.web.security.policy.case_actor_role` (401 for the
public where sign-in is needed, 403 naming the missing case role), then applied by
:mod:`ecobasin.services.cases` (422 naming the refused guard). Reading needs a case role; the
public reads the Open311 view (:mod:`.open311`) and may file an objection during a notice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Path, Request, Response, UploadFile
from pydantic import BaseModel, Field

from ecobasin.services import cases as case_records
from ecobasin.services import cases as service
from ecobasin.services.cases import FINDING_KINDS
from ecobasin.web.deps import (
    LangDep,
    Store,  # the type services take
    StoreDep,
)
from ecobasin.web.problems import ProblemError, problem_responses
from ecobasin.web.security.deps import FORBIDDEN, CurrentPrincipal, unauthorized
from ecobasin.web.security.policy import CaseScope, Principal, case_actor_role
from ecobasin.workflow.cases import TRANSITIONS, Case, CaseError, Link, load_rules

__all__ = ["check", "router", "scope_of"]

router = APIRouter(prefix="/cases", tags=["cases"], responses=problem_responses(401, 403, 404, 422))
CST = timezone(timedelta(hours=8))
CaseId = Annotated[str, Path(max_length=40, pattern=r"^[A-Z]{2}-[0-9A-Z]+-\d{4}-\d{4}$")]
MACHINE_ACTIONS = tuple(sorted({a for (_, _, a) in TRANSITIONS} - {"register"}))


def request_store(store: StoreDep) -> Iterator[Store]:
    """A Store view over a cursor of its own for this request."""
    view = store.reader()
    try:
        yield view
    finally:
        view.con.close()


RequestStore = Annotated[Store, Depends(request_store)]


def scope_of(case: Case) -> CaseScope:
    """What the policy needs to know about a case."""
    return CaseScope(
        case.city_code, case.lead_unit, case.co_units, case.acceptance_level,
        case.jurisdictions, case.kind,
    )  # fmt: skip


def check(store: Store, principal: Principal, action: str, case: Case | None) -> str:
    """The role ``principal`` acts in, or 401/403 naming the missing right."""
    held = case_records.roles_of(store, principal.name)
    role, reason = case_actor_role(principal, held, action, scope_of(case) if case else None)
    if role is not None:
        return role
    if not principal.authenticated:
        raise unauthorized(f"sign in with a case role to {action} 请以督察整改角色登录")
    raise ProblemError(403, reason or action, type=FORBIDDEN, title="Not allowed 无权限")


def _load(store: Store, case_id: str) -> Case:
    try:
        return case_records.load(store, case_id)
    except LookupError as error:
        raise ProblemError(404, str(error)) from None


def _refused(error: Exception) -> ProblemError:
    return ProblemError(422, str(error), title="Refused by the case rules 督察整改规则不允许")


class BoardRow(BaseModel):
    case_id: str
    kind: str
    title: str
    state: str
    city_code: int | None
    lead_unit: str
    category: str
    parent_id: str
    clock: str
    due: str | None
    original_due: str | None
    working_days_left: int | None = Field(description="[working days]; negative: overdue")
    overdue: bool
    due_soon: bool
    provisional: bool = Field(description="due day in a year the holiday calendar lacks")
    percent: int
    repeat_count: int


class CaseOut(BaseModel):
    case_id: str
    kind: str
    state: str
    title: str
    problem_text: str
    category: str
    category_name: str
    city_code: int | None
    city_name: str
    lead_unit: str
    co_units: list[str]
    acceptance_level: str
    plan_due: str | None
    rectify_due: list[str]
    notice_end: str | None
    percent: int
    repeat_count: int
    parent_id: str
    jurisdictions: list[int]
    standard: str
    measures: list[dict[str, Any]]
    evidence: list[dict[str, Any]]
    acceptances: list[dict[str, Any]]
    links: list[dict[str, Any]]
    signatures: list[list[Any]]
    checklist_missing: list[str]
    evidence_labels: dict[str, str]
    due: dict[str, Any]
    open311_status: str
    audit: list[dict[str, Any]]
    body: dict[str, Any] = Field(description="every stored field")


class StepResult(BaseModel):
    case_id: str
    state: str
    created: list[str] = Field(default_factory=list, description="cases this step created")


class LinkIn(BaseModel):
    """A record the case concerns (a boundary river's sections on both sides, an alarm …)."""

    source_kind: str = Field(max_length=40, description="water_section, alarm, …")
    source_id: str = Field(min_length=1, max_length=120)
    url: str = Field(default="", max_length=400)
    note: str = Field(default="", max_length=200)


class RegisterIn(BaseModel):
    kind: Literal["task", "petition", "joint"] = "task"
    source_type: str = Field(max_length=40)
    title: str = Field(min_length=1, max_length=200)
    problem_text: str = Field(min_length=1, max_length=8000, description="verbatim 原文")
    category: str = Field(max_length=40)
    city_code: int | None = None
    jurisdictions: list[int] = Field(default_factory=list, max_length=20)
    standard: str = Field(default="", max_length=4000, description="joint closure standard")
    inspection: str = Field(default="", max_length=200)
    batch: str = Field(default="", max_length=80)
    location_text: str = Field(default="", max_length=400)
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    severity: str = Field(default="", max_length=40)
    links: list[LinkIn] = Field(default_factory=list, max_length=20)


class ActionIn(BaseModel):
    facts: dict[str, Any] = Field(default_factory=dict, description="the action's fields (§2.2)")
    reason: str = Field(default="", max_length=4000, description="why (kept in the trail) 理由")


class FindingIn(BaseModel):
    source_kind: str = Field(
        max_length=40, description="alarm, emergency_finding, noise_complaint …"
    )
    source_id: str = Field(min_length=1, max_length=120)
    url: str = Field(default="", max_length=400, description="where the finding is shown")
    title: str = Field(min_length=1, max_length=200)
    problem_text: str = Field(min_length=1, max_length=8000)
    category: str = Field(default="other", max_length=40)
    city_code: int


class FindingOut(BaseModel):
    case_id: str
    created: bool


class EvidenceOut(BaseModel):
    sha256: str
    kind: str
    phase: str
    name: str
    media_type: str
    size: int = Field(description="[bytes]")


class RoleIn(BaseModel):
    user: str = Field(min_length=1, max_length=80)
    role: Literal[
        "supervision_office", "lead_unit", "co_unit", "city_office", "joint_office", "province"
    ]
    city_code: int | None = None
    unit: str = Field(default="", max_length=200)


class RoleOut(BaseModel):
    user: str
    roles: list[list[Any]]


def now_of(request: Request) -> datetime:
    """The instant of the request: the app's clock when one is set (a test's), else now."""
    clock: Callable[[], datetime] | None = getattr(request.app.state, "clock", None)
    return clock() if clock else datetime.now(UTC)


def _today(request: Request) -> date:
    return now_of(request).astimezone(CST).date()


@router.get("", response_model=list[BoardRow])
def board(
    principal: CurrentPrincipal,
    store: RequestStore,
    request: Request,
    city: int | None = None,
    kind: Literal["task", "petition", "joint"] | None = None,
    view: Literal["all", "overdue", "due_soon"] = "all",
) -> list[BoardRow]:
    """Open cases with their running clock (working days), overdue first 督办看板."""
    check(store, principal, "read_internal", None)
    rows = service.board(store, _today(request), city, kind)
    if view != "all":
        rows = [r for r in rows if r[view]]
    return [BoardRow(**r) for r in rows]


@router.get("/{case_id}", response_model=CaseOut)
def case(
    principal: CurrentPrincipal,
    store: RequestStore,
    case_id: CaseId,
    request: Request,
    lang: LangDep = "zh",
) -> CaseOut:
    """One case whole: plan, measures, evidence, acceptances, links and the trail."""
    found = _load(store, case_id)
    check(store, principal, "read_internal", found)
    raw = service.case_view(found, _today(request), lang)
    raw["audit"] = [
        {**t, "at": t["at"].isoformat()} for t in case_records.transitions(store, case_id)
    ]
    return CaseOut(**raw, body=case_records.case_to_dict(found))


@router.post("", response_model=StepResult, status_code=201)
def register(
    principal: CurrentPrincipal, store: RequestStore, body: RegisterIn, request: Request
) -> StepResult:
    """Register a problem (supervision office) or a joint case (joint office)."""
    role = check(store, principal, "register", None)
    if body.kind == "joint" and role != "joint_office":
        raise ProblemError(
            403,
            "joint cases are created by the joint office 联合案件由联合办公室创建",
            type=FORBIDDEN,
        )
    facts = body.model_dump()
    kind = facts.pop("kind")
    facts["links"] = tuple(
        Link(
            k.source_kind,
            k.source_id,
            k.url or FINDING_KINDS.get(k.source_kind, "").format(id=k.source_id),
            k.note,
        )
        for k in body.links
    )
    try:
        made = service.register(
            store, kind, facts, principal.name or "-", role, now_of(request), _client(request)
        )
    except CaseError as error:
        raise _refused(error) from None
    return StepResult(case_id=made.case_id, state=made.state)


def _client(request: Request) -> str:
    return request.client.host if request.client else "-"


@router.post("/{case_id}/actions/{action}", response_model=StepResult)
def act(
    principal: CurrentPrincipal,
    store: RequestStore,
    case_id: CaseId,
    action: Annotated[str, Path(pattern="^(" + "|".join(MACHINE_ACTIONS) + ")$")],
    body: ActionIn,
    request: Request,
) -> StepResult:
    """One action of the case machine (§2.2), by the role the policy names."""
    found = _load(store, case_id)
    role = check(store, principal, action, found)
    if found.kind == "joint" and action in ("sign_transfer", "sign_closure"):
        body.facts["city"] = _joint_city(store, principal, found)
    try:
        facts = {**service.parse_facts(body.facts), "reason": body.reason}
        before = {c.case_id for c in case_records.cases(store)}
        after = service.act(
            store, case_id, action, principal.name or "public", role, facts,
            now_of(request), _client(request),
        )  # fmt: skip
    except (CaseError, ValueError) as error:
        raise _refused(error) from None
    created = sorted({c.case_id for c in case_records.cases(store)} - before)
    return StepResult(case_id=after.case_id, state=after.state, created=created)


def _joint_city(store: Store, principal: Principal, case: Case) -> int:
    """The side a joint-office user signs for: the city of their joint-office role."""
    for role, city, _ in case_records.roles_of(store, principal.name):
        if role == "joint_office" and city in case.jurisdictions:
            return int(city)
    raise ProblemError(
        403,
        f"{principal.describe()} holds no joint-office role of a side of {case.case_id} 非本案涉及城市",
        type=FORBIDDEN,
    )


@router.post("/{case_id}/evidence", response_model=EvidenceOut, status_code=201)
async def upload(
    principal: CurrentPrincipal,
    store: RequestStore,
    case_id: CaseId,
    request: Request,
    file: Annotated[UploadFile, File(description="photo (JPEG, PNG, WebP) or PDF")],
    kind: Annotated[str, Form(max_length=40)],
    phase: Annotated[Literal["before", "during", "after"], Form()] = "after",
) -> EvidenceOut:
    """Add evidence to a case: stored once under its SHA-256, type checked by content."""
    found = _load(store, case_id)
    role = check(store, principal, "upload_evidence", found)
    limit = load_rules().max_attachment_bytes
    content = await file.read(limit + 1)
    try:
        item = service.attach(
            store, case_id, content, file.filename or "upload", kind, phase,
            principal.name or "-", role, now_of(request), _client(request),
        )  # fmt: skip
    except (service.AttachmentError, CaseError) as error:
        raise _refused(error) from None
    return EvidenceOut(
        sha256=item.sha256, kind=item.kind, phase=item.phase, name=item.name,
        media_type=item.media_type, size=item.size,
    )  # fmt: skip


@router.get(
    "/{case_id}/evidence/{sha256}",
    response_class=Response,
    responses={200: {"content": {"image/png": {}, "application/pdf": {}}}},
)
def evidence_file(
    principal: CurrentPrincipal,
    store: RequestStore,
    case_id: CaseId,
    sha256: Annotated[str, Path(pattern="^[0-9a-f]{64}$")],
    thumbnail: bool = False,
) -> Response:
    """An attachment of the case (or its PNG thumbnail), byte for byte."""
    found = _load(store, case_id)
    check(store, principal, "read_internal", found)
    if sha256 not in {e.sha256 for e in found.evidence}:
        raise ProblemError(404, f"{case_id} holds no attachment {sha256} 本案无此附件")
    try:
        media, content = case_records.attachment(store, sha256, thumbnail)
    except LookupError as error:
        raise ProblemError(404, str(error)) from None
    headers = {
        "ETag": f'"{sha256}"',
        "Content-Disposition": "inline",
        "X-Content-Type-Options": "nosniff",
    }
    return Response(content, media_type=media, headers=headers)


@router.post("/from-finding", response_model=FindingOut, status_code=201)
def from_finding(
    principal: CurrentPrincipal, store: RequestStore, body: FindingIn, request: Request
) -> FindingOut:
    """Open a task from a finding (alarm, emergency-list finding, noise complaint), linked."""
    role = check(store, principal, "open_from_finding", None)
    facts = body.model_dump(exclude={"source_kind", "source_id", "url"})
    try:
        made, created = service.open_from_finding(
            store, body.source_kind, body.source_id, body.url, facts, principal.name or "-",
            "supervision_office" if role == "province" else role, now_of(request), _client(request),
        )  # fmt: skip
    except CaseError as error:
        raise _refused(error) from None
    return FindingOut(case_id=made.case_id, created=created)


@router.post("/roles", response_model=RoleOut)
def grant(
    principal: CurrentPrincipal, store: RequestStore, body: RoleIn, request: Request
) -> RoleOut:
    """Give a user a case role (the province's office)."""
    check(store, principal, "grant_case_role", None)
    case_records.grant_role(
        store,
        body.user,
        body.role,
        body.city_code,
        body.unit,
        principal.name or "-",
        now_of(request),
    )
    return RoleOut(user=body.user, roles=[list(r) for r in case_records.roles_of(store, body.user)])


@router.get("/roles/me", response_model=RoleOut)
def my_roles(principal: CurrentPrincipal, store: RequestStore) -> RoleOut:
    """The case roles of the signed-in user."""
    if not principal.authenticated:
        raise unauthorized("sign in to see your case roles")
    return RoleOut(
        user=principal.name or "",
        roles=[list(r) for r in case_records.roles_of(store, principal.name)],
    )
