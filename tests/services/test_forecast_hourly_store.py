"""Stored hourly forecasts (issue 21, item 2) on a real DuckDB file: the stored path equals a
fresh fit of the same inputs, and writing an issue again replaces its rows (idempotent per
city, pollutant, issue time and valid hour)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecobasin.errors import NotFound
from ecobasin.services import forecast as forecast_service
from ecobasin.services import forecast_hourly as hourly_service
from ecobasin.store import Store
from forecast_verification_helpers import build_store, insert_city_hours

pytestmark = pytest.mark.slow  # fits the hourly model (seconds of CPU)
ISSUE_DAY = date(2016, 3, 20)
KEY = ["city", "pollutant", "issued_at", "valid_time"]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = build_store(tmp_path_factory.mktemp("hourly") / "hourly.duckdb")
    with Store(path) as store:
        insert_city_hours(store)
    return path


def _table(store: Store) -> pd.DataFrame:
    return store.con.execute("SELECT * EXCLUDE (created_at) FROM forecast_hourly ORDER BY ALL").df()


def test_stored_path_equals_a_fresh_fit(db: Path) -> None:
    with Store(db) as store:
        written = hourly_service.issue_hourly(store, ISSUE_DAY)
        answer = hourly_service.stored(store, ISSUE_DAY, None)
        fresh_values, fresh_aqi = forecast_service.hourly_forecast(store, ISSUE_DAY, None)
    assert answer is not None and answer.source == "stored"
    # 9 value series (6 pollutants, O3_8h, PM2.5_24h, PM10_24h) and 2 AQI generations
    assert written == 72 * (9 + 2)
    keys = ["city", "pollutant", "lead_hour"]
    stored = answer.values.sort_values(keys).reset_index(drop=True)
    fresh = fresh_values.sort_values(keys).reset_index(drop=True)
    assert len(stored) == len(fresh) == 72 * 9
    for column in ("city", "pollutant", "lead_hour", "local_hour"):
        assert stored[column].tolist() == fresh[column].astype(type(stored[column][0])).tolist()
    assert (pd.to_datetime(stored["time"]) == pd.to_datetime(fresh["time"])).all()
    for column in ("value", "lower", "upper"):  # DOUBLE round trip: the same floats
        np.testing.assert_array_equal(stored[column].to_numpy(float), fresh[column].to_numpy(float))
    aqi_keys = ["city", "rule_set", "lead_hour"]
    stored_aqi = answer.aqi.sort_values(aqi_keys).reset_index(drop=True)
    fresh_aqi = fresh_aqi.sort_values(aqi_keys).reset_index(drop=True)
    for column in ("aqi", "aqi_lower", "aqi_upper", "level"):
        np.testing.assert_array_equal(
            stored_aqi[column].to_numpy(float), fresh_aqi[column].astype(float).to_numpy()
        )
    assert stored_aqi["primary"].fillna("").tolist() == fresh_aqi["primary"].fillna("").tolist()


def test_writing_an_issue_again_replaces_its_rows(db: Path) -> None:
    with Store(db) as store:
        hourly_service.issue_hourly(store, ISSUE_DAY)
        before = _table(store)
        hourly_service.issue_hourly(store, ISSUE_DAY)
        after = _table(store)
        duplicates = store.con.execute(
            f"SELECT count(*) FROM (SELECT {', '.join(KEY)} FROM forecast_hourly "
            "GROUP BY ALL HAVING count(*) > 1)"
        ).fetchone()
    assert len(before) == len(after) > 0
    pd.testing.assert_frame_equal(before, after)
    assert duplicates == (0,)
    # the issue time is local 24:00 of the issue day, whatever the clock said
    assert set(pd.to_datetime(after["issued_at"], utc=True)) == {
        hourly_service.issue_time(ISSUE_DAY)
    }


def test_too_little_history_is_not_stored_and_says_why(db: Path) -> None:
    with Store(db) as store, pytest.raises(NotFound, match="days of city hours"):
        hourly_service.issue_hourly(store, date(2016, 1, 20))
    with Store(db, read_only=True) as store:
        assert hourly_service.stored(store, date(2016, 1, 20), None) is None
