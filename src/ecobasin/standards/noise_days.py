"""Noise station-days from hourly levels: Ld, Ln, the night maximum and the GB 3096-2008
verdicts (day 07:00–22:00 and night 23:00–06:00 hour-ending labels, HJ 640-2012 §6,
GB 3096-2008 §3.1–3.2, the night-maximum rule §5.4) [dB(A)]."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ecobasin.standards import noise

__all__ = ["daily_verdicts"]


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
        night = group[~group["hour"].astype(int).map(noise.is_day_label)]
        lmx = night["lmx"].dropna() if "lmx" in night else pd.Series(dtype=float)
        rows.append(
            {
                "site_id": site,
                "city_code": int(str(city)),
                "zone_class": verdict.zone_class,
                "day": day,
                "Ld": verdict.ld,
                "Ln": verdict.ln,
                "night_Lmax": None if lmx.empty else noise.round_db(float(lmx.max())),
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
