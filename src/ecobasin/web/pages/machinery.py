"""The machinery registry page (issue 18): ``/machinery``, and the gate check ``/machinery/gate``.

Everyone sees the per-city counts and the no-use zones on the map; a signed-in account also sees
the construction sites on the map and the open findings of checks C1–C11 of every city (mutual
recognition); a city's editors and admins record a spot check (GB 36886-2018) from the page, and
the verdict with the machine's findings shows at once. ``static/js/machinery.js`` fills the page
from ``/api/v1/machinery/…`` (no inline script: the pages run under a CSP without it).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ecobasin.services import machinery as service
from ecobasin.services.machinery import region_extent
from ecobasin.web.deps import RegionDep, StoreViewDep
from ecobasin.web.pages.dashboard import templates
from ecobasin.web.security.deps import CurrentPrincipal, GatePrincipal
from ecobasin.web.security.policy import can

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/machinery", response_class=HTMLResponse)
def machinery_page(
    request: Request, principal: CurrentPrincipal, region: RegionDep
) -> HTMLResponse:
    """Counts, the map of zones and sites (zoomed to the region's extent), the findings and the
    spot-check form."""
    if principal.role == "editor":
        cities = [principal.city_code]
    else:
        cities = list(region.cities) if can(principal, "machinery:write") else []
    return templates.TemplateResponse(
        request,
        "machinery.html",
        {
            "page": "machinery",
            "can_read": can(principal, "machinery:read"),
            "write_cities": [c for c in cities if c is not None],
            # the map opens on the region's cities (their boundaries' extent), not the country
            "extent": ",".join(f"{v:.4f}" for v in region_extent(region)),
        },
    )


@router.get("/machinery/gate", response_class=HTMLResponse)
def gate_page(request: Request, principal: GatePrincipal, store: StoreViewDep) -> HTMLResponse:
    """The gate check for a phone at a construction site's gate (A6 进出场核验): the sites the
    user may check (an editor's city; a gate operator's own site; an admin's all), a code field a QR scanner fills, the
    decision with its reasons in large type, and the site's last checks."""
    allowed = [
        site
        for site in service.site_list(store)
        if can(principal, "machinery:gate", int(site["city"]), str(site["site_id"]))
    ]
    return templates.TemplateResponse(
        request,
        "machinery_gate.html",
        {"page": "machinery_gate", "sites": allowed, "signed_in": principal.authenticated},
    )
