"""Positioning-terminal pings and the site presence they imply (nonroad brief A2, A6, A8).

A 国四 machine of 37–560 kW carries a terminal (HJ 1014-2020) that reports its position; the
platform keeps every report (``terminal_ping {terminal_id, ts, lat, lon, status}``, A8) and
derives from them which machine stood on which construction site when (``site_presence``,
source ``terminal``, A6), which the checks C1–C8 read like a gate's record.

:func:`judge_pings` sorts a batch into the plausible reports and the rejects with their reasons
(unknown terminal, implausible time, outside the region, a speed jump); :func:`derive_presence`
turns one terminal's reports into stays on sites. Thresholds: ``rules.toml [pings]``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from ecobasin.machinery.tables import MachineryRules

__all__ = [
    "ENGINE_STATES",
    "PingIn",
    "SiteArea",
    "Stay",
    "derive_presence",
    "distance_km",
    "judge_pings",
    "site_area",
]

#: engine states a terminal reports (A8 ``status``)
ENGINE_STATES = ("on", "off", "idle")
_EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG) [km]


@dataclass(frozen=True)
class PingIn:
    """One terminal report as received: ``index`` names it in the batch (``ping N``/``line N``)."""

    index: str
    terminal_id: str
    at: datetime
    lon: float  # [°E] WGS-84
    lat: float  # [°N]
    engine_hours: float | None = None  # [h] the engine's hour meter
    engine_state: str | None = None  # on, off, idle


@dataclass(frozen=True)
class SiteArea:
    """A construction site's area (A6 ``site.polygon``, else a square around its point)."""

    site_id: str
    city: int
    area: BaseGeometry


@dataclass(frozen=True)
class Stay:
    """A machine on a site from ``entered_at`` to ``left_at`` (None: still there)."""

    site_id: str
    entered_at: datetime
    left_at: datetime | None


def distance_km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle (haversine) distance between two WGS-84 points [km]."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * _EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def site_area(
    site_id: str,
    city: int,
    lon: float,
    lat: float,
    polygon: Mapping[str, Any] | None,
    rules: MachineryRules,
) -> SiteArea:
    """The site's polygon (GeoJSON geometry, WGS-84) or, without one, a square of
    ``site_half_side_m`` [m] around its point."""
    if polygon:
        return SiteArea(site_id, city, shape(polygon))
    dlat = rules.site_half_side_m / 111_320.0  # metres per degree of latitude
    dlon = dlat / max(0.01, math.cos(math.radians(lat)))
    return SiteArea(site_id, city, shapely.box(lon - dlon, lat - dlat, lon + dlon, lat + dlat))


def _time_problem(at: datetime, now: datetime, rules: MachineryRules) -> str | None:
    if at > now + timedelta(minutes=rules.ping_max_future_min):
        return (
            f"time {at.isoformat()} is more than {rules.ping_max_future_min:g} min ahead of the "
            "receiving clock 时间晚于当前"
        )
    if at < now - timedelta(days=rules.ping_max_age_days):
        return f"time {at.isoformat()} is older than {rules.ping_max_age_days:g} days 时间过早"
    return None


def judge_pings(
    pings: Iterable[PingIn],
    known_terminals: set[str],
    region: BaseGeometry,
    last_stored: Mapping[str, tuple[datetime, float, float]],
    now: datetime,
    rules: MachineryRules,
) -> tuple[list[PingIn], list[tuple[PingIn, str]]]:
    """(plausible pings, [(ping, reason)]) of a batch. The speed from a terminal's previous
    plausible report (in the batch, or the last stored one) must not exceed ``max_speed_kmh``
    [km/h]; a report at the same instant as the previous one is a repeat, kept once by the store."""
    shapely.prepare(region)  # many points against one region: index its edges once
    good: list[PingIn] = []
    bad: list[tuple[PingIn, str]] = []
    previous = dict(last_stored)
    for ping in sorted(pings, key=lambda p: (p.terminal_id, p.at)):
        problem = None
        if ping.terminal_id not in known_terminals:
            problem = f"terminal {ping.terminal_id!r} is fitted to no registered machine 未知终端"
        else:
            problem = _time_problem(ping.at, now, rules)
        if problem is None and not region.covers(shapely.Point(ping.lon, ping.lat)):
            problem = f"position {ping.lon:.5f}°E {ping.lat:.5f}°N is outside the region 超出区域"
        if problem is None and ping.terminal_id in previous:
            problem = _jump(ping, *previous[ping.terminal_id], rules)
        if problem is not None:
            bad.append((ping, problem))
            continue
        good.append(ping)
        previous[ping.terminal_id] = (ping.at, ping.lon, ping.lat)
    return good, bad


def _jump(ping: PingIn, at: datetime, lon: float, lat: float, rules: MachineryRules) -> str | None:
    """The reason a ping is a speed jump from the report (at, lon, lat), or None."""
    km = distance_km(lon, lat, ping.lon, ping.lat)
    hours = abs((ping.at - at).total_seconds()) / 3600
    if hours == 0:
        return None if km < 0.001 else f"two positions {km:.2f} km apart at one instant 位置跳变"
    speed = km / hours
    if speed > rules.ping_max_speed_kmh:
        return (
            f"jump of {km:.1f} km in {hours * 60:.0f} min ({speed:.0f} km/h > "
            f"{rules.ping_max_speed_kmh:g} km/h) from the previous report 速度异常"
        )
    return None


def derive_presence(
    pings: list[tuple[datetime, float, float]], sites: list[SiteArea], rules: MachineryRules
) -> list[Stay]:
    """One terminal's stays on sites from its reports (time, lon, lat), in time order: a stay
    begins at the first report inside a site and ends at the first report outside it; a silence
    longer than ``presence_gap_h`` ends it at its last report inside. The last stay is open
    (``left_at`` None) while the latest report is inside."""
    gap = timedelta(hours=rules.presence_gap_h)
    stays: list[Stay] = []
    current: tuple[str, datetime, datetime] | None = None  # site, entered, last seen inside
    for at, lon, lat in sorted(pings):
        point = shapely.Point(lon, lat)
        inside = next((s.site_id for s in sites if s.area.covers(point)), None)
        if current is not None and (inside != current[0] or at - current[2] > gap):
            left = at if at - current[2] <= gap else current[2]
            stays.append(Stay(current[0], current[1], left))
            current = None
        if inside is not None:
            current = (inside, at, at) if current is None else (current[0], current[1], at)
    if current is not None:
        stays.append(Stay(current[0], current[1], None))
    return stays
