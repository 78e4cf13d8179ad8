"""Key tasks API (issue 18): plans, boards per area and owner, one task with its milestones and
progress, progress reports with evidence, decisions into tasks, and the .xlsx import.

Reading needs a case role (any); managing plans, imports and decisions the supervision office,
the joint office or the province; reporting the owners (``report_key_task``), all decided in
:mod:`ecobasin.web.security.policy`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Path, UploadFile
from pydantic import BaseModel, Field

from ecobasin.services import cases as cases_service
from ecobasin.services import keytasks as keytask_records
from ecobasin.services import keytasks as service
from ecobasin.web.api.cases import RequestStore, check
from ecobasin.web.problems import ProblemError, problem_responses
from ecobasin.web.security.deps import CurrentPrincipal
from ecobasin.workflow.cases import load_rules
from ecobasin.workflow.keytasks import KeyTaskError

__all__ = ["router"]

router = APIRouter(
    prefix="/keytasks", tags=["keytasks"], responses=problem_responses(401, 403, 404, 422)
)
CST = timezone(timedelta(hours=8))
TaskId = Annotated[str, Path(max_length=140)]


class Plan(BaseModel):
    plan_id: str = Field(max_length=60, pattern=r"^[\w.-]+$")
    year: int = Field(ge=2000, le=2100)
    title: str = Field(max_length=200)
    issuer: str = Field(max_length=200)
    source: str = Field(default="", max_length=400)
    tasks: int = 0


class Task(BaseModel):
    task_id: str
    plan_id: str
    area: str
    code: str
    title: str
    owners: list[str]
    co_owners: list[str]
    deliverable: str
    due: date
    state: str
    percent: int
    source_kind: str
    source_id: str
    url: str
    overdue: bool = False
    milestones: list[dict[str, Any]] = Field(default_factory=list)
    progress: list[dict[str, Any]] = Field(default_factory=list)


class Group(BaseModel):
    group: str
    counts: dict[str, int]
    overdue: int
    tasks: list[Task]


class ProgressIn(BaseModel):
    action: Literal["start", "report_progress", "complete", "complete_partly", "fail", "assess"]
    percent: int = Field(ge=0, le=100)
    narrative: str = Field(max_length=4000)
    evidence: list[Annotated[str, Field(pattern="^[0-9a-f]{64}$")]] = Field(
        default_factory=list, max_length=50, description="SHA-256 of uploaded attachments"
    )


class DecisionIn(BaseModel):
    plan_id: str = Field(max_length=60)
    source_kind: Literal["consultation_decision", "joint_meeting"]
    source_id: str = Field(max_length=120)
    url: str = Field(default="", max_length=400)
    title: str = Field(max_length=400)
    owners: list[str] = Field(min_length=1, max_length=20)
    due: date
    area: str = Field(default="会议议定事项", max_length=120)


class ImportOut(BaseModel):
    file: str
    imported: int
    rejected: int
    rejects: list[dict[str, Any]]


@router.get("/plans", response_model=list[Plan])
def plans(principal: CurrentPrincipal, store: RequestStore) -> list[Plan]:
    """Work plans with their task counts."""
    check(store, principal, "read_internal", None)
    return [Plan(**p) for p in keytask_records.plans(store)]


@router.post("/plans", response_model=Plan, status_code=201)
def create_plan(principal: CurrentPrincipal, store: RequestStore, body: Plan) -> Plan:
    """Create a work plan (year, issuer, source)."""
    check(store, principal, "manage_key_tasks", None)
    service.create_plan(store, body.plan_id, body.year, body.title, body.issuer, body.source)
    return body


@router.get("/board", response_model=list[Group])
def board(
    principal: CurrentPrincipal,
    store: RequestStore,
    plan_id: str | None = None,
    by: Literal["area", "owner"] = "area",
) -> list[Group]:
    """Tasks per area or per owner, counts per state and overdue 重点任务看板."""
    check(store, principal, "read_internal", None)
    today = datetime.now(CST).date()
    return [Group(**g) for g in service.board(store, plan_id, by, today)]


@router.get("/tasks/{task_id:path}", response_model=Task)
def task(principal: CurrentPrincipal, store: RequestStore, task_id: TaskId) -> Task:
    """One task with its milestones and progress reports."""
    check(store, principal, "read_internal", None)
    try:
        row = keytask_records.task(store, task_id)
    except LookupError as error:
        raise ProblemError(404, str(error)) from None
    return Task(**row, progress=keytask_records.progress(store, task_id))


@router.post("/progress/{task_id:path}", response_model=Task)
def progress(
    principal: CurrentPrincipal, store: RequestStore, task_id: TaskId, body: ProgressIn
) -> Task:
    """A progress report (or completion with evidence, or assessment) on a task."""
    check(store, principal, "report_key_task", None)
    try:
        row = service.report(
            store, task_id, body.action, principal.name or "-", datetime.now(UTC),
            body.percent, body.narrative, body.evidence,
        )  # fmt: skip
    except LookupError as error:
        raise ProblemError(404, str(error)) from None
    except KeyTaskError as error:
        raise ProblemError(422, str(error)) from None
    return Task(**row, progress=keytask_records.progress(store, task_id))


class AttachmentOut(BaseModel):
    sha256: str
    media_type: str
    size: int = Field(description="[bytes]")


@router.post("/evidence", response_model=AttachmentOut, status_code=201)
async def evidence(
    principal: CurrentPrincipal,
    store: RequestStore,
    file: Annotated[UploadFile, File(description="photo (JPEG, PNG, WebP) or PDF")],
) -> AttachmentOut:
    """Upload evidence for a progress report: stored once under its SHA-256, typed by content."""
    check(store, principal, "report_key_task", None)
    content = await file.read(load_rules().max_attachment_bytes + 1)
    try:
        sha, media, size = cases_service.store_attachment(
            store, content, file.filename or "upload", datetime.now(UTC)
        )
    except cases_service.AttachmentError as error:
        raise ProblemError(422, str(error)) from None
    return AttachmentOut(sha256=sha, media_type=media, size=size)


@router.post("/decisions", response_model=Task, status_code=201)
def decision(principal: CurrentPrincipal, store: RequestStore, body: DecisionIn) -> Task:
    """A consultation decision (议定事项) or a joint-meeting item becomes a task, linked."""
    check(store, principal, "manage_key_tasks", None)
    try:
        row = service.from_decision(
            store, body.plan_id, body.source_kind, body.source_id, body.url, body.title,
            body.owners, body.due, datetime.now(UTC), body.area,
        )  # fmt: skip
    except LookupError as error:
        raise ProblemError(404, str(error)) from None
    return Task(**row)


@router.post("/import/{plan_id}", response_model=ImportOut)
async def import_list(
    principal: CurrentPrincipal,
    store: RequestStore,
    plan_id: Annotated[str, Path(max_length=60)],
    file: Annotated[UploadFile, File(description=".xlsx task list")],
) -> ImportOut:
    """Import a task list (.xlsx); every bad row is kept aside with its reason."""
    check(store, principal, "manage_key_tasks", None)
    content = await file.read(5_000_001)
    if len(content) > 5_000_000:
        raise ProblemError(422, "the task list is over 5 MB 任务清单文件过大")
    try:
        result = service.import_xlsx(
            store, content, plan_id, datetime.now(UTC), file.filename or ""
        )
    except LookupError as error:
        raise ProblemError(404, str(error)) from None
    except KeyTaskError as error:
        raise ProblemError(422, str(error)) from None
    return ImportOut(**result)
