"""Noise over-limit alarms of automatic noise stations (issue 23; noise brief §6.3).

Two rules, both on the hourly values (period ``1h``, hour-ending labels) of the night hours only
(22:00-06:00, GB 3096-2008 §3.2; labels 23:00, 24:00, 01:00 … 06:00), for stations with a
functional-zone class (site attribute ``zone_class``):

* ``Leq`` strictly above the night limit of the class (GB 3096-2008 Table 1);
* ``LMx`` strictly above the night limit + 15 dB(A) (GB 3096-2008 §5.4, night burst noise).

A construction-site boundary monitor (site attribute ``boundary = "construction"``) is judged by
GB 12523-2011 instead (night 55 dB(A), night LMx ≤ 55 + 15 dB(A); §4.1 Table 1, §4.2), whatever
its zone class (:mod:`ecobasin.standards.noise_construction`). An enterprise boundary monitor
(``boundary = "enterprise"`` or ``purpose = "厂界"``) is judged by GB 12348-2008 by the class of
the zone it lies in (4a/4b: class 4; night LMx ≤ night limit + 10 dB(A) frequent, + 15 occasional,
§4.1.2-4.1.3; :mod:`ecobasin.standards.noise_enterprise`).

They are ``over_limit`` episodes of the alarm engine, de-duplicated per station, parameter and
night: the over-limit hours of one night form one episode (start = the start of the first
hour, end = the end of the last; open while that last hour is the newest value of the series),
so a noisy night is one alarm, not eight. A value equal to the limit is not over (the standard's
"≤ limit" compliance).
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from ecobasin.alarms.limits import site_attributes
from ecobasin.standards import noise
from ecobasin.standards.noise_construction import construction_limits, is_construction_site
from ecobasin.standards.noise_enterprise import (
    enterprise_class,
    enterprise_limits,
    enterprise_sudden_noise,
    is_enterprise_site,
)
from ecobasin.standards.noise_tables import noise_rules

__all__ = ["NOISE_PARAMETERS", "noise_over_limit_rows"]

#: The hourly noise parameters judged at night, and what their limit is.
NOISE_PARAMETERS = {"Leq": "night limit", "LMx": "night limit + 15 dB(A)"}
_HOUR = pd.Timedelta(hours=1)
_MAX_EVIDENCE_VALUES = 48


def _night_limits(sites: pd.DataFrame) -> dict[str, tuple[str, float, float, str]]:
    """site_id → (zone class or ``construction``, night Leq limit, night Lmax limit [dB(A)],
    standard) of noise stations: GB 12523-2011 at construction boundaries, GB 12348-2008 at
    enterprise boundaries, else GB 3096-2008."""
    out = {}
    for site, kind, raw in zip(sites["site_id"], sites["kind"], sites["attributes"], strict=True):
        if kind != "noise_station":
            continue
        limits = _site_night_limits(site_attributes(raw))
        if limits is not None:
            out[str(site)] = limits
    return out


def _site_night_limits(attributes: dict[str, Any]) -> tuple[str, float, float, str] | None:
    """One station's night limits by the standard its attributes call for (None: unjudged)."""
    rules = noise_rules()
    cls = str(attributes.get("zone_class") or "")
    if is_construction_site(attributes):
        standard, _, night_limit, lmax_limit = construction_limits()
        return ("construction", night_limit, lmax_limit, standard)
    if is_enterprise_site(attributes):
        boundary_class = enterprise_class(cls)
        if boundary_class is None:  # unzoned: GB 12348 asks the government for a class
            return None
        sudden = enterprise_sudden_noise(attributes)
        standard, _, night_limit, lmax_limit = enterprise_limits(boundary_class, sudden)
        return (boundary_class, night_limit, lmax_limit, standard)
    if cls in rules.zones:
        night = float(rules.zones[cls].night)
        return (cls, night, night + float(rules.night_lmax_margin), "GB 3096-2008")
    return None


def _what(parameter: str, limits: tuple[str, float, float, str]) -> str:
    """What the limit is: the night limit, or it + the standard's night Lmax margin [dB(A)]."""
    if parameter == "Leq":
        return str(NOISE_PARAMETERS["Leq"])
    return f"night limit + {limits[2] - limits[1]:g} dB(A)"


