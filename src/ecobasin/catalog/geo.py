"""Is a station where its city is? Coordinates checked against the city's boundary (pure).

Boundaries are the bundled GeoJSON files (``boundaries_*.geojson``, lon/lat WGS-84). A station
may sit a little outside its city's polygon (simplified boundaries, stations on the border), so
the polygon is widened by a margin [km]. Cities without a bundled boundary get the range check
only (finite longitude in [-180, 180], latitude in [-90, 90]).
"""

from __future__ import annotations

import math
from functools import cache
from importlib import resources
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from ecobasin import catalog

__all__ = ["DEFAULT_MARGIN_KM", "city_boundary", "location_problem"]

#: Default widening of a city's polygon [km].
DEFAULT_MARGIN_KM = 5.0
KM_PER_DEGREE = 111.32  # one degree of latitude [km]; longitude shrinks by cos(latitude)


@cache
def _boundaries_by_name() -> dict[str, BaseGeometry]:
    import json

    found: dict[str, BaseGeometry] = {}
    data = resources.files("ecobasin.catalog") / "data"
    for item in data.iterdir():
        regional = item.name != "boundaries_china.geojson"  # the national one goes by code
        if regional and item.name.startswith("boundaries_") and item.name.endswith(".geojson"):
            collection: dict[str, Any] = json.loads(item.read_text(encoding="utf-8"))
            for feature in collection["features"]:
                geometry = shape(catalog._valid_rings(feature["geometry"]))
                shapely.prepare(geometry)
                found[str(feature["properties"]["name"])] = geometry
    return found


@cache
def city_boundary(city_code: int) -> BaseGeometry | None:
    """The boundary of a city (GB/T 2260 code), None when there is none.

    A regional file's (more detailed, matched by Chinese name) first, then the user's cities
    file's, then the national file's (``catalog.boundaries`` decides the same way).
    """
    table = catalog.cities()
    if city_code not in table.index:
        return None
    regional = _boundaries_by_name().get(str(table.loc[city_code, "name_zh"]))
    if regional is not None:
        return regional
    geometry = catalog.user_boundaries().get(city_code)
    if geometry is None:
        feature = catalog.national_boundaries().get(city_code)
        geometry = None if feature is None else feature["geometry"]
    if geometry is None:
        return None
    found = shape(catalog._valid_rings(geometry))
    shapely.prepare(found)
    return found


def location_problem(
    city_code: int, lon: float | None, lat: float | None, margin_km: float = DEFAULT_MARGIN_KM
) -> str | None:
    """Why a station at (``lon`` [°E], ``lat`` [°N]) cannot belong to ``city_code``, or None.

    No coordinates (both None/NaN) is no problem: a station may be registered before it is
    surveyed. One coordinate without the other, values that are not finite or out of range,
    and points farther than ``margin_km`` outside the city's boundary are problems.
    """
    missing = [v is None or (isinstance(v, float) and math.isnan(v)) for v in (lon, lat)]
    if all(missing):
        return None
    if any(missing):
        return "give both lon and lat, or neither"
    assert lon is not None and lat is not None
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return f"coordinates ({lon}, {lat}) are not finite numbers"
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        return f"coordinates ({lon}, {lat}) are outside lon -180…180, lat -90…90"
    boundary = city_boundary(city_code)
    if boundary is None:
        return None
    point = shapely.Point(lon, lat)
    if boundary.contains(point):
        return None
    degrees = boundary.distance(point)
    km = degrees * KM_PER_DEGREE * max(math.cos(math.radians(lat)), 0.5)
    if km <= margin_km:
        return None
    return (
        f"({lon:.4f}, {lat:.4f}) is {km:.0f} km outside the boundary of city {city_code} "
        f"(margin {margin_km:g} km); check the coordinates and the city"
    )
