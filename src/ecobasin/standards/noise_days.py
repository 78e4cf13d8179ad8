"""Noise station-days from hourly levels: Ld, Ln, the night maximum and the GB 3096-2008
verdicts (day 07:00–22:00 and night 23:00–06:00 hour-ending labels, HJ 640-2012 §6,
GB 3096-2008 §3.1–3.2, the night-maximum rule §5.4) [dB(A)]."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ecobasin.standards import noise

__all__ = ["daily_verdicts"]


def daily_verdicts(hourly: pd.DataFrame) -> pd.DataFrame:
    """Ld, Ln and GB 3096 verdicts per station-day (stations without a zone class left out).

    The columns are read once as arrays and each station-day is a slice of them (a station-year
    is 365 station-days; a sub-frame per day cost more than the verdict itself).
    """
    frame = hourly.dropna(subset=["zone_class"]).reset_index(drop=True)
    grouped = frame.groupby(["site_id", "city_code", "zone_class", "day"])
    codes = grouped.ngroup().to_numpy(dtype=np.float64)
    order = np.argsort(codes, kind="stable")  # each day's rows together, in their own order
    order = order[codes[order] >= 0]  # rows of a key left out by the groupby (missing)
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    hours = frame["hour"].astype(int).to_numpy()
    values = frame["value"].to_numpy()
    is_night = ~pd.Series(hours).map(noise.is_day_label).to_numpy(dtype=bool)
    lmx = frame["lmx"].to_numpy(dtype=np.float64) if "lmx" in frame else None
    rows: list[dict[str, Any]] = []
    for (site, city, cls, day), positions in zip(
        grouped.size().index, np.split(order, bounds) if order.size else [], strict=True
    ):
        dn = noise.day_night_from_hourly(
            dict(zip(hours[positions], values[positions], strict=True))
        )
        verdict = noise.zone_compliance(str(cls), dn.ld, dn.ln)
        night_lmx = np.empty(0) if lmx is None else lmx[positions[is_night[positions]]]
        night_lmx = night_lmx[~np.isnan(night_lmx)]
        rows.append(
            {
                "site_id": site,
                "city_code": int(str(city)),
                "zone_class": verdict.zone_class,
                "day": day,
                "Ld": verdict.ld,
                "Ln": verdict.ln,
                "night_Lmax": (
                    None if night_lmx.size == 0 else noise.round_db(float(night_lmx.max()))
                ),
                "day_pass": verdict.day_pass,
                "night_pass": verdict.night_pass,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "site_id",
            "city_code",
            "zone_class",
            "day",
            "Ld",
            "Ln",
            "night_Lmax",
            "day_pass",
            "night_pass",
        ],
    )
