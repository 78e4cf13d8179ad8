"""Benchmark: forecasts on real data, beside persistence and climatology (issue 6, "Proof").

Usage: ``python bench/forecast_bench.py [--data ../shared/data] [--only chengdu|beijing]
[--plots DIR]``

Both data sets go through the same path as any region's data: ``ecobasin import csv`` with the
bundled mapping into a fresh DuckDB file (observations, meteorology, AQI refresh), then
:func:`ecobasin.store.forecast.forecast_inputs` and :func:`ecobasin.forecast.backtest.backtest`.

* Chengdu (UCI five cities, 2013–2015): train on 2013–2014, test on every target day of 2015;
  city daily PM2.5 = mean of the two national stations (草堂寺, 沙河铺; the US consulate monitor
  is not part of the national network). With weather: the observed weather of the target day
  stands in for a perfect meteorological forecast.
* Floors (issue 21), printed beside the baselines of the same run for every case: at every
  lead 1…7 the issued forecast's PM2.5 RMSE ≤ min(persistence, climatology); day +1 level
  accuracy ≥ persistence's; with weather Chengdu keeps −32 % at +1 and −38 % at +3 against
  persistence. The load average is printed at the start and the end.
* Beijing (UCI multi-site, 12 stations): train on 2013-03 → 2016-02, test 2016-03 → 2017-02.

Writes the tables to stdout and a JSON copy to ``bench/out/forecast_bench_<time>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

from ecobasin import catalog
from ecobasin.forecast.backtest import BacktestResult, backtest
from ecobasin.forecast.models import GBMConfig
from ecobasin.ingest import csvmap, importer
from ecobasin.jobs.air_quality import refresh_air_quality
from ecobasin.store import Store
from ecobasin.store import forecast as store_forecast

HERE = Path(__file__).resolve().parent
console = Console(width=260)

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


def load(data: Path, case: dict[str, Any], workdir: Path) -> tuple[pd.DataFrame, Any]:
    """Import a data set the way ``ecobasin import csv`` does and read the forecast inputs."""
    db = workdir / f"{case['mapping']}.duckdb"
    with Store(db) as store:
        store.sync_catalog(catalog.load_region(case["region"]))
        report = importer.import_csv(
            store, [data / case["file"]], csvmap.load_mapping(case["mapping"])
        )
        refresh_air_quality(store, report.touched_frame())
        return store_forecast.forecast_inputs(store)


def run(daily: pd.DataFrame, met: Any, test: tuple[str, str], use_met: bool) -> BacktestResult:
    t0 = time.perf_counter()
    result = backtest(
        daily, met, test_from=test[0], test_to=test[1], config=replace(GBMConfig(), use_met=use_met)
    )
    result.metadata["seconds"] = round(time.perf_counter() - t0, 1)
    return result


#: Margins of the issued forecast over persistence with weather (issue 21: keep today's).
MARGINS = {"chengdu": {1: 0.32, 3: 0.38}}


def rmse_table(name: str, results: dict[str, BacktestResult]) -> tuple[Table, list[dict[str, Any]]]:
    """PM2.5 RMSE per lead, with and without weather, beside persistence and climatology of the
    same run, and the floors of issue 21: RMSE ≤ min(persistence, climatology) at every lead;
    day +1 level accuracy ≥ persistence's; with weather the margins of :data:`MARGINS`."""
    view = Table(title=f"{name}: daily PM2.5 RMSE [µg/m³] and level accuracy, issued vs baselines")
    for col in (
        "weather",
        "lead",
        "persistence",
        "climatology",
        "issued",
        "gain",
        "level acc",
        "floor",
    ):
        view.add_column(col, justify="right")
    rows = []
    for label, res in results.items():
        s = res.scores.pivot(index="lead", columns="model", values="pm25_rmse")
        acc = res.scores.pivot(index="lead", columns="model", values="level_acc")
        for lead, r in s.iterrows():
            h = int(lead)
            gain = 1 - r["lightgbm"] / r["persistence"]
            checks = [r["lightgbm"] <= min(r["persistence"], r["climatology"]) + 1e-9]
            need = MARGINS.get(name, {}).get(h) if label == "with" else None
            if need is not None:
                checks.append(gain >= need - 0.005)  # the margin as published, to 0.5 points
            if h == 1:
                checks.append(acc.loc[lead, "lightgbm"] >= acc.loc[lead, "persistence"])
            floor = ("PASS" if all(checks) else "FAIL") + (f" (gain ≥ {need:.0%})" if need else "")
            rows.append(
                {
                    "weather": label,
                    "lead": h,
                    "persistence": r["persistence"],
                    "climatology": r["climatology"],
                    "issued": r["lightgbm"],
                    "gain": gain,
                    "level_acc": acc.loc[lead, "lightgbm"],
                    "level_acc_persistence": acc.loc[lead, "persistence"],
                    "floor": floor,
                }
            )
            view.add_row(
                label,
                str(h),
                f"{r['persistence']:.1f}",
                f"{r['climatology']:.1f}",
                f"{r['lightgbm']:.1f}",
                f"{gain:+.1%}",
                f"{acc.loc[lead, 'lightgbm']:.3f} / {acc.loc[lead, 'persistence']:.3f}",
                floor,
            )
    return view, rows


