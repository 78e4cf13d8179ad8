"""Hourly noise products from minute data (noise brief §3.2 and §6.2).

For every noise station, the minute Leq (period ``1min``) of each hour-ending hour give the hourly
Leq (period ``1h``): the energy mean of the valid minutes when the hour's valid data rate
n/60 reaches the HJ 906-2017 threshold (``limits.toml [validity] min_vdr``); an invalid hour gets
no value. The hourly LMx is the maximum of the minute LMx. Hours a station reported itself (rows
of any other batch kind) are never overwritten; hours computed before are recomputed, so a
refresh after late minutes is idempotent.

:func:`refresh_noise_products` is what follows a gateway or import batch (as the AQI refresh
does for air): for the touched noise stations and span it rebuilds the hourly values from
minutes, the station-day verdicts (``noise_daily``, GB 3096-2008 Table 1 on Ld/Ln) and the
monthly functional-zone counts (``noise_rates``) of the touched cities and months.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from ecobasin.standards import noise
from ecobasin.standards.noise_days import daily_verdicts
from ecobasin.store import noise as noise_store
from ecobasin.store.database import Store
from ecobasin.timebase import day_of_hour_ending

__all__ = [
    "BATCH_KIND",
    "HourlyRefresh",
    "ProductRefresh",
    "refresh_noise_hourly",
    "refresh_noise_products",
]

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
    store: Store, site_ids: list[str], start: pd.Timestamp, end: pd.Timestamp
) -> set[tuple[str, str, pd.Timestamp]]:
    frame = noise_store.reported_hours(store, site_ids, start, end, BATCH_KIND)
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


def refresh_noise_hourly(
    store: Store,
    year: int | None = None,
    *,
    site_ids: list[str] | None = None,
    span: tuple[pd.Timestamp, pd.Timestamp] | None = None,
) -> HourlyRefresh:
    """Recompute the hourly Leq and LMx of noise stations from their minutes: a whole CST
    ``year``, or the hours ending in ``span`` (UTC), optionally only ``site_ids``."""
    stations = store.sites(kinds=["noise_station"], site_ids=site_ids)
    ids = [str(s) for s in stations["site_id"]]
    if not ids:
        return HourlyRefresh(0, 0, 0)
    if span is None:
        if year is None:
            raise ValueError("give a year or a span")
        span = _year_bounds(year)
    start, end = span
    minutes = store.observations(
        sites=ids, parameters=["Leq", "LMx"], periods=["1min"], start=start, end=end
    )
    if minutes.empty:
        return HourlyRefresh(0, 0, 0)
    hourly, invalid = _hourly_rows(minutes)
    reported = _reported_hours(store, ids, start, end + pd.Timedelta(hours=1))
    is_reported = [
        (s, p, pd.Timestamp(t)) in reported
        for s, p, t in zip(hourly["site_id"], hourly["parameter"], hourly["time"], strict=True)
    ]
    kept = int(sum(is_reported))
    hourly = hourly[[not r for r in is_reported]]
    if not hourly.empty:
        batch = store.begin_batch(BATCH_KIND, f"noise hourly {start:%Y-%m-%d}..{end:%Y-%m-%d}")
        frame = hourly.assign(period="1h", flag=None)
        store.write_observations(frame, batch_id=batch)
        store.finish_batch(batch, {"written": len(frame), "invalid_hours": invalid})
    return HourlyRefresh(len(hourly), invalid, kept)


@dataclass(frozen=True)
class ProductRefresh:
    """What a product refresh did: hours, station-days and city-months recomputed."""

    hours_written: int
    station_days: int
    city_months: int


def _day_span(start: datetime, end: datetime) -> tuple[list[str], pd.Timestamp, pd.Timestamp]:
    """The CST days holding the hour ends start … end, and the UTC hour ends 01:00 … 24:00."""
    days = day_of_hour_ending(pd.Series(pd.to_datetime([start, end], utc=True)))
    dates = [str(d.date()) for d in pd.date_range(days.iloc[0], days.iloc[1], freq="D")]
    first = pd.Timestamp(f"{dates[0]}T01:00", tz="Asia/Shanghai").tz_convert("UTC")
    last = pd.Timestamp(f"{dates[-1]}T01:00", tz="Asia/Shanghai").tz_convert("UTC")
    return dates, first, last + pd.Timedelta(hours=23)


def refresh_noise_products(
    store: Store, site_ids: Iterable[str] | None, start: datetime, end: datetime
) -> ProductRefresh:
    """Rebuild hourly values, ``noise_daily`` and ``noise_rates`` for the noise stations among
    ``site_ids`` (None: all) over the CST days holding ``start`` … ``end`` (UTC instants).

    Other site kinds are ignored, so the gateway may pass every site it wrote.
    """
    stations = store.sites(
        kinds=["noise_station"], site_ids=None if site_ids is None else list(site_ids)
    )
    if stations.empty:
        return ProductRefresh(0, 0, 0)
    ids = [str(s) for s in stations["site_id"]]
    days, first, last = _day_span(start, end)
    hourly = refresh_noise_hourly(store, site_ids=ids, span=(first, last))
    hours = noise_store.station_hours(store, first, last, site_ids=ids)
    verdicts = daily_verdicts(hours)
    noise_store.replace_daily(store, verdicts, ids, days)
    cities = sorted({int(c) for c in stations["city_code"]})
    months = sorted({d[:7] for d in days})
    noise_store.replace_rates(store, cities, months)
    return ProductRefresh(hourly.written, len(verdicts), len(cities) * len(months))
