"""The page ``/live`` (实时监控): enterprise outlets' latest readings against their limits and
the HJ 212 gateway's status, drawn in the browser from ``GET /api/v1/live/enterprises`` and
``GET /api/v1/gateway/status`` (:mod:`ecobasin.web.api.live`). Enterprise data is restricted:
the public is asked to sign in."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from ecobasin.web.pages.dashboard import templates
from ecobasin.web.security.deps import CurrentPrincipal

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/live", response_class=HTMLResponse)
def live_page(
    request: Request,
    principal: CurrentPrincipal,
    refresh: Annotated[int, Query(ge=2, le=300, description="Refresh interval [s].")] = 5,
) -> HTMLResponse:
    """Live enterprise data and the gateway's status; the public is asked to sign in."""
    return templates.TemplateResponse(
        request,
        "live.html",
        {
            "page": "live",
            "user": principal if principal.authenticated else None,
            "signed_in": principal.authenticated,
            "signin_url": f"/signin?next={quote(request.url.path)}",
            "refresh_s": refresh,
        },
    )
