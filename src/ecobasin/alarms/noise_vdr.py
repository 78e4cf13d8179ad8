"""Valid-data-rate alarms of automatic noise stations (issue 23; HJ 906-2017 data completeness,
noise brief §2.7 and §6.3).

A station-day (CST day D: the 24 hour-ending labels 01:00 … 24:00) is complete enough when its
valid data rate VDR = n_valid / N ≥ ``min_vdr`` (``limits.toml [validity]``, 0.75 *[memory]*
HJ 906-2017), with n_valid the valid hourly Leq (flag N or T, or none) and N = 24 expected
hours. A day below it is one ``low_valid_rate`` alarm of the station (parameter ``Leq``) from
00:00 to 24:00 CST of D, closed. The evidence gives the counts, the day and night valid hours
against their minimums (``min_day_hours`` / ``min_night_hours``) and the missing labels.

Only complete days are judged (D's 24:00 at or before ``now``), and only days from the first one
whose 01:00 hour the loaded observations reach (a station that started mid-day, or a window that
starts mid-day, judges no partial day) to the last day holding data (a silent station is the
``silent`` alarm's, not one alarm a day).
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from ecobasin.standards import noise
from ecobasin.standards.noise_tables import noise_rules

__all__ = ["EXPECTED_HOURS", "noise_vdr_rows"]

#: Hourly values a station-day should hold (hour-ending labels 01:00 … 24:00).
EXPECTED_HOURS = 24
_VALID_FLAGS = ["N", "T"]


def _station_hours(observations: pd.DataFrame, stations: list[str]) -> pd.DataFrame:
    """Hourly Leq rows of the stations with their CST day and label, and whether valid."""
    obs = observations[
        observations["site_id"].isin(stations)
        & (observations["parameter"] == "Leq")
        & (observations["period"] == "1h")
    ].copy()
    if obs.empty:
        return obs
    obs["time"] = pd.to_datetime(obs["time"], utc=True)
    local = obs["time"].dt.tz_convert("Asia/Shanghai")
    obs["label"] = local.dt.hour.where(local.dt.hour != 0, 24)
    obs["day"] = (local - pd.Timedelta(minutes=1)).dt.date  # 24:00 belongs to the day it ends
    obs["valid"] = obs["value"].notna() & (obs["flag"].isna() | obs["flag"].isin(_VALID_FLAGS))
    return obs


def _judged_days(hours: pd.DataFrame, now: pd.Timestamp) -> list[Any]:
    """The complete CST days to judge for one station (see the module docstring)."""
    first = hours["time"].min().tz_convert("Asia/Shanghai")
    start_day = first.date() if first.hour == 1 else (first + pd.Timedelta(days=1)).date()
    days = pd.date_range(start_day, max(hours["day"]), freq="D", tz="Asia/Shanghai")
    return [d.date() for d in days if d + pd.Timedelta(days=1) <= now]


def noise_vdr_rows(
    observations: pd.DataFrame, sites: pd.DataFrame, now: Any
) -> list[dict[str, Any]]:
    """Alarm rows (the engine's columns) of noise station-days below the valid data rate."""
    from ecobasin.alarms.engine import alarm_id  # the engine imports this module

    rules = noise_rules()
    stations = [str(s) for s in sites.loc[sites["kind"] == "noise_station", "site_id"]]
    obs = _station_hours(observations, stations)
    if obs.empty:
        return []
    stamp = pd.Timestamp(now).tz_convert("UTC")
    rows = []
    for site, hours in obs.groupby("site_id"):
        valid = hours[hours["valid"]]
        for day in _judged_days(hours, stamp):
            labels = sorted(int(x) for x in valid.loc[valid["day"] == day, "label"].unique())
            vdr = len(labels) / EXPECTED_HOURS
            if vdr >= rules.min_vdr:
                continue
            rows.append(_row(alarm_id, str(site), day, labels, vdr))
    return rows


def _row(alarm_id: Any, site: str, day: Any, labels: list[int], vdr: float) -> dict[str, Any]:
    rules = noise_rules()
    start = pd.Timestamp(day, tz="Asia/Shanghai").tz_convert("UTC")
    day_hours = sum(1 for h in labels if noise.is_day_label(h))
    evidence = {
        "day": str(day),
        "valid_hours": len(labels),
        "expected_hours": EXPECTED_HOURS,
        "valid_rate": round(vdr, 4),
        "min_valid_rate": rules.min_vdr,
        "day_valid_hours": day_hours,
        "min_day_hours": rules.min_day_hours,
        "night_valid_hours": len(labels) - day_hours,
        "min_night_hours": rules.min_night_hours,
        "missing_labels": [f"{h:02d}:00" for h in range(1, 25) if h not in labels],
        "rule": "station-day valid data rate (valid hourly Leq / 24) below the minimum "
        "有效数据率不足",
        "rule_source": "HJ 906-2017 §7 (valid data rate); threshold limits.toml [validity] "
        "(memory, to verify)",
    }
    return {
        "alarm_id": alarm_id("low_valid_rate", site, "Leq", None, start),
        "kind": "low_valid_rate",
        "site_id": site,
        "parameter": "Leq",
        "flag": None,
        "start_time": start,
        "end_time": start + pd.Timedelta(days=1),
        "status": "closed",
        "peak": None,
        "limit_value": rules.min_vdr,
        "multiple": None,
        "periods": len(labels),
        "evidence": json.dumps(evidence, ensure_ascii=False),
    }
