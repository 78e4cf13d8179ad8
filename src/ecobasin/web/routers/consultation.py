"""Consultation API (issue 16): the chair rota, the sessions and one session's full view.

Reading sessions needs a signed-in viewer, editor or admin (forecasts under consultation are not
published); the rota is public. The answers are those of ``ecobasin consultation …`` (both call
:mod:`ecobasin.services.consultation`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel

from ecobasin.services import consultation as service
from ecobasin.store import Store
from ecobasin.store import consultation as store_consultation
from ecobasin.web.deps import LangDep, StoreDep
from ecobasin.web.problems import ProblemError, problem_responses
from ecobasin.web.security.deps import RestrictedReader
from ecobasin.workflow.consultation import load_rota

__all__ = ["router"]

router = APIRouter(
    prefix="/consultation", tags=["consultation"], responses=problem_responses(401, 403, 404)
)


def request_store(store: StoreDep) -> Iterator[Store]:
    """A Store view over a cursor of its own for this request."""
    view = store.reader()
    try:
        yield view
    finally:
        view.con.close()


RequestStore = Annotated[Store, Depends(request_store)]


class RotaMonth(BaseModel):
    month: int
    chair: int
    deputy: int
    handed_over_to: int | None


class Rota(BaseModel):
    year: int
    source: str
    months: list[RotaMonth]


class SessionSummary(BaseModel):
    session_id: str
    version: int
    state: str
    kind: str
    session_date: str
    chair_city: int


class SessionView(BaseModel):
    session_id: str
    version: int
    supersedes: str | None
    state: str
    kind: str
    session_date: str
    chair_city: int
    chair_name: str
    host_city: int
    deadline: str
    missing: list[int]
    narrative: str
    report_hash: str
    table: list[dict[str, Any]]
    divergences: list[dict[str, Any]]
    warning: list[dict[str, Any]]
    audit: list[dict[str, Any]]


def _not_found(detail: str) -> ProblemError:
    return ProblemError(404, detail)


@router.get("/rota/{year}", response_model=Rota)
def rota(store: RequestStore, year: Annotated[int, Path(ge=2000, le=2100)]) -> Rota:
    """The chair and deputy city per month 轮值主席表, with the recorded hand-overs."""
    try:
        plan = load_rota(year)
    except FileNotFoundError:
        raise _not_found(f"no chair rota for {year} 无该年度轮值表") from None
    handed = store_consultation.handovers(store, year)
    months = [
        RotaMonth(
            month=m,
            chair=chair,
            deputy=deputy,
            handed_over_to=next(
                (c for d, c in sorted(handed.items(), reverse=True) if d.month == m), None
            ),
        )
        for m, (chair, deputy) in sorted(plan.months.items())
    ]
    return Rota(year=plan.year, source=plan.source, months=months)


@router.get("/sessions", response_model=list[SessionSummary])
def sessions(_: RestrictedReader, store: RequestStore) -> list[SessionSummary]:
    """Every session, latest version each, newest date first (signed-in users)."""
    return [SessionSummary(**row) for row in service.list_view(store)]


@router.get("/sessions/{session_id}", response_model=SessionView)
def session(
    _: RestrictedReader,
    store: RequestStore,
    session_id: Annotated[str, Path(max_length=80)],
    lang: LangDep = "zh",
    version: int | None = None,
) -> SessionView:
    """One session: the city × day table, divergences, warning proposal and audit trail."""
    try:
        return SessionView(**service.session_view(store, session_id, lang, version))
    except LookupError as error:
        raise _not_found(str(error)) from None
