"""Fixtures of the web tests: a real DuckDB file with a small, hand-made data set, and a
TestClient over the app serving it (lifespan run, so the app opens the file itself)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from ecobasin.store import Store
from ecobasin.web import create_app
from store_files import built_store_file, new_synced_store_file

#: Sites of the test store: three national air stations (two in Chengdu, one in Deyang), a
#: micro-station in Chengdu without coordinates or English name, a water section in Leshan.
SITES = pd.DataFrame(
    [
        ("1431A", "air_station", "national", 510100, "金泉两河", "Jinquan", 104.0325, 30.7004),
        ("1432A", "air_station", "national", 510100, "十里店", "Shilidian", 104.1179, 30.6868),
        ("2286A", "air_station", "national", 510600, "西小区", "Xixiaoqu", 104.3835, 31.1298),
        ("CD-M01", "micro_station", "city", 510100, "青羊微站", None, None, None),
        ("LS-W01", "water_section", "national", 511100, "悦来渡口", "Yuelai Ferry", 103.78, 29.56),
    ],
    columns=["site_id", "kind", "level", "city_code", "name_zh", "name_en", "lon", "lat"],
)
SITES["attributes"] = pd.Series(
    [None, None, None, None, {"river_zh": "岷江", "river_en": "Min River"}], dtype=object
)

AIR_SITES = ("1431A", "1432A", "2286A")
#: 24 hour-ending UTC instants of the CST day 2024-01-01 (labels 01:00 … 24:00).
HOURS = pd.date_range("2023-12-31T17:00Z", periods=24, freq="h")
N_HOURLY = len(AIR_SITES) * 2 * len(HOURS)  # PM2.5 and CO at each air station
N_TOTAL = N_HOURLY + 1  # plus one daily PM2.5 value


def hourly_value(site_index: int, parameter: str, hour: int) -> float:
    """The value written for an air station, parameter and hour index (0 … 23)."""
    if parameter == "CO":
        return round(0.5 + site_index * 0.1 + hour * 0.01, 2)
    return float(30 + 10 * site_index + hour)


def observation_frame() -> pd.DataFrame:
    rows = []
    for i, site in enumerate(AIR_SITES):
        for parameter in ("PM2.5", "CO"):
            for h, time in enumerate(HOURS):
                flag = "M" if (site, parameter, h) == ("1432A", "PM2.5", 5) else None
                value = None if flag else hourly_value(i, parameter, h)
                rows.append((site, parameter, "1h", time, value, flag))
    rows.append(("1431A", "PM2.5", "1d", pd.Timestamp("2024-01-01T16:00Z"), 41.5, None))
    frame = pd.DataFrame(rows, columns=["site_id", "parameter", "period", "time", "value", "flag"])
    frame["time"] = frame["time"].astype("datetime64[us, UTC]")
    frame["value"] = frame["value"].astype(float)
    return frame


def build_store(path: Path) -> Path:
    """Write the test data set to a new DuckDB file at ``path`` (a copy of the one made once
    per process)."""
    return built_store_file(path, "web data set", _data_set_store)


def _data_set_store(path: Path) -> None:
    with Store(new_synced_store_file(path)) as store:
        store.upsert_sites(SITES, "tests")
        store.write_observations(observation_frame(), store.begin_batch("test", "tests"))


@pytest.fixture(scope="module")
def db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_store(tmp_path_factory.mktemp("web") / "ecobasin.duckdb")


@pytest.fixture(scope="module")
def client(db_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(db_path)) as test_client:
        yield test_client
