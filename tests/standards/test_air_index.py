"""IAQI / AQI rules of HJ 633-2012 and HJ 633-2026, hand-computed from the text."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecobasin.standards import air

ITEMS = [
    "SO2_24h",
    "SO2_1h",
    "NO2_24h",
    "NO2_1h",
    "CO_24h",
    "CO_1h",
    "O3_1h",
    "O3_8h",
    "PM10_24h",
    "PM2.5_24h",
]
RULES = ["HJ633-2012", "HJ633-2026"]


def test_hj633_2012_s6_2_ceil_exact_integer_arithmetic() -> None:
    # CO 24h 2.2: 50 + (100-50)/(4-2)*(2.2-2) = 50 + 25*0.2 = 55 exactly (float gives 55.000...01)
    assert air.iaqi_value("CO_24h", 2.2, "HJ633-2012") == 55
    # CO 1h 65.4: 200 + (300-200)/(90-60)*(65.4-60) = 200 + 100*5.4/30 = 218 exactly
    assert air.iaqi_value("CO_1h", 65.4, "HJ633-2012") == 218
    # PM2.5 57: 50 + 50/40*22 = 77.5 -> carried up to 78
    assert air.iaqi_value("PM2.5_24h", 57, "HJ633-2012") == 78
    # exact 50.0 stays 50: PM2.5 35 -> 50
    assert air.iaqi_value("PM2.5_24h", 35, "HJ633-2012") == 50


def test_hj633_2026_table3_pm_breakpoints() -> None:
    # PM2.5 75 under 2026: 100 + 50/55*15 = 113.6 -> 114 (2012 gives 100)
    assert air.iaqi_value("PM2.5_24h", 75, "HJ633-2026") == 114
    assert air.iaqi_value("PM2.5_24h", 75, "HJ633-2012") == 100
    # PM10 120 is the 2026 IAQI-100 breakpoint; 2012: 50 + 0.5*70 = 85
    assert air.iaqi_value("PM10_24h", 120, "HJ633-2026") == 100
    assert air.iaqi_value("PM10_24h", 120, "HJ633-2012") == 85


def test_hj633_2026_s4_2_2_round_concentration_first() -> None:
    # 34.5 -> 34 (half-even) -> 50/35*34 = 48.57 -> 49; 35.5 -> 36 -> 50 + 50/25*1 = 52
    assert air.iaqi_value("PM2.5_24h", 34.5, "HJ633-2026") == 49
    assert air.iaqi_value("PM2.5_24h", 35.5, "HJ633-2026") == 52
    # CO 2.25 -> 2.2 (half-even) -> 55 under 2012
    assert air.iaqi_value("CO_24h", 2.25, "HJ633-2012") == 55


def test_hj633_2012_table1_note2_so2_1h_above_800() -> None:
    # SO2 1h 801 -> IAQI from 24h 300: 100 + 50/325*150 = 123.08 -> 124
    assert air.iaqi_value("SO2_1h", 801, "HJ633-2012", fallback=300) == 124
    assert air.iaqi_value("SO2_1h", 801, "HJ633-2012") is None  # no 24-h value -> NA
    # 2026 note b: fixed 200
    assert air.iaqi_value("SO2_1h", 5000, "HJ633-2026") == 200


def test_hj633_2012_table1_note3_o3_8h_above_800() -> None:
    # O3 8h 801 -> O3 1h 900 IAQI: 300 + 100/200*100 = 350
    assert air.iaqi_value("O3_8h", 801, "HJ633-2012", fallback=900) == 350
    # 2026 note c: fixed 300
    assert air.iaqi_value("O3_8h", 801, "HJ633-2026") == 300


def test_over_range_capped_and_flagged_missing_is_na() -> None:
    # PM2.5 501 > 500 top: capped at 500, flagged (ecobasin decision, HJ 633 silent)
    v, over = air.iaqi_array("PM2.5_24h", [501.0, 500.0, -1.0, np.nan, np.inf], "HJ633-2012")
    assert v.tolist() == [500, 500, -1, -1, 500]
    assert over.tolist() == [True, False, False, False, True]


def test_hj633_2012_s4_4_2_primary_ties_on_integer_iaqi() -> None:
    # 2026: PM2.5 36 -> 52, PM10 53 -> 50 + 50/70*3 = 52.14 -> 53? no: tie example from brief uses 2012:
    # 2012: PM2.5 36 -> 50 + 50/40*1 = 51.25 -> 52; PM10 53 -> 50 + 0.5*3 = 51.5 -> 52: tie
    rec = air.aqi_record(
        {"SO2": 5, "NO2": 10, "PM10": 53, "PM2.5": 36, "CO": 0.3, "O3_1h_max": 50, "O3_8h_max": 40},
        "HJ633-2012",
        "daily",
    )
    assert rec["aqi"] == 52
    assert rec["primary"] == ["PM10", "PM2.5"]  # fixed order of HJ 633-2012 Table 1
    assert rec["exceeding"] == []


def test_hj633_2012_s3_4_exceeding_strictly_above_100() -> None:
    # NO2 80 -> exactly 100: not exceeding; PM2.5 76 -> 100 + 50/40*1 = 101.25 -> 102: exceeding
    rec = air.aqi_record(
        {"SO2": 5, "NO2": 80, "PM10": 50, "PM2.5": 76, "CO": 0.3, "O3_1h_max": 50, "O3_8h_max": 40},
        "HJ633-2012",
        "daily",
    )
    assert rec["exceeding"] == ["PM2.5"]
    rec26 = air.aqi_record(
        {"SO2": 5, "NO2": 80, "PM10": 50, "PM2.5": 76, "CO": 0.3, "O3_8h": 40},
        "HJ633-2026",
        "daily",
    )
    assert rec26["exceeding"] is None  # HJ 633-2026 deleted the concept


def test_hj633_2026_s5_3_1_missing_rule_both_generations() -> None:
    base = {
        "SO2": 5,
        "NO2": 10,
        "PM10": 50,
        "PM2.5": 30,
        "CO": 0.3,
        "O3_1h_max": None,
        "O3_8h_max": None,
    }
    rec = air.aqi_record(base, "HJ633-2012", "daily")
    assert rec["aqi"] is None and rec["publish_aqi"] is False and rec["incomplete"] is True
    base["PM2.5"] = 120  # segment 115-150: 150 + 50/35*5 = 157.14 -> 158 > 100 -> published
    rec = air.aqi_record(base, "HJ633-2012", "daily")
    assert rec["aqi"] == 158 and rec["publish_aqi"] is True and rec["level"] == 4


def test_level_table_hj633_table2() -> None:
    assert air.aqi_level([0, 50, 51, 100, 101, 150, 151, 200, 201, 300, 301, 500, -1]).tolist() == [
        1,
        1,
        2,
        2,
        3,
        3,
        4,
        4,
        5,
        5,
        6,
        6,
        0,
    ]
    assert air.level_info(5).hex == "#99004C" and air.level_info(5).rgb == (153, 0, 76)
    assert air.level_info(3).category_zh == "轻度污染"


def test_rule_set_by_local_day_of_hour_ending_instant() -> None:
    # 2026-03-01 00:00 CST is the 24:00 hour of Feb 28 -> 2012; 01:00 CST is Mar 1 -> 2026
    t = pd.to_datetime(["2026-02-28 16:00Z", "2026-02-28 17:00Z"], utc=True)
    frame = pd.DataFrame({"time": t, "SO2_1h": [10.0, 10.0], "NO2_1h": [10.0, 10.0]})
    out = air.hourly_aqi(frame)
    assert out["rule_set"].astype(str).tolist() == ["HJ633-2012", "HJ633-2026"]
    assert air.rule_set_for_date("2026-02-28") == "HJ633-2012"
    assert air.rule_set_for_date("2026-03-01") == "HJ633-2026"


def test_daily_frame_columns() -> None:
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime(["2026-05-01", "2026-05-02"]),
            "SO2": [8, 8],
            "NO2": [30, 30],
            "PM10": [150, 20],
            "PM2.5": [40, 10],
            "CO": [0.6, 0.2],
            "O3_8h": [90, 50],
        }
    )
    out = air.daily_aqi(frame)
    # row 1: PM10 150 -> 100 + 50/130*30 = 111.5 -> 112; row 2: NO2 30 -> 50/40*30 = 37.5 -> 38
    assert out["aqi"].tolist() == [112, 38]
    assert out["primary"].tolist() == ["PM10", ""]
    assert out["level"].tolist() == [3, 1]
    assert str(out["rule_set"].iloc[0]) == "HJ633-2026"
    for c in (
        "category_zh",
        "category_en",
        "colour",
        "exceeding",
        "iaqi_PM10",
        "publish_aqi",
        "over_range",
    ):
        assert c in out


def test_epa_2024_truncation_and_nearest() -> None:
    # PM2.5 35.45 -> truncated 35.4 -> 100; 9.0 -> 50; 12.0: 51 + 49/26.3*2.9 = 56.4 -> 56
    assert air.iaqi_value("PM2.5_24h", 35.45, "EPA-2024") == 100
    assert air.iaqi_value("PM2.5_24h", 9.0, "EPA-2024") == 50
    assert air.iaqi_value("PM2.5_24h", 12.0, "EPA-2024") == 56


conc = st.floats(min_value=0, max_value=5000, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ITEMS), st.sampled_from(RULES), conc, conc)
def test_iaqi_monotonic_non_decreasing(item: str, rs: str, a: float, b: float) -> None:
    lo, hi = sorted((a, b))
    fb = 10.0  # fixed substitute for the 2012 800 rules keeps the map monotone below 800
    va, vb = air.iaqi_value(item, lo, rs, fallback=fb), air.iaqi_value(item, hi, rs, fallback=fb)
    if item in ("SO2_1h", "O3_8h") and rs == "HJ633-2012" and hi > 800:
        return  # above 800 the IAQI comes from another item (note 2/3): not a function of C
    assert va is not None and vb is not None and va <= vb


cols = st.one_of(st.floats(min_value=-5, max_value=700), st.just(float("nan")))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(cols, cols, cols, cols, cols, cols), min_size=1, max_size=20),
    st.sampled_from(RULES),
)
def test_aqi_is_max_iaqi_level_matches_and_vector_equals_scalar(
    rows: list[tuple[float, ...]], rs: str
) -> None:
    names = ["SO2", "NO2", "PM10", "PM2.5", "CO", "O3_8h_max"]
    data = {n: np.array([r[i] for r in rows]) for i, n in enumerate(names)}
    data["CO"] = data["CO"] / 10
    data["O3_1h_max"] = data["O3_8h_max"] * 1.2
    res = air.aqi_arrays(data, rs, "daily")
    for i in range(len(rows)):
        iaqis = [int(res.iaqi[lab][i]) for lab in res.labels]
        valid = [v for v in iaqis if v >= 0]
        top = max(valid) if valid else -1
        assert int(res.aqi_unpublished[i]) == top
        if res.publish[i]:
            assert int(res.aqi[i]) == top
            lev = int(res.level()[i])
            info = air.level_info(lev)
            assert info.aqi_min <= top <= info.aqi_max or (lev == 1 and top == 0)
        # scalar path
        rec = air.aqi_record(
            {k: (None if np.isnan(v[i]) else float(v[i])) for k, v in data.items()}, rs, "daily"
        )
        assert rec["aqi"] == (int(res.aqi[i]) if res.aqi[i] >= 0 else None)
        for lab in res.labels:
            code = int(res.iaqi[lab][i])
            assert rec["iaqi"][lab] == (code if code >= 0 else None)
        # vs iaqi_value per item
        assert rec["iaqi"]["PM10"] == air.iaqi_value(
            "PM10_24h", None if np.isnan(data["PM10"][i]) else float(data["PM10"][i]), rs
        )


@pytest.mark.parametrize("rs", RULES)
def test_lut_equals_fraction_formula(rs: str) -> None:
    import math
    from fractions import Fraction

    table = air.rule_set(rs)
    for item, t in table.items.items():
        bp = [Fraction(int(b), 10**t.decimals) for b in t.bp]
        for k in range(0, int(t.bp[-1]) + 1, 7):
            c = Fraction(k, 10**t.decimals)
            j = max(i for i in range(len(bp) - 1) if bp[i] <= c) if c < bp[-1] else len(bp) - 2
            ilo, ihi = int(t.iaqi[j]), int(t.iaqi[j + 1])
            expected = ilo + math.ceil((ihi - ilo) * (c - bp[j]) / (bp[j + 1] - bp[j]))
            assert air.iaqi_value(item, float(c), rs, fallback=0) == expected, (item, c)
