"""Noise complaints (issue 23; noise brief §6.5 case hooks; 2022 Noise Pollution Prevention Law).

A complaints CSV has the columns ``complaint_id, time, city, lon, lat, source_type`` and an
optional ``description``. ``time`` is China Standard Time unless it carries an offset;
``source_type`` is a code (``social_life``, ``construction``, ``industry``, ``traffic``) or its
Chinese label (社会生活, 建筑施工, 工业, 交通运输). Each bad row goes to ``rejected`` as
``line N: reason``; the good rows are placed:

* in the GB 3096-2008 functional zone whose polygon holds the point (``zone_id``, class);
* against the nearest noise site (great-circle distance [m]) and the nearest automatic station's
  hourly Leq/LMx [dB(A)] of the hour holding the complaint (hour-ending label);
* as a rectification-case candidate (``case_candidate``) when its source is construction or
  industry (GB 12523-2011 / GB 12348-2008 boundary noise) and a noise site lies within
  ``limits.toml [complaints] candidate_radius_m`` with a measurement attached;
  :func:`ecobasin.services.noise.open_complaint_case` opens its rectification case.

A re-import replaces complaints by id, so it changes nothing.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ecobasin.standards.noise_tables import load_noise_text
from ecobasin.standards.noise_zones import zone_holding
from ecobasin.store import _sql, noise_zones
from ecobasin.store import noise as noise_store
from ecobasin.store.database import Store
from ecobasin.store.lake_read import source
from ecobasin.store.queries import as_utc

__all__ = [
    "SOURCE_TYPES",
    "ComplaintImport",
    "case_links",
    "complaint",
    "complaints",
    "import_complaints_csv",
    "latest_time",
    "place",
    "store_complaints",
]

#: Source types of the national report's complaint statistics, with bilingual labels.
SOURCE_TYPES: dict[str, tuple[str, str]] = {
    "social_life": ("社会生活噪声", "social life"),
    "construction": ("建筑施工噪声", "construction"),
    "industry": ("工业噪声", "industry"),
    "traffic": ("交通运输噪声", "traffic"),
}
_SOURCE_WORDS = {
    **{code: code for code in SOURCE_TYPES},
    **{zh: code for code, (zh, _) in SOURCE_TYPES.items()},
    **{zh.removesuffix("噪声"): code for code, (zh, _) in SOURCE_TYPES.items()},
    "social life": "social_life",
}
EARTH_RADIUS_M = 6_371_008.8
REQUIRED = ("complaint_id", "time", "city", "lon", "lat", "source_type")


@dataclass(frozen=True)
class ComplaintImport:
    """What an import did: rows read, stored, kept aside, and case candidates among the stored."""

    batch_id: int
    read: int
    stored: int
    rejected: int
    case_candidates: int


@cache
def _rules() -> dict[str, Any]:
    return dict(tomllib.loads(load_noise_text("limits.toml"))["complaints"])


def _parse(row: dict[str, Any], cities: dict[str, int]) -> dict[str, Any]:
    """One CSV row as a complaint; ValueError names the reason."""
    for column in REQUIRED:
        if not str(row.get(column, "")).strip():
            raise ValueError(f"{column} is missing")
    try:
        stamp = pd.Timestamp(str(row["time"]).strip())
    except ValueError:
        raise ValueError(f"time {row['time']!r} is not a date and time") from None
    stamp = stamp.tz_localize("Asia/Shanghai") if stamp.tzinfo is None else stamp
    try:
        lon, lat = float(row["lon"]), float(row["lat"])
    except ValueError:
        raise ValueError(f"lon/lat {row['lon']!r}, {row['lat']!r} are not numbers") from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValueError(f"lon/lat {lon}, {lat} are not WGS-84 degrees")
    city = str(row["city"]).strip()
    if city not in cities:
        raise ValueError(f"city {city!r} is not a city of the catalog")
    source = _SOURCE_WORDS.get(str(row["source_type"]).strip().lower()) or _SOURCE_WORDS.get(
        str(row["source_type"]).strip()
    )
    if source is None:
        raise ValueError(
            f"source_type {row['source_type']!r} is not one of {', '.join(SOURCE_TYPES)}"
        )
    return {
        "complaint_id": str(row["complaint_id"]).strip(),
        "time": stamp.tz_convert("UTC"),
        "city_code": cities[city],
        "lon": lon,
        "lat": lat,
        "source_type": source,
        "description": str(row.get("description") or "").strip() or None,
    }


def _distances_m(lon: float, lat: float, lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
    """Great-circle (haversine) distances [m] from one point to many."""
    p1, p2 = np.radians(lat), np.radians(lats)
    dphi, dlmb = p2 - p1, np.radians(lons - lon)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(a)))


def _hour_ending(time: pd.Timestamp) -> pd.Timestamp:
    """The end of the hour holding ``time`` (hour-ending label: 08:00 sharp is in 08:00–09:00)."""
    return time.ceil("h") if time != time.floor("h") else time + pd.Timedelta(hours=1)


def _hourly_levels(
    store: Store, keys: list[tuple[str, pd.Timestamp]]
) -> dict[tuple[str, pd.Timestamp], dict[str, float]]:
    """Hourly Leq/LMx [dB(A)] of each (station, hour end) asked, in one query for all of them
    (a query per complaint cost ~20 ms each); missing values are left out."""
    if not keys:
        return {}
    wanted = pd.DataFrame(
        {
            "site_id": pd.Series([k[0] for k in keys], dtype=object),
            "time": pd.Series([k[1] for k in keys]).astype("datetime64[us, UTC]"),
        }
    ).drop_duplicates()
    with store._registered(levels_wanted=wanted):
        found = store.con.execute(
            "SELECT o.site_id, o.parameter, o.time::TIMESTAMP AS time, o.value "
            f"FROM {source(store.con, 'observations')} o JOIN sites s USING (site_id) "
            "JOIN levels_wanted w ON o.site_id = w.site_id AND o.time = w.time "
            "WHERE o.parameter IN ('Leq', 'LMx') AND o.period = '1h' "
            "ORDER BY o.site_id, o.parameter, o.period, o.time"
        ).df()
    found = as_utc(found, "time")
    levels: dict[tuple[str, pd.Timestamp], dict[str, float]] = {}
    for site, parameter, time, value in found.itertuples(index=False):
        if value == value:
            levels.setdefault((str(site), pd.Timestamp(time)), {})[str(parameter)] = float(value)
    return levels


def _measurement(
    levels: dict[tuple[str, pd.Timestamp], dict[str, float]], site_id: str, hour_end: pd.Timestamp
) -> dict[str, Any] | None:
    """The station's hourly Leq/LMx [dB(A)] of the hour ending at ``hour_end``."""
    values = levels.get((site_id, hour_end), {})
    if "Leq" not in values:
        return None
    label = hour_end.tz_convert("Asia/Shanghai")
    return {
        "site_id": site_id,
        "hour_ending_cst": f"{label:%Y-%m-%d %H}:00",
        "Leq": values["Leq"],
        "LMx": values.get("LMx"),
    }


