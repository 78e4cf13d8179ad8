"""The pure alarm engine, against series computed by hand.

Limits used: 超低排放 (环发〔2015〕164号) SO2 35 mg/m³ at 6 % O2 on hourly means; GB 18918-2002
Class 1A COD 50 mg/L and DB51/2311-2016 Table 1 COD 30 mg/L on daily means. "Over" is strictly
above the limit. Hours are labelled by their end: hour h of the series ends at T0 + h hours.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from alarm_helpers import SITES, T0, series

from ecobasin import alarms
from ecobasin.alarms.limits import applicable_limits, limits_at
from ecobasin.catalog.emission import AlarmRules, alarm_rules

H = pd.Timedelta(hours=1)
GAS1 = SITES[SITES["site_id"] == "GAS1"]
#: Hourly FG_SO2_Zs means of hours 1 … 12 around the 35 mg/m³ ultra-low limit.
HOURLY = [34.0, 35.0, 35.1, 40.0, 35.0, 36.0, 35.0, 34.9, 70.0, 71.0, 72.0, 33.0]


def over_limit(frame: pd.DataFrame, sites: pd.DataFrame = GAS1, **kw: object) -> pd.DataFrame:
    found = alarms.evaluate(frame, sites, now=frame["time"].max(), **kw)  # type: ignore[arg-type]
    return found[found["kind"] == "over_limit"].sort_values("start_time").reset_index(drop=True)


def test_hourly_series_gives_the_hand_computed_episodes() -> None:
    found = over_limit(series("GAS1", "FG_SO2_Zs", HOURLY))
    # over: h3 (35.1), h4 (40); h6 (36); h9-h11 (70, 71, 72). 35.0 at h2, h5, h7 is not over.
    assert list(found["start_time"]) == [T0 + 2 * H, T0 + 5 * H, T0 + 8 * H]
    assert list(found["end_time"]) == [T0 + 4 * H, T0 + 6 * H, T0 + 11 * H]
    assert list(found["periods"]) == [2, 1, 3]
    assert list(found["peak"]) == [40.0, 36.0, 72.0]
    assert list(found["limit_value"]) == [35.0, 35.0, 35.0]
    assert found["multiple"].tolist() == pytest.approx([40 / 35, 36 / 35, 72 / 35])
    assert set(found["status"]) == {"closed"}
    evidence = json.loads(found["evidence"][2])
    assert evidence["values"] == [
        ["2024-03-01T01:00:00Z", 70.0, "stored"],  # hour ending 09:00 CST
        ["2024-03-01T02:00:00Z", 71.0, "stored"],
        ["2024-03-01T03:00:00Z", 72.0, "stored"],
    ]
    source = evidence["limit_source"]
    assert source["standard_id"] == "环发〔2015〕164号" and source["source"] == "standard"
    assert source["source_category"] == "coal_boiler_ultra_low" and source["reference_o2"] == 6


def test_equal_to_the_limit_is_never_over() -> None:
    assert over_limit(series("GAS1", "FG_SO2_Zs", [35.0] * 6)).empty


def test_last_period_over_keeps_the_episode_open() -> None:
    found = over_limit(series("GAS1", "FG_SO2_Zs", HOURLY[:11]))
    assert found["status"].tolist() == ["closed", "closed", "open"]
    assert pd.isna(found["end_time"][2]) and found["start_time"][2] == T0 + 8 * H


def test_a_missing_hour_splits_an_episode() -> None:
    found = over_limit(series("GAS1", "FG_SO2_Zs", [40.0, 41.0, None, 42.0, 20.0]))
    assert list(found["start_time"]) == [T0, T0 + 3 * H]
    assert list(found["periods"]) == [2, 1]


def test_hourly_mean_from_ten_minute_values_needs_75_percent_coverage() -> None:
    # hour 1: five valid 10-min values (mean 40) and a fault (D, 500): 50 min ≥ 45 → mean 40.
    # hour 2: four valid values of 100 and two D: 40 min < 45 → no hourly value, no alarm.
    ten = pd.Timedelta(minutes=10)
    values = [30.0, 40.0, 50.0, 38.0, 42.0, 500.0, 100.0, 100.0, 100.0, 100.0, 1.0, 1.0]
    flags = [None, "N", None, None, None, "D", None, None, None, None, "D", "D"]
    frame = series("GAS1", "FG_SO2_Zs", values, period="10min", step=ten, flags=flags)
    values_1h = alarms.basis_values(
        frame, pd.DataFrame({"site_id": ["GAS1"], "parameter": ["FG_SO2_Zs"], "basis": ["1h"]})
    )
    assert values_1h["time"].tolist() == [T0 + H]
    assert values_1h["value"].tolist() == [40.0]
    assert values_1h["coverage"].tolist() == pytest.approx([50 / 60])
    found = over_limit(frame)
    assert found["start_time"].tolist() == [T0] and found["peak"].tolist() == [40.0]


def test_a_stored_hourly_value_wins_over_the_sub_hour_mean() -> None:
    ten = pd.Timedelta(minutes=10)
    sub = series("GAS1", "FG_SO2_Zs", [50.0] * 6, period="10min", step=ten)
    hourly = series("GAS1", "FG_SO2_Zs", [30.0])
    assert over_limit(pd.concat([sub, hourly], ignore_index=True)).empty


def test_real_time_readings_cover_the_minutes_they_fall_in() -> None:
    half = pd.Timedelta(seconds=30)
    enough = series("GAS1", "FG_SO2_Zs", [36.0] * 90, period="instant", step=half)  # 45 min
    short = series("GAS1", "FG_SO2_Zs", [36.0] * 88, period="instant", step=half)  # 44 min
    assert over_limit(enough)["periods"].tolist() == [1]
    assert over_limit(short).empty


def test_permit_limit_in_site_attributes_wins_over_the_standard() -> None:
    gas2 = SITES[SITES["site_id"] == "GAS2"]  # GB 13223 new coal boiler: SO2 100; permit 30
    found = over_limit(series("GAS2", "FG_SO2_Zs", [31.0, 99.0, 30.0]), gas2)
    assert found["start_time"].tolist() == [T0] and found["periods"].tolist() == [2]
    source = json.loads(found["evidence"][0])["limit_source"]
    assert source["source"] == "site_attributes" and found["limit_value"][0] == 30.0


def test_imported_permit_wins_over_site_attributes() -> None:
    gas2 = SITES[SITES["site_id"] == "GAS2"]
    permit = pd.DataFrame(
        {"site_id": ["GAS2"], "parameter": ["FG_SO2_Zs"], "limit": [50.0], "basis": [""],
         "permit_id": ["91510100XX"]}
    )  # fmt: skip
    found = over_limit(series("GAS2", "FG_SO2_Zs", [31.0, 51.0, 30.0]), gas2, permits=permit)
    assert found["start_time"].tolist() == [T0 + H] and found["limit_value"].tolist() == [50.0]
    assert json.loads(found["evidence"][0])["limit_source"]["permit_id"] == "91510100XX"


def test_db51_daily_limits_apply_from_2020_and_fall_back_to_gb18918() -> None:
    ww1 = SITES[SITES["site_id"] == "WW1"]
    rules = applicable_limits(ww1)
    # DB51/2311-2016 lists no BOD5: GB 18918-2002 Class 1A applies (DB51 §4.3.1).
    day = pd.Timedelta(days=1)
    values = pd.DataFrame(
        {
            "site_id": "WW1",
            "parameter": ["COD", "COD", "BOD5"],
            "basis": "1d",
            # CST days 2019-12-31, 2020-01-01 and 2020-01-01 (a day ends at 16:00Z)
            "time": pd.to_datetime(["2019-12-31T16:00Z", "2020-01-01T16:00Z", "2020-01-01T16:00Z"]),
            "value": [40.0, 40.0, 9.0],
        }
    )
    joined = limits_at(values, rules)
    assert joined["limit"].tolist() == [50.0, 30.0, 10.0]
    assert joined["standard_id"].tolist() == ["GB 18918-2002", "DB51/2311-2016", "GB 18918-2002"]
    cod = series("WW1", "COD", [29.0, 30.0, 31.0, 45.0, 30.0], period="1d", step=day,
                 start=pd.Timestamp("2021-05-31T16:00Z"))  # fmt: skip
    found = over_limit(cod, ww1)
    assert found["start_time"].tolist() == [pd.Timestamp("2021-06-02T16:00Z")]
    assert found["end_time"].tolist() == [pd.Timestamp("2021-06-04T16:00Z")]
    assert found["peak"].tolist() == [45.0]


def test_daily_mean_from_hourly_values_of_a_cst_day() -> None:
    ww1 = SITES[SITES["site_id"] == "WW1"]
    start = pd.Timestamp("2021-06-01T16:00Z")  # 2021-06-02 00:00 CST
    hours = series("WW1", "COD", [28.0] * 12 + [36.0] * 12, start=start)  # mean 32 > 30
    found = over_limit(hours, ww1)
    assert found["start_time"].tolist() == [start]
    assert found["peak"].tolist() == [32.0] and found["status"].tolist() == ["open"]
    short = series("WW1", "COD", [100.0] * 17, start=start)  # 17 h < 75 % of 24 h
    assert over_limit(short, ww1).empty


# -- flags ------------------------------------------------------------------------------------------
def flag_alarms(frame: pd.DataFrame, rules: AlarmRules | None = None) -> pd.DataFrame:
    return alarms.flag_episodes(frame, rules or alarm_rules())


def test_fault_for_exactly_two_hours_is_not_an_alarm() -> None:
    frame = series("GAS1", "FG_SO2_Zs", [1, 2, 3, 4], flags=["N", "D", "D", "N"])
    assert flag_alarms(frame).empty  # D from T0+1h to T0+3h: 2 h, not longer than 2 h


def test_fault_for_three_hours_is_an_alarm_until_the_first_normal_reading() -> None:
    frame = series("GAS1", "FG_SO2_Zs", [1, 2, 3, 4, 5], flags=["N", "D", "D", "D", "N"])
    found = flag_alarms(frame)
    assert found[["flag", "readings", "hours"]].values.tolist() == [["D", 3, 3.0]]
    assert found["start_time"][0] == T0 + H and found["end_time"][0] == T0 + 5 * H
    still = flag_alarms(frame.iloc[:4])
    assert pd.isna(still["end_time"][0]) and still["hours"][0] == 3.0


def test_maintenance_uses_its_own_duration_and_finest_period() -> None:
    m = ["M"] * 25
    hourly = series("GAS1", "FG_NOx_Zs", list(range(25)), flags=m)  # 25 h of M > 24 h
    ten = series("GAS1", "FG_NOx_Zs", [1.0] * 6, period="10min", step=pd.Timedelta(minutes=10))
    assert flag_alarms(hourly)["hours"].tolist() == [25.0]
    # with 10-minute values present, the 10-minute series carries the flags (all N here)
    assert flag_alarms(pd.concat([hourly, ten], ignore_index=True)).empty
    assert flag_alarms(hourly.iloc[:24]).empty  # exactly 24 h


# -- silence ----------------------------------------------------------------------------------------
def test_silence_longer_than_three_intervals() -> None:
    times = pd.DataFrame(
        {"site_id": "GAS1", "time": [T0 + H, T0 + 2 * H, T0 + 6 * H, T0 + 7 * H]}
    )  # gap 2 h → 6 h: 4 h > 3 × 3600 s
    thresholds = {"GAS1": 3 * 3600.0}
    found = alarms.silent_episodes(times, thresholds, now=T0 + 10 * H)  # 3 h after: not yet
    assert found[["start_time", "end_time"]].values.tolist() == [[T0 + 2 * H, T0 + 6 * H]]
    later = alarms.silent_episodes(times, thresholds, now=T0 + 10 * H + pd.Timedelta(seconds=1))
    assert later["start_time"].tolist() == [T0 + 2 * H, T0 + 7 * H]
    assert pd.isna(later["end_time"][1]) and later["gap_s"][1] == 3 * 3600 + 1


def test_evaluate_uses_the_device_interval_when_known() -> None:
    frame = series("AIR1", "PM2.5", [10.0, 11.0])
    air = SITES[SITES["site_id"] == "AIR1"]
    now = T0 + 2 * H + pd.Timedelta(minutes=4)
    assert alarms.evaluate(frame, air, now=now).empty  # default interval 1 h: 3 h threshold
    found = alarms.evaluate(frame, air, now=now, device_intervals={"AIR1": 60})
    # 60 s interval: the 1-h step between the two readings is a silence too (> 180 s)
    assert found["kind"].tolist() == ["silent", "silent"]
    assert found["status"].tolist() == ["closed", "open"]
    assert found["start_time"].tolist() == [T0 + H, T0 + 2 * H]
    evidence = json.loads(found["evidence"][1])
    assert evidence["threshold_s"] == 180 and evidence["interval_source"].startswith("device")


def test_alarm_ids_are_stable_and_distinct() -> None:
    first = alarms.evaluate(series("GAS1", "FG_SO2_Zs", HOURLY), GAS1, now=T0 + 12 * H)
    again = alarms.evaluate(series("GAS1", "FG_SO2_Zs", HOURLY), GAS1, now=T0 + 12 * H)
    assert first["alarm_id"].tolist() == again["alarm_id"].tolist()
    assert first["alarm_id"].is_unique and len(first) == 3
