"""The verification service (issue 21, item 4) against a small real DuckDB store whose numbers
are checked by hand (tests/forecast_verification_helpers.py)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecobasin.errors import InputError
from ecobasin.forecast import verification as fv
from ecobasin.services import forecast_verification as verification
from ecobasin.store import Store
from forecast_verification_helpers import (
    AQI_OF,
    CHENGDU,
    CLIMATOLOGY,
    FIRST_TARGET,
    ISSUED_AQI,
    OBSERVED,
    PM25_ERROR,
    build_store,
)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_store(tmp_path_factory.mktemp("verify") / "verify.duckdb")


@pytest.fixture(scope="module")
def result(db: Path) -> verification.Verification:
    with Store(db, read_only=True) as store:
        return verification.verify(store, CHENGDU, None, None, [CHENGDU, "510600"])


def _row(result: verification.Verification, model: str) -> pd.Series:
    table = result.leads
    return table[(table["model"] == model) & (table["lead"] == 1)].iloc[0]


def test_default_period_ends_on_the_last_target_day(result: verification.Verification) -> None:
    assert result.end == FIRST_TARGET + timedelta(days=9)
    assert result.start == result.end - timedelta(days=verification.DEFAULT_PERIOD_DAYS - 1)
    assert result.issues == 10
    assert list(result.leads["model"].unique()) == ["issued", "persistence", "climatology"]


def test_levels_range_and_primary_of_the_issued_forecast(result: verification.Verification) -> None:
    issued = _row(result, "issued")
    assert issued["n"] == 10
    # same level on days 1, 2, 5, 6, 7, 8; the four misses are two levels or more apart
    assert issued["level_acc"] == pytest.approx(0.6)
    assert issued["within_one"] == pytest.approx(0.6)
    assert issued["range_hit"] == pytest.approx(0.6)  # ±20 around the AQI: hit when equal
    # observed AQI > 50 on days 2, 3, 5, 7, 10; the forecast names PM2.5 on 2, 5, 7
    assert issued["primary_acc"] == pytest.approx(3 / 5)
    errors = np.array(ISSUED_AQI) - np.array([AQI_OF[v] for v in OBSERVED[1:]])
    assert issued["aqi_rmse"] == pytest.approx(np.sqrt(np.mean(errors**2)))  # √9250
    assert issued["aqi_bias"] == pytest.approx(-15.0)
    assert issued["pm25_rmse"] == pytest.approx(PM25_ERROR)
    assert issued["pm25_bias"] == pytest.approx(PM25_ERROR)


def test_pod_far_ts_on_the_constructed_case(result: verification.Verification) -> None:
    issued = _row(result, "issued")
    # AQI > 100: observed on days 2, 3, 5, 7, 10; forecast on 2, 4, 5, 7, 9
    # hits 2, 5, 7; misses 3, 10; false alarms 4, 9
    assert issued["pod_100"] == pytest.approx(3 / 5)
    assert issued["far_100"] == pytest.approx(2 / 5)
    assert issued["ts_100"] == pytest.approx(3 / 7)
    # AQI > 200: observed on days 5 and 10, forecast on day 5 only
    assert issued["pod_200"] == pytest.approx(1 / 2)
    assert issued["far_200"] == pytest.approx(0.0)
    assert issued["ts_200"] == pytest.approx(1 / 2)


def test_skill_is_negative_when_worse_than_persistence(result: verification.Verification) -> None:
    observed = np.array(OBSERVED[1:], dtype=float)
    persistence = np.array(OBSERVED[:-1], dtype=float)  # the issue day's observed value
    mse_persistence = np.mean((persistence - observed) ** 2)  # 16427.5
    issued = _row(result, "issued")
    expected = 1 - PM25_ERROR**2 / mse_persistence
    assert expected < 0
    assert issued["skill_pm25_persistence"] == pytest.approx(expected)
    assert _row(result, "persistence")["pm25_rmse"] == pytest.approx(np.sqrt(mse_persistence))
    # climatology: the January 2015 mean, 100 µg/m³, every target day
    mse_climatology = np.mean((CLIMATOLOGY - observed) ** 2)  # 6680
    assert _row(result, "climatology")["pm25_rmse"] == pytest.approx(np.sqrt(mse_climatology))
    assert issued["skill_pm25_climatology"] == pytest.approx(1 - PM25_ERROR**2 / mse_climatology)
    # the baselines have no range: no range hit rate, never a flattering 0 or 1
    assert np.isnan(_row(result, "persistence")["range_hit"])


def test_climatology_reads_only_earlier_years_up_to_the_issue_day() -> None:
    days = pd.date_range("2015-01-01", "2016-01-20", freq="D")
    daily = pd.DataFrame({"city": CHENGDU, "day": days, "PM2.5": 10.0})
    daily.loc[daily["day"].dt.year == 2016, "PM2.5"] = 1000.0  # the target year itself
    keys = pd.DataFrame(
        {
            "city": [CHENGDU],
            "issue_day": [pd.Timestamp("2016-01-09")],
            "lead": [1],
            "target_day": [pd.Timestamp("2016-01-10")],
        }
    )
    frame = fv.baseline_forecasts(daily, keys)
    clim = frame[(frame["model"] == "climatology") & (frame["pollutant"] == "PM2.5")]
    assert clim["value"].tolist() == [10.0]
    persistence = frame[(frame["model"] == "persistence") & (frame["pollutant"] == "PM2.5")]
    assert persistence["value"].tolist() == [1000.0]


def test_hour_of_day_scores_beside_hourly_persistence() -> None:
    issue_end = pd.Timestamp("2016-01-10 16:00", tz="UTC")  # local 24:00 of 2016-01-10
    leads = np.arange(1, 73)
    times = issue_end + pd.to_timedelta(leads, unit="h")
    forecast = pd.DataFrame(
        {
            "city": CHENGDU,
            "lead_hour": leads,
            "time": times,
            "local_hour": (leads - 1) % 24,
            "pollutant": "PM2.5",
            "value": 10.0,
        }
    )
    issue_day_hours = issue_end - pd.to_timedelta(np.arange(0, 24), unit="h")
    observed = pd.concat(
        [
            pd.DataFrame({"city": CHENGDU, "time": times, "pollutant": "PM2.5", "value": 12.0}),
            pd.DataFrame(
                {"city": CHENGDU, "time": issue_day_hours, "pollutant": "PM2.5", "value": 20.0}
            ),
        ]
    )
    scores = fv.hour_of_day_scores(forecast, observed)
    assert scores["local_hour"].tolist() == list(range(24))
    assert (scores["n"] == 3).all()  # each hour of day once per lead day
    assert np.allclose(scores["rmse"], 2.0) and np.allclose(scores["bias"], -2.0)
    assert np.allclose(scores["persistence_rmse"], 8.0)
    assert np.allclose(scores["skill_persistence"], 1 - 4 / 64)


@pytest.mark.parametrize(
    ("city", "start", "end", "named"),
    [
        ("51010", None, None, "'51010'"),
        ("110000", None, None, "'110000'"),
        (CHENGDU, date(2016, 2, 1), date(2016, 1, 1), "2016-02-01"),
        (CHENGDU, date(2010, 1, 1), date(2016, 1, 1), "2010-01-01"),
    ],
)
def test_bad_city_or_period_is_refused_naming_it(
    db: Path, city: str, start: date | None, end: date | None, named: str
) -> None:
    with Store(db, read_only=True) as store, pytest.raises(InputError, match=named):
        verification.verify(store, city, start, end, [CHENGDU])


def test_kept_scores_follow_every_change_of_the_stored_data(tmp_path: Path) -> None:
    """The scores are kept between asks (a digest of the frames read): asked again they are the
    same, and a changed forecast or observation gives the new scores, never the kept ones."""
    db = build_store(tmp_path / "verify.duckdb")
    with Store(db) as store:

        def issued_pm25() -> tuple[float, float]:
            row = _row(verification.verify(store, CHENGDU, None, None, [CHENGDU]), "issued")
            return float(row["pm25_rmse"]), float(row["pm25_bias"])

        assert issued_pm25() == pytest.approx((PM25_ERROR, PM25_ERROR))
        assert issued_pm25() == pytest.approx((PM25_ERROR, PM25_ERROR))
        store.con.execute("UPDATE forecasts SET value = value + 40 WHERE parameter = 'PM2.5'")
        assert issued_pm25() == pytest.approx((PM25_ERROR + 40, PM25_ERROR + 40))
        # every target observed 10 µg/m³ higher: the same forecasts err 10 less
        store.con.execute(
            "UPDATE aqi_daily SET pm25 = pm25 + 10 WHERE day > ?", [FIRST_TARGET - timedelta(1)]
        )
        assert issued_pm25() == pytest.approx((PM25_ERROR + 30, PM25_ERROR + 30))


def test_a_caller_who_changes_the_scores_changes_nothing_kept(db: Path) -> None:
    with Store(db, read_only=True) as store:
        first = verification.verify(store, CHENGDU, None, None, [CHENGDU, "510600"])
        untouched = first.leads.copy()
        first.leads.loc[:, "pm25_rmse"] = -1.0
        again = verification.verify(store, CHENGDU, None, None, [CHENGDU, "510600"])
    pd.testing.assert_frame_equal(again.leads, untouched)
