"""Benchmark: reading a stored hourly forecast against fitting it per request (issue 21, item 2).

Usage: ``python bench/hourly_store_bench.py [--cities 3] [--days 400] [--repeat 5]``

Baseline: the per-request fit that ``GET /api/v1/forecasts/hourly`` did before
(:func:`ecobasin.services.forecast_hourly.fitted`, one city asked). Measured: the stored read
(:func:`ecobasin.services.forecast_hourly.stored`) of the same issue day and city after
:func:`ecobasin.services.forecast_hourly.issue_hourly` wrote it. Both on a fresh DuckDB file of
seeded synthetic city hours (six pollutants, a diurnal cycle, day-to-day gamma levels; no real
data needed). Prints the median of ``--repeat`` runs of each, their ratio and the load average
at the start and the end (the machine is shared: read the ratio, not the seconds).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ecobasin import catalog
from ecobasin.services import forecast_hourly as hourly_service
from ecobasin.store import Store

FIRST_DAY = date(2015, 1, 1)


def _hours(city: str, days: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = days * 24
    ends = pd.date_range(
        pd.Timestamp(FIRST_DAY).tz_localize("Asia/Shanghai") + pd.Timedelta(hours=1),
        periods=n,
        freq="h",
    ).tz_convert("UTC")
    hour = np.arange(n) % 24
    cycle = 1 + 0.3 * np.cos(2 * np.pi * (hour - 8) / 24)
    level = np.repeat(rng.gamma(4.0, 12.0, days), 24)
    pm25 = np.round(level * cycle + rng.normal(0, 3, n), 0).clip(2)
    o3 = np.round(60 + 50 * np.sin(2 * np.pi * (hour - 9) / 24).clip(0) + rng.normal(0, 5, n))
    return pd.DataFrame(
        {
            "scope": "city",
            "scope_id": city,
            "time": ends,
            "rule_set": "HJ633-2012",
            "pm25_1h": pm25,
            "pm10_1h": np.round(pm25 * 1.6),
            "o3_1h": o3.clip(2),
            "no2_1h": np.round(30 + 10 * cycle),
            "so2_1h": 8.0,
            "co_1h": np.round(0.8 * cycle, 1),
            "publish_aqi": True,
            "incomplete": False,
            "over_range": False,
            "computed_at": datetime(2016, 1, 1, tzinfo=UTC),
        }
    )


def _build(path: Path, cities: list[str], days: int) -> None:
    with Store(path) as store:
        store.sync_catalog(catalog.load_region("chengdu_plain"))
        frame = pd.concat([_hours(c, days, k) for k, c in enumerate(cities)], ignore_index=True)
        store.con.register("hours_in", frame)
        store.con.execute(
            "INSERT INTO aqi_hourly (scope, scope_id, time, rule_set, pm25_1h, pm10_1h, o3_1h, "
            "no2_1h, so2_1h, co_1h, publish_aqi, incomplete, over_range, computed_at) "
            "SELECT scope, scope_id, time, rule_set, pm25_1h, pm10_1h, o3_1h, no2_1h, so2_1h, "
            "co_1h, publish_aqi, incomplete, over_range, computed_at FROM hours_in"
        )
        store.con.unregister("hours_in")


def _median_seconds(run: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cities", type=int, default=3)
    parser.add_argument("--days", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    cities = [str(c) for c in catalog.load_region("chengdu_plain").cities[: args.cities]]
    issue_day = FIRST_DAY + timedelta(days=args.days - 5)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.duckdb"
        _build(path, cities, args.days)
        with Store(path) as store:
            written = hourly_service.issue_hourly(store, issue_day)
            fitted = _median_seconds(
                lambda: hourly_service.fitted(store, issue_day, [cities[0]]), args.repeat
            )
            stored = _median_seconds(
                lambda: hourly_service.stored(store, issue_day, [cities[0]]), args.repeat
            )
    print(
        f"{len(cities)} cities × {args.days} days of synthetic hours; issue {issue_day}; "
        f"{written:,} stored rows; medians of {args.repeat} runs"
    )
    print(f"baseline  fit per request (one city)  {fitted:8.3f} s")
    print(f"measured  stored read (one city)      {stored:8.3f} s")
    print(f"ratio fit / stored: {fitted / stored:,.0f} ×")
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
