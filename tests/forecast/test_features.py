"""Features: calendar table, daily meteorology, and the no-leakage guarantee."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ecobasin.forecast.features import (
    calendar_features,
    complete_grid,
    daily_meteorology,
    holidays,
    make_features,
    rolling_by_city,
)


def test_calendar_spring_festival_holidays_and_weekends() -> None:
    days = pd.DatetimeIndex(["2015-02-19", "2015-02-18", "2015-02-25", "2015-03-28", "2015-06-01"])
    cal = calendar_features(days)
    # 2015 Spring Festival (正月初一) was 19 February; the holiday block ran 18–24 February
    assert cal["spring_festival"].tolist() == [0, -1, 6, 31, 31]  # clipped beyond ±30
    assert cal["holiday"].tolist() == [1, 1, 0, 0, 0]
    assert cal["weekend"].tolist() == [0, 0, 0, 1, 0]  # 2015-03-28 was a Saturday
    assert cal["dow"].tolist() == [3, 2, 2, 5, 0]


def test_holiday_table_names_its_source() -> None:
    table = holidays()
    assert (table["end"] >= table["start"]).all()
    assert table["source"].str.contains("国务院").all()


def test_daily_meteorology_sums_rain_averages_the_rest_and_uses_hour_ending_days() -> None:
    # hour-ending instants: 16:00Z = 24:00 CST closes the local day; 17:00Z opens the next
    times = pd.to_datetime(
        ["2015-01-01T15:00Z", "2015-01-01T16:00Z", "2015-01-01T17:00Z"], utc=True
    )
    rows = []
    for t, rain, temp, wd in zip(
        times, [1.0, 2.0, 4.0], [5.0, 7.0, 9.0], [90.0, 90.0, 0.0], strict=True
    ):
        rows += [
            (510100, "precipitation", t, rain),
            (510100, "temperature", t, temp),
            (510100, "wind_direction", t, wd),
        ]
    met = pd.DataFrame(rows, columns=["city_code", "parameter", "time", "value"])
    out = daily_meteorology(met).set_index("day")
    first, second = pd.Timestamp("2015-01-01"), pd.Timestamp("2015-01-02")
    assert out.loc[first, "precipitation"] == 3.0
    assert out.loc[first, "temperature"] == 6.0
    assert out.loc[second, "precipitation"] == 4.0
    assert out.loc[first, "wind_u"] == pytest.approx(1.0)  # from the east: sin 90° = 1
    assert out.loc[second, "wind_v"] == pytest.approx(1.0)  # from the north


@pytest.mark.parametrize("lead", [1, 3])
def test_features_of_day_d_never_see_past_d(
    region_data: tuple[pd.DataFrame, pd.DataFrame], lead: int
) -> None:
    """Features of issue day D built from all data equal those built from data cut after D
    (pollutants) and after D + lead (meteorology): nothing later can leak in."""
    daily, met = region_data
    pollutants = ["PM2.5", "PM10", "O3_8h"]
    full_X, _, full_keys = make_features(complete_grid(daily, met), "PM2.5", lead, pollutants)
    for d in pd.to_datetime(["2013-06-30", "2014-01-15", "2015-02-01"]):
        cut_daily = daily[daily["day"] <= d]
        cut_met = met[met["day"] <= d + pd.Timedelta(days=lead)]
        X, _, keys = make_features(complete_grid(cut_daily, cut_met), "PM2.5", lead, pollutants)
        row_full = full_X[(full_keys["issue_day"] == d).to_numpy()].reset_index(drop=True)
        row_cut = X[(keys["issue_day"] == d).to_numpy()].reset_index(drop=True)
        assert len(row_full) == 2 and len(row_cut) == 2
        pd.testing.assert_frame_equal(row_full, row_cut)


def test_changing_the_future_does_not_change_todays_features(
    region_data: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    daily, met = region_data
    d = pd.Timestamp("2014-03-01")
    future = daily["day"] > d
    poisoned = daily.copy()
    poisoned.loc[future, ["PM2.5", "PM10", "O3_8h"]] = 9999.0
    args = ("PM2.5", 2, ["PM2.5", "PM10", "O3_8h"])
    X1, _, k1 = make_features(complete_grid(daily, met), *args)
    X2, y2, _ = make_features(complete_grid(poisoned, met), *args)
    at = (k1["issue_day"] == d).to_numpy()
    np.testing.assert_array_equal(X1[at].to_numpy(), X2[at].to_numpy())
    assert (y2[at] == 9999.0).all()  # the target itself is the future, and it did change


def test_holiday_feature_follows_the_packaged_calendar_of_2026() -> None:
    # issue 18: the feature reads the same calendar as case deadlines (chinese-calendar); the
    # 2026 Spring Festival block ran 15–23 February (Saturday 14 February was a working day)
    days = pd.DatetimeIndex(["2026-02-14", "2026-02-15", "2026-02-17", "2026-02-23", "2026-02-24"])
    assert calendar_features(days)["holiday"].tolist() == [0, 1, 1, 1, 0]


def test_holiday_blocks_include_the_weekends_joined_to_them() -> None:
    # 2014 Dragon Boat: Monday 2 June with the weekend before it (31 May, 1 June)
    days = pd.DatetimeIndex(["2014-05-30", "2014-05-31", "2014-06-01", "2014-06-02", "2014-06-07"])
    assert calendar_features(days)["holiday"].tolist() == [0, 1, 1, 1, 0]


def _gappy_grid(interleaved: bool) -> pd.DataFrame:
    """Three cities, 60 days of PM2.5 with scattered gaps and one long one."""
    rng = np.random.default_rng(7)
    index = pd.MultiIndex.from_product(
        [["510100", "510600", "510700"], pd.date_range("2025-01-01", periods=60)],
        names=["city", "day"],
    )
    values = rng.lognormal(3.5, 0.6, len(index))
    values[rng.random(len(index)) < 0.25] = np.nan
    values[70:85] = np.nan
    grid = pd.DataFrame({"PM2.5": values}, index=index)
    return grid.swaplevel().sort_index().swaplevel() if interleaved else grid


@pytest.mark.parametrize("interleaved", [False, True])
@pytest.mark.parametrize(
    ("window", "min_periods", "how"), [(7, 4, "mean"), (31, 10, "mean"), (7, 4, "std")]
)
def test_the_grouped_rolling_is_each_citys_own_rolling_bit_for_bit(
    interleaved: bool, window: int, min_periods: int, how: str
) -> None:
    grid = _gappy_grid(interleaved)
    expected = grid.groupby(level="city", sort=False)["PM2.5"].transform(
        lambda s: getattr(s.rolling(window, min_periods=min_periods), how)()
    )
    got = rolling_by_city(grid, "PM2.5", window, min_periods, how)
    assert got.index.equals(grid.index)
    assert np.array_equal(np.isnan(got.to_numpy()), np.isnan(expected.to_numpy()))
    assert (got.dropna().to_numpy() == expected.dropna().to_numpy()).all()