SCORE_COLUMNS = (
    "level_acc",
    "within_one",
    "range_hit",
    "primary_acc",
    "aqi_rmse",
    "pm25_rmse",
    "o3_rmse",
    "pod_100",
    "far_100",
    "ts_100",
    "pod_200",
    "far_200",
    "ts_200",
    "skill_pm25_persistence",
    "skill_pm25_climatology",
)


def score_table(title: str, res: BacktestResult) -> Table:
    view = Table(title=title)
    cols = [c for c in SCORE_COLUMNS if c in res.scores]
    for c in ("lead", "model", *cols):
        view.add_column(c, justify="right")
    for r in res.scores.sort_values(["lead", "model"]).itertuples(index=False):
        d = r._asdict()
        view.add_row(
            str(d["lead"]),
            d["model"],
            *(
                ""
                if pd.isna(d[c])
                else f"{d[c]:.3f}"
                if c[:2] in ("le", "wi", "ra", "pr", "po", "fa", "ts", "sk")
                else f"{d[c]:.1f}"
                for c in cols
            ),
        )
    return view


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data")
    parser.add_argument("--only", choices=sorted(CASES))
    parser.add_argument("--plots", type=Path, help="write PNG plots into this folder")
    args = parser.parse_args()
    out: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average_start": os.getloadavg(),
    }
    console.print(f"load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, case in CASES.items():
            if args.only and name != args.only:
                continue
            t0 = time.perf_counter()
            daily, met = load(args.data, case, Path(tmp))
            console.print(f"{name}: imported and read in {time.perf_counter() - t0:.1f} s")
            results = {
                "with": run(daily, met, case["test"], True),
                "without": run(daily, met, case["test"], False),
            }
            out[name] = {
                label: {"metadata": r.metadata, "scores": r.scores.to_dict("records")}
                for label, r in results.items()
            }
            view, rows = rmse_table(name, results)
            console.print(view)
            out[name]["pm25_rmse"] = rows
            for label, res in results.items():
                note = "observed weather as a perfect forecast" if label == "with" else "no weather"
                console.print(
                    score_table(f"{name} {case['test'][0]} → {case['test'][1]} ({note})", res)
                )
            if args.plots:
                from ecobasin.forecast.plots import score_by_lead_png, series_png

                args.plots.mkdir(parents=True, exist_ok=True)
                res = results["with"]
                city = str(res.pairs["city"].iloc[0])
                (args.plots / f"{name}_series_lead1.png").write_bytes(
                    series_png(res.pairs, city=city, lead=1, title=f"{name} day +1")
                )
                (args.plots / f"{name}_scores.png").write_bytes(
                    score_by_lead_png(res.scores, title=name)
                )
    out["load_average_end"] = os.getloadavg()
    console.print(f"load average at end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    target = HERE / "out" / f"forecast_bench_{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    target.parent.mkdir(exist_ok=True)
    target.write_text(json.dumps(out, ensure_ascii=False, indent=1, default=str))
    console.print(f"written {target}")


if __name__ == "__main__":
    main()
