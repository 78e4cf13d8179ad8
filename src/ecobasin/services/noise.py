"""Noise answers for the CLI (``ecobasin noise …``) and the API (``/api/v1/noise/…``).

* :func:`zone_compliance_rates`: GB 3096-2008 functional-zone compliance of automatic stations
  per city and month or quarter, day and night separately, counted per station-day (the unit
  of the provincial monthly workbooks, noise brief §3.7; the 33号 rule is still to verify).
  A station-day is judged on Ld/Ln of its hour-ending labels (day 07:00-22:00, night 23:00,
  24:00, 01:00-06:00 of the same date; HJ 640-2012 §6, GB 3096-2008 §3.1-3.2).
* :func:`survey_results`: the annual HJ 640-2012 regional (arithmetic mean of grids) and
  traffic (length-weighted) results per city with their grades.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from ecobasin.services import cases as case_service
from ecobasin.standards import noise
from ecobasin.standards.noise_construction import (
    construction_day,
    construction_limits,
    is_construction_site,
)
from ecobasin.standards.noise_days import daily_verdicts
from ecobasin.standards.noise_enterprise import (
    enterprise_class,
    enterprise_day,
    enterprise_limits,
    enterprise_sudden_noise,
    is_enterprise_site,
)
from ecobasin.store import noise as noise_store
from ecobasin.store import noise_complaints
from ecobasin.store.database import Store
from ecobasin.store.noise import rate_years, station_day_span, station_hours, zone_class_of
from ecobasin.timebase import local_label

__all__ = [
    "NotACandidate",
    "annual_report",
    "complaint_item",
    "complaint_items",
    "daily_verdicts",
    "map_layer",
    "open_complaint_case",
    "rate_years",
    "station_day_span",
    "station_days",
    "station_hours",
    "station_months",
    "survey_results",
    "zone_compliance_rates",
]


def station_days(store: Store, year: int, city_code: int | None = None) -> pd.DataFrame:
    """Hourly Leq of noise stations in a CST year, one row per station, day and label."""
    start = pd.Timestamp(f"{year}-01-01T01:00", tz="Asia/Shanghai").tz_convert("UTC")
    end = pd.Timestamp(f"{year + 1}-01-01T00:00", tz="Asia/Shanghai").tz_convert("UTC")
    return station_hours(store, start, end, city_code=city_code)


def zone_compliance_rates(
    store: Store, year: int, by: str = "month", city_code: int | None = None
) -> list[dict[str, Any]]:
    """Day and night compliance rates [%] per city and month or quarter (station-days).

    Read from the stored products (``noise_rates`` by month, ``noise_daily`` for quarters)
    that :func:`ecobasin.jobs.noise_quality.refresh_noise_products` keeps current.
    """
    if by not in ("month", "quarter"):
        raise ValueError(f"by must be month or quarter, got {by!r}")
    if by == "month":
        counts = noise_store.rates(store, year, city_code).rename(columns={"month": "period"})
    else:
        counts = noise_store.quarter_counts(store, year, city_code)
    return [
        {
            "city_code": int(r["city_code"]),
            "period": str(r["period"]),
            "stations": int(r["stations"]),
            "day_valid": int(r["day_valid"]),
            "day_compliant": int(r["day_compliant"]),
            "day_rate_pct": noise.compliance_rate(int(r["day_compliant"]), int(r["day_valid"])),
            "night_valid": int(r["night_valid"]),
            "night_compliant": int(r["night_compliant"]),
            "night_rate_pct": noise.compliance_rate(
                int(r["night_compliant"]), int(r["night_valid"])
            ),
        }
        for r in counts.to_dict("records")
    ]


def survey_results(
    store: Store, survey: str, year: int, period: str, city_code: int | None = None
) -> list[dict[str, Any]]:
    """HJ 640-2012 city results of a regional or traffic survey, with grades (bilingual).

    ``period`` is ``day`` (昼间), ``night`` (夜间) or ``both``: then each city's day result is
    followed by its night result, each graded on its own scale (HJ 640-2012 Tables 1-2)."""
    if period == "both":
        both = survey_results(store, survey, year, "day", city_code)
        both += survey_results(store, survey, year, "night", city_code)
        return sorted(both, key=lambda r: (r["city_code"], r["period"] != "day"))
    if period not in ("day", "night"):
        raise ValueError(f"period must be day, night or both, got {period!r}")
    rows = noise_store.survey_rows(store, survey, year, period, city_code)
    return _city_results(rows, survey, year, period)


def _city_results(rows: pd.DataFrame, survey: str, year: int, period: str) -> list[dict[str, Any]]:
    """The graded result of each city in ``rows`` (valid rows of one survey and period, by
    city and point), by city code: regional the arithmetic mean of grids, traffic
    length-weighted (HJ 640-2012 §4-5; grades Tables 1-2; levels in [dB(A)])."""
    out: list[dict[str, Any]] = []
    for (city, zh, en), group in rows.groupby(["city_code", "city_zh", "city_en"]):
        if survey == "regional":
            result = noise.regional_result(group["leq"].to_numpy(), period)
        else:
            result = noise.traffic_result(
                group["leq"].to_numpy(), group["length_km"].to_numpy(), period
            )
        out.append(
            {
                "city_code": int(str(city)),
                "city_zh": zh,
                "city_en": en,
                "survey": survey,
                "year": year,
                "period": period,
                "n": result.n,
                "mean_dBA": result.mean,
                "grade_zh": result.grade.grade_zh,
                "rating_zh": result.grade.rating_zh,
                "rating_en": result.grade.rating_en,
                "counts_by_rating": result.counts,
                "shares_by_rating_pct": result.shares_pct,
                "total_length_km": _km(result.total_length_km),
                "share_over_70_pct": result.share_over_pct,
            }
        )
    return out


def station_profile(store: Store, site_id: str, day: str) -> dict[str, Any]:
    """The 24-hour profile of a station on a CST day: hourly Leq/LMx by hour-ending label,
    Ld/Ln, GB 3096 verdicts and the night Lmax events over night limit + 15 dB(A) (§5.4).

    Raises LookupError for an unknown station and ValueError for a malformed day.
    """
    sites = store.sites(kinds=["noise_station"], site_ids=[site_id])
    if sites.empty:
        raise LookupError(f"no noise station {site_id!r}")
    date = pd.Timestamp(day)
    start = pd.Timestamp(f"{date:%Y-%m-%d}T01:00", tz="Asia/Shanghai").tz_convert("UTC")
    obs = store.observations(
        sites=[site_id], parameters=["Leq", "LMx"], periods=["1h"],
        start=start, end=start + pd.Timedelta(hours=23),
    )  # fmt: skip
    hour = local_label(obs["time"]).dt.hour
    obs = obs.assign(hour=hour.where(hour != 0, 24))
    leq = dict(
        zip(
            obs.loc[obs["parameter"] == "Leq", "hour"],
            obs.loc[obs["parameter"] == "Leq", "value"],
            strict=True,
        )
    )
    lmx = dict(
        zip(
            obs.loc[obs["parameter"] == "LMx", "hour"],
            obs.loc[obs["parameter"] == "LMx", "value"],
            strict=True,
        )
    )
    cls = zone_class_of(sites["attributes"].iloc[0])
    dn = noise.day_night_from_hourly({int(h): float(v) for h, v in leq.items()})
    night = set(dn.night_labels)
    night_lmax = max(
        (float(v) for h, v in lmx.items() if f"{int(h):02d}:00" in night), default=None
    )
    verdict = None if cls is None else noise.zone_compliance(cls, dn.ld, dn.ln, night_lmax)
    hours = [
        {
            "label": f"{h:02d}:00",
            "period": "day" if noise.is_day_label(h) else "night",
            "Leq": _finite(leq.get(h)),
            "LMx": _finite(lmx.get(h)),
        }
        for h in range(1, 25)
    ]
    page: dict[str, Any] = {
        "standard": None if verdict is None else "GB 3096-2008",
        "day_limit": None if verdict is None else verdict.day_limit,
        "night_limit": None if verdict is None else verdict.night_limit,
        "night_lmax_limit": None if verdict is None else verdict.night_lmax_limit,
        "day_pass": None if verdict is None else verdict.day_pass,
        "night_pass": None if verdict is None else verdict.night_pass,
    }
    page |= _boundary_page(_attributes(sites["attributes"].iloc[0]), leq, lmx) or {}
    limit = page["night_lmax_limit"]
    events = [
        {"label": f"{int(h):02d}:00", "LMx": float(v)}
        for h, v in sorted(lmx.items())
        if limit is not None and f"{int(h):02d}:00" in night and float(v) > limit
    ]
    return {
        "site_id": site_id,
        "name_zh": sites["name_zh"].iloc[0],
        "name_en": sites["name_en"].iloc[0],
        "day": f"{date:%Y-%m-%d}",
        "zone_class": cls,
        "Ld": None if verdict is None else verdict.ld,
        "Ln": None if verdict is None else verdict.ln,
        "night_Lmax": None if night_lmax is None else noise.round_db(night_lmax),
        **page,
        "hours": hours,
        "lmax_events": events,
    }


def _km(length: float | None) -> float | None:
    """A road length to the metre [km] (a sum of lengths carries float noise: 0.1 + 0.2)."""
    return None if length is None else round(length, 3)


def _attributes(raw: Any) -> dict[str, Any]:
    if isinstance(raw, str):
        return dict(json.loads(raw or "{}"))
    return dict(raw) if isinstance(raw, Mapping) else {}


def _boundary_page(
    attributes: Mapping[str, Any], leq: Mapping[Any, Any], lmx: Mapping[Any, Any]
) -> dict[str, Any] | None:
    """A boundary monitor's limits and verdicts (every hour a measurement): GB 12523-2011 at a
    construction site, GB 12348-2008 at an enterprise boundary by its zone's class; None for a
    zone station (GB 3096-2008) or an unzoned enterprise boundary."""
    labels = sorted(int(h) for h in leq)
    levels = [_finite(leq[h]) for h in labels]
    peaks = [_finite(lmx.get(h)) for h in labels]
    if is_construction_site(attributes):
        standard, day, night, night_lmax = construction_limits()
        judged = construction_day(labels, levels, peaks)
    elif is_enterprise_site(attributes):
        cls = enterprise_class(attributes.get("zone_class"))
        if cls is None:
            return None
        sudden = enterprise_sudden_noise(attributes)
        standard, day, night, night_lmax = enterprise_limits(cls, sudden)
        judged = enterprise_day(cls, labels, levels, peaks, sudden)
    else:
        return None
    night_peaks_over = any(  # LMx hours without an Leq are judged too
        not noise.is_day_label(int(h)) and (_finite(v) or 0.0) > night_lmax for h, v in lmx.items()
    )
    return {
        "standard": standard,
        "day_limit": day,
        "night_limit": night,
        "night_lmax_limit": night_lmax,
        "day_pass": judged.day_pass,
        "night_pass": False if night_peaks_over else judged.night_pass,
    }


def _finite(value: Any) -> float | None:
    if value is None or not np.isfinite(float(value)):
        return None
    return float(value)


def _rates(row: Mapping[Any, Any]) -> dict[str, Any]:
    """Counts and day/night rates [%] of one row of station-day counts."""
    day_n, day_ok = int(row["day_valid"]), int(row["day_compliant"])
    night_n, night_ok = int(row["night_valid"]), int(row["night_compliant"])
    return {
        "day_valid": day_n,
        "day_compliant": day_ok,
        "day_rate_pct": noise.compliance_rate(day_ok, day_n),
        "night_valid": night_n,
        "night_compliant": night_ok,
        "night_rate_pct": noise.compliance_rate(night_ok, night_n),
    }


#: What the annual report keeps of a city's survey result.
_FIGURE_KEYS = ("n", "mean_dBA", "grade_zh", "rating_zh", "rating_en")


def _survey_figures(rows: pd.DataFrame, year: int) -> dict[tuple[str, int], dict[str, Any]]:
    """(survey, city code) → its day and night figures (None for a period without valid rows),
    from the valid rows of every survey and period of the year (one query for the report:
    asking one per city, survey and period took 1,468 queries for the catalog's 367 cities)."""
    figures: dict[tuple[str, int], dict[str, Any]] = {}
    for survey in noise_store.SURVEYS:
        for period in ("day", "night"):
            mine = rows[(rows["survey"] == survey) & (rows["period"] == period)]
            for result in _city_results(mine, survey, year, period):
                figure = figures.setdefault(
                    (survey, result["city_code"]), {"day": None, "night": None}
                )
                figure[period] = {k: result[k] for k in _FIGURE_KEYS}
    return figures


def annual_report(store: Store, year: int, city_code: int | None = None) -> list[dict[str, Any]]:
    """The figures a city reports in the national annual report (中国噪声污染防治报告,
    noise brief §2.9, §6.4): functional-zone day/night compliance overall and per GB 3096 class
    (station-days of automatic stations, marked 自动), the HJ 640 regional and traffic survey
    means with grades, and the complaints by source type with their shares [%]."""
    cities = noise_store.city_names(store)
    classes = noise_store.class_counts(store, year, city_code)
    start = pd.Timestamp(f"{year}-01-01", tz="Asia/Shanghai").tz_convert("UTC")
    end = pd.Timestamp(f"{year + 1}-01-01", tz="Asia/Shanghai").tz_convert("UTC")
    complaints = noise_complaints.complaints(store, city_code=city_code, start=start, end=end)
    surveys = _survey_figures(noise_store.survey_rows_of_year(store, year, city_code), year)
    out = []
    for city in cities.to_dict("records"):
        code = int(city["code"])
        if city_code is not None and code != city_code:
            continue
        mine = classes[classes["city_code"] == code]
        total = mine[["day_valid", "day_compliant", "night_valid", "night_compliant"]].sum()
        counts = complaints.loc[complaints["city_code"] == code, "source_type"].value_counts()
        n_complaints = int(counts.sum())
        out.append(
            {
                "city_code": code,
                "city_zh": city["name_zh"],
                "city_en": city["name_en"],
                "year": year,
                "method": "automatic 自动",
                "stations": int(mine["stations"].sum()),
                "zone_compliance": _rates(total.to_dict()),
                "zone_compliance_by_class": [
                    {
                        "zone_class": str(r["zone_class"]),
                        "stations": int(r["stations"]),
                        **_rates(r),
                    }
                    for r in mine.to_dict("records")
                ],
                "regional": surveys.get(("regional", code), {"day": None, "night": None}),
                "traffic": surveys.get(("traffic", code), {"day": None, "night": None}),
                "complaints": n_complaints,
                "complaints_by_source": [
                    {
                        "source_type": source,
                        "label_zh": zh,
                        "label_en": en,
                        "count": int(counts.get(source, 0)),
                        "share_pct": None
                        if n_complaints == 0
                        else round(100.0 * int(counts.get(source, 0)) / n_complaints, 1),
                    }
                    for source, (zh, en) in noise_complaints.SOURCE_TYPES.items()
                ],
            }
        )
    return out


def complaint_items(
    store: Store, city_code: int | None = None, month: str | None = None
) -> list[dict[str, Any]]:
    """Stored complaints (optionally one city and CST month 2026-07) with bilingual labels."""
    start = end = None
    if month is not None:
        start = pd.Timestamp(f"{month}-01", tz="Asia/Shanghai")
        end = (start + pd.offsets.MonthBegin(1)).tz_convert("UTC")
        start = start.tz_convert("UTC")
    frame = noise_complaints.complaints(store, city_code=city_code, start=start, end=end)
    cases = noise_complaints.case_links(store)
    return [
        {**_complaint(r), "case_id": cases.get(str(r["complaint_id"]))}
        for r in frame.to_dict("records")
    ]


def complaint_item(store: Store, complaint_id: str) -> dict[str, Any]:
    """One stored complaint with bilingual labels and its case (if one was opened);
    LookupError naming an unknown id."""
    found = _complaint(noise_complaints.complaint(store, complaint_id))
    return {**found, "case_id": noise_complaints.case_links(store).get(complaint_id)}


def _complaint(r: Mapping[Any, Any]) -> dict[str, Any]:
    """A stored complaint row as the CLI and the API show it."""
    zh, en = noise_complaints.SOURCE_TYPES[str(r["source_type"])]
    measurement = _text(r["measurement"])
    return {
        "complaint_id": r["complaint_id"],
        "time": pd.Timestamp(r["time"]).tz_convert("UTC").isoformat().replace("+00:00", "Z"),
        "city_code": int(r["city_code"]),
        "lon": float(r["lon"]),
        "lat": float(r["lat"]),
        "source_type": r["source_type"],
        "source_zh": zh,
        "source_en": en,
        "description": _text(r["description"]),
        "zone_id": _text(r["zone_id"]),
        "zone_class": _text(r["zone_class"]),
        "nearest_site": _text(r["nearest_site"]),
        "distance_m": _finite(r["distance_m"]),
        "measurement": None if measurement is None else json.loads(measurement),
        "case_candidate": bool(r["case_candidate"]),
    }


class NotACandidate(ValueError):
    """A complaint that is no case candidate (social life or traffic, no site or measurement
    near it): it opens no rectification case."""


#: The case category of noise complaints (categories.toml: 噪声和油烟治理).
COMPLAINT_CATEGORY = "noise_cooking_fumes"


def open_complaint_case(
    store: Store, complaint_id: str, actor: str, at: datetime, client: str = "cli"
) -> tuple[str, bool]:
    """Open a rectification task from a case-candidate complaint, linked to it (not copied):
    (case id, created). A complaint already linked returns its case; one that is no candidate
    raises :class:`NotACandidate` naming why; an unknown one LookupError.

    The case carries the place, the source type, the nearest site and the measurement [dB(A)]
    in its problem text; the link points at ``/api/v1/noise/complaints/{id}``.
    """
    item = complaint_item(store, complaint_id)
    if not item["case_candidate"]:
        raise NotACandidate(
            f"complaint {complaint_id} is not a case candidate ({item['source_en']}, nearest "
            f"site {item['nearest_site'] or 'none'} at {item['distance_m']} m, measurement "
            f"{'attached' if item['measurement'] else 'none'}) 该投诉不是立案候选"
        )
    m = item["measurement"] or {}
    facts = {
        "title": f"噪声投诉 {complaint_id} {item['source_zh']} noise complaint ({item['source_en']})",
        "problem_text": (
            f"{item['time']} {item['source_zh']} {item['source_en']}; "
            f"{item['description'] or ''}; nearest site 最近站点 {item['nearest_site']} "
            f"({item['distance_m']} m); {m.get('site_id')} {m.get('hour_ending_cst')} "
            f"Leq {m.get('Leq')} dB(A), LMx {m.get('LMx')} dB(A); zone 功能区 "
            f"{item['zone_id'] or '-'} class {item['zone_class'] or '-'}"
        ),
        "category": COMPLAINT_CATEGORY,
        "city_code": item["city_code"],
        "lon": item["lon"],
        "lat": item["lat"],
        "location_text": f"{item['lon']:.5f}, {item['lat']:.5f}",
        "medium": "noise",
    }
    case, created = case_service.open_from_finding(
        store, "noise_complaint", complaint_id, "", facts, actor, "supervision_office", at, client
    )
    return case.case_id, created


def map_layer(store: Store) -> dict[str, Any]:
    """The overview map's noise layer: zones (GeoJSON), stations coloured by their latest
    station-day verdict (GB 3096-2008, day and night) and the latest month of complaints."""
    zones = noise_store.zones(store)
    features = [
        {
            "type": "Feature",
            "properties": {
                "zone_id": z["zone_id"],
                "city_code": int(z["city_code"]),
                "zone_class": z["zone_class"],
                "name_zh": z["name_zh"],
                "name_en": z["name_en"],
            },
            "geometry": json.loads(z["geometry"])
            if isinstance(z["geometry"], str)
            else z["geometry"],
        }
        for z in zones.to_dict("records")
    ]
    sites = store.sites(kinds=["noise_station"])
    latest = {r["site_id"]: r for r in noise_store.latest_daily(store).to_dict("records")}
    stations = []
    for s in sites.to_dict("records"):
        day = latest.get(s["site_id"])
        stations.append(
            {
                "site_id": s["site_id"],
                "name_zh": s["name_zh"],
                "name_en": s["name_en"],
                "city_code": int(s["city_code"]),
                "lon": _finite(s["lon"]),
                "lat": _finite(s["lat"]),
                "zone_class": zone_class_of(s["attributes"]),
                "day": None if day is None else str(pd.Timestamp(day["day"]).date()),
                "Ld": None if day is None else _finite(day["ld"]),
                "Ln": None if day is None else _finite(day["ln"]),
                "day_pass": None if day is None else _bool(day["day_pass"]),
                "night_pass": None if day is None else _bool(day["night_pass"]),
            }
        )
    last = noise_complaints.latest_time(store)
    month = None if last is None else f"{last.tz_convert('Asia/Shanghai'):%Y-%m}"
    return {
        "zones": {"type": "FeatureCollection", "features": features},
        "stations": stations,
        "complaint_month": month,
        "complaints": [] if month is None else complaint_items(store, month=month),
    }


def station_months(store: Store, site_id: str, year: int) -> list[dict[str, Any]]:
    """A station's monthly day and night compliance (station-days) in a CST year."""
    if store.sites(kinds=["noise_station"], site_ids=[site_id]).empty:
        raise LookupError(f"no noise station {site_id!r}")
    return [
        {"month": str(r["month"]), **_rates(r)}
        for r in noise_store.station_months(store, site_id, year).to_dict("records")
    ]


def _bool(value: Any) -> bool | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    return bool(value)


def _text(value: Any) -> str | None:
    """A text cell, None for SQL NULL (NaN or NA after the DataFrame round trip)."""
    return None if value is None or pd.isna(value) else str(value)
