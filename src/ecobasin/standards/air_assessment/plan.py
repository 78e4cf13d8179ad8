"""The incremental rule of the AQI refresh: which station and city keys a set of touched
site-days makes stale (HJ 633-2012 §5.1.3 moving windows; no I/O)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ecobasin.standards.air_assessment.days import SWITCH_DAY, cst_days

__all__ = ["plan_refresh"]


def plan_refresh(touched: pd.DataFrame, stations: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The keys a set of touched site-days makes stale (pure; the incremental rule).

    Parameters
    ----------
    touched : pandas.DataFrame
        ``site_id`` and ``day`` (CST day of the hour-ending values received).
    stations : pandas.DataFrame
        ``site_id`` and ``city_code`` of the air stations (other sites are ignored).

    Returns
    -------
    dict of str to pandas.DataFrame
        ``hourly_site``, ``daily_site`` (site_id, city_code, day as ``datetime64[D]``) and
        ``hourly_city``, ``daily_city`` (city_code, day): the hourly keys are the touched days
        plus, where it is still under HJ 633-2012 (before 2026-03-01), the next day, whose
        24-h PM and 8-h O3 moving windows (HJ 633-2012 §5.1.3) reach into the touched day.
    """
    frame = pd.DataFrame(
        {"site_id": touched["site_id"].astype(str).to_numpy(), "day": cst_days(touched["day"])}
    )
    city = stations.set_index("site_id")["city_code"]
    frame = frame[frame["site_id"].isin(city.index)].drop_duplicates()
    frame["city_code"] = frame["site_id"].map(city).astype(np.int64)
    nxt = frame[frame["day"] + np.timedelta64(1, "D") < SWITCH_DAY].assign(
        day=lambda f: f["day"] + np.timedelta64(1, "D")
    )
    hourly = pd.concat([frame, nxt], ignore_index=True).drop_duplicates(["site_id", "day"])
    order = ["site_id", "city_code", "day"]
    daily_site = frame[order].sort_values(["site_id", "day"]).reset_index(drop=True)
    hourly_site = hourly[order].sort_values(["site_id", "day"]).reset_index(drop=True)

    def cities(f: pd.DataFrame) -> pd.DataFrame:
        return (
            f[["city_code", "day"]].drop_duplicates().sort_values(["city_code", "day"])
        ).reset_index(drop=True)

    return {
        "hourly_site": hourly_site,
        "daily_site": daily_site,
        "hourly_city": cities(hourly_site),
        "daily_city": cities(daily_site),
    }
