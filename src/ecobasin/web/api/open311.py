"""Public disclosure shaped like Open311 GeoReport v2 (issue 18), read-only, for existing clients.

``/open311/v2/services.json`` (one service per case category), ``/open311/v2/requests.json``
(published cases: tasks once transferred, joint cases, petitions once published) and
``/open311/v2/requests/{id}.json``. The fields are GeoReport v2's (``service_request_id``,
``status`` open|closed, ``status_notes``, ``service_name``, ``service_code``, ``description``,
``agency_responsible``, ``service_notice``, ``requested_datetime``, ``updated_datetime``,
``expected_datetime``, ``address``, ``address_id``, ``zipcode``, ``lat``, ``long``,
``media_url``), filled only from the published fields of a case; no personal data. The richer
state goes in ``status_notes`` (consultation_and_cases.md §3.1: consumers need no mapping).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel

from ecobasin.services import cases as service
from ecobasin.web.deps import (
    LangDep,
    Store,  # the type services take
    StoreDep,
)
from ecobasin.web.problems import ProblemError, problem_responses

__all__ = ["router"]

router = APIRouter(prefix="/open311/v2", tags=["open311"], responses=problem_responses(404, 422))


def request_store(store: StoreDep) -> Iterator[Store]:
    view = store.reader()
    try:
        yield view
    finally:
        view.con.close()


RequestStore = Annotated[Store, Depends(request_store)]


class Service(BaseModel):
    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: Literal["realtime", "batch", "blackbox"]
    keywords: str
    group: str


class ServiceRequest(BaseModel):
    service_request_id: str
    status: Literal["open", "closed"]
    status_notes: str
    service_name: str
    service_code: str
    description: str
    agency_responsible: str
    service_notice: str
    requested_datetime: str
    updated_datetime: str
    expected_datetime: str | None
    address: str
    address_id: str | None
    zipcode: str | None
    lat: float | None
    long: float | None
    media_url: str | None


@router.get("/services.json", response_model=list[Service])
def services(lang: LangDep = "zh") -> list[Service]:
    """The case categories as GeoReport services 问题类别."""
    return [Service(**row) for row in service.open311_services(lang)]


@router.get("/requests.json", response_model=list[ServiceRequest])
def requests(
    store: RequestStore,
    lang: LangDep = "zh",
    service_code: Annotated[str | None, Query(max_length=40)] = None,
    status: Literal["open", "closed"] | None = None,
    service_request_id: Annotated[
        str | None, Query(max_length=2000, description="comma-separated ids")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[ServiceRequest]:
    """Published cases, newest first 公开的整改案件."""
    ids = service_request_id.split(",") if service_request_id else None
    rows: list[dict[str, Any]] = service.open311_requests(
        store, lang, service_code, status, ids, limit
    )
    return [ServiceRequest(**r) for r in rows]


@router.get("/requests/{request_id}.json", response_model=list[ServiceRequest])
def request(
    store: RequestStore, request_id: Annotated[str, Path(max_length=40)], lang: LangDep = "zh"
) -> list[ServiceRequest]:
    """One published case (GeoReport answers a one-element list)."""
    try:
        return [ServiceRequest(**service.open311_request(store, request_id, lang))]
    except LookupError as error:
        raise ProblemError(404, str(error)) from None