def place(store: Store, frame: pd.DataFrame) -> pd.DataFrame:
    """Add zone, nearest site, distance, measurement and the case flag to parsed complaints."""
    rules = _rules()
    zones = noise_zones.stored_zones(store)
    sites = store.sites(kinds=["noise_station", "noise_point"])
    sites = sites[sites["lon"].notna() & sites["lat"].notna()]
    stations = sites[sites["kind"] == "noise_station"]
    rows = frame.to_dict("records")
    nearest_stations = [_nearest(stations, row["lon"], row["lat"]) for row in rows]
    levels = _hourly_levels(
        store,
        [
            (station[0], _hour_ending(row["time"]))
            for row, station in zip(rows, nearest_stations, strict=True)
            if station is not None
        ],
    )
    out = []
    for row, station in zip(rows, nearest_stations, strict=True):
        day = pd.Timestamp(row["time"]).tz_convert("Asia/Shanghai").date()
        zone = zone_holding(
            [z for z in zones if z.city_code == row["city_code"]], row["lon"], row["lat"], day
        )
        zone_id, cls = (None, None) if zone is None else (zone.zone_id, zone.zone_class)
        nearest, distance, measurement = None, None, None
        site = _nearest(sites, row["lon"], row["lat"])
        if site is not None:
            nearest, distance = site
        if station is not None:
            measurement = _measurement(levels, station[0], _hour_ending(row["time"]))
            if measurement is not None:
                measurement["distance_m"] = round(station[1], 1)
        candidate = (
            row["source_type"] in rules["candidate_sources"]
            and distance is not None
            and distance <= float(rules["candidate_radius_m"])
            and measurement is not None
        )
        out.append(
            {
                **row,
                "zone_id": zone_id,
                "zone_class": cls,
                "nearest_site": nearest,
                "distance_m": None if distance is None else round(distance, 1),
                "measurement": None if measurement is None else json.dumps(measurement),
                "case_candidate": bool(candidate),
            }
        )
    return pd.DataFrame(out)


