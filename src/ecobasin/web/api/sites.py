"""``GET /api/v1/sites``: monitoring sites as JSON or GeoJSON."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from ecobasin.services import reference
from ecobasin.web.convert import site_models, sites_geojson
from ecobasin.web.deps import CitiesDep, CursorDep, LangDep
from ecobasin.web.models import SiteList
from ecobasin.web.problems import problem_responses
from ecobasin.web.security.deps import CurrentPrincipal, authorize
from ecobasin.web.security.policy import readable_kinds

router = APIRouter(prefix="/sites", tags=["sites"], responses=problem_responses(422))

GEOJSON = "application/geo+json"
Kind = Literal["air_station", "micro_station", "water_section", "gas_outlet", "water_outlet"]


@router.get(
    "",
    response_model=SiteList,
    responses={
        200: {
            "description": "Sites as JSON, or with `format=geojson` an RFC 7946 "
            "FeatureCollection of Points.",
            "content": {GEOJSON: {"schema": {"type": "object"}}},
        }
    },
)
def list_sites(
    cursor: CursorDep,
    principal: CurrentPrincipal,
    cities: CitiesDep,
    lang: LangDep = "zh",
    kind: Annotated[
        list[Kind] | None, Query(description="Only sites of these kinds (repeatable).")
    ] = None,
    format: Annotated[
        Literal["json", "geojson"],
        Query(description="json (default) or geojson (RFC 7946, lon/lat, WGS-84)."),
    ] = "json",
) -> SiteList | JSONResponse:
    """Monitoring sites (air stations, micro-stations, water sections, enterprise outlets),
    ordered by city and site id, filtered by `city` (code or name, repeatable) and `kind`.
    Enterprise outlets (`gas_outlet`, `water_outlet`) are restricted: listed to signed-in
    users only (asking for them without credentials: 401).

    With `format=geojson` the answer is a FeatureCollection (`application/geo+json`): one
    Point feature per site, `id` the site id, coordinates [lon, lat] in WGS-84 (null geometry
    for a site without coordinates), properties `site_id`, `name_zh`, `name_en`, `name`,
    `kind`, `level`, `city_code`, `city_zh`, `city_en`, `city` and `attributes`.
    """
    kinds: list[str] | None = list(kind) if kind else None
    readable = readable_kinds(principal)  # the public sees no enterprise outlets
    if readable is not None:
        asked = [k for k in kinds or () if k not in readable]
        if asked:
            authorize(principal, "read_restricted", what=f"site kind {', '.join(asked)}")
        kinds = kinds or list(readable)
    frame = reference.sites(cursor, cities=cities, kinds=kinds)
    results = site_models(frame, lang)
    if format == "geojson":
        return JSONResponse(sites_geojson(results), media_type=GEOJSON)
    return SiteList(count=len(results), results=results)
