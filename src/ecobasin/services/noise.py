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
from typing import Any

import numpy as np
import pandas as pd

from ecobasin.standards import noise
from ecobasin.store import noise as noise_store
from ecobasin.store.database import Store
from ecobasin.timebase import day_of_hour_ending, local_label

__all__ = ["daily_verdicts", "station_days", "survey_results", "zone_compliance_rates"]


def _zone_class(attributes: Any) -> str | None:
    if attributes is None or (isinstance(attributes, float) and np.isnan(attributes)):
        return None
    data = json.loads(attributes) if isinstance(attributes, str) else dict(attributes)
    value = data.get("zone_class")
    return None if value is None else str(value)


def station_days(store: Store, year: int, city_code: int | None = None) -> pd.DataFrame:
    """Hourly Leq of noise stations in a CST year, one row per station, day and label."""
    sites = store.sites(kinds=["noise_station"], cities=None if city_code is None else [city_code])
    if sites.empty:
        return pd.DataFrame(columns=["site_id", "city_code", "zone_class", "day", "hour", "value"])
    start = pd.Timestamp(f"{year}-01-01T01:00", tz="Asia/Shanghai").tz_convert("UTC")
    end = pd.Timestamp(f"{year + 1}-01-01T00:00", tz="Asia/Shanghai").tz_convert("UTC")
    obs = store.observations(
        sites=list(sites["site_id"]), parameters=["Leq"], periods=["1h"], start=start, end=end
    )
    obs = obs[obs["value"].notna()].copy()
    obs["day"] = day_of_hour_ending(obs["time"])
    hour = local_label(obs["time"]).dt.hour
    obs["hour"] = hour.where(hour != 0, 24)
    classes = {
        s: _zone_class(a) for s, a in zip(sites["site_id"], sites["attributes"], strict=True)
    }
    obs["zone_class"] = obs["site_id"].map(classes)
    return obs[["site_id", "city_code", "zone_class", "day", "hour", "value"]]


def daily_verdicts(hourly: pd.DataFrame) -> pd.DataFrame:
    """Ld, Ln and GB 3096 verdicts per station-day (stations without a zone class left out)."""
    rows: list[dict[str, Any]] = []
    for (site, city, cls, day), group in hourly.dropna(subset=["zone_class"]).groupby(
        ["site_id", "city_code", "zone_class", "day"]
    ):
        dn = noise.day_night_from_hourly(
            dict(zip(group["hour"].astype(int), group["value"], strict=True))
        )
        verdict = noise.zone_compliance(str(cls), dn.ld, dn.ln)
        rows.append(
            {
                "site_id": site,
                "city_code": int(str(city)),
                "zone_class": verdict.zone_class,
                "day": day,
                "Ld": verdict.ld,
                "Ln": verdict.ln,
                "day_pass": verdict.day_pass,
                "night_pass": verdict.night_pass,
            }
        )
    return pd.DataFrame(
        rows,
        columns=["site_id", "city_code", "zone_class", "day", "Ld", "Ln", "day_pass", "night_pass"],
    )


def zone_compliance_rates(
    store: Store, year: int, by: str = "month", city_code: int | None = None
) -> list[dict[str, Any]]:
    """Day and night compliance rates [%] per city and month or quarter (station-days)."""
    if by not in ("month", "quarter"):
        raise ValueError(f"by must be month or quarter, got {by!r}")
    days = daily_verdicts(station_days(store, year, city_code))
    if days.empty:
        return []
    stamp = pd.to_datetime(days["day"])
    days["period"] = (
        stamp.dt.strftime("%Y-%m")
        if by == "month"
        else stamp.dt.year.astype(str) + "Q" + stamp.dt.quarter.astype(str)
    )
    out: list[dict[str, Any]] = []
    for (city, period), group in days.groupby(["city_code", "period"]):
        day_n = int(group["day_pass"].notna().sum())
        night_n = int(group["night_pass"].notna().sum())
        day_ok = int((group["day_pass"] == True).sum())  # noqa: E712 (object column of bool/None)
        night_ok = int((group["night_pass"] == True).sum())  # noqa: E712
        out.append(
            {
                "city_code": int(str(city)),
                "period": str(period),
                "stations": int(group["site_id"].nunique()),
                "day_valid": day_n,
                "day_compliant": day_ok,
                "day_rate_pct": noise.compliance_rate(day_ok, day_n),
                "night_valid": night_n,
                "night_compliant": night_ok,
                "night_rate_pct": noise.compliance_rate(night_ok, night_n),
            }
        )
    return out


def survey_results(
    store: Store, survey: str, year: int, period: str, city_code: int | None = None
) -> list[dict[str, Any]]:
    """HJ 640-2012 city results of a regional or traffic survey, with grades (bilingual)."""
    rows = noise_store.survey_rows(store, survey, year, period, city_code)
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
                "total_length_km": result.total_length_km,
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
    cls = _zone_class(sites["attributes"].iloc[0])
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
    limit = None if verdict is None else verdict.night_lmax_limit
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
        "day_limit": None if verdict is None else verdict.day_limit,
        "night_limit": None if verdict is None else verdict.night_limit,
        "night_lmax_limit": None if verdict is None else verdict.night_lmax_limit,
        "Ld": None if verdict is None else verdict.ld,
        "Ln": None if verdict is None else verdict.ln,
        "night_Lmax": None if night_lmax is None else noise.round_db(night_lmax),
        "day_pass": None if verdict is None else verdict.day_pass,
        "night_pass": None if verdict is None else verdict.night_pass,
        "hours": hours,
        "lmax_events": events,
    }


def _finite(value: Any) -> float | None:
    if value is None or not np.isfinite(float(value)):
        return None
    return float(value)
