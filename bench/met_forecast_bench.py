"""Benchmark: Chengdu 2015 with meteorological forecasts *as issued* (issue 6, "meteorology as it
would have been known"), beside no weather and the observed weather as a perfect forecast.

Usage: ``python bench/met_forecast_bench.py [--data ../shared/data] [--seed 0]``

No archive of issued NWP forecasts for Chengdu 2013–2015 is available, so the forecasts are
*simulated*: each day D at 12:00 UTC an issue for days D … D + 7 (the CST valid days) is made
from the observed daily weather plus an error that grows with the lead k (σ × (1 + 0.5 k):
temperature 0.8 °C, dew point 1.0 °C, humidity 4 %, pressure 0.7 hPa, wind direction 20°,
precipitation × exp(N(0, 0.3))). They are written as the documented tidy CSV, read by
``ecobasin.ingest.met_forecast`` into ``met_forecasts`` and read back from the store exactly as
``ecobasin forecast backtest --met forecast`` does. The numbers say what the model does with
imperfect weather known at the issue time; they are not the skill of a real NWP product.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ecobasin import catalog
from ecobasin.forecast.backtest import backtest
from ecobasin.forecast.models import GBMConfig
from ecobasin.ingest import csvmap, importer
from ecobasin.ingest.met_forecast import parse_csv
from ecobasin.jobs.air_quality import refresh_air_quality
from ecobasin.store import Store
from ecobasin.store import forecast as sf
from ecobasin.store.met_forecast import met_forecast_rows, write_met_forecasts

CHENGDU = "chengdu_hourly_pm25_weather_2013_2015.csv.gz"
#: Error σ at lead 0 per variable (file name, registry id, unit, σ); × (1 + 0.5 k) at lead k.
ERRORS = (
    ("t2m", "temperature", "°C", 0.8),
    ("d2m", "dew_point", "°C", 1.0),
    ("rh", "humidity", "%", 4.0),
    ("psfc", "pressure", "hPa", 0.7),
)


def simulated_issues(met: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Tidy CSV rows (city, issued_at, day, variable, value, unit) of daily issues."""
    rng = np.random.default_rng(seed)
    wd = np.rad2deg(np.arctan2(met["wind_u"], met["wind_v"])) % 360
    parts = []
    for k in range(8):
        scale = 1 + 0.5 * k
        issued = pd.to_datetime(met["day"]) - pd.Timedelta(days=k) + pd.Timedelta(hours=12)
        base = {"city": met["city"], "issued_at": issued.dt.strftime("%Y-%m-%dT%H:%MZ")}
        base["day"] = pd.to_datetime(met["day"]).dt.strftime("%Y-%m-%d")
        for name, parameter, unit, sigma in ERRORS:
            value = met[parameter] + rng.normal(0, sigma * scale, len(met))
            if parameter == "humidity":  # a model's relative humidity stays within 0 … 100 %
                value = value.clip(0, 100)
            parts.append(pd.DataFrame({**base, "variable": name, "value": value, "unit": unit}))
        rain = met["precipitation"] * np.exp(rng.normal(0, 0.3 * scale, len(met)))
        parts.append(pd.DataFrame({**base, "variable": "tp", "value": rain, "unit": "mm"}))
        wind = (wd + rng.normal(0, 20 * scale, len(met))) % 360
        parts.append(pd.DataFrame({**base, "variable": "wd", "value": wind, "unit": "°"}))
    rows = pd.concat(parts, ignore_index=True)
    return rows[rows["value"].notna()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).parents[2] / "shared/data")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "cd.duckdb") as store:
        store.sync_catalog(catalog.load_region("chengdu_plain"))
        mapping = csvmap.load_mapping("uci_chengdu_pm25")
        report = importer.import_csv(store, [args.data / CHENGDU], mapping)
        refresh_air_quality(store, report.touched_frame())
        daily, met = sf.forecast_inputs(store)
        assert met is not None
        path = Path(tmp) / "met_forecasts.csv"
        simulated_issues(met, args.seed).to_csv(path, index=False)
        parsed = parse_csv(path)
        counts = write_met_forecasts(store, parsed.rows, path.name)
        print(f"met forecasts stored: {counts.inserted:,}; rejected: {len(parsed.rejects):,}")
        issued = met_forecast_rows(store)
    rmse = {}
    for mode, m in (("none", None), ("observed", met), ("forecast", issued)):
        start = time.perf_counter()
        cfg = GBMConfig(use_met=m is not None)
        result = backtest(daily, m, test_from="2015-01-01", test_to="2015-12-31", config=cfg)
        assert result.metadata["met_mode"] == mode
        rmse[mode] = result.scores.set_index(["model", "lead"])["pm25_rmse"]
        print(f"{mode}: {time.perf_counter() - start:.0f} s")
    table = pd.DataFrame(
        {
            "persistence": rmse["none"].xs("persistence"),
            "none": rmse["none"].xs("lightgbm"),
            "observed (perfect)": rmse["observed"].xs("lightgbm"),
            "forecast as issued": rmse["forecast"].xs("lightgbm"),
        }
    )
    table["gain as issued"] = 1 - table["forecast as issued"] / table["persistence"]
    print("Chengdu 2015 daily PM2.5 RMSE [µg/m³], LightGBM by meteorology:")
    print(table.round(3).to_string())


if __name__ == "__main__":
    main()
