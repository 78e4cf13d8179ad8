"""Shared set-up of the alarm tests: a real DuckDB store with enterprise outlets and an air
station, and helpers that build observation frames."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ecobasin.store import Store
from store_files import built_store_file, new_synced_store_file

#: The instant of the hour-ending label 2024-03-01 00:00 CST; hour h ends at T0 + h hours.
T0 = pd.Timestamp("2024-02-29T16:00Z")
HOUR = pd.Timedelta(hours=1)

SITES = pd.DataFrame(
    [
        ("GAS1", "gas_outlet", "enterprise", 510100, "一号烟囱", "Stack 1",
         {"source_category": "coal_boiler_ultra_low"}),
        ("GAS2", "gas_outlet", "enterprise", 510600, "二号烟囱", "Stack 2",
         {"source_category": "thermal_power_coal_new", "limits": {"FG_SO2_Zs": 30}}),
        ("WW1", "water_outlet", "enterprise", 510100, "城北污水厂", "North WWTP",
         {"source_category": "municipal_wwtp_minjiang_tuojiang"}),
        ("AIR1", "air_station", "national", 510100, "测试站", "Test station", None),
    ],
    columns=["site_id", "kind", "level", "city_code", "name_zh", "name_en", "attributes"],
)  # fmt: skip
SITES["lon"] = None
SITES["lat"] = None


def register_converted_parameters(store: Store) -> None:
    """Stopgap until ``catalog/data/parameters.csv`` lists the converted (折算) flue-gas ids:
    add ``<id>_Zs`` rows, copied from the flue-gas rows, to the store's registry."""
    store.con.execute(
        "INSERT INTO parameters (parameter, domain, hj212_2017, hj212_2005, name_zh, name_en, "
        "unit, min_value, max_value, decimals) "
        "SELECT parameter || '_Zs', domain, NULL, NULL, name_zh || '（折算）', "
        "name_en || ' (converted to reference O2)', unit, min_value, max_value, decimals "
        "FROM parameters WHERE domain = 'flue_gas' AND parameter IN ('FG_SO2', 'FG_NOx', "
        "'FG_dust') AND parameter || '_Zs' NOT IN (SELECT parameter FROM parameters)"
    )


def build_store(path: Path) -> Path:
    """A new store with the region's catalog and the test sites."""
    return built_store_file(path, "alarm sites", _sites_store)


def _sites_store(path: Path) -> None:
    with Store(new_synced_store_file(path)) as store:
        register_converted_parameters(store)
        store.upsert_sites(SITES, "tests")


def series(
    site: str,
    parameter: str,
    values: Sequence[float | None],
    *,
    period: str = "1h",
    start: pd.Timestamp = T0,
    step: pd.Timedelta = HOUR,
    flags: Sequence[str | None] | None = None,
) -> pd.DataFrame:
    """Observations at start + step, start + 2 step, …"""
    n = len(values)
    frame = pd.DataFrame(
        {
            "site_id": site,
            "parameter": parameter,
            "period": period,
            "time": [start + step * (i + 1) for i in range(n)],
            "value": [float("nan") if v is None else float(v) for v in values],
            "flag": list(flags) if flags is not None else [None] * n,
        }
    )
    frame["time"] = frame["time"].astype("datetime64[us, UTC]")
    return frame


def write(store: Store, frame: pd.DataFrame) -> None:
    store.write_observations(frame, store.begin_batch("test", "tests"))