def _nearest(sites: pd.DataFrame, lon: float, lat: float) -> tuple[str, float] | None:
    """The site nearest to a point and its great-circle distance [m]; None without sites."""
    if sites.empty:
        return None
    d = _distances_m(lon, lat, sites["lon"].to_numpy(), sites["lat"].to_numpy())
    return str(sites["site_id"].iloc[int(d.argmin())]), float(d.min())


_COLUMNS = (
    "complaint_id, time, city_code, lon, lat, source_type, description, zone_id, zone_class, "
    "nearest_site, distance_m, measurement, case_candidate, batch_id"
)


def store_complaints(store: Store, frame: pd.DataFrame, batch_id: int) -> int:
    """Place and upsert parsed complaints; returns the number of case candidates."""
    placed = place(store, frame).assign(batch_id=batch_id)
    columns = [c.strip() for c in _COLUMNS.split(",")]
    with store._registered(complaints_in=placed[columns]):
        store.con.execute(
            f"INSERT OR REPLACE INTO noise_complaints ({_COLUMNS}) "
            f"SELECT {_COLUMNS} FROM complaints_in"
        )
    return int(placed["case_candidate"].sum())


def import_complaints_csv(store: Store, path: Path) -> ComplaintImport:
    """Import a complaints CSV; every bad row goes to ``rejected`` with its line and reason."""
    frame = noise_store.read_csv_capped(path)
    cities = noise_store.city_codes(store)
    batch = store.begin_batch("noise_complaints", str(path))
    good: list[dict[str, Any]] = []
    bad: list[dict[str, Any]] = []
    seen: set[str] = set()
    for line, row in enumerate(frame.to_dict("records"), start=2):  # line 1 is the header
        try:
            record = _parse({str(k): v for k, v in row.items()}, cities)
            if record["complaint_id"] in seen:
                raise ValueError(f"complaint_id {record['complaint_id']} appears twice")
            seen.add(record["complaint_id"])
            good.append(record)
        except ValueError as exc:
            bad.append(
                {
                    "source": str(path),
                    "record_ref": f"line {line}",
                    "reason_code": "bad_complaint_row",
                    "reason": f"line {line}: {exc}",
                    "raw": json.dumps(row, ensure_ascii=False),
                }
            )
    candidates = store_complaints(store, pd.DataFrame(good), batch) if good else 0
    if bad:
        store.reject(pd.DataFrame(bad), batch)
    counts = {"read": len(frame), "stored": len(good), "rejected": len(bad)}
    store.finish_batch(batch, {**counts, "case_candidates": candidates})
    return ComplaintImport(batch, len(frame), len(good), len(bad), candidates)


def complaints(
    store: Store,
    *,
    city_code: int | None = None,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Stored complaints, newest first, optionally of one city and a UTC time range."""
    sql, params = "SELECT * FROM noise_complaints WHERE true", list[Any]()
    if city_code is not None:
        sql, params = sql + " AND city_code = ?", [*params, city_code]
    if start is not None:
        sql, params = sql + " AND time >= ?", [*params, start.to_pydatetime()]
    if end is not None:
        sql, params = sql + " AND time < ?", [*params, end.to_pydatetime()]
    return _sql.frame(store, sql + " ORDER BY time DESC, complaint_id", params)


def complaint(store: Store, complaint_id: str) -> dict[str, Any]:
    """One stored complaint as a row; LookupError naming the id when there is none."""
    frame = _sql.frame(
        store, "SELECT * FROM noise_complaints WHERE complaint_id = ?", [complaint_id]
    )
    if frame.empty:
        raise LookupError(f"no noise complaint {complaint_id!r} 无此噪声投诉")
    return {str(k): v for k, v in frame.iloc[0].to_dict().items()}


def case_links(store: Store) -> dict[str, str]:
    """Complaint id → the (first) rectification case linked to it (``case_links`` of the
    supervision workflow, source kind ``noise_complaint``)."""
    frame = _sql.frame(
        store,
        "SELECT source_id, min(case_id) AS case_id FROM case_links "
        "WHERE source_kind = 'noise_complaint' GROUP BY source_id",
    )
    return dict(zip(frame["source_id"].astype(str), frame["case_id"].astype(str), strict=True))


def latest_time(store: Store) -> pd.Timestamp | None:
    """The time of the newest stored complaint (UTC), None without complaints."""
    last = _sql.frame(store, "SELECT max(time) AS t FROM noise_complaints")["t"].iloc[0]
    return None if pd.isna(last) else pd.Timestamp(last)
