"""No-use zones for high-emission machinery (禁止使用高排放非道路移动机械区域, nonroad brief A4).

A zone is a WGS-84 (Multi)Polygon of one city with a validity window and its rule: the minimum
stage, whether Ⅲ类 smoke is required, registration, label and an online terminal. A zone whose
boundary roads are included counts a point on the boundary as inside. Zones are never edited in
place: a version is closed (``valid_to``) and replaced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

__all__ = ["Zone", "ZoneRule", "extent", "zone_from_feature", "zones_at"]


@dataclass(frozen=True)
class ZoneRule:
    """What a zone bans (``lez_rule`` of brief A4)."""

    min_stage: str = "G3"
    smoke_class_required: str | None = None  # "III" or None
    require_registration: bool = True
    require_label: bool = True
    require_terminal_online: bool = False
    terminal_max_silence_h: float = 24.0  # [h]
    exempt_types: tuple[str, ...] = ()
    exempt_fuel: tuple[str, ...] = ("electric",)


@dataclass(frozen=True)
class Zone:
    """A no-use zone version (``lez_zone`` of brief A4)."""

    zone_id: str
    city: int
    name: str
    geometry: BaseGeometry
    valid_from: datetime
    valid_to: datetime | None
    rule: ZoneRule = field(default_factory=ZoneRule)
    boundary_inclusive: bool = True
    notice_ref: str | None = None

    def active(self, at: datetime) -> bool:
        """Valid at ``at``: from ``valid_from`` (inclusive) to ``valid_to`` (exclusive)."""
        return self.valid_from <= at and (self.valid_to is None or at < self.valid_to)

    def holds(self, lon: float, lat: float) -> bool:
        """Whether the point [°E, °N] is in the zone; on the boundary counts when the boundary
        roads are included (shapely ``covers``) and not otherwise (``contains``)."""
        point = shapely.Point(lon, lat)
        if self.boundary_inclusive:
            return bool(self.geometry.covers(point))
        return bool(self.geometry.contains(point))


def zones_at(zones: list[Zone], lon: float, lat: float, at: datetime) -> list[Zone]:
    """The zones active at ``at`` that hold the point."""
    return [zone for zone in zones if zone.active(at) and zone.holds(lon, lat)]


def zone_from_feature(feature: dict[str, Any]) -> Zone:
    """A zone from a GeoJSON Feature whose properties carry ``zone_id, city, name, valid_from``
    (ISO 8601 with offset), optional ``valid_to, notice_ref, boundary_inclusive`` and the rule's
    fields (``min_stage`` …).

    Raises
    ------
    ValueError
        Naming the missing or bad property, or a geometry that is not a valid polygon.
    """
    props = dict(feature.get("properties") or {})
    for key in ("zone_id", "city", "name", "valid_from"):
        if props.get(key) in (None, ""):
            raise ValueError(f"zone property {key!r} is missing 缺少字段")
    geometry = shape(feature.get("geometry") or {})
    if geometry.geom_type not in ("Polygon", "MultiPolygon") or not geometry.is_valid:
        raise ValueError(f"zone {props['zone_id']}: geometry is not a valid (Multi)Polygon")
    valid_from = datetime.fromisoformat(str(props["valid_from"]))
    valid_to = datetime.fromisoformat(str(props["valid_to"])) if props.get("valid_to") else None
    if valid_from.tzinfo is None or (valid_to is not None and valid_to.tzinfo is None):
        raise ValueError(f"zone {props['zone_id']}: validity times need an offset (+08:00)")
    smoke_class = props.get("smoke_class_required")
    if smoke_class not in (None, "III"):
        raise ValueError(f"zone {props['zone_id']}: smoke_class_required must be III or empty")
    rule = ZoneRule(
        min_stage=str(props.get("min_stage", "G3")),
        smoke_class_required=smoke_class,
        require_registration=bool(props.get("require_registration", True)),
        require_label=bool(props.get("require_label", True)),
        require_terminal_online=bool(props.get("require_terminal_online", False)),
        terminal_max_silence_h=float(props.get("terminal_max_silence_h", 24.0)),
        exempt_types=tuple(props.get("exempt_types", ())),
        exempt_fuel=tuple(props.get("exempt_fuel", ("electric",))),
    )
    return Zone(
        zone_id=str(props["zone_id"]),
        city=int(props["city"]),
        name=str(props["name"]),
        geometry=geometry,
        valid_from=valid_from,
        valid_to=valid_to,
        rule=rule,
        boundary_inclusive=bool(props.get("boundary_inclusive", True)),
        notice_ref=props.get("notice_ref"),
    )


def extent(
    features: list[dict[str, Any]], margin: float = 0.05
) -> tuple[float, float, float, float]:
    """The bounding box (west, south, east, north) [°] of GeoJSON features (a region's city
    boundaries), widened by ``margin`` of its width and height on every side so the edges show.

    Raises
    ------
    ValueError
        When no feature has a geometry (a region without any boundary).
    """
    shapes = [shape(f["geometry"]) for f in features if f.get("geometry")]
    if not shapes:
        raise ValueError("no boundary to take an extent from 无边界")
    bounds = [geometry.bounds for geometry in shapes]  # (minx, miny, maxx, maxy) each
    west, south = min(b[0] for b in bounds), min(b[1] for b in bounds)
    east, north = max(b[2] for b in bounds), max(b[3] for b in bounds)
    dx, dy = (east - west) * margin, (north - south) * margin
    return (west - dx, south - dy, east + dx, north + dy)
