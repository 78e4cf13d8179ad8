"""The demo region's noise. ILLUSTRATIVE, not official data: functional zones drawn as
simple rectangles around the eight city centres (not any city's zoning plan), 20 automatic
stations with a year of generated hourly Leq and LMx (diurnal shape, weekday/weekend, class and
road proximity, occasional night events), an annual grid and traffic survey by day and by
night (HJ 640-2012 asks for both; night levels about 10 dB(A) lower), and a month
(December) of noise complaints: social life about 69 % as in Chengdu (noise brief §1), some
construction and industry complaints close to stations so that case candidates appear.

Levels [dB(A)] are shaped to the GB 3096-2008 class limits so that compliance varies by class
and hour as in published bulletins (night compliance lower than day).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ecobasin import catalog
from ecobasin.jobs.noise_quality import refresh_noise_products
from ecobasin.store import noise as noise_store
from ecobasin.store import noise_complaints, noise_zones
from ecobasin.store.database import Store

__all__ = [
    "SOURCE",
    "generate_complaints",
    "generate_stations",
    "generate_zones",
    "hourly_levels",
    "install",
    "night_surveys",
]

SOURCE = "illustrative demo 示意数据 (not an official zoning plan or measurement)"
#: (class, Δlon, Δlat of the rectangle's south-west corner, width, height) [°] around a centre.
_ZONE_LAYOUT = (
    ("1", -0.06, 0.0, 0.06, 0.05),
    ("2", 0.0, 0.0, 0.06, 0.05),
    ("3", 0.0, -0.05, 0.06, 0.05),
    ("1", -0.06, -0.05, 0.06, 0.05),
    ("4a", -0.06, -0.004, 0.12, 0.008),  # a band along an arterial road through the centre
)
#: [°] a station of another class keeps this far from the road band (≈ 200 m).
_BAND_MARGIN = 0.002
#: Typical day/night Leq of each class [dB(A)] (demo levels, a little below the limits).
_BASE = {"1": (53.5, 44.5), "2": (57.0, 48.0), "3": (61.0, 52.5), "4a": (66.5, 56.0)}
#: Stations per city: Chengdu 6, the other seven cities 2 each (20 in all).
_PER_CITY = (6, 2, 2, 2, 2, 2, 2, 2)
_CLASS_CYCLE = ("1", "2", "4a", "3", "2", "4a")
#: Demo complaint mix (shares of social life, construction, traffic, industry) and counts.
_COMPLAINT_SHARES = {"social_life": 0.69, "construction": 0.15, "traffic": 0.09, "industry": 0.07}
_COMPLAINTS_PER_CITY = (60, 15, 15, 15, 15, 15, 15, 15)
#: [°] a construction/industry complaint lies this close to a station (≈ 100–300 m).
_NEAR_STATION_DEG = 0.0025
_DESCRIPTIONS = {
    "social_life": "广场舞/商铺音响扰民 square dancing or shop loudspeakers",
    "construction": "夜间施工噪声 night construction",
    "industry": "厂界设备噪声 plant boundary noise",
    "traffic": "道路交通噪声 road traffic",
}


def _rectangle(lon: float, lat: float, dx: float, dy: float, w: float, h: float) -> dict[str, Any]:
    x0, y0 = lon + dx, lat + dy
    ring = [[x0, y0], [x0 + w, y0], [x0 + w, y0 + h], [x0, y0 + h], [x0, y0]]
    return {"type": "Polygon", "coordinates": [[[round(x, 5), round(y, 5)] for x, y in ring]]}


def generate_zones(cities: pd.DataFrame) -> pd.DataFrame:
    """Five illustrative zones per city centre (classes 1, 2, 3 and a 4a road band)."""
    rows = [
        {
            "zone_id": f"NZ-{code}-{i + 1:02d}",
            "city_code": int(code),
            "zone_class": cls,
            "name_zh": f"{zh} {cls}类区（示意）",
            "name_en": f"{en} class {cls} zone (illustrative)",
            "geometry": _rectangle(lon, lat, dx, dy, w, h),
        }
        for code, zh, en, lon, lat in cities[
            ["code", "short_zh", "name_en", "lon", "lat"]
        ].itertuples(index=False)
        for i, (cls, dx, dy, w, h) in enumerate(_ZONE_LAYOUT)
    ]
    return pd.DataFrame(rows)


def _place_in_class(
    zone_class: str, lon: float, lat: float, rng: np.random.Generator
) -> dict[str, float]:
    """A place [°] inside a demo zone of ``zone_class`` around the centre (lon, lat), off the
    road band unless the class is the band's own (4a): a station stands in the zone that
    judges it (GB 3096-2008 §4, a point is judged by its functional zone)."""
    shapes = [r for r in _ZONE_LAYOUT if r[0] == zone_class]
    _, dx, dy, w, h = shapes[int(rng.integers(len(shapes)))]
    band = _ZONE_LAYOUT[-1]
    while True:
        x = dx + w * rng.uniform(0.1, 0.9)
        y = dy + h * rng.uniform(0.1, 0.9)
        in_band = band[2] - _BAND_MARGIN <= y <= band[2] + band[4] + _BAND_MARGIN
        if zone_class == band[0] or not in_band:
            return {"lon": round(lon + x, 5), "lat": round(lat + y, 5)}


def generate_stations(cities: pd.DataFrame, seed: int) -> pd.DataFrame:
    """20 automatic stations (Chengdu 6, others 2) with their class as a site attribute, each
    placed inside a zone of that class."""
    rng = np.random.default_rng(seed)
    rows = []
    for (code, zh, en, lon, lat), n in zip(
        cities[["code", "short_zh", "name_en", "lon", "lat"]].itertuples(index=False),
        _PER_CITY,
        strict=False,
    ):
        for i in range(n):
            cls = _CLASS_CYCLE[i % len(_CLASS_CYCLE)]
            rows.append(
                {
                    "site_id": f"NZ-{str(code)[:4]}-{i + 1:03d}",
                    "kind": "noise_station",
                    "level": "city",
                    "city_code": int(code),
                    "name_zh": f"{zh}声环境自动站{i + 1}（示意）",
                    "name_en": f"{en} noise station {i + 1} (illustrative)",
                    **_place_in_class(cls, float(lon), float(lat), rng),
                    "attributes": {"zone_class": cls, "purpose": "功能区", "illustrative": True},
                }
            )
    return pd.DataFrame(rows)


def hourly_levels(zone_class: str, year: int, rng: np.random.Generator) -> pd.DataFrame:
    """A year of hour-ending Leq and LMx of one station (UTC end instants)."""
    ends = pd.date_range(
        f"{year}-01-01T01:00", f"{year + 1}-01-01T00:00", freq="h", tz="Asia/Shanghai"
    )
    label = np.where(ends.hour == 0, 24, ends.hour)
    day = (label > 6) & (label <= 22)
    day_base, night_base = _BASE[zone_class]
    # diurnal shape: morning and evening peaks by day; by night loudest at 23:00, quietest in
    # the hour ending 03:00-04:00 (4.5 h into the night), rising again towards 06:00
    shape = np.where(
        day,
        day_base
        + 1.2 * np.exp(-(((label - 8.5) / 1.5) ** 2))
        + 1.5 * np.exp(-(((label - 18.5) / 2.0) ** 2))
        - 1.0,
        night_base + 1.5 * np.cos(np.pi * ((label - 23) % 24) / 4.5) - 0.5,
    )
    weekend = np.asarray(ends.day_of_week >= 5)
    leq = shape - np.where(weekend & day, 1.5, 0.0) + rng.normal(0.0, 1.6, len(ends))
    events = (~day) & (rng.random(len(ends)) < 0.02)  # occasional night events
    leq = leq + np.where(events, rng.uniform(3.0, 8.0, len(ends)), 0.0)
    lmax = leq + 10.0 + rng.exponential(4.0, len(ends)) + np.where(events, 8.0, 0.0)
    times = ends.tz_convert("UTC")
    frame = pd.concat(
        [
            pd.DataFrame({"parameter": "Leq", "time": times, "value": np.round(leq, 1)}),
            pd.DataFrame({"parameter": "LMx", "time": times, "value": np.round(lmax, 1)}),
        ],
        ignore_index=True,
    )
    return frame.assign(period="1h", flag="N")


def _surveys(cities: pd.DataFrame, year: int, rng: np.random.Generator, batch: int) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for code, shift in zip(cities["code"], rng.normal(0.0, 1.5, len(cities)), strict=True):
        for g in range(30):  # grid squares (real runs need > 100 valid grids: HJ 640)
            rows.append(
                _survey_row(
                    "regional",
                    year,
                    f"G{code}-{g + 1:03d}",
                    int(code),
                    53.5 + shift + rng.normal(0, 3.0),
                    None,
                    batch,
                )
            )
        for s in range(12):  # road segments
            rows.append(
                _survey_row(
                    "traffic",
                    year,
                    f"R{code}-{s + 1:02d}",
                    int(code),
                    68.8 + shift / 2 + rng.normal(0, 2.0),
                    round(float(rng.uniform(0.4, 3.0)), 2),
                    batch,
                )
            )
    return pd.DataFrame(rows)


#: How much quieter the night survey of the same point is [dB(A)] (mean, SD): demo values in
#: the gap between the HJ 640-2012 day and night grade scales (regional 10, traffic 10 dB).
_NIGHT_DROP = {"regional": (9.5, 1.5), "traffic": (10.0, 1.2)}


def night_surveys(day_rows: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """The night survey (22:00-06:00; HJ 640-2012, noise brief §2.6) of every day grid square
    and road segment: the same point, its day Leq [dB(A)] lowered by ``_NIGHT_DROP``."""
    drop = [rng.normal(*_NIGHT_DROP[str(s)]) for s in day_rows["survey"]]
    night = day_rows.assign(period="night", leq=(day_rows["leq"] - np.array(drop)).round(1))
    return night.reset_index(drop=True)


def _survey_row(
    survey: str, year: int, point: str, city: int, leq: float, length: float | None, batch: int
) -> dict[str, Any]:
    return {
        "survey": survey, "year": year, "period": "day", "point_id": point, "city_code": city,
        "valid": True, "leq": round(leq, 1), "l10": None, "l50": None, "l90": None, "lmax": None,
        "length_km": length, "road_name": None, "main_source": None, "batch_id": batch,
    }  # fmt: skip


def generate_complaints(
    cities: pd.DataFrame, stations: pd.DataFrame, year: int, rng: np.random.Generator
) -> pd.DataFrame:
    """A month (December) of complaints per city: social life in the evening and night,
    half of the construction/industry ones beside a station (case candidates)."""
    sources = list(_COMPLAINT_SHARES)
    shares = np.array(list(_COMPLAINT_SHARES.values()))
    rows = []
    for (code, lon, lat), n in zip(
        cities[["code", "lon", "lat"]].itertuples(index=False), _COMPLAINTS_PER_CITY, strict=False
    ):
        mine = stations[stations["city_code"] == int(code)]
        for i in range(n):
            source = str(rng.choice(sources, p=shares / shares.sum()))
            day = int(rng.integers(1, 32))
            hour = int(
                rng.choice([19, 20, 21, 22, 23, 0, 1])
                if source != "industry"
                else rng.integers(0, 24)
            )
            x, y = lon + rng.uniform(-0.06, 0.06), lat + rng.uniform(-0.05, 0.05)
            if source in ("construction", "industry") and i % 2 == 0 and not mine.empty:
                station = mine.iloc[int(rng.integers(0, len(mine)))]
                x = station["lon"] + rng.uniform(-_NEAR_STATION_DEG, _NEAR_STATION_DEG)
                y = station["lat"] + rng.uniform(-_NEAR_STATION_DEG, _NEAR_STATION_DEG)
            local = pd.Timestamp(year, 12, day, hour, int(rng.integers(0, 60)), tz="Asia/Shanghai")
            rows.append(
                {
                    "complaint_id": f"NC-{code}-{year}12-{i + 1:03d}",
                    "time": local.tz_convert("UTC"),
                    "city_code": int(code),
                    "lon": round(float(x), 5),
                    "lat": round(float(y), 5),
                    "source_type": source,
                    "description": f"{_DESCRIPTIONS[source]}（示意 illustrative）",
                }
            )
    return pd.DataFrame(rows)


def install(store: Store, region: catalog.Region, year: int, seed: int) -> dict[str, int]:
    """Write the illustrative zones, stations, hourly data and surveys; counts of each."""
    cities = region.city_table()
    rng = np.random.default_rng(seed + 23)
    zones = generate_zones(cities)
    noise_store.upsert_zones(store, zones, SOURCE)
    stations = generate_stations(cities, seed)
    store.upsert_sites(stations, source=SOURCE)
    noise_zones.place_sites(store, [int(c) for c in cities["code"]])  # each gets its zone_id
    batch = store.begin_batch("demo_noise", SOURCE)
    frames = [
        hourly_levels(attrs["zone_class"], year, rng).assign(site_id=site)
        for site, attrs in zip(stations["site_id"], stations["attributes"], strict=True)
    ]
    hourly = pd.concat(frames, ignore_index=True)
    store.write_observations(hourly, batch_id=batch)
    day_surveys = _surveys(cities, year, rng, batch)
    # a generator of its own, so the night rows leave the other demo numbers as they were
    nights = night_surveys(day_surveys, np.random.default_rng(seed + 640))
    surveys = pd.concat([day_surveys, nights], ignore_index=True)
    noise_store.upsert_surveys(store, surveys)
    start = pd.Timestamp(f"{year}-01-01T01:00", tz="Asia/Shanghai").tz_convert("UTC")
    end = pd.Timestamp(f"{year + 1}-01-01T00:00", tz="Asia/Shanghai").tz_convert("UTC")
    products = refresh_noise_products(store, list(stations["site_id"]), start, end)
    complaints = generate_complaints(cities, stations, year, rng)
    candidates = noise_complaints.store_complaints(store, complaints, batch)
    counts = {
        "zones": len(zones),
        "stations": len(stations),
        "hourly_values": len(hourly),
        "survey_rows": len(surveys),
        "station_days": products.station_days,
        "complaints": len(complaints),
        "case_candidates": candidates,
    }
    store.finish_batch(batch, counts)
    return counts
