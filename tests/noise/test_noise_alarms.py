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

from ecobasin import catalog
from ecobasin.jobs.alarms import recompute_alarms
from ecobasin.store import Store, _sql

NOW = datetime(2026, 7, 3, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path):
    store = Store(tmp_path / "alarms.duckdb")
    store.sync_catalog(catalog.load_region())
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
