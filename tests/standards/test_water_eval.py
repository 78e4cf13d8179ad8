"""Rivers, basins, trends and period statistics (环办〔2011〕22号 §一(二), §二(二), §三)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ecobasin.standards import water


@pytest.mark.parametrize(
    ("good", "worst", "status"),
    [
        (90.0, 0.0, 1),  # I–III ≥ 90 % → 优
        (89.9, 0.0, 2),  # 75 ≤ I–III < 90 → 良好
        (75.0, 25.0, 2),  # the 良好 row does not look at 劣V
        (74.9, 19.9, 3),  # < 75 and 劣V < 20 → 轻度污染
        (70.0, 20.0, 4),  # 20 ≤ 劣V < 40 → 中度污染
        (50.0, 39.9, 4),
        (55.0, 40.0, 5),  # 劣V ≥ 40 → 重度污染
        (60.0, 40.0, 5),  # the disputed point (办法 "<60 %"): ecobasin rates it 重度污染
    ],
)
def test_share_table(good: float, worst: float, status: int) -> None:
    assert int(water.share_status(good, worst)[0]) == status


def test_class_shares_hand_count() -> None:
    # 12 sections: 7 I–III (58.3 %), 2 劣V (16.7 %) → 轻度污染, 黄色
    res = water.class_shares(
        ["I", "II", "II", "III", "III", "III", "Ⅲ类", "IV", "IV", "V", 6, "劣V"]
    )
    assert res["share_I_III"] == 58.3 and res["share_worse_V"] == 16.7
    assert res["status"] == "轻度污染" and res["colour"] == "黄色"
    assert res["counts"]["劣V"] == 2


def test_river_below_five_sections_uses_mean_concentrations() -> None:
    # §二(二)1: 4 sections → mean of each item: NH3N (0.4+0.6+1.8+0.8)/4 = 0.9 → III
    conc = pd.DataFrame({"NH3N": [0.4, 0.6, 1.8, 0.8], "DO": [7.0, 6.5, 5.5, 7.0]})
    res = water.river_record(conc)
    assert res["method"] == "mean" and res["class"] == "III"
    assert res["mean_concentrations"] == {"NH3N": 0.9, "DO": 6.5}  # DO 26/4 = 6.5 → II
    assert res["determining"] == ["NH3N"] and res["status"] == "良好"
    # the third section alone is V (1.8): named per section
    assert res["main_pollutants"]["2"] == [{"indicator": "NH3N", "class": "V", "multiple": 0.8}]


def test_river_from_five_sections_uses_shares_and_exceedance_rates() -> None:
    # "5个（含5个）以上": exactly 5 → share method
    conc = pd.DataFrame({"NH3N": [0.3, 1.2, 2.5, 0.5, 0.2], "TP": [0.1, 0.25, 0.1, 0.1, 0.1]})
    res = water.river_record(conc)
    # classes: II, IV, 劣V, II, II → I–III 60 %, 劣V 20 % → 中度污染
    assert res["method"] == "shares"
    assert (res["share_I_III"], res["share_worse_V"], res["status"]) == (60.0, 20.0, "中度污染")
    # 断面超标率: NH3N 2/5 = 40 %, TP 1/5 = 20 %
    assert res["exceedance_rate_pct"] == {"NH3N": 40.0, "TP": 20.0}
    assert res["main_pollutants"] == ["NH3N", "TP"]


def test_evaluate_groups_matches_single_river_records() -> None:
    frame = pd.DataFrame(
        {
            "river": ["a"] * 6 + ["b"] * 2,
            "water_body": "river",
            "NH3N": [0.1, 0.2, 1.2, 2.5, 0.3, 0.4, 0.6, 1.4],
        }
    )
    res = water.evaluate_groups(frame)
    # a: 6 sections, I–III 4/6 = 66.7 %, 劣V 1/6 = 16.7 % → 轻度污染
    assert res.loc["a", "method"] == "shares" and res.loc["a", "status_zh"] == "轻度污染"
    # b: 2 sections → mean NH3N 1.0 → III 良好
    assert res.loc["b", "method"] == "mean" and res.loc["b", "class_num"] == 3
    assert res.loc["b", "status_zh"] == "良好"


def test_class_trend_steps() -> None:
    assert water.class_trend("IV", "III")["trend_zh"] == "有所好转"
    assert water.class_trend("II", "IV")["trend_zh"] == "明显变差"
    assert water.class_trend("III", "Ⅲ类")["trend_zh"] == "无明显变化"


def test_nondetects_enter_as_half_dl() -> None:
    out = water.apply_nondetects([0.02, 0.01], [False, True], [0.01, 0.01])
    assert out.tolist() == [0.02, 0.005]


def _manual(values: list[float], months: list[int]) -> pd.DataFrame:
    t = pd.to_datetime([f"2025-{m:02d}-05 10:00" for m in months]).tz_localize("Asia/Shanghai")
    return pd.DataFrame({"site_id": "S1", "time": t, "item": "NH3N", "value": values})


def test_manual_quarter_needs_two_samples() -> None:
    # 办法 §一(二)2: a quarterly value is the mean of ≥ 2 samples
    res = water.period_means(_manual([0.4, 0.8, 0.3], [1, 2, 4]), "quarter")
    q1 = res.set_index("period").loc["2025Q1"]
    q2 = res.set_index("period").loc["2025Q2"]
    assert q1["valid"] and q1["mean"] == pytest.approx(0.6) and not q1["complete"]
    assert not q2["valid"] and np.isnan(q2["mean"])


def test_manual_month_is_the_mean_of_its_samples() -> None:
    t = pd.to_datetime(["2025-03-01 09:00", "2025-03-20 09:00"]).tz_localize("Asia/Shanghai")
    data = pd.DataFrame({"site_id": "S1", "time": t, "item": "TP", "value": [0.1, 0.3]})
    res = water.period_means(data, "month")
    assert res["period"].tolist() == ["2025-03"] and res["mean"].iloc[0] == pytest.approx(0.2)


def _auto(days: int, per_day: int, value: float = 0.5) -> pd.DataFrame:
    times = []
    for d in range(days):
        start = pd.Timestamp("2025-10-01 04:00", tz="Asia/Shanghai") + pd.Timedelta(days=d)
        times += [start + pd.Timedelta(hours=4 * k) for k in range(per_day)]
    t = pd.DatetimeIndex(times).tz_convert("UTC")
    return pd.DataFrame({"site_id": "S1", "time": t, "item": "CODMn", "value": value})


def test_auto_day_needs_four_of_six_values_and_month_twenty_days() -> None:
    # ecobasin rule (evaluation.toml): day ≥ 4 of 6 four-hourly values, month ≥ 20 valid days
    ok = water.period_means(_auto(20, 4), "month", source_kind="auto")
    assert ok["valid"].iloc[0] and ok["n"].iloc[0] == 20 and ok["mean"].iloc[0] == 0.5
    short = water.period_means(_auto(25, 3), "month", source_kind="auto")  # 3 a day → no day
    assert short["n"].tolist() == [0] and not short["valid"].iloc[0]  # reported, not dropped
    few = water.period_means(_auto(19, 6), "month", source_kind="auto")
    assert not few["valid"].iloc[0] and np.isnan(few["mean"].iloc[0])


def test_auto_quarter_from_valid_months() -> None:
    data = pd.concat(
        [
            _auto(20, 6, 0.4),
            _auto(31, 6, 0.8).assign(time=lambda f: f["time"] + pd.Timedelta(days=31)),
        ]
    )
    # October: 20 valid days (0.4); November: 30 days inside November (0.8) → Q4 = 0.6, 2 months
    res = water.period_means(data, "quarter", source_kind="auto")
    q4 = res.set_index("period").loc["2025Q4"]
    assert q4["valid"] and q4["n"] == 2 and q4["mean"] == pytest.approx(0.6)


def test_period_means_names_missing_columns() -> None:
    with pytest.raises(ValueError, match="missing columns"):
        water.period_means(pd.DataFrame({"time": []}), "month")
    assert water.statistics_rule("manual", "quarter")["min"] == 2
