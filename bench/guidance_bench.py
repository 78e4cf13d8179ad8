"""Benchmark: numerical-model guidance, raw and MOS-corrected, beside the baselines (issue 21).

Usage: ``python bench/guidance_bench.py [--data ../shared/data] [--only chengdu|beijing]``

No real model archive is available here, so the guidance is SIMULATED
(:mod:`ecobasin.demo.ctm_sim`: the observed city field times a biased, spatially and temporally
correlated, lead-growing error), one run a day initialised at 00 UTC and published 6 h later.
For every issue day of the test window the forecast sees only runs published by its issue time
and only observations up to that day. Printed per lead: daily PM2.5 RMSE of persistence,
climatology, the raw guidance and MOS, with MOS's gain over raw (floor: MOS better than raw at
every lead), and the load average. A JSON copy goes to ``bench/out/``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from ecobasin import catalog
from ecobasin.demo.ctm_sim import simulate_city_guidance
from ecobasin.forecast.backtest import backtest
from ecobasin.forecast.guidance import Mos, daily_guidance, runs_as_known
from ecobasin.forecast.models import GBMConfig
from ecobasin.ingest import csvmap, importer
from ecobasin.jobs.air_quality import refresh_air_quality
from ecobasin.store import Store
from ecobasin.store import forecast as store_forecast

HERE = Path(__file__).resolve().parent
console = Console(width=200)
CASES: dict[str, dict[str, Any]] = {
    "chengdu": {
        "file": "chengdu_hourly_pm25_weather_2013_2015.csv.gz",
        "mapping": "uci_chengdu_pm25",
        "region": "chengdu_plain",
        "test": ("2015-01-01", "2015-12-31"),
    },
    "beijing": {
        "file": "beijing_multisite_2013_2017.csv.gz",
        "mapping": "uci_beijing_multisite",
        "region": "beijing",
        "test": ("2016-03-01", "2017-02-28"),
    },
}
LEADS = list(range(1, 8))


def load(data: Path, case: dict[str, Any], workdir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """City daily and hourly values, imported the way ``ecobasin import csv`` does."""
    with Store(workdir / f"{case['mapping']}.duckdb") as store:
        store.sync_catalog(catalog.load_region(case["region"]))
        report = importer.import_csv(
            store, [data / case["file"]], csvmap.load_mapping(case["mapping"])
        )
        refresh_air_quality(store, report.touched_frame())
        daily, _ = store_forecast.forecast_inputs(store, with_met=False)
        return daily, store_forecast.city_hourly(store)


def members(daily: pd.DataFrame, hourly: pd.DataFrame, test: tuple[str, str]) -> pd.DataFrame:
    """Raw guidance and MOS for every issue day whose forecasts target the test window."""
    start, end = pd.Timestamp(test[0]), pd.Timestamp(test[1])
    issue_days = pd.date_range(start - pd.Timedelta(days=120), end, freq="D")
    table = catalog.cities()
    codes = sorted(hourly["city"].unique())
    cities = pd.DataFrame(
        {
            "city": codes,
            "lat": [float(str(table.loc[int(c), "lat"])) for c in codes],
            "lon": [float(str(table.loc[int(c), "lon"])) for c in codes],
        }
    )
    runs = simulate_city_guidance(hourly, cities, issue_days)
    raw = daily_guidance(runs_as_known(runs, issue_days), LEADS)
    mos = Mos().correct(raw, daily)
    both = pd.concat([raw, mos], ignore_index=True)
    return both[(both["target_day"] >= start) & (both["target_day"] <= end)]


def rmse_by_lead(forecasts: pd.DataFrame, daily: pd.DataFrame, pollutant: str) -> pd.DataFrame:
    obs = daily[["city", "day", pollutant]].rename(columns={"day": "target_day", pollutant: "obs"})
    obs = obs.assign(city=obs["city"].astype(str))
    f = forecasts[forecasts["pollutant"] == pollutant].assign(city=lambda d: d["city"].astype(str))
    pairs = f.merge(obs, on=["city", "target_day"]).dropna(subset=["obs", "value"])
    # score every member on the same (city, issue day, lead) cases
    keys = ["city", "issue_day", "lead"]
    common = pairs.groupby(keys)["model"].transform("nunique") == pairs["model"].nunique()
    pairs = pairs[common]
    err = (pairs["value"].astype(float) - pairs["obs"].astype(float)) ** 2
    table = pairs.assign(se=err).groupby(["lead", "model"])["se"].mean() ** 0.5
    return table.unstack("model")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data")
    parser.add_argument("--only", choices=sorted(CASES))
    args = parser.parse_args()
    out: dict[str, Any] = {"when": datetime.now(UTC).isoformat(timespec="seconds")}
    console.print(f"load average at start: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, case in CASES.items():
            if args.only and name != args.only:
                continue
            t0 = time.perf_counter()
            daily, hourly = load(args.data, case, Path(tmp))
            guidance = members(daily, hourly, case["test"])
            base = backtest(
                daily,
                None,
                test_from=case["test"][0],
                test_to=case["test"][1],
                config=GBMConfig(use_met=False),
            ).forecasts
            base = base[base["model"].isin(["persistence", "climatology", "lightgbm"])]
            allf = pd.concat([base, guidance], ignore_index=True)
            rmse = rmse_by_lead(allf, daily, "PM2.5")
            view = Table(title=f"{name}: daily PM2.5 RMSE [µg/m³] by lead — guidance SIMULATED")
            cols = [
                c
                for c in ("persistence", "climatology", "lightgbm", "guidance", "mos")
                if c in rmse
            ]
            for c in ("lead", *cols, "mos/raw", "floor"):
                view.add_column(c, justify="right")
            rows = []
            for lead, r in rmse.iterrows():
                ratio = r["mos"] / r["guidance"]
                ok = bool(np.isfinite(ratio) and ratio < 1)
                view.add_row(
                    str(lead),
                    *(f"{r[c]:.1f}" for c in cols),
                    f"{ratio:.3f}",
                    "PASS" if ok else "FAIL",
                )
                rows.append(
                    {"lead": int(lead), **{c: float(r[c]) for c in cols}, "mos_over_raw": ratio}
                )
            console.print(view)
            console.print(f"{name}: {time.perf_counter() - t0:.0f} s, load {os.getloadavg()}")
            out[name] = {"pm25_rmse": rows, "simulated_guidance": True}
    target = HERE / "out" / f"guidance_bench_{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    target.parent.mkdir(exist_ok=True)
    target.write_text(json.dumps(out, indent=1, default=str))
    console.print(f"written {target}")


if __name__ == "__main__":
    main()
