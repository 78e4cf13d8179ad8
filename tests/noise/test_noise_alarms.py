"""Noise over-limit alarms of automatic stations (issue 23) through the alarm job on a real
DuckDB file: night hourly Leq over the class's night limit and LMx over it + 15 dB(A)
(GB 3096-2008 Table 1, §5.4), one episode per station, parameter and night."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from test_noise_store import _station

from ecobasin.jobs.alarms import recompute_alarms
from ecobasin.store import Store, _sql
from store_files import new_synced_store_file

NOW = datetime(2026, 7, 3, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path):
    store = Store(new_synced_store_file(tmp_path / "alarms.duckdb"))
    _station(store, "NZ1", "2")  # day 60, night 50, night Lmax 65 dB(A)
    yield store
    store.close()


def _hour(label: str, parameter: str, value: float) -> dict[str, object]:
    # label: the CST hour end, e.g. "2026-07-02 01:00"
    time = pd.Timestamp(label, tz="Asia/Shanghai").tz_convert("UTC")
    return {"site_id": "NZ1", "parameter": parameter, "period": "1h", "time": time,
            "value": value, "flag": None}  # fmt: skip


def _alarms(store: Store) -> list[dict[str, object]]:
    frame = _sql.frame(
        store,
        "SELECT parameter, start_time, end_time, status, peak, limit_value, periods, evidence "
        "FROM alarms WHERE kind = 'over_limit' ORDER BY parameter, start_time",
    )
    return list(frame.to_dict("records"))


def test_night_leq_and_lmax_over_limit_make_one_alarm_per_night(store: Store) -> None:
    hours = pd.date_range("2026-07-01T01:00", "2026-07-03T00:00", freq="h", tz="Asia/Shanghai")
    levels = {
        "2026-07-01 23:00": 51.0,  # night of 07-01: three hours over 50, not consecutive
        "2026-07-02 00:00": 52.0,  # the label 24:00 of 07-01
        "2026-07-02 01:00": 50.0,  # equal to the limit: not over
        "2026-07-02 02:00": 53.0,
        "2026-07-02 23:00": 50.1,  # night of 07-02: one hour over, the newest value: open
    }
    rows = []
    for t in hours:
        label = f"{t:%Y-%m-%d %H:%M}"
        day = 7 <= (t.hour or 24) <= 22
        rows.append(_hour(label, "Leq", 65.0 if day else levels.get(label, 45.0)))  # day: no alarm
        rows.append(_hour(label, "LMx", 70.0 if label == "2026-07-02 03:00" else 60.0))
    frame = pd.DataFrame(rows)
    frame = frame[frame["time"] <= pd.Timestamp("2026-07-02 23:00", tz="Asia/Shanghai")]
    store.write_observations(frame, store.begin_batch("test", "hours"))
    recompute_alarms(store, ["NZ1"], frame["time"].min(), frame["time"].max(), now=NOW)
    found = _alarms(store)
    leq = [a for a in found if a["parameter"] == "Leq"]
    assert [(a["periods"], a["peak"], a["limit_value"], a["status"]) for a in leq] == [
        (3, 53.0, 50.0, "closed"),
        (1, 50.1, 50.0, "open"),
    ]
    first = leq[0]
    # from 22:00 CST of 07-01 (start of the hour ending 23:00) to 02:00 CST of 07-02
    assert pd.Timestamp(first["start_time"]) == pd.Timestamp("2026-07-01 22:00", tz="Asia/Shanghai")
    assert pd.Timestamp(first["end_time"]) == pd.Timestamp("2026-07-02 02:00", tz="Asia/Shanghai")
    evidence = json.loads(str(first["evidence"]))
    assert evidence["night"] == "2026-07-01" and evidence["zone_class"] == "2"
    assert evidence["limit_source"]["standard_id"] == "GB 3096-2008"
    [lmx] = [a for a in found if a["parameter"] == "LMx"]
    assert (lmx["peak"], lmx["limit_value"], lmx["periods"]) == (70.0, 65.0, 1)
    assert json.loads(str(lmx["evidence"]))["limit_source"]["clause"] == "§5.4"
    # recomputing the same window changes nothing (stable ids)
    recompute_alarms(store, ["NZ1"], frame["time"].min(), frame["time"].max(), now=NOW)
    assert _alarms(store) == found


def test_a_construction_boundary_is_judged_by_gb_12523(store: Store) -> None:
    # a monitor at a construction site in a class 1 zone (night 45): GB 12523 (night 55) applies
    frame = pd.DataFrame(
        [{"site_id": "CS1", "kind": "noise_station", "level": "city", "city_code": 510100,
          "name_zh": "工地", "name_en": "site", "lon": 104.0, "lat": 30.6,
          "attributes": {"zone_class": "1", "boundary": "construction"}}]
    )  # fmt: skip
    store.upsert_sites(frame, source="test")
    rows = [
        {**_hour("2026-07-02 01:00", "Leq", 50.0), "site_id": "CS1"},  # > 45, ≤ 55: no alarm
        {**_hour("2026-07-02 02:00", "Leq", 57.0), "site_id": "CS1"},  # > 55
        {**_hour("2026-07-02 02:00", "LMx", 70.5), "site_id": "CS1"},  # > 55 + 15
        {**_hour("2026-07-02 03:00", "Leq", 45.0), "site_id": "CS1"},
        {**_hour("2026-07-02 03:00", "LMx", 69.0), "site_id": "CS1"},
    ]
    obs = pd.DataFrame(rows)
    store.write_observations(obs, store.begin_batch("test", "construction"))
    recompute_alarms(store, ["CS1"], obs["time"].min(), obs["time"].max(), now=NOW)
    found = {a["parameter"]: a for a in _alarms(store)}
    assert (found["Leq"]["peak"], found["Leq"]["limit_value"], found["Leq"]["periods"]) == (
        57.0, 55.0, 1,
    )  # fmt: skip
    assert (found["LMx"]["peak"], found["LMx"]["limit_value"]) == (70.5, 70.0)
    evidence = json.loads(str(found["Leq"]["evidence"]))
    assert evidence["limit_source"]["standard_id"] == "GB 12523-2011"
    assert evidence["zone_class"] == "construction"
    assert json.loads(str(found["LMx"]["evidence"]))["limit_source"]["clause"] == "§4.2"


@pytest.mark.parametrize(
    "attributes",
    [
        {"zone_class": "4a", "boundary": "enterprise"},
        {"zone_class": "4b", "purpose": "厂界"},
    ],
)
def test_an_enterprise_boundary_is_judged_by_gb_12348(
    store: Store, attributes: dict[str, str]
) -> None:
    # a factory boundary in a 4a/4b zone: GB 12348-2008 class 4 (night 55, frequent sudden noise
    # ≤ 55 + 10), not GB 3096 (4a night 55, Lmax + 15; 4b night 60)
    frame = pd.DataFrame(
        [{"site_id": "EB1", "kind": "noise_station", "level": "city", "city_code": 510100,
          "name_zh": "厂界", "name_en": "factory boundary", "lon": 104.0, "lat": 30.6,
          "attributes": attributes}]
    )  # fmt: skip
    store.upsert_sites(frame, source="test")
    rows = [
        {**_hour("2026-07-02 01:00", "Leq", 55.0), "site_id": "EB1"},  # = 55: not over
        {**_hour("2026-07-02 02:00", "Leq", 57.0), "site_id": "EB1"},  # > 55 (4b GB 3096: 60)
        {**_hour("2026-07-02 02:00", "LMx", 66.0), "site_id": "EB1"},  # > 55 + 10 (GB 3096: 70)
        {**_hour("2026-07-02 03:00", "LMx", 65.0), "site_id": "EB1"},
    ]
    obs = pd.DataFrame(rows)
    store.write_observations(obs, store.begin_batch("test", "enterprise"))
    recompute_alarms(store, ["EB1"], obs["time"].min(), obs["time"].max(), now=NOW)
    found = {a["parameter"]: a for a in _alarms(store)}
    assert (found["Leq"]["peak"], found["Leq"]["limit_value"], found["Leq"]["periods"]) == (
        57.0, 55.0, 1,
    )  # fmt: skip
    assert (found["LMx"]["peak"], found["LMx"]["limit_value"], found["LMx"]["periods"]) == (
        66.0, 65.0, 1,
    )  # fmt: skip
    evidence = json.loads(str(found["Leq"]["evidence"]))
    assert evidence["limit_source"]["standard_id"] == "GB 12348-2008"
    assert evidence["zone_class"] == "4"
    assert "厂界" in evidence["limit_source"]["source_category"]
    assert json.loads(str(found["LMx"]["evidence"]))["limit_source"]["clause"] == "§4.1.2"
    assert "night limit + 10 dB(A)" in json.loads(str(found["LMx"]["evidence"]))["rule"]


def test_an_enterprise_boundary_reporting_occasional_sudden_noise_gets_15_db(store: Store) -> None:
    frame = pd.DataFrame(
        [{"site_id": "EB2", "kind": "noise_station", "level": "city", "city_code": 510100,
          "name_zh": "厂界", "name_en": "factory boundary", "lon": 104.0, "lat": 30.6,
          "attributes": {"zone_class": "2", "boundary": "enterprise",
                         "night_sudden_noise": "occasional"}}]
    )  # fmt: skip
    store.upsert_sites(frame, source="test")
    obs = pd.DataFrame(
        [
            {**_hour("2026-07-02 02:00", "LMx", 64.0), "site_id": "EB2"},  # ≤ 50 + 15
            {**_hour("2026-07-02 03:00", "LMx", 65.5), "site_id": "EB2"},  # > 50 + 15
        ]
    )
    store.write_observations(obs, store.begin_batch("test", "enterprise"))
    recompute_alarms(store, ["EB2"], obs["time"].min(), obs["time"].max(), now=NOW)
    [alarm] = _alarms(store)
    assert (alarm["parameter"], alarm["peak"], alarm["limit_value"]) == ("LMx", 65.5, 65.0)


def test_a_station_day_below_the_valid_data_rate_is_one_alarm(store: Store) -> None:
    # 07-01 complete (24 valid hours); 07-02: 17 valid of 24 (< 0.75 · 24 = 18) and one hour
    # flagged D (invalid); 07-03 holds 18 valid: enough; 07-04 has only begun (not judged)
    ends = pd.date_range("2026-07-01T01:00", "2026-07-04T03:00", freq="h", tz="Asia/Shanghai")
    rows = []
    for t in ends:
        day, label = (t - pd.Timedelta(minutes=1)).date(), t.hour or 24
        if str(day) == "2026-07-02" and label > 18:
            continue  # 18 hours stored, 07-02 19:00 … 24:00 missing
        if str(day) == "2026-07-03" and label > 18:
            continue
        row = _hour(f"{t:%Y-%m-%d %H:%M}", "Leq", 48.0)
        if str(day) == "2026-07-02" and label == 5:
            row["flag"] = "D"
        rows.append(row)
    obs = pd.DataFrame(rows)
    store.write_observations(obs, store.begin_batch("test", "vdr"))
    now = datetime(2026, 7, 4, 0, 30, tzinfo=UTC)  # 08:30 CST of 07-04
    recompute_alarms(store, ["NZ1"], obs["time"].min(), obs["time"].max(), now=now)
    found = _sql.frame(
        store, "SELECT * FROM alarms WHERE kind = 'low_valid_rate' ORDER BY start_time"
    ).to_dict("records")
    assert len(found) == 1
    [alarm] = found
    assert pd.Timestamp(alarm["start_time"]) == pd.Timestamp("2026-07-02", tz="Asia/Shanghai")
    assert pd.Timestamp(alarm["end_time"]) == pd.Timestamp("2026-07-03", tz="Asia/Shanghai")
    assert (alarm["status"], alarm["periods"], alarm["limit_value"]) == ("closed", 17, 0.75)
    evidence = json.loads(str(alarm["evidence"]))
    assert evidence["valid_rate"] == round(17 / 24, 4) and evidence["day"] == "2026-07-02"
    assert evidence["missing_labels"] == [
        "05:00",
        "19:00",
        "20:00",
        "21:00",
        "22:00",
        "23:00",
        "24:00",
    ]
    assert (evidence["day_valid_hours"], evidence["night_valid_hours"]) == (12, 5)
    # recomputing the same window changes nothing (a stable id)
    again = recompute_alarms(store, ["NZ1"], obs["time"].min(), obs["time"].max(), now=now)
    assert again.counts["inserted"] == 0


def test_the_station_page_of_an_enterprise_boundary_shows_gb_12348(store: Store) -> None:
    # a factory boundary in a 4b zone: GB 3096 would say night 60, Lmax 75 (all passing here);
    # GB 12348-2008 class 4 says night 55, frequent sudden noise ≤ 65
    from ecobasin.services.noise import station_profile

    frame = pd.DataFrame(
        [{"site_id": "EB3", "kind": "noise_station", "level": "city", "city_code": 510100,
          "name_zh": "厂界", "name_en": "factory boundary", "lon": 104.0, "lat": 30.6,
          "attributes": {"zone_class": "4b", "purpose": "厂界"}}]
    )  # fmt: skip
    store.upsert_sites(frame, source="test")
    rows = [
        {**_hour("2026-07-02 10:00", "Leq", 68.0), "site_id": "EB3"},
        {**_hour("2026-07-02 02:00", "Leq", 57.0), "site_id": "EB3"},
        {**_hour("2026-07-02 03:00", "Leq", 50.0), "site_id": "EB3"},
        {**_hour("2026-07-02 03:00", "LMx", 66.0), "site_id": "EB3"},
    ]
    store.write_observations(pd.DataFrame(rows), store.begin_batch("test", "page"))
    page = station_profile(store, "EB3", "2026-07-02")
    assert page["standard"] == "GB 12348-2008"
    assert (page["day_limit"], page["night_limit"], page["night_lmax_limit"]) == (70.0, 55.0, 65.0)
    assert (page["day_pass"], page["night_pass"]) == (True, False)
    assert page["lmax_events"] == [{"label": "03:00", "LMx": 66.0}]
