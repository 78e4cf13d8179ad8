"""``GET /api/v1/cities`` and ``/api/v1/cities/boundaries``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from ecobasin.services import reference
from ecobasin.web.convert import boundaries_geojson, city_models
from ecobasin.web.deps import CursorDep, LangDep, RegionDep
from ecobasin.web.models import CityList
from ecobasin.web.problems import problem_responses

router = APIRouter(prefix="/cities", tags=["cities"], responses=problem_responses(422))

GEOJSON = "application/geo+json"


@router.get("", response_model=CityList)
def list_cities(
    cursor: CursorDep,
    region: RegionDep,
    lang: LangDep = "zh",
    all: Annotated[
        bool, Query(description="Every known city instead of only the region's.")
    ] = False,
) -> CityList:
    """The cities of the served region (in the region's order), or with `all=true` every
    prefecture-level city the store knows (by code).

    Each city has its GB/T 2260 code, names in Chinese and English, province, label point and
    whether it belongs to the served region.
    """
    if all:
        frame = reference.cities(cursor)
    else:
        frame = reference.cities(cursor, codes=region.cities)
        order = {code: i for i, code in enumerate(region.cities)}
        frame = frame.sort_values("code", key=lambda codes: codes.map(order), kind="stable")
    results = city_models(frame, region, lang)
    return CityList(count=len(results), results=results)


@router.get(
    "/boundaries",
    response_class=JSONResponse,
    responses={
        200: {
            "description": "RFC 7946 FeatureCollection of (Multi)Polygons.",
            "content": {GEOJSON: {"schema": {"type": "object"}}},
        }
    },
)
def get_city_boundaries(region: RegionDep, lang: LangDep = "zh") -> JSONResponse:
    """GeoJSON (RFC 7946, WGS-84 lon/lat) of the region's city boundaries.

    Feature properties: `code`, `name_zh`, `name_en`, `name` (in `lang`) and `center`
    ([lon, lat] label point). Cities without a bundled boundary are left out.
    """
    collection: dict[str, Any] = boundaries_geojson(region, lang)
    return JSONResponse(collection, media_type=GEOJSON)
