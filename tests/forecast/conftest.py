"""Small synthetic city daily data for the forecast tests (seeded, trains in seconds)."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from filelock import FileLock

from ecobasin.forecast.models import GBMConfig, train_bundle
from run_folder import run_folder


def synthetic_region(
    n_days: int = 900, cities: tuple[str, ...] = ("510100", "510600")
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """City daily PM2.5/PM10/O3_8h driven by a wind/humidity signal the meteorology carries.

    PM2.5 follows an AR(1) around a seasonal mean plus the effect of the day's wind (ventilation)
    and humidity: a model that knows the target day's weather can beat persistence.
    """
    rng = np.random.default_rng(42)
    days = pd.date_range("2013-01-01", periods=n_days, freq="D")
    doy = days.day_of_year.to_numpy()
    daily_parts, met_parts = [], []
    for k, city in enumerate(cities):
        wind = rng.gamma(2.0, 1.0, n_days)
        humid = np.clip(60 + 15 * rng.standard_normal(n_days), 10, 100)
        season = 60 + 35 * np.cos(2 * np.pi * (doy - 15) / 365.25) + 5 * k
        pm = np.empty(n_days)
        state = 0.0
        for i in range(n_days):
            state = 0.6 * state + 8 * rng.standard_normal()
            pm[i] = max(3.0, season[i] + state - 12 * (wind[i] - 2) + 0.4 * (humid[i] - 60))
        o3 = np.clip(
            90 - 40 * np.cos(2 * np.pi * (doy - 15) / 365.25) + 10 * rng.standard_normal(n_days),
            5,
            None,
        )
        daily_parts.append(
            pd.DataFrame(
                {
                    "city": city,
                    "day": days,
                    "PM2.5": pm.round(),
                    "PM10": (1.6 * pm).round(),
                    "O3_8h": o3.round(),
                }
            )
        )
        met_parts.append(
            pd.DataFrame({"city": city, "day": days, "wind_speed": wind, "humidity": humid})
        )
    return pd.concat(daily_parts, ignore_index=True), pd.concat(met_parts, ignore_index=True)


@pytest.fixture(scope="session")
def region_data() -> tuple[pd.DataFrame, pd.DataFrame]:
    return synthetic_region()


#: The small model of the synthetic region's tests: two leads, few shallow trees.
SMALL_CONFIG = GBMConfig(leads=(1, 2), rounds=60, num_leaves=7)


@pytest.fixture(scope="session")
def small_region_bundle(
    region_data: tuple[pd.DataFrame, pd.DataFrame], tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, Any], dict[str, Any]]:
    """:func:`train_bundle` of :data:`SMALL_CONFIG` on the synthetic region with its weather,
    trained on targets up to 2014-12-31: the same fit several tests read (models, metadata),
    made once per run: the first worker to need it trains it under a file lock and pickles it,
    the others unpickle it (boosters, calibration, metadata and forecasts equal to a fresh fit's,
    ~3 CPU-s saved per worker). A test that changes a model changes a deep copy of it."""
    folder = run_folder(tmp_path_factory, "small-region-bundle")
    stored = folder / "bundle.pickle"
    with FileLock(folder / "build.lock"):
        if not stored.exists():
            daily, met = region_data
            fitted = train_bundle(daily, met, train_end="2014-12-31", config=SMALL_CONFIG)
            partial = folder / "partial.pickle"
            partial.write_bytes(pickle.dumps(fitted, protocol=pickle.HIGHEST_PROTOCOL))
            partial.rename(stored)  # complete or absent
        bundle: tuple[dict[str, Any], dict[str, Any]] = pickle.loads(stored.read_bytes())
    return bundle


def _import_chengdu(shared_data: Path, db: Path) -> None:
    """Real Chengdu 2013–2015 (UCI) imported the way ``ecobasin import csv`` does into the
    DuckDB file ``db``: the air-quality tables refreshed from the import's "AQI pending" marks,
    which are then cleared (a command that writes to a copy finds none left to compute)."""
    from ecobasin import catalog
    from ecobasin.ingest import csvmap, importer
    from ecobasin.jobs.air_quality import refresh_pending_air_quality
    from ecobasin.store import Store

    with Store(db) as store:
        store.sync_catalog(catalog.load_region("chengdu_plain"))
        importer.import_csv(
            store,
            [shared_data / "chengdu_hourly_pm25_weather_2013_2015.csv.gz"],
            csvmap.load_mapping("uci_chengdu_pm25"),
        )
        refresh_pending_air_quality(store)


@pytest.fixture(scope="session")
def chengdu_db(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real Chengdu 2013–2015 DuckDB file of the run (:func:`_import_chengdu`), imported
    once for every xdist worker (~20 CPU-s): the first to need it builds it under a file lock in
    the folder the workers' temporary folders share, the others wait and read it. Read-only on
    disk: the fixtures read it (``Store(..., read_only=True)``), none writes."""
    folder = run_folder(tmp_path_factory, "chengdu-2013-2015")
    db = folder / "chengdu.duckdb"
    with FileLock(folder / "build.lock"):
        if not db.exists():
            partial = folder / "partial.duckdb"
            partial.unlink(missing_ok=True)
            _import_chengdu(shared_data, partial)
            partial.chmod(0o444)
            partial.rename(db)  # complete or absent: a worker that fails leaves no half file
    return db


@pytest.fixture(scope="session")
def chengdu_inputs(chengdu_db: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Real Chengdu 2013–2015 (UCI) city daily values and meteorology, imported the way
    ``ecobasin import csv`` does into a real DuckDB file and read back as forecast inputs."""
    from ecobasin.store import Store
    from ecobasin.store import forecast as store_forecast

    with Store(chengdu_db, read_only=True) as store:
        return store_forecast.forecast_inputs(store)


@pytest.fixture(scope="session")
def beijing_daily_pm25(shared_data: Path) -> pd.DataFrame:
    """Real Beijing PM2.5 (UCI multi-site, 12 stations, 2013-03 → 2017-02) as one city's daily
    mean: the mean of the stations' daily means over days with ≥ 20 valid hours (HJ 663 §4.2).
    Read with pandas (a model test on real data, no store involved)."""
    raw = pd.read_csv(
        shared_data / "beijing_multisite_2013_2017.csv.gz",
        usecols=["year", "month", "day", "PM2.5", "station"],
    )
    raw["day"] = pd.to_datetime(raw[["year", "month", "day"]])
    stations = raw.groupby(["station", "day"])["PM2.5"].agg(["mean", "count"])
    city = stations[stations["count"] >= 20]["mean"].groupby(level="day").mean()
    return pd.DataFrame({"city": "110000", "day": city.index, "PM2.5": city.round().to_numpy()})


@pytest.fixture(scope="session")
def chengdu_hourly(chengdu_db: Path) -> pd.DataFrame:
    """Real Chengdu 2013–2015 (UCI) city hourly PM2.5, imported as ``ecobasin import csv`` does
    into a real DuckDB file and read back by :func:`ecobasin.store.forecast.city_hourly`."""
    from ecobasin.store import Store
    from ecobasin.store import forecast as store_forecast

    with Store(chengdu_db, read_only=True) as store:
        return store_forecast.city_hourly(store)
