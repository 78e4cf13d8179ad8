"""GB 3096-2008 functional zones (声环境功能区划) as polygons, and which zone holds a point.

A city's zoning plan (区划方案, drawn per GB/T 15190-2014) divides it into classes 0, 1, 2, 3,
4a and 4b (GB 3096-2008 §4); a plan is revised, so each zone carries its validity. A 4a or 4b
zone is a band along a road or railway drawn over the zones it crosses, so where polygons
overlap the *smallest* one holding the point is the zone of that point (the most specific
drawing). Pure functions (shapely, no I/O); the store imports and keeps the zones.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.errors import GEOSException
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from ecobasin.standards.noise import normalise_class

__all__ = ["NoiseZone", "zone_from_feature", "zone_holding"]

#: Longest zone id kept [characters] (a zone id is a key, not a text).
MAX_ZONE_ID = 80


@dataclass(frozen=True)
class NoiseZone:
    """One functional zone of a city: its GB 3096 class, polygon [WGS-84 °] and validity
    (``valid_from`` inclusive, ``valid_to`` inclusive; None: open)."""

    zone_id: str
    city_code: int
    zone_class: str
    geometry: BaseGeometry
    name_zh: str | None = None
    name_en: str | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None

    def valid_on(self, day: dt.date | None) -> bool:
        """Whether the zone is in force on ``day`` (None: any zone counts)."""
        if day is None:
            return True
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )


def _date(props: Mapping[str, Any], key: str) -> dt.date | None:
    text = str(props.get(key) or "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        raise ValueError(f"{key} {text!r} is not a date (YYYY-MM-DD)") from None


def _geometry(feature: Mapping[str, Any]) -> BaseGeometry:
    try:
        geometry = shape(feature.get("geometry") or {})
    except (GEOSException, ValueError, TypeError, AttributeError, IndexError, KeyError) as error:
        raise ValueError(f"geometry is not GeoJSON: {error or type(error).__name__}") from None
    if geometry.geom_type not in ("Polygon", "MultiPolygon"):
        raise ValueError(f"geometry is a {geometry.geom_type}, not a Polygon or MultiPolygon")
    if geometry.is_empty or not geometry.is_valid:
        reason = shapely.is_valid_reason(geometry) if not geometry.is_empty else "empty"
        raise ValueError(f"geometry is not a valid polygon ({reason})")
    west, south, east, north = geometry.bounds
    if west < -180 or east > 180 or south < -90 or north > 90:
        raise ValueError("geometry has coordinates outside longitude ±180° / latitude ±90°")
    return geometry


def zone_from_feature(
    feature: Mapping[str, Any], cities: Mapping[str, int], default_city: int | None = None
) -> NoiseZone:
    """A zone from a GeoJSON Feature: properties ``zone_id``, ``zone_class`` (0, 1, 2, 3, 4a,
    4b; "4A", "2类" accepted), ``city`` (code or name, else ``default_city``), optional
    ``name_zh``, ``name_en``, ``valid_from``, ``valid_to`` (dates).

    Raises
    ------
    ValueError
        Naming the missing or bad property or geometry (the importer keeps the feature aside).
    """
    if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
        raise ValueError("not a GeoJSON Feature")
    props = feature.get("properties") or {}
    zone_id = str(props.get("zone_id") or "").strip()
    if not zone_id:
        raise ValueError("zone_id is missing")
    if len(zone_id) > MAX_ZONE_ID:
        raise ValueError(f"zone_id is longer than {MAX_ZONE_ID} characters")
    if props.get("zone_class") in (None, ""):
        raise ValueError("zone_class is missing")
    zone_class = normalise_class(props["zone_class"])
    city_text = str(props.get("city") or props.get("city_code") or "").strip()
    if not city_text and default_city is None:
        raise ValueError("city is missing (a property city, or --city)")
    city = cities.get(city_text, cities.get(city_text.lower())) if city_text else default_city
    if city is None:
        raise ValueError(f"unknown city {city_text!r}")
    valid_from, valid_to = _date(props, "valid_from"), _date(props, "valid_to")
    if valid_from and valid_to and valid_to < valid_from:
        raise ValueError(f"valid_to {valid_to} is before valid_from {valid_from}")
    return NoiseZone(
        zone_id=zone_id,
        city_code=int(city),
        zone_class=zone_class,
        geometry=_geometry(feature),
        name_zh=str(props.get("name_zh") or "").strip() or None,
        name_en=str(props.get("name_en") or "").strip() or None,
        valid_from=valid_from,
        valid_to=valid_to,
    )


def zone_holding(
    zones: Iterable[NoiseZone], lon: float, lat: float, day: dt.date | None = None
) -> NoiseZone | None:
    """The zone in force on ``day`` that holds the point [°E, °N] (its boundary included);
    where zones overlap, the smallest (a 4a road band over the class it crosses).

    >>> band = shape({"type": "Polygon", "coordinates": [[[0, 0.4], [2, 0.4], [2, 0.6], [0, 0.6]]]})
    >>> square = shape({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]})
    >>> zones = [NoiseZone("Z1", 1, "1", square), NoiseZone("Z4", 1, "4a", band)]
    >>> zone_holding(zones, 0.5, 0.5).zone_id, zone_holding(zones, 0.5, 0.9).zone_id
    ('Z4', 'Z1')
    >>> zone_holding(zones, 5.0, 5.0) is None
    True
    """
    point = shapely.Point(lon, lat)
    holding = [z for z in zones if z.valid_on(day) and z.geometry.covers(point)]
    return min(holding, key=lambda z: (z.geometry.area, z.zone_id), default=None)
