"""A small air store for the lake tests: four stations of two cities with three CST months
(January–March 2025) of seeded hourly concentrations, imported and indexed by the real jobs.

Values are drawn from a seeded generator (gamma around typical levels [µg/m³], CO [mg/m³]),
3 % missing and 1 % flagged invalid (``F``), so the daily validity rules and the flag filter
have something to do; station D of Deyang has no O3 analyser.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ecobasin.ingest import importer
from ecobasin.jobs.air_quality import refresh_pending_air_quality
from ecobasin.store import Store
from store_files import built_store_file, new_synced_store_file

CHENGDU, DEYANG = 510100, 510600
SITES = pd.DataFrame(
    [
        ("A", "air_station", "national", CHENGDU, "甲站", "Station A", 104.0, 30.6),
        ("B", "air_station", "national", CHENGDU, "乙站", "Station B", 104.1, 30.7),
        ("C", "air_station", "national", DEYANG, "丙站", "Station C", 104.4, 31.1),
        ("D", "air_station", "national", DEYANG, "丁站", "Station D", 104.5, 31.2),
        ("M", "micro_station", "city", CHENGDU, "微站", "Micro M", 104.0, 30.6),
    ],
    columns=["site_id", "kind", "level", "city_code", "name_zh", "name_en", "lon", "lat"],
)
SCALE = {"SO2": 4.0, "NO2": 12.0, "CO": 0.35, "O3": 28.0, "PM10": 30.0, "PM2.5": 22.0}
#: The first and last hour-ending instants: 2025-01-01 01:00 … 2025-04-01 00:00 CST.
FIRST_HOUR = pd.Timestamp("2024-12-31T17:00Z")
HOURS = 90 * 24


def candidates(seed: int = 20) -> pd.DataFrame:
    """Candidate rows, as a reader returns them, for the importer."""
    rng = np.random.default_rng(seed)
    times = pd.date_range(FIRST_HOUR, periods=HOURS, freq="h")
    frames = []
    for site in ("A", "B", "C", "D", "M"):
        for parameter, scale in SCALE.items():
            if (site == "D" and parameter == "O3") or (site == "M" and parameter != "PM2.5"):
                continue
            values = np.round(rng.gamma(2.5, scale, HOURS), 1 if parameter == "CO" else 0)
            values[rng.random(HOURS) < 0.03] = np.nan
            flags = np.where(rng.random(HOURS) < 0.01, "F", None)
            frames.append(
                pd.DataFrame(
                    {
                        "site_id": site,
                        "parameter": parameter,
                        "period": "1h",
                        "time": times,
                        "value": values,
                        "flag": flags,
                    }
                ).dropna(subset=["value"])
            )
    frame = pd.concat(frames, ignore_index=True)
    return frame.assign(raw_value=None, unit=None, line=frame.index + 1, field="test")


def build_store(path: Path) -> Path:
    """Write the data set to a new DuckDB file at ``path`` with its hourly and daily AQI (a
    copy of the one made once per process)."""
    return built_store_file(path, "lake data set", _data_set_store)


def _data_set_store(path: Path) -> None:
    with Store(new_synced_store_file(path)) as store:
        store.upsert_sites(SITES, source="test")
        report = importer.import_frames(store, [(candidates(), {"source": "lake test"})], "test")
        assert report.records > 0 and not report.failed_files
        refresh_pending_air_quality(store)
