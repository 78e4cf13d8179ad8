"""The live demo: the refresh after gateway writes, and the gateway with simulated enterprises
inside the web app (real store, real sockets, real app lifespan)."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
from fastapi.testclient import TestClient

from ecobasin import catalog
from ecobasin.gateway import load_devices
from ecobasin.jobs.live import LiveRefresh
from ecobasin.jobs.live_feed import LiveFeed, enterprise_fleet, register_fleet
from ecobasin.store import Store, _sql
from ecobasin.web import create_app

REGION = catalog.load_region()
STATION = pd.DataFrame(
    [("A", "air_station", "national", 510100, "甲", "A", 104.0, 30.6)],
    columns=["site_id", "kind", "level", "city_code", "name_zh", "name_en", "lon", "lat"],
)


def _hourly_pm25(store: Store, value: float) -> tuple[pd.Timestamp, pd.Timestamp]:
    # CST day 2025-01-10: hour-ending instants 2025-01-09T17:00Z … 2025-01-10T16:00Z
    times = pd.date_range("2025-01-09T17:00Z", periods=24, freq="h")
    frame = pd.DataFrame(
        {"site_id": "A", "parameter": "PM2.5", "period": "1h", "time": times, "value": value}
    )
    frame["flag"] = None
    frame["time"] = frame["time"].astype("datetime64[us, UTC]")
    store.write_observations(frame, batch_id=store.begin_batch("test", "live"))
    return times[0], times[-1]


def test_refresh_recomputes_aqi_of_the_touched_days_and_batches_calls(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        store.sync_catalog(REGION)
        store.upsert_sites(STATION, source="test")
        start, end = _hourly_pm25(store, 115.0)
        refresh = LiveRefresh(every=3600.0)
        refresh(store, {"A"}, start.to_pydatetime(), end.to_pydatetime())  # first call runs
        # PM2.5 1-h 115 µg/m³: IAQI = 150 + (200-150)/(150-115)*(115-115) = 150 (HJ 633-2012 Table 1)
        hourly = _sql.frame(
            store, "SELECT aqi FROM aqi_hourly WHERE scope = 'site' AND aqi IS NOT NULL"
        )
        assert set(hourly["aqi"]) == {150}
        _hourly_pm25(store, 150.0)
        refresh(store, {"A"}, start.to_pydatetime(), end.to_pydatetime())  # within `every`: waits
        assert set(
            _sql.frame(store, "SELECT aqi FROM aqi_hourly WHERE aqi IS NOT NULL")["aqi"]
        ) >= {150}
        assert refresh.runs == 1
        refresh.flush(store)
        # 150 µg/m³ is the PM2.5 breakpoint of IAQI 200 (HJ 633-2012 Table 1)
        assert set(
            _sql.frame(
                store, "SELECT aqi FROM aqi_hourly WHERE scope = 'site' AND aqi IS NOT NULL"
            )["aqi"]
        ) == {200}
        assert refresh.runs == 2


def test_enterprise_fleet_has_no_air_stations_and_is_registered(tmp_path: Path) -> None:
    feed = LiveFeed(enterprises=5, seed=7)
    fleet = enterprise_fleet(feed, REGION)
    assert len(fleet) == 5 and {d.kind for d in fleet} <= {"gas_outlet", "water_outlet"}
    with Store(tmp_path / "s.duckdb") as store:
        store.sync_catalog(REGION)
        assert register_fleet(store, feed, REGION) == 5
        assert set(load_devices(store)) == {d.mn for d in fleet}


def test_the_app_runs_the_gateway_and_stores_what_simulated_enterprises_send(
    tmp_path: Path,
) -> None:
    db = tmp_path / "live.duckdb"
    feed = LiveFeed(gateway_port=0, enterprises=3, seed=11, refresh_every=0.5, speedup=120.0)
    with Store(db) as store:
        store.sync_catalog(REGION)
        register_fleet(store, feed, REGION)
        outlets = set(store.sites(kinds=["gas_outlet", "water_outlet"])["site_id"])
    with TestClient(create_app(db, REGION, live=feed)) as client:
        live = client.app.state.live  # type: ignore[attr-defined]
        deadline = time.monotonic() + 120  # bounded wait, not a speed assertion
        while live.gateway.stats.stored == 0 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert live.gateway.stats.stored > 0
        assert live.stats.acked > 0
    assert (tmp_path / "live.duckdb.rawlog").is_dir()  # acknowledged frames are in the raw log
    with Store(db, read_only=True) as store:
        stored = store.observations(sites=sorted(outlets))
        assert len(stored) > 0 and set(stored["site_id"]) <= outlets
