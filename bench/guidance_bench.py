"""Benchmark: numerical-model guidance, raw and MOS-corrected, beside the baselines (issue 21).

Usage: ``python bench/guidance_bench.py [--data ../shared/data] [--only chengdu|beijing]``

No real model archive is available here, so the guidance is SIMULATED
(:mod:`ecobasin.demo.ctm_sim`: the observed city field times a biased, spatially and temporally
correlated, lead-growing error), one run a day initialised at 00 UTC and published 6 h later.
For every issue day the forecast sees only runs published by its issue time and only
observations up to that day. The backtest (train before the test window, with and without the
observed weather as a perfect forecast) runs twice: guidance as blend members only, and guidance
also as features of the learned model (the MOS and raw guidance of the target day as known on
the issue day; the issued configuration). Printed per lead, side by side: daily PM2.5 RMSE of
persistence, climatology, raw guidance, MOS, the learned model without and with guidance
features, the blend of each run (the issued forecast is ``lightgbm``, the second), and the
floors of issue 21: MOS better than raw guidance at every lead, the issued blend at least as good
as the best single member (within 1 %) and no worse than persistence and climatology; with the
load average. A JSON copy goes to ``bench/out/``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

from ecobasin import catalog
from ecobasin.demo.ctm_sim import simulate_city_guidance
from ecobasin.forecast.backtest import backtest
from ecobasin.forecast.guidance import guidance_forecasts
from ecobasin.forecast.models import GBMConfig
from ecobasin.ingest import csvmap, importer
from ecobasin.jobs.air_quality import refresh_air_quality
from ecobasin.store import Store
from ecobasin.store import forecast as store_forecast

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from forecast_bench import CASES  # noqa: E402 - the forecasts' data sets, windows and mappings

console = Console(width=200)
LEADS = list(range(1, 8))
#: The blend may trail the best single member by this share (the learned weights come from a
#: validation window, not from the test year).
TOLERANCE = 0.01
COLUMNS = (
    "persistence",
    "climatology",
    "guidance",
    "mos",
    "learned",
    "learned_g",
    "blend_members",
    "lightgbm",
)
#: Column headings: the learned model and the blend without and with guidance as features.
HEADERS = {
    "learned": "learned 模型",
    "learned_g": "learned + guidance features",
    "blend_members": "blend, guidance as members only",
    "lightgbm": "blend 融合 (issued)",
}


def compare(
    daily: pd.DataFrame,
    met: pd.DataFrame | None,
    test: tuple[str, str],
    guidance: pd.DataFrame,
    use_met: bool,
) -> pd.DataFrame:
    """PM2.5 RMSE per lead of every member and of two blends: guidance as blend members only,
    and guidance also as features of the learned model (the issued one)."""
    runs = {}
    for features in (False, True):
        runs[features] = backtest(
            daily,
            met,
            test_from=test[0],
            test_to=test[1],
            config=GBMConfig(use_met=use_met, guidance_features=features),
            guidance=guidance,
            learned_member="learned_g" if features else "learned",
        )
    plain = runs[False].pairs
    plain = plain[plain["model"].isin(["learned", "lightgbm"])]
    plain = plain.assign(model=plain["model"].replace({"lightgbm": "blend_members"}))
    both = runs[True].pairs
    return rmse_by_lead(pd.concat([both, plain], ignore_index=True))


def load(
    data: Path, case: dict[str, Any], workdir: Path
) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame]:
    """City daily values, observed daily weather and city hourly PM2.5, imported the way
    ``ecobasin import csv`` does."""
    with Store(workdir / f"{case['mapping']}.duckdb") as store:
        store.sync_catalog(catalog.load_region(case["region"]))
        report = importer.import_csv(
            store, [data / case["file"]], csvmap.load_mapping(case["mapping"])
        )
        refresh_air_quality(store, report.touched_frame())
        daily, met = store_forecast.forecast_inputs(store)
        hourly = store_forecast.city_hourly(store)
        return daily, met, hourly[hourly["pollutant"] == "PM2.5"]


def simulated_guidance(daily: pd.DataFrame, hourly: pd.DataFrame, test: tuple[str, str]) -> Any:
    """Raw guidance and MOS of SIMULATED daily runs over the whole data span: the learned model
    reads guidance as features, so its training years (and the rolling origins of the blend's
    validation window) need the archive as much as the test year does."""
    end = pd.Timestamp(test[1])
    first = pd.Timestamp(daily["day"].min())
    issue_days = list(pd.date_range(first, end, freq="D"))
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
    return guidance_forecasts(runs, daily, issue_days, LEADS)


def rmse_by_lead(pairs: pd.DataFrame) -> pd.DataFrame:
    """PM2.5 RMSE per lead and model, on the cases every model forecast."""
    pairs = pairs.dropna(subset=["fc_PM2.5", "obs_PM2.5"])
    keys = ["city", "issue_day", "lead"]
    pairs = pairs[pairs.groupby(keys)["model"].transform("nunique") == pairs["model"].nunique()]
    se = (pairs["fc_PM2.5"] - pairs["obs_PM2.5"]) ** 2
    return pairs.assign(se=se).groupby(["lead", "model"])["se"].mean().pow(0.5).unstack("model")


def verdicts(r: pd.Series) -> tuple[bool, bool, bool]:
    """MOS better than raw; the issued blend no worse than the best single member (the
    baselines, raw guidance, MOS, the learned model with and without guidance features); and
    than the best of persistence and climatology."""
    singles = [
        c
        for c in ("persistence", "climatology", "guidance", "mos", "learned", "learned_g")
        if c in r
    ]
    return (
        bool(r["mos"] < r["guidance"]),
        bool(r["lightgbm"] <= min(r[c] for c in singles) * (1 + TOLERANCE)),
        bool(r["lightgbm"] <= min(r["persistence"], r["climatology"])),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data")
    parser.add_argument("--only", choices=sorted(CASES))
    args = parser.parse_args()
    out: dict[str, Any] = {"when": datetime.now(UTC).isoformat(timespec="seconds")}
    out["load_average_start"] = os.getloadavg()
    console.print(f"load average at start: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, case in CASES.items():
            if args.only and name != args.only:
                continue
            t0 = time.perf_counter()
            daily, met, hourly = load(args.data, case, Path(tmp))
            guidance = simulated_guidance(daily, hourly, case["test"])
            out[name] = {"simulated_guidance": True}
            for label, use_met in (("with weather", True), ("without weather", False)):
                rmse = compare(daily, met, case["test"], guidance, use_met)
                title = f"{name} ({label}): daily PM2.5 RMSE [µg/m³] — guidance SIMULATED 模拟"
                view = Table(title=title)
                for c in ("lead", *COLUMNS, "mos<raw", "blend≤best member", "blend≤baselines"):
                    view.add_column(HEADERS.get(c, c), justify="right")
                rows = []
                for lead, r in rmse.iterrows():
                    checks = verdicts(r)
                    view.add_row(
                        str(lead),
                        *(f"{r[c]:.1f}" for c in COLUMNS),
                        *("PASS" if ok else "FAIL" for ok in checks),
                    )
                    rows.append({"lead": int(str(lead)), **{c: float(r[c]) for c in COLUMNS},
                                 "checks": checks})  # fmt: skip
                console.print(view)
                out[name][label] = rows
            console.print(f"{name}: {time.perf_counter() - t0:.0f} s, load {os.getloadavg()}")
    out["load_average_end"] = os.getloadavg()
    target = HERE / "out" / f"guidance_bench_{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    target.parent.mkdir(exist_ok=True)
    target.write_text(json.dumps(out, indent=1, default=str))
    console.print(f"written {target}")


if __name__ == "__main__":
    main()
