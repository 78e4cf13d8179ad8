"""Inspections (督察) and their feedback problems (反馈问题) API (issue 18): record an inspection,
add its problems one by one or from a workbook (each opens a rectification task or links a case),
read them with their cases' states.

Reading needs a case role (``read_internal``); recording the supervision office or the joint
office (``manage_inspections``), decided in :mod:`ecobasin.web.security.policy`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, File, Path, UploadFile
from pydantic import BaseModel, Field

from ecobasin.services import inspections as service
from ecobasin.web.api.cases import RequestStore, check
from ecobasin.web.deps import RegionDep
from ecobasin.web.problems import ProblemError, problem_responses
from ecobasin.web.security.deps import CurrentPrincipal
from ecobasin.workflow.cases import CaseError
from ecobasin.workflow.inspections import InspectionError

__all__ = ["router"]

router = APIRouter(
    prefix="/inspections", tags=["cases"], responses=problem_responses(401, 403, 404, 422)
)
InspectionId = Annotated[int, Path(ge=1)]


class InspectionIn(BaseModel):
    """An inspection 督察: who, when, which cities, what kind."""

    title: str = Field(min_length=1, max_length=200, description="省级第三轮第四批 …")
    kind: Literal["provincial", "joint", "routine"]
    inspector: str = Field(min_length=1, max_length=200, description="督察组 the inspecting team")
    started_on: date
    ended_on: date | None = None
    cities: list[int] = Field(min_length=1, max_length=50)


class CaseState(BaseModel):
    case_id: str
    state: str


class ProblemOut(BaseModel):
    """A feedback problem 反馈问题 with the cases it opened or links."""

    problem_id: int
    item_no: str
    city: int
    category: str
    text: str
    created_at: datetime
    cases: list[CaseState]


class InspectionOut(BaseModel):
    inspection_id: int
    title: str
    kind: str
    kind_zh: str
    kind_en: str
    inspector: str
    started_on: date
    ended_on: date | None
    cities: list[int]
    created_by: str
    created_at: datetime
    problems: list[ProblemOut] = Field(default_factory=list)


class InspectionRow(BaseModel):
    inspection_id: int
    title: str
    kind: str
    kind_zh: str
    kind_en: str
    inspector: str
    started_on: date
    ended_on: date | None
    cities: list[int]
    problems: int
    cases: int


class ProblemIn(BaseModel):
    """A problem to add; ``case_id`` links an open case instead of opening a new task."""

    item_no: str = Field(min_length=1, max_length=40)
    city: int
    category: str = Field(min_length=1, max_length=60)
    text: str = Field(min_length=1, max_length=4000)
    case_id: str = Field(default="", max_length=140)


class ProblemBatch(BaseModel):
    problems: list[ProblemIn] = Field(min_length=1, max_length=500)


class Reject(BaseModel):
    row: int
    reason: str


class ProblemsOut(BaseModel):
    """What the problems did: cases opened and linked, rows kept aside with their reasons."""

    added: int
    opened: list[str]
    linked: list[str]
    rejects: list[Reject]


@router.get("", response_model=list[InspectionRow], summary="Inspections 督察")
def inspections(principal: CurrentPrincipal, store: RequestStore) -> list[InspectionRow]:
    """Every inspection, newest first, with its problem and case counts."""
    check(store, principal, "read_internal", None)
    return [InspectionRow(**row) for row in service.inspection_list(store)]


@router.post("", response_model=InspectionOut, status_code=201, summary="Record an inspection")
def create(
    principal: CurrentPrincipal, store: RequestStore, region: RegionDep, body: InspectionIn
) -> InspectionOut:
    """Record an inspection (the supervision or the joint office)."""
    check(store, principal, "manage_inspections", None)
    try:
        made = service.create_inspection(
            store, body.model_dump(), principal.name or "-", datetime.now(UTC), list(region.cities)
        )
    except InspectionError as error:
        raise ProblemError.invalid("body", str(error)) from None
    return InspectionOut(**made)


@router.get("/{inspection_id}", response_model=InspectionOut, summary="One inspection")
def detail(
    principal: CurrentPrincipal, store: RequestStore, inspection_id: InspectionId
) -> InspectionOut:
    """An inspection with its problems and their cases' states."""
    check(store, principal, "read_internal", None)
    try:
        return InspectionOut(**service.inspection_detail(store, inspection_id))
    except LookupError as error:
        raise ProblemError(404, str(error)) from None


@router.post("/{inspection_id}/problems", response_model=ProblemsOut, summary="Add problems")
def add_problems(
    principal: CurrentPrincipal,
    store: RequestStore,
    inspection_id: InspectionId,
    body: ProblemBatch,
) -> ProblemsOut:
    """Add feedback problems: each opens a task or links the case it names; bad ones come back
    in `rejects` (row = place in the list, from 1) while the good ones are added."""
    role = check(store, principal, "manage_inspections", None)
    try:
        done = service.add_problems(
            store, inspection_id, [p.model_dump() for p in body.problems],
            principal.name or "-", role, datetime.now(UTC),
        )  # fmt: skip
    except LookupError as error:
        raise ProblemError(404, str(error)) from None
    except CaseError as error:
        raise ProblemError(422, str(error)) from None
    return ProblemsOut(**done)


@router.post(
    "/{inspection_id}/problems/import", response_model=ProblemsOut, summary="Import problems"
)
async def import_problems(
    principal: CurrentPrincipal,
    store: RequestStore,
    inspection_id: InspectionId,
    file: Annotated[UploadFile, File(description=".xlsx problem list 反馈问题清单")],
) -> ProblemsOut:
    """Import a problem list (.xlsx: 编号 城市 类别 问题 案件); every bad row kept aside."""
    role = check(store, principal, "manage_inspections", None)
    content = await file.read(service.MAX_WORKBOOK_BYTES + 1)
    try:
        done = service.import_problems(
            store, inspection_id, content, principal.name or "-", role, datetime.now(UTC),
            file.filename or "",
        )  # fmt: skip
    except LookupError as error:
        raise ProblemError(404, str(error)) from None
    except (InspectionError, CaseError) as error:
        raise ProblemError(422, str(error)) from None
    return ProblemsOut(**done)
