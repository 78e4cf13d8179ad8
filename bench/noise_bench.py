"""Benchmark: stored noise products against computing them per request (issue 23).

Usage: ``python bench/noise_bench.py [--repeat 3]``

Builds a DuckDB file with the illustrative noise demo (``ecobasin.demo.noise``: zones, 20
automatic stations of the eight cities with a year of hourly Leq/LMx; the product refresh runs
as part of it), then times, in the same run and process:

* **baseline** — what ``GET /api/v1/noise/compliance?by=month`` did before the products were
  stored: read a year of hourly Leq of every station and judge every station-day
  (``services.noise.daily_verdicts(station_days(…))``; today's ``station_days`` also reads
  LMx, so this baseline is a little dearer than the code before the change was);
* **stored** — the answer now: ``services.noise.zone_compliance_rates(…, "month")`` reading
  ``noise_rates``;
* the refresh of one day after a write (``jobs.noise_quality.refresh_noise_products`` for every
  station and one CST day: what follows a gateway or import batch).

It prints the best of ``--repeat`` runs of each [s], the ratio baseline / stored, and the load
average before and after (2 shared cores: compare ratios, not seconds).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from ecobasin import catalog
from ecobasin.demo import noise as demo_noise
from ecobasin.jobs.noise_quality import refresh_noise_products
from ecobasin.services import noise as service
from ecobasin.store import Store

YEAR = 2025


def _best(repeat: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    region = catalog.load_region()
    with tempfile.TemporaryDirectory() as folder, Store(Path(folder) / "noise.duckdb") as store:
        store.sync_catalog(region)
        started = time.perf_counter()
        counts = demo_noise.install(store, region, year=YEAR, seed=2025)
        install = time.perf_counter() - started
        print(f"demo noise: {counts} in {install:.1f} s (includes the year's product refresh)")

        def baseline() -> object:
            return service.daily_verdicts(service.station_days(store, YEAR))

        def stored() -> object:
            return service.zone_compliance_rates(store, YEAR, "month")

        day_start = pd.Timestamp(f"{YEAR}-07-01T01:00", tz="Asia/Shanghai").tz_convert("UTC")

        def one_day() -> object:
            return refresh_noise_products(
                store, None, day_start, day_start + pd.Timedelta(hours=23)
            )

        base, now, day = (_best(args.repeat, f) for f in (baseline, stored, one_day))
    print(f"baseline (judge a year of station-days per request): {base:.3f} s")
    print(f"stored (read noise_rates):                         {now:.3f} s")
    print(f"ratio baseline / stored:                           {base / now:.1f}")
    print(f"refresh of one day after a write (all stations):   {day:.3f} s")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
