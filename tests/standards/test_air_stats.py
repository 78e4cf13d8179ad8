"""Validity, averages and assessment (GB 3095 Table 4, HJ 663 §5-§6, Appendix A)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from ecobasin.forecast.warning import warning_level
from ecobasin.standards import air


def _hourly(values: list[float | None], day: str = "2025-06-01", site: str = "S1") -> pd.DataFrame:
    # hour-ending 01:00..24:00 CST of `day`
    t = pd.date_range(f"{day} 01:00", periods=len(values), freq="h", tz="Asia/Shanghai").tz_convert(
        "UTC"
    )
    return pd.DataFrame(
        {"site_id": site, "time": t, "O3": [np.nan if v is None else v for v in values]}
    )


def test_gb3095_table4_thresholds() -> None:
    assert air.is_valid("daily_mean", 20, pollutant="PM2.5") and not air.is_valid(
        "daily_mean", 19, pollutant="PM2.5"
    )
    assert not air.is_valid("hourly_mean", 44, pollutant="NO2")
    assert air.is_valid("monthly_mean", 25, pollutant="PM10", month=2)
    assert not air.is_valid("monthly_mean", 26, pollutant="PM10", month=3)  # other months need 27
    assert air.is_valid("annual_mean", 324, pollutant="PM2.5") and not air.is_valid(
        "annual_mean", 323
    )


def test_hj663_s6_mda8_window_hours_12_to_19() -> None:
    vals = [
        20,
        18,
        15,
        12,
        10,
        10,
        12,
        20,
        40,
        60,
        80,
        100,
        120,
        140,
        150,
        160,
        150,
        130,
        110,
        90,
        70,
        50,
        40,
        30,
    ]
    r = air.mda8_day(vals)
    # (100+120+140+150+160+150+130+110)/8 = 1060/8 = 132.5 -> half-even 132
    assert r["mda8_unrounded"] == 132.5 and r["mda8"] == 132 and r["argmax_window_end_hour"] == 19
    # same day through the frame kernel (hour-ending labels, local day 01..24)
    d = air.daily_means(_hourly(vals))
    assert d["O3_8h_max"].iloc[0] == 132.5 and d["n_o3_8h_windows"].iloc[0] == 17
    assert d["date"].iloc[0] == pd.Timestamp("2025-06-01")


def test_hj663_s6_mda8_exception_above_limit() -> None:
    vals: list[float | None] = [
        20,
        18,
        15,
        12,
        10,
        10,
        12,
        20,
        40,
        60,
        80,
        100,
        None,
        None,
        None,
        160,
        150,
        130,
        110,
        90,
        70,
        50,
        40,
        30,
    ]
    # window ending 21 = hours 14..21 minus 14, 15 -> (160+150+130+110+90+70)/6 = 118.33 -> 118
    assert air.mda8_day(vals, 160)["mda8_valid"] is False  # 11 < 14 windows, 118 <= 160
    assert air.mda8_day(vals, 100)["mda8_valid"] is True  # 118 > 100
    d = air.daily_means(_hourly(vals), o3_limit=160)
    assert np.isnan(d["O3_8h_max"].iloc[0])


def test_gb3095_daily_mean_needs_20_hours() -> None:
    h = _hourly([50.0] * 19 + [None] * 5).rename(columns={"O3": "PM2.5"})
    assert np.isnan(air.daily_means(h)["PM2.5"].iloc[0])
    h = _hourly([50.0] * 20 + [None] * 4).rename(columns={"O3": "PM2.5"})
    assert air.daily_means(h)["PM2.5"].iloc[0] == 50.0


def test_hj633_2012_s5_1_3_moving_means_cross_midnight() -> None:
    h = _hourly([float(i) for i in range(48)])
    m = air.moving_means(h, "O3", 8)
    # row 24 (01:00 of day 2): mean of values 17..24 = 20.5
    assert m[24] == 20.5 and np.isnan(m[4])  # 5 values < 6


def test_hj663_appendix_a_percentile() -> None:
    # k = 1 + 4*0.9 = 4.6: 40 + 10*0.6 = 46
    assert air.percentile([10, 20, 30, 40, 50], 90) == 46.0
    g = air.grouped_percentile([10, 20, 30, 40, 50, 1, 2], ["a"] * 5 + ["b"] * 2, 90)
    assert g["a"] == 46.0 and abs(g["b"] - 1.9) < 1e-12
    assert air.percentile(np.arange(1.0, 21.0), 95) == float(
        np.percentile(np.arange(1.0, 21.0), 95)
    )


def test_hj663_s5_exceed_multiple_rates() -> None:
    assert air.exceed_multiple(120, 75) == 0.6  # (120-75)/75
    assert air.exceed_multiple(75, 75) is None
    assert air.attainment_rate(300, 360) == 83.3  # 83.33
    r = air.good_day_ratio([45, 60, 100, 101, None])
    assert r["percent"] == 75.0 and r["n_valid"] == 4


def test_gb3095_2026_transition_limits() -> None:
    assert air.limit("PM2.5", "annual", standard="GB3095-2026") == 30
    assert air.limit("PM2.5", "annual", standard="GB3095-2026", phase="final") == 25
    c = air.compliance("PM2.5", {"annual_mean": 35, "p95_daily": 60}, standard="GB3095-2026")
    assert (
        c["compliant"] is False
        and c["exceed_multiple_annual"] == 0.17
        and c["compliant_p95"] is True
    )


def test_ranking_composite_index_2018_19() -> None:
    ci = air.composite_index({"SO2": 10, "NO2": 30, "PM10": 60, "PM2.5": 35, "CO": 1.2, "O3": 150})
    # 10/60 + 30/40 + 60/70 + 35/35 + 1.2/4 + 150/160 = 4.0113 -> 4.01
    assert ci["index"].iloc[0] == 4.01
    assert air.rank_jointly(pd.Series([3.0, 2.0, 3.0, 1.0])).tolist() == [3, 2, 3, 1]


def test_city_value_mean_then_round_then_index() -> None:
    st = pd.DataFrame(
        {
            "site_id": ["a", "b", "c"],
            "date": pd.to_datetime(["2025-01-01"] * 3),
            "PM2.5": [40, 45, 52],
        }
    )
    cd = air.city_daily(st, {"a": "X", "b": "X", "c": "X"})
    assert cd["PM2.5"].iloc[0] == 46  # 45.67 -> 46
    assert air.iaqi_value("PM2.5_24h", 46, "HJ633-2012") == 64  # 50 + 1.25*11 = 63.75 -> 64


def test_a_quarter_is_valid_when_each_of_its_three_months_is() -> None:
    """GB 3095-2012 Table 4: a month needs 27 valid days (February 25), a quarter its three
    months valid, per pollutant and site; the means and counts are those of every day."""
    days = pd.date_range("2025-01-01", "2025-06-30", freq="D")
    frame = pd.DataFrame({"site_id": "A", "date": days, "PM2.5": 30.0, "NO2": 20.0})
    # B: the same half year without March, so its first quarter has two months
    site_b = frame[frame["date"].dt.month != 3].assign(site_id="B")
    frame = pd.concat([frame, site_b], ignore_index=True)
    a_april = (frame["site_id"] == "A") & (frame["date"].dt.month == 4)
    frame.loc[a_april & (frame["date"].dt.day <= 4), "PM2.5"] = np.nan  # 26 days: too few
    a_february = (frame["site_id"] == "A") & (frame["date"].dt.month == 2)
    frame.loc[a_february & (frame["date"].dt.day <= 3), "NO2"] = np.nan  # 25 days: enough
    out = air.period_means(frame, "quarter")
    assert list(out.columns) == [
        "site_id", "period", "PM2.5", "NO2", "n_PM2.5", "valid_PM2.5", "n_NO2", "valid_NO2"
    ]  # fmt: skip
    rows = {(r.site_id, str(r.period)): r for r in out.itertuples(index=False)}
    assert sorted(rows) == [("A", "2025Q1"), ("A", "2025Q2"), ("B", "2025Q1"), ("B", "2025Q2")]
    valid = {key: (bool(r[5]), bool(r[7])) for key, r in rows.items()}
    assert valid == {
        ("A", "2025Q1"): (True, True), ("A", "2025Q2"): (False, True),
        ("B", "2025Q1"): (False, False), ("B", "2025Q2"): (True, True),
    }  # fmt: skip
    assert (rows[("A", "2025Q2")][4], rows[("A", "2025Q1")][6]) == (87, 87)
    assert rows[("B", "2025Q1")][4] == 59 and rows[("A", "2025Q1")][2] == 30.0


def test_warning_648_strict_thresholds() -> None:
    assert warning_level([180, 160, 120]) == "yellow"
    assert warning_level([150, 150, 150]) == "none"
    assert warning_level([201, 200, 190]) == "orange"
    assert warning_level([250, 320, 260]) == "red"
    assert warning_level([320, 140, 120]) == "yellow"


@given(
    st.lists(st.integers(0, 500), min_size=1, max_size=60),
    st.sampled_from([90, 95, 98]),
)
def test_grouped_percentile_is_exact_hj663_appendix_a(values: list[int], p: int) -> None:
    """HJ 663-2013 Appendix A: k = 1 + (n−1)·p%, C_p = X(s) + (X(s+1) − X(s))·(k − s).

    The vectorised form must equal the formula in exact rational arithmetic (float k can fall
    a hair short of an integer and pick the wrong order statistic)."""
    from fractions import Fraction

    ordered = sorted(values)
    n = len(ordered)
    k = 1 + Fraction((n - 1) * p, 100)
    s = int(k)
    upper = ordered[min(s, n - 1)]
    exact = ordered[s - 1] + (upper - ordered[s - 1]) * (k - s)
    got = air.grouped_percentile(values, [0] * n, p).iloc[0]
    assert got == float(exact)
