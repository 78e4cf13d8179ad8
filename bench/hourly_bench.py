"""Benchmark: hourly forecasts to 72 hours beside hourly persistence (issue 21, item 3).

Usage: ``python bench/hourly_bench.py [--data ../shared/data] [--only chengdu|beijing]``

Both data sets go through the path of any region's data: ``ecobasin import csv`` with the
bundled mapping into a fresh DuckDB file, the AQI refresh, then
:func:`ecobasin.store.forecast.city_hourly`; the hourly model
(:mod:`ecobasin.forecast.hourly`) learns on the days before the test year (the last 365 of them
are its validation window) and issues a 72-hour forecast on every day of the test year.

* Chengdu 2015 (UCI, PM2.5 only); Beijing 2016-03 → 2017-02 (all six pollutants).
* Floor (issue 21): PM2.5 RMSE by lead hour below hourly persistence (the same hour of the
  issue day) at every lead hour from 6 on, printed beside that baseline of the same run.
* Also: O3 peak-hour error and daily O3 8-h maximum RMSE (Beijing). The load average is printed
  at the start and the end. No daily forecast is supplied: the ``diurnal`` member shapes the
  issue day's daily mean.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ecobasin import catalog
from ecobasin.forecast import hourly, verify
from ecobasin.ingest import csvmap, importer
from ecobasin.jobs.air_quality import refresh_air_quality
from ecobasin.store import Store
from ecobasin.store import forecast as store_forecast

HERE = Path(__file__).resolve().parent
#: The first lead hour the floor applies to [h].
FLOOR_FROM = 6

CASES: dict[str, dict[str, Any]] = {
    "chengdu": {
        "file": "chengdu_hourly_pm25_weather_2013_2015.csv.gz",
        "mapping": "uci_chengdu_pm25",
        "region": "chengdu_plain",
        "test": (date(2015, 1, 1), date(2015, 12, 29)),
    },
    "beijing": {
        "file": "beijing_multisite_2013_2017.csv.gz",
        "mapping": "uci_beijing_multisite",
        "region": "beijing",
        "test": (date(2016, 3, 1), date(2017, 2, 25)),
    },
}


def load_hourly(data: Path, case: dict[str, Any], workdir: Path) -> pd.DataFrame:
    """Import a data set as ``ecobasin import csv`` does and read the city hourly values."""
    with Store(workdir / f"{case['mapping']}.duckdb") as store:
        store.sync_catalog(catalog.load_region(case["region"]))
        report = importer.import_csv(
            store, [data / case["file"]], csvmap.load_mapping(case["mapping"])
        )
        refresh_air_quality(store, report.touched_frame())
        return store_forecast.city_hourly(store)


def run_case(name: str, frame: pd.DataFrame) -> bool:
    """Fit, forecast the test year, print the PM2.5 table and the O3 scores; True if the floor
    holds."""
    start, end = CASES[name]["test"]
    t0 = time.perf_counter()
    model = hourly.fit_hourly(frame, train_end=start)
    days = pd.date_range(start, end, freq="D").date
    forecast = hourly.forecast_hourly(model, frame, list(days))
    seconds = time.perf_counter() - t0
    scores = verify.hourly_scores(forecast)
    pm = scores[scores["pollutant"] == "PM2.5"].set_index("lead_hour")
    print(
        f"\n{name}: 72-h PM2.5 RMSE [µg/m³] by lead hour, hourly vs persistence ({seconds:.1f} s)"
    )
    print(f"{'lead':>4} {'persistence':>11} {'hourly':>8} {'ratio':>6} floor")
    failing = []
    for lead, row in pm.iterrows():
        ratio = row["rmse"] / row["persistence_rmse"]
        floor = "" if int(lead) < FLOOR_FROM else ("PASS" if ratio < 1 else "FAIL")
        if floor == "FAIL":
            failing.append(int(lead))
        if int(lead) % 6 == 0 or int(lead) == 1 or floor == "FAIL":
            print(
                f"{lead:>4} {row['persistence_rmse']:>11.1f} {row['rmse']:>8.1f} {ratio:>6.3f} {floor}"
            )
    print(f"floor from hour {FLOOR_FROM}: {'PASS' if not failing else f'FAIL at {failing}'}")
    others = scores[scores["pollutant"] != "PM2.5"]
    if not others.empty:
        mean = others.groupby("pollutant")[["rmse", "persistence_rmse"]].mean()
        print("mean RMSE over lead hours, other pollutants (hourly / persistence):")
        for pollutant, r in mean.iterrows():
            ratio = r["rmse"] / r["persistence_rmse"]
            print(f"  {pollutant:<10} {r['rmse']:8.2f} {r['persistence_rmse']:8.2f}  {ratio:.3f}")
    if (scores["pollutant"] == "O3").any():
        summary = hourly.daily_summary(forecast)
        peak = verify.peak_hour_error(summary)
        print(
            "O3 peak hour: "
            + "; ".join(
                f"D+{int(r.lead_day)} MAE {r.peak_hour_mae:.2f} h, within ±2 h {r.within_2h:.0%}"
                for r in peak.itertuples()
            )
        )
        o3 = summary[summary["pollutant"] == "O3_8h"].dropna(subset=["value", "observed"])
        rmse = o3.groupby("lead_day").apply(
            lambda g: float(np.sqrt(np.mean((g["value"] - g["observed"]) ** 2))),
            include_groups=False,
        )
        print(
            "daily O3 8-h max RMSE [µg/m³]: " + ", ".join(f"D+{k} {v:.1f}" for k, v in rmse.items())
        )
    return not failing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data")
    parser.add_argument("--only", choices=sorted(CASES))
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for name, case in CASES.items():
            if args.only and name != args.only:
                continue
            ok &= run_case(name, load_hourly(args.data, case, Path(tmp)))
    print(f"\nload average at end: {os.getloadavg()}")
    print("ALL FLOORS PASS" if ok else "SOME FLOOR FAILS")


if __name__ == "__main__":
    main()
