"""Benchmark: IAQI + AQI of hourly station records (ecobasin vs python-aqi vs a numpy floor).

Usage: ``python bench/aqi_bench.py [--n 10000000] [--sample 20000]``

* ecobasin: :func:`ecobasin.standards.air.aqi_arrays` on six pollutant columns, under the
  HJ 633-2026 real-time rules and the HJ 633-2012 daily rules (GB/T 8170 rounding, exact
  integer IAQI, 800 rules, missing and over-range handling, AQI = max IAQI).
* python-aqi (``aqi.to_aqi(..., algo=aqi.ALGO_MEP)``): a sample of the same values, rate
  scaled to the same count.
* numpy floor: one pass of ``np.maximum.reduce`` over a linear scaling of each column, the
  memory-bound lower bound of any column-wise index.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from ecobasin.standards.air import aqi_arrays


def make_data(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    cols = {
        "SO2": rng.gamma(2.0, 6.0, n),
        "NO2": rng.gamma(3.0, 12.0, n),
        "CO": rng.gamma(3.0, 0.3, n),
        "O3": rng.gamma(3.0, 25.0, n),
        "PM10": rng.gamma(2.5, 30.0, n),
        "PM2.5": rng.gamma(2.0, 25.0, n),
    }
    for v in cols.values():  # 0.1 % missing
        v[rng.integers(0, n, n // 1000)] = np.nan
    return cols


def timed(fn: Callable[[], Any], repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=10_000_000, help="records")
    ap.add_argument("--sample", type=int, default=20_000, help="python-aqi sample size")
    args = ap.parse_args()
    n = args.n
    c = make_data(n)
    hourly_2026 = {f"{p}_1h": v for p, v in c.items()}
    daily_2012 = {
        "SO2": c["SO2"],
        "NO2": c["NO2"],
        "CO": c["CO"],
        "PM10": c["PM10"],
        "PM2.5": c["PM2.5"],
        "O3_8h_max": c["O3"],
        "O3_1h_max": c["O3"] * 1.25,
    }
    t26 = timed(lambda: aqi_arrays(hourly_2026, "HJ633-2026", "hourly"), repeat=3)
    t12 = timed(lambda: aqi_arrays(daily_2012, "HJ633-2012", "daily"), repeat=3)

    scale = {"SO2": 0.33, "NO2": 0.5, "CO": 10.0, "O3": 0.3, "PM10": 0.4, "PM2.5": 0.6}
    arrays = list(c.values())
    factors = list(scale.values())

    def floor() -> np.ndarray:
        return np.maximum.reduce([a * k + 1.0 for a, k in zip(arrays, factors, strict=True)])

    tfl = timed(floor, repeat=3)

    import aqi  # python-aqi

    m = min(args.sample, n)
    pols = [
        (aqi.POLLUTANT_SO2_1H, c["SO2"]),
        (aqi.POLLUTANT_NO2_1H, c["NO2"]),
        (aqi.POLLUTANT_CO_8H, c["CO"]),  # MEP maps this to the CO 24-h table
        (aqi.POLLUTANT_O3_1H, c["O3"]),
        (aqi.POLLUTANT_PM10, c["PM10"]),
        (aqi.POLLUTANT_PM25, c["PM2.5"]),
    ]
    recs = []
    for i in range(m):
        rec = [(p, f"{float(v[i]):.1f}") for p, v in pols if np.isfinite(v[i]) and v[i] < 400]
        recs.append(rec)

    def run_pyaqi() -> None:
        for rec in recs:
            # python-aqi crashes on some values; count the attempt
            with contextlib.suppress(Exception):
                aqi.to_aqi(rec, algo=aqi.ALGO_MEP)

    tpy = timed(run_pyaqi) * n / m

    rate = {
        "ecobasin HJ633-2026 real-time": n / t26,
        "ecobasin HJ633-2012 daily": n / t12,
        "numpy floor (max of linear scalings)": n / tfl,
        f"python-aqi MEP (sample {m:,}, scaled)": n / tpy,
    }
    table = Table(title=f"IAQI + AQI, {n:,} records x 6 pollutants")
    table.add_column("implementation")
    table.add_column("records/s", justify="right")
    table.add_column(f"time for {n:,} [s]", justify="right")
    for k, r in rate.items():
        table.add_row(k, f"{r:,.0f}", f"{n / r:.2f}")
    con = Console()
    con.print(table)
    py = rate[f"python-aqi MEP (sample {m:,}, scaled)"]
    fl = rate["numpy floor (max of linear scalings)"]
    ratios = Table(title="ratios (floors: >= 200x python-aqi, within 5x of numpy floor)")
    ratios.add_column("rule set")
    ratios.add_column("x python-aqi", justify="right")
    ratios.add_column("numpy floor / ecobasin", justify="right")
    ratios.add_column("meets floors")
    for k in ("ecobasin HJ633-2026 real-time", "ecobasin HJ633-2012 daily"):
        a, b = rate[k] / py, fl / rate[k]
        ratios.add_row(k, f"{a:,.0f}x", f"{b:.2f}x", "yes" if a >= 200 and b <= 5 else "NO")
    con.print(ratios)


if __name__ == "__main__":
    main()
