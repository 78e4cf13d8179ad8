"""The incident pages (issue 22): ``/incidents`` (the incidents a user may read) and
``/incidents/{id}`` (the map of the river network with the plume's path, the arrival table,
the curves at each intake, the notice board with acknowledgements, the joint monitoring plan
with approvals, results and the timeline).

The server checks the right to read (the cities on the incident and the province) and renders
the frame; ``static/js/incidents.js`` fills it from ``/api/v1/incidents/{id}`` and
``/api/v1/rivers/{network}`` and posts acknowledgements and approvals with the CSRF token.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pandas as pd
from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ecobasin.errors import NotFound
from ecobasin.services import incidents as service
from ecobasin.web.deps import CursorDep
from ecobasin.web.pages.dashboard import templates
from ecobasin.web.security.deps import CurrentPrincipal
from ecobasin.web.security.policy import Principal, incident_denial
from ecobasin.workflow.incidents import SOURCE_TYPES

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _render(
    request: Request, name: str, principal: Principal, status: int = 200, **context: Any
) -> HTMLResponse:
    base = {"page": "incidents", "user": principal, "csrf_token": principal.csrf_token}
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status)


def _signin(request: Request) -> Response:
    return RedirectResponse(f"/signin?next={quote(request.url.path)}", status_code=303)


@router.get("/incidents", response_class=HTMLResponse)
def incidents_page(request: Request, principal: CurrentPrincipal, cursor: CursorDep) -> Response:
    """The incidents the user may read, newest first."""
    if not principal.authenticated:
        return _signin(request)
    cities = None if principal.role in ("admin", "viewer") else [str(principal.city_code)]
    table = service.list_incidents(cursor, cities)
    rows = [{**r, "determined_at": str(r["determined_at"])[:16]} for r in table.to_dict("records")]
    may_open = principal.role == "admin" or (
        principal.role == "editor" and principal.city_code is not None
    )
    return _render(
        request, "incidents.html", principal, incidents=rows, may_open=may_open,
        my_city=str(principal.city_code or ""), substances=service.substance_choices(),
        networks=service.network_names(cursor), source_types=list(SOURCE_TYPES),
    )  # fmt: skip


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
def incident_page(
    request: Request,
    principal: CurrentPrincipal,
    cursor: CursorDep,
    incident_id: str = Path(max_length=40, pattern=r"^[A-Za-z0-9-]+$"),
) -> Response:
    """One incident's page, for the cities on it and the province."""
    if not principal.authenticated:
        return _signin(request)
    try:
        view = service.incident_view(cursor, incident_id)
    except NotFound:
        return _render(request, "incident.html", principal, 404, missing=incident_id)
    record = view["incident"]
    involved = tuple(int(c) for c in service.involved_cities(cursor, incident_id))
    reason = incident_denial(principal, "read", int(record["city_code"]), involved)
    if reason is not None:
        return _render(request, "incident.html", principal, 403, forbidden=reason)
    determined = pd.Timestamp(record["determined_at"]).tz_convert("Asia/Shanghai")
    return _render(
        request, "incident.html", principal, incident=record,
        determined_cst=f"{determined:%Y-%m-%d %H:%M} CST",
        my_city=str(principal.city_code or ""), role=principal.role,
    )  # fmt: skip