#: Per standard: (clause of the night Leq, clause of the night LMx, who is judged).
_CLAUSES = {
    "GB 3096-2008": ("Table 1", "§5.4", "the zone class"),
    "GB 12523-2011": ("Table 1", "§4.2", "the construction boundary"),
    "GB 12348-2008": ("Table 1", "§4.1.2", "the enterprise boundary"),
}
_CATEGORIES = {
    "GB 12523-2011": "construction site boundary 建筑施工场界",
    "GB 12348-2008": "enterprise boundary 工业企业厂界, class {cls}",
}


def _night_hours(observations: pd.DataFrame, sites: list[str]) -> pd.DataFrame:
    """Valid hourly Leq/LMx of these stations at night, with the night they belong to."""
    obs = observations[
        observations["site_id"].isin(sites)
        & observations["parameter"].isin(list(NOISE_PARAMETERS))
        & (observations["period"] == "1h")
        & observations["value"].notna()
        & (observations["flag"].isna() | observations["flag"].isin(["N", "T"]))
    ].copy()
    if obs.empty:
        return obs
    obs["time"] = pd.to_datetime(obs["time"], utc=True)
    local = obs["time"].dt.tz_convert("Asia/Shanghai")
    label = local.dt.hour.where(local.dt.hour != 0, 24)
    night: pd.DataFrame = obs[~label.map(noise.is_day_label)].copy()
    # the night 22:00-06:00 is named by the CST date it starts on (06:00 ends it)
    night["night"] = (night["time"].dt.tz_convert("Asia/Shanghai") - pd.Timedelta(hours=7)).dt.date
    return night


def noise_over_limit_rows(observations: pd.DataFrame, sites: pd.DataFrame) -> list[dict[str, Any]]:
    """Alarm rows (the engine's ``over_limit`` columns) of noise stations' nights over limit."""
    from ecobasin.alarms.engine import alarm_id  # the engine imports this module

    limits = _night_limits(sites)
    obs = _night_hours(observations, list(limits))
    if obs.empty:
        return []
    last = obs.groupby(["site_id", "parameter"])["time"].max()
    obs["limit"] = [
        limits[s][1] if p == "Leq" else limits[s][2]
        for s, p in zip(obs["site_id"], obs["parameter"], strict=True)
    ]
    over = obs[obs["value"] > obs["limit"]].sort_values("time")
    rows = []
    for key, group in over.groupby(["site_id", "parameter", "night"]):
        site, parameter, night = str(key[0]), str(key[1]), key[2]
        peak = group.iloc[int(group["value"].to_numpy().argmax())]
        start, last_hour = group["time"].min() - _HOUR, group["time"].max()
        is_open = last_hour == last[(site, parameter)]
        cls, standard = limits[str(site)][0], limits[str(site)][3]
        leq_clause, lmax_clause, judged = _CLAUSES[standard]
        category = _CATEGORIES.get(standard, "noise class {cls}").format(cls=cls)
        evidence = {
            "basis": "1h",
            "unit": "dB(A)",
            "limit": float(peak["limit"]),
            "peak": float(peak["value"]),
            "peak_time": peak["time"].isoformat().replace("+00:00", "Z"),
            "multiple": round(float(peak["value"]) / float(peak["limit"]), 4),
            "periods": len(group),
            "last_period_end": last_hour.isoformat().replace("+00:00", "Z"),
            "night": str(night),
            "zone_class": cls,
            "rule": f"night hourly {parameter} strictly above the {_what(parameter, limits[site])} "
            f"of {judged}; one episode per station and night",
            "limit_source": {
                "source": "standard",
                "standard_id": standard,
                "clause": leq_clause if parameter == "Leq" else lmax_clause,
                "source_category": category,
                "permit_id": None,
                "reference_o2": None,
                "verified": True,
            },
            "values": [
                [t.isoformat().replace("+00:00", "Z"), float(v), "stored"]
                for t, v in zip(group["time"], group["value"], strict=True)
            ][:_MAX_EVIDENCE_VALUES],
        }
        rows.append(
            {
                "alarm_id": alarm_id("over_limit", str(site), str(parameter), None, start),
                "kind": "over_limit",
                "site_id": site,
                "parameter": parameter,
                "flag": None,
                "start_time": start,
                "end_time": None if is_open else last_hour,
                "status": "open" if is_open else "closed",
                "peak": float(peak["value"]),
                "limit_value": float(peak["limit"]),
                "multiple": float(peak["value"]) / float(peak["limit"]),
                "periods": len(group),
                "evidence": json.dumps(evidence, ensure_ascii=False),
            }
        )
    return rows
