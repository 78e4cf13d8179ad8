"""The wind of a station for source analysis: its own, the nearest met station's, or imported.

Brief ``../shared/reference/nonroad_and_source.md`` B1 and B8: wind direction ``wd`` [°] is where
the wind comes **from** (0/360 north), wind speed ``ws`` [m/s]; the station's own 10 m wind is
preferred, then the nearest station that measures wind, then the city's imported meteorology
(the ``meteorology`` table). Hours are matched on the same UTC instant (B8: clocks aligned).
Calms (ws < ``calm_ws``, default 0.5 m/s, B8 "reject wd at ws < 0.5 m/s") are counted and their
share reported, never silently dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ecobasin.errors import InputError

__all__ = [
    "WIND_DIRECTION",
    "WIND_SPEED",
    "WindSeries",
    "calm_share",
    "distance_km",
    "join_wind",
    "nearest_site",
    "wide_wind",
]

#: parameter ids of the registry (HJ 212-2017 表B.2: a01007 wind speed, a01008 wind direction)
WIND_SPEED = "wind_speed"
WIND_DIRECTION = "wind_direction"
_EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True)
class WindSeries:
    """Hourly wind of a station with where it came from.

    ``origin`` is ``station`` (its own), ``nearest`` (the met station ``origin_site`` at
    ``distance_km`` [km]) or ``imported`` (the city's meteorology table).
    """

    frame: pd.DataFrame  # time (UTC), ws [m/s], wd [°]
    origin: str
    origin_site: str | None = None
    distance_km: float | None = None


def wide_wind(long: pd.DataFrame) -> pd.DataFrame:
    """time, ws, wd from tidy rows (time, parameter, value) holding wind_speed/wind_direction;
    hours missing either are left out (a wind needs both)."""
    if long.empty:
        return pd.DataFrame(
            {"time": pd.Series([], dtype="datetime64[ns, UTC]"), "ws": [], "wd": []}
        )
    wide = long.pivot_table(index="time", columns="parameter", values="value", aggfunc="first")
    if WIND_SPEED not in wide or WIND_DIRECTION not in wide:
        return wide_wind(long.iloc[0:0])
    frame = wide[[WIND_SPEED, WIND_DIRECTION]].dropna()
    frame.columns = pd.Index(["ws", "wd"])
    return frame.reset_index().sort_values("time", ignore_index=True)


def distance_km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle (haversine) distance [km] between two WGS-84 points [°]."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def nearest_site(
    lon: float | None, lat: float | None, candidates: pd.DataFrame, max_km: float = 50.0
) -> tuple[str, float] | None:
    """The nearest of ``candidates`` (site_id, lon, lat) within ``max_km`` [km], with its
    distance; None without coordinates or a candidate that near (B8: local wind only)."""
    if lon is None or lat is None or pd.isna(lon) or pd.isna(lat) or candidates.empty:
        return None
    best: tuple[str, float] | None = None
    located = candidates.dropna(subset=["lon", "lat"])
    for site_id, site_lon, site_lat in zip(
        located["site_id"], located["lon"].astype(float), located["lat"].astype(float), strict=True
    ):
        km = distance_km(float(lon), float(lat), site_lon, site_lat)
        if km <= max_km and (best is None or km < best[1]):
            best = (str(site_id), km)
    return best


def join_wind(conc: pd.DataFrame, wind: pd.DataFrame) -> pd.DataFrame:
    """time, conc, ws, wd on the hours that have both a concentration and a wind (UTC instants)."""
    merged = conc[["time", "conc"]].merge(wind[["time", "ws", "wd"]], on="time", how="inner")
    bad = (merged["wd"] < 0) | (merged["wd"] > 360) | (merged["ws"] < 0)
    if bad.any():
        first = merged[bad].iloc[0]
        raise InputError(
            f"{int(bad.sum())} hours with an impossible wind, first at {first['time']}: "
            f"ws {first['ws']} m/s, wd {first['wd']}°"
        )
    return merged.dropna().reset_index(drop=True)


def calm_share(ws: np.ndarray | pd.Series, calm_ws: float = 0.5) -> float:
    """The share [1] of hours with ws < ``calm_ws`` [m/s] (B1: calms a parameter, reported)."""
    speeds = np.asarray(ws, dtype=float)
    speeds = speeds[np.isfinite(speeds)]
    return float((speeds < calm_ws).mean()) if speeds.size else 0.0
