"""The alarm refresh on a real DuckDB store: idempotent, open episodes extended and closed in
place, permit limits imported into the store, the device registry's interval."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from alarm_helpers import T0, build_store, series, write

from ecobasin.jobs.alarms import recompute_alarms, refresh_alarms
from ecobasin.store import Store
from ecobasin.store import alarms as store_alarms
from ecobasin.store import gateway as store_gateway

H = pd.Timedelta(hours=1)
HOURLY = [34.0, 35.0, 35.1, 40.0, 35.0, 36.0, 35.0, 34.9, 70.0, 71.0, 72.0, 33.0]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    path = build_store(tmp_path / "alarms.duckdb")
    with Store(path) as opened:
        yield opened


def stored(store: Store, kind: str = "over_limit") -> pd.DataFrame:
    frame = store_alarms.alarms(store, store_alarms.AlarmFilter(kinds=[kind]))
    return frame.sort_values("start_time").reset_index(drop=True)


def test_refresh_twice_changes_nothing(store: Store) -> None:
    frame = series("GAS1", "FG_SO2_Zs", HOURLY)
    write(store, frame)
    now = T0 + 12 * H
    first = recompute_alarms(store, {"GAS1"}, frame["time"].min(), frame["time"].max(), now=now)
    assert first.counts["inserted"] == 3
    before = stored(store)
    second = recompute_alarms(store, {"GAS1"}, frame["time"].min(), frame["time"].max(), now=now)
    assert second.counts == {"inserted": 0, "updated": 0, "unchanged": 3, "removed": 0}
    after = stored(store)
    pd.testing.assert_frame_equal(before, after)
    assert after["start_time"].tolist() == [T0 + 2 * H, T0 + 5 * H, T0 + 8 * H]
    assert after["end_time"].tolist() == [T0 + 4 * H, T0 + 6 * H, T0 + 11 * H]
    assert after["city_code"].tolist() == [510100] * 3
    assert after["site_name_zh"].tolist() == ["一号烟囱"] * 3


def test_open_episode_is_extended_then_closed_never_duplicated(store: Store) -> None:
    later = pd.Timestamp("2024-03-01T12:00Z")
    steps = [([30.0, 40.0], "open"), ([45.0, 50.0], "open"), ([20.0], "closed")]
    written = 0
    ids, created = set(), set()
    for values, status in steps:
        frame = series("GAS1", "FG_SO2_Zs", values, start=T0 + written * H)
        written += len(values)
        write(store, frame)
        refresh_alarms(store, {"GAS1"}, frame["time"].min(), frame["time"].max(), now=later)
        found = stored(store)
        assert len(found) == 1 and found["status"][0] == status
        ids.add(found["alarm_id"][0])
        created.add(found["created_at"][0])
    final = stored(store).iloc[0]
    assert len(ids) == 1  # the same episode all along
    assert final["start_time"] == T0 + H and final["end_time"] == T0 + 4 * H
    assert final["periods"] == 3 and final["peak"] == 50.0
    assert len(created) == 1 and final["updated_at"] >= final["created_at"]


def test_backfill_before_an_episode_merges_it(store: Store) -> None:
    now = pd.Timestamp("2024-03-02T00:00Z")
    late = series("GAS1", "FG_SO2_Zs", [40.0, 41.0, 20.0], start=T0 + 2 * H)
    write(store, late)
    recompute_alarms(store, {"GAS1"}, late["time"].min(), late["time"].max(), now=now)
    assert stored(store)["start_time"].tolist() == [T0 + 2 * H]
    early = series("GAS1", "FG_SO2_Zs", [20.0, 39.0])  # hour 2 over: joins hours 3-4
    write(store, early)
    recompute_alarms(store, {"GAS1"}, early["time"].min(), early["time"].max(), now=now)
    found = stored(store)
    assert found["start_time"].tolist() == [T0 + H] and found["periods"].tolist() == [3]


def test_imported_permit_limit_applies(store: Store) -> None:
    permits = pd.DataFrame(
        {"site_id": ["GAS1"], "parameter": ["FG_SO2_Zs"], "limit": [60.0], "unit": ["mg/m³"],
         "basis": [""], "permit_id": ["P-7"], "note": [""]}
    )  # fmt: skip
    counts = store_alarms.replace_permit_limits(store, permits, "permits.csv")
    assert (counts.inserted, counts.replaced) == (1, 0)
    frame = series("GAS1", "FG_SO2_Zs", HOURLY)
    write(store, frame)
    recompute_alarms(store, {"GAS1"}, frame["time"].min(), frame["time"].max(), now=T0 + 12 * H)
    found = stored(store)
    assert found["start_time"].tolist() == [T0 + 8 * H]  # only 70-72 are above 60
    assert found["limit_value"].tolist() == [60.0]


def test_silence_uses_the_device_registry(store: Store) -> None:
    device = pd.DataFrame(
        {"mn": ["MN0001"], "password": ["123456"], "site_id": ["AIR1"], "protocol": ["2017"],
         "crc_mode": ["hj212"], "enabled": [True], "interval_s": [60]}
    )  # fmt: skip
    store_gateway.upsert_devices(store, device)
    frame = series("AIR1", "PM2.5", [10.0, 11.0, 12.0], step=pd.Timedelta(minutes=1))
    write(store, frame)
    now = T0 + pd.Timedelta(minutes=10)  # last reading T0+3 min; 7 min > 3 × 60 s
    recompute_alarms(store, {"AIR1"}, frame["time"].min(), frame["time"].max(), now=now)
    found = stored(store, "silent")
    assert found["start_time"].tolist() == [T0 + pd.Timedelta(minutes=3)]
    assert found["status"].tolist() == ["open"]
    minute = pd.Timedelta(minutes=1)
    more = series("AIR1", "PM2.5", [13.0], start=T0 + 11 * minute, step=minute)
    write(store, more)
    at = T0 + 13 * minute  # 1 min after the new reading: not silent again
    recompute_alarms(store, {"AIR1"}, more["time"].min(), more["time"].max(), now=at)
    closed = stored(store, "silent")
    assert closed["status"].tolist() == ["closed"]
    assert closed["end_time"].tolist() == [T0 + 12 * minute]
    recompute_alarms(store, {"AIR1"}, more["time"].min(), more["time"].max(), now=at + H)
    assert stored(store, "silent")["status"].tolist() == ["closed", "open"]
