"""Draw the source-analysis plots of docs/sources.md from the real Beijing multi-site set.

One urban station (Dongsi 东四, 2016) with its own 16-point wind, written into a fresh DuckDB file
as the station's ``wind_speed``/``wind_direction`` observations, then through
:mod:`ecobasin.services.sources` exactly as the page and the API draw them.

    .venv/bin/python tools/beijing_source_plots.py ../shared/data/beijing_multisite_2013_2017.csv.gz docs/img
"""

from __future__ import annotations

import sys
import tempfile
from datetime import date
from pathlib import Path

import pandas as pd

from ecobasin import catalog
from ecobasin.ingest.csvmap import COMPASS_16
from ecobasin.services import sources
from ecobasin.store import Store

STATION, YEAR = "Dongsi", 2016


def _tidy(path: Path) -> pd.DataFrame:
    raw = pd.read_csv(path, na_values=["NA"])
    raw = raw[(raw["station"] == STATION) & (raw["year"] == YEAR)]
    local = pd.to_datetime(raw[["year", "month", "day", "hour"]])
    local = local.where(raw["hour"] != 0, local + pd.Timedelta(days=1))  # hour 0 closes a day
    time = local.dt.tz_localize("Asia/Shanghai").dt.tz_convert("UTC")
    columns = {"PM2.5": "PM2.5", "WSPM": "wind_speed", "wd": "wind_direction"}
    raw = raw.assign(wd=raw["wd"].str.upper().map(COMPASS_16), time=time.to_numpy())
    frames = [
        pd.DataFrame({"site_id": "BJ-Dongsi", "parameter": parameter, "period": "1h",
                      "time": raw["time"], "value": raw[column], "flag": None})
        for column, parameter in columns.items()
    ]  # fmt: skip
    return pd.concat(frames).dropna(subset=["value"])


def main(source: Path, out: Path) -> None:
    with tempfile.TemporaryDirectory() as folder, Store(Path(folder) / "bj.duckdb") as store:
        store.sync_catalog(catalog.load_region())
        site = {"site_id": "BJ-Dongsi", "kind": "air_station", "level": "national",
                "city_code": 510100, "name_zh": "东四", "name_en": "Dongsi", "lon": 116.417,
                "lat": 39.929, "attributes": None}  # fmt: skip
        store.upsert_sites(pd.DataFrame([site]), source="UCI Beijing multi-site")
        store.write_observations(_tidy(source), store.begin_batch("csv", source.name))
        data = sources.station_data(
            store, "BJ-Dongsi", "PM2.5", date(YEAR, 1, 1), date(YEAR, 12, 31)
        )
        for method in sources.METHODS:
            png = sources.plot_png(data, method, percentile=90.0, calm_ws=1.0, min_bin=3)
            (out / f"sources_dongsi_{method}.png").write_bytes(png)
            print(out / f"sources_dongsi_{method}.png", len(png))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
