"""Keep the stored hourly and daily AQI (stations and cities) up to date after imports.

Orchestration only: observations are read through :mod:`ecobasin.store.air`, indexed by the
pure kernels of :mod:`ecobasin.standards.air_assessment` (the plan of stale keys, the rows of a
monthly chunk), and written back through the same store module (``aqi_hourly``,
``aqi_daily``; keys and columns are documented in migration 2).

What is computed
----------------
* **Station hourly (real-time report).** HJ 633-2012 §5.1.3 for hours of CST days before
  2026-03-01: SO2, NO2, CO, O3 1-h values, the O3 8-h moving mean (≥ 6 valid hours) and the
  PM10 / PM2.5 24-h moving means (≥ 20 valid hours, GB 3095-2012 Table 4); SO2 1-h above 800
  uses the SO2 24-h moving mean (Table 1 note 2). HJ 633-2026 §4.2.3-§4.2.4 from that day on:
  the six 1-h values, PM on the daily breakpoints.
* **Station daily.** 24-h means (≥ 20 h), O3 daily maximum 8-h (17 windows ending 08:00 …
  24:00, ≥ 14 valid or above 160 µg/m³, HJ 663-2013 §6) and O3 maximum 1-h; AQI per
  HJ 633-2012 §5.1.2 (7 indicators) or HJ 633-2026 §4.2.2 (6 indicators).
* **City hourly and daily.** HJ 663-2013 §5 and HJ 633-2026 §4.2.1: every indicator
  concentration of the city is the arithmetic mean of its air stations' concentrations of that
  indicator (stations without a valid value left out), rounded per GB/T 8170, then indexed;
  never a mean or maximum of station AQIs. For the 2012 moving means this is the mean of the
  stations' moving means (identical to the moving mean of the city's hourly means when no hour
  is missing).
* The rule set is chosen by the CST day of each hour or day (before 2026-03-01 →
  ``HJ633-2012``) and stored on every row.

Incremental rule
----------------
A touched (site, day) recomputes: the station's daily row of that day; its hourly rows of that
day; and, when the next day is still under HJ 633-2012, its hourly rows of the next day too
(their 24-h and 8-h moving windows reach back into the touched day). Daily values never depend
on another day (every window lies inside the day), so no other daily row changes. The same
days are recomputed for the station's city (from all of the city's stations). Nothing else is
deleted or rewritten.

Days are processed in chunks of one calendar month, each read with the 24 hours before its
first day, and each written in one transaction.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from ecobasin.standards.air_assessment import compute_chunk, day_start_utc, plan_refresh
from ecobasin.store import Store, aqi_pending
from ecobasin.store import air as store_air

__all__ = ["CITY_KIND", "refresh_air_quality", "refresh_pending_air_quality"]

#: Site kind whose stations get an AQI and make the city values (national/provincial/city
#: ambient air-quality stations; micro-stations and outlets do not).
CITY_KIND = "air_station"

Progress = Callable[[int, int], None]


def _hour_keys(frame: pd.DataFrame, scope: str, id_col: str) -> pd.DataFrame:
    start = day_start_utc(frame["day"].to_numpy())
    return pd.DataFrame(
        {
            "scope": scope,
            "scope_id": frame[id_col].astype(str).to_numpy(),
            "start": start,
            "end": start + pd.Timedelta(hours=23),
        }
    )


def _day_keys(frame: pd.DataFrame, scope: str, id_col: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "scope": scope,
            "scope_id": frame[id_col].astype(str).to_numpy(),
            "day": [d.date() for d in pd.DatetimeIndex(frame["day"])],
        }
    )


def refresh_air_quality(
    store: Store,
    touched: pd.DataFrame | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Recompute the stored hourly and daily AQI of stations and cities.

    Parameters
    ----------
    store : Store
        Open for writing.
    touched : pandas.DataFrame, optional
        ``site_id`` and ``day`` (CST calendar day), e.g.
        :meth:`ecobasin.ingest.importer.ImportReport.touched_frame`; None recomputes every
        site-day holding hourly air observations. Sites that are not air stations are ignored.
    progress : callable, optional
        Called as ``progress(done, total)`` with the number of monthly chunks.

    Returns
    -------
    dict
        ``site_days`` and ``city_days`` recomputed (daily keys), ``hourly_rows`` and
        ``daily_rows`` written, ``hourly_deleted``, ``daily_deleted``, ``chunks``,
        ``rule_sets`` (those used) and ``seconds``.

    Notes
    -----
    The incremental rule and the standards applied are described in the module docstring
    (HJ 633-2012 §5.1.2-§5.1.3; HJ 633-2026 §4.2.1-§4.2.4, §5.3.1; HJ 663-2013 §5-§6;
    GB 3095-2012 Table 4).
    """
    t0 = _time.perf_counter()
    computed_at = datetime.now(UTC)
    stations = store.sites(kinds=[CITY_KIND])[["site_id", "city_code"]]
    if touched is None:
        touched = store_air.air_site_days(store, kinds=(CITY_KIND,))
    result: dict[str, Any] = {
        "site_days": 0,
        "city_days": 0,
        "hourly_rows": 0,
        "daily_rows": 0,
        "hourly_deleted": 0,
        "daily_deleted": 0,
        "chunks": 0,
        "rule_sets": [],
        "seconds": 0.0,
    }
    if touched.empty or stations.empty:
        if progress:
            progress(0, 0)
        result["seconds"] = _time.perf_counter() - t0
        return result
    plan = plan_refresh(touched, stations)
    months = sorted(
        set(plan["hourly_site"]["day"].to_numpy().astype("datetime64[M]"))
        | set(plan["daily_site"]["day"].to_numpy().astype("datetime64[M]"))
    )
    if progress:
        progress(0, len(months))
    rule_sets: set[str] = set()
    month_of = {
        name: frame["day"].to_numpy().astype("datetime64[M]") for name, frame in plan.items()
    }
    for i, month in enumerate(months, 1):
        keys = {
            name: frame[month_of[name] == month].reset_index(drop=True)
            for name, frame in plan.items()
        }
        cities = set(keys["hourly_city"]["city_code"]) | set(keys["daily_city"]["city_code"])
        sites = stations[stations["city_code"].isin(cities)]
        all_days = np.concatenate(
            [keys["hourly_site"]["day"].to_numpy(), keys["daily_site"]["day"].to_numpy()]
        ).astype("datetime64[D]")
        first, last = all_days.min(), all_days.max()
        start = day_start_utc(np.array([first - np.timedelta64(1, "D")]))[0]
        end = day_start_utc(np.array([last]))[0] + pd.Timedelta(hours=23)
        hourly = store_air.air_hourly(
            store,
            sites=list(sites["site_id"]),
            start=start.to_pydatetime(),
            end=end.to_pydatetime(),
        )
        hourly_rows, daily_rows = compute_chunk(hourly, sites, keys, computed_at)
        counts = store_air.replace_aqi(
            store,
            hourly_keys=pd.concat(
                [
                    _hour_keys(keys["hourly_site"], "site", "site_id"),
                    _hour_keys(keys["hourly_city"], "city", "city_code"),
                ],
                ignore_index=True,
            ),
            daily_keys=pd.concat(
                [
                    _day_keys(keys["daily_site"], "site", "site_id"),
                    _day_keys(keys["daily_city"], "city", "city_code"),
                ],
                ignore_index=True,
            ),
            hourly=hourly_rows,
            daily=daily_rows,
        )
        rule_sets |= set(daily_rows["rule_set"].dropna()) | set(hourly_rows["rule_set"].dropna())
        result["hourly_rows"] += counts["hourly_inserted"]
        result["daily_rows"] += counts["daily_inserted"]
        result["hourly_deleted"] += counts["hourly_deleted"]
        result["daily_deleted"] += counts["daily_deleted"]
        if progress:
            progress(i, len(months))
    result["site_days"] = len(plan["daily_site"])
    result["city_days"] = len(plan["daily_city"])
    result["chunks"] = len(months)
    result["rule_sets"] = sorted(rule_sets)
    result["seconds"] = _time.perf_counter() - t0
    return result


def refresh_pending_air_quality(store: Store, progress: Progress | None = None) -> dict[str, Any]:
    """Compute the AQI of the station-days marked "AQI pending", then delete their marks.

    Imports mark what they store in the same transaction as the observations
    (:mod:`ecobasin.store.aqi_pending`), so the AQI of an import killed before its refresh is
    computed here by the next run (an import, ``ecobasin serve``, any write command). A run
    killed in here leaves the marks, and the next one computes them again (the refresh
    replaces rows by key, so repeating it changes nothing).

    Returns
    -------
    dict
        As :func:`refresh_air_quality`, plus ``pending``: the number of marks consumed.
    """
    pending = aqi_pending.pending_aqi_site_days(store)
    result = refresh_air_quality(store, pending, progress=progress)
    aqi_pending.clear_aqi_pending(store, pending)
    result["pending"] = len(pending)
    return result
