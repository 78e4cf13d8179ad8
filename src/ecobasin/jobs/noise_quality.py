"""Hourly noise products from minute data (noise brief §3.2 and §6.2).

For every noise station, the minute Leq (period ``1min``) of each hour-ending hour give the hourly
Leq (period ``1h``): the energy mean of the valid minutes when the hour's valid data rate
n/60 reaches the HJ 906-2017 threshold (``limits.toml [validity] min_vdr``); an invalid hour gets
no value. The hourly LMx is the maximum of the minute LMx. Hours a station reported itself (rows
of any other batch kind) are never overwritten; hours computed before are recomputed, so a
refresh after late minutes is idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ecobasin.standards import noise
from ecobasin.store import noise as store_noise
from ecobasin.store.database import Store

__all__ = ["BATCH_KIND", "HourlyRefresh", "refresh_noise_hourly"]

BATCH_KIND = "noise_hourly"
MINUTES_PER_HOUR = 60


@dataclass(frozen=True)
class HourlyRefresh:
    """Hours computed (valid and written), invalid (too few minutes) and left as reported."""

    written: int
    invalid: int
    kept_reported: int


def _year_bounds(year: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    start = pd.Timestamp(f"{year}-01-01T00:01", tz="Asia/Shanghai").tz_convert("UTC")
    end = pd.Timestamp(f"{year + 1}-01-01T00:00", tz="Asia/Shanghai").tz_convert("UTC")
    return start, end


def _reported_hours(
    store: Store, site_ids: list[str], year: int
) -> set[tuple[str, str, pd.Timestamp]]:
    start, end = _year_bounds(year)
    frame = store_noise.reported_hours(store, site_ids, start, end, BATCH_KIND)
    return {(s, p, pd.Timestamp(t)) for s, p, t in frame.itertuples(index=False)}


def _hourly_rows(minutes: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    minutes = minutes.assign(hour=minutes["time"].dt.ceil("h"))
    rows: list[dict[str, object]] = []
    invalid = 0
    for (site, hour), group in minutes.groupby(["site_id", "hour"]):
        leq_minutes = group.loc[group["parameter"] == "Leq", "value"]
        period = noise.leq_valid(leq_minutes.dropna().tolist(), n_expected=MINUTES_PER_HOUR)
        if period.leq is None:
            invalid += 1
            continue
        rows.append(
            {"site_id": site, "parameter": "Leq", "time": hour, "value": noise.round_db(period.leq)}
        )
        lmax = group.loc[group["parameter"] == "LMx", "value"].dropna()
        if not lmax.empty:
            rows.append(
                {"site_id": site, "parameter": "LMx", "time": hour, "value": float(lmax.max())}
            )
    return pd.DataFrame(rows, columns=["site_id", "parameter", "time", "value"]), invalid


def refresh_noise_hourly(store: Store, year: int) -> HourlyRefresh:
    """Recompute the hourly Leq and LMx of every noise station in a CST year from its minutes."""
    stations = store.sites(kinds=["noise_station"])
    site_ids = [str(s) for s in stations["site_id"]]
    if not site_ids:
        return HourlyRefresh(0, 0, 0)
    start, end = _year_bounds(year)
    minutes = store.observations(
        sites=site_ids, parameters=["Leq", "LMx"], periods=["1min"], start=start, end=end
    )
    hourly, invalid = _hourly_rows(minutes)
    reported = _reported_hours(store, site_ids, year)
    is_reported = [
        (s, p, pd.Timestamp(t)) in reported
        for s, p, t in zip(hourly["site_id"], hourly["parameter"], hourly["time"], strict=True)
    ]
    kept = int(sum(is_reported))
    hourly = hourly[[not r for r in is_reported]]
    if not hourly.empty:
        batch = store.begin_batch(BATCH_KIND, f"noise hourly {year}")
        frame = hourly.assign(period="1h", flag=None)
        store.write_observations(frame, batch_id=batch)
        store.finish_batch(batch, {"written": len(frame), "invalid_hours": invalid})
    return HourlyRefresh(len(hourly), invalid, kept)
