"""The "AQI pending" marks (ecobasin.store.aqi_pending) are kept for the sites that get an AQI
(air stations, HJ 633-2012 §5): a water section or an outlet imported in the same run has no
AQI to compute, so it must not be marked (the demo build left 6,305 water station-days marked,
and every next command announced an AQI computation for them)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from ecobasin import catalog
from ecobasin.store import Store, aqi_pending

SITES = pd.DataFrame(
    [
        ("AIR1", "air_station", "national", 510100, "测试站", "Test station"),
        ("WS1", "water_section", "national", 510100, "测试断面", "Test section"),
        ("GAS1", "gas_outlet", "enterprise", 510100, "一号烟囱", "Stack 1"),
    ],
    columns=["site_id", "kind", "level", "city_code", "name_zh", "name_en"],
)
SITES["lon"] = None
SITES["lat"] = None
SITES["attributes"] = None


def test_only_air_stations_are_marked_pending(tmp_path: Path) -> None:
    day = date(2025, 1, 2)
    with Store(tmp_path / "pending.duckdb") as store:
        store.sync_catalog(catalog.load_region())
        store.upsert_sites(SITES, "tests")
        aqi_pending.mark_aqi_pending(store, [("AIR1", day), ("WS1", day), ("GAS1", day)])
        pending = aqi_pending.pending_aqi_site_days(store)
    assert list(pending["site_id"]) == ["AIR1"]
    assert list(pending["day"]) == [day]
