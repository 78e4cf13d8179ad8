"""A small real DuckDB store of issued forecasts whose verification scores are checked by hand
(tests/services/test_forecast_verification.py, tests/web/test_forecast_verification_api.py):
ten target days of Chengdu PM2.5 (AQI 50, 150 or 300 exactly, HJ 633-2012 Table 1: 35 → 50,
115 → 150, 250 → 300), forecasts issued the day before, one earlier January of 100 µg/m³ for the
climatology; and synthetic city hours for the stored hourly forecasts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from ecobasin.store import Store
from ecobasin.store import forecast as store_forecast
from store_files import built_store_file, new_synced_store_file

CHENGDU = "510100"
FIRST_TARGET = date(2016, 1, 11)
#: Observed PM2.5 on the issue day of the first target (2016-01-10), then on the ten targets.
OBSERVED = [35, 35, 115, 115, 35, 250, 35, 115, 35, 35, 250]
#: Their AQI (HJ 633-2012, PM2.5 24-h IAQI): 35 → 50, 115 → 150, 250 → 300.
AQI_OF = {35: 50, 115: 150, 250: 300}
#: The issued day +1 AQI of the ten targets.
ISSUED_AQI = [50, 150, 50, 150, 300, 50, 150, 50, 150, 50]
#: The issued PM2.5: 150 µg/m³ too high every day, worse than persistence on purpose.
PM25_ERROR = 150.0
CLIMATOLOGY = 100.0  # every day of January 2015


def level_of(aqi: float) -> int:
    return 1 if aqi <= 50 else 3 if aqi <= 150 else 5


def insert_daily(store: Store, days: list[date], pm25: list[float]) -> None:
    frame = pd.DataFrame(
        {
            "scope": "site",
            "scope_id": "T001A",
            "day": days,
            "rule_set": "HJ633-2012",
            "pm25": pm25,
            "publish_aqi": True,
            "incomplete": False,
            "over_range": False,
            "computed_at": datetime(2016, 2, 1, tzinfo=UTC),
        }
    )
    store.con.register("daily_in", frame)
    store.con.execute(
        "INSERT INTO aqi_daily (scope, scope_id, day, rule_set, pm25, publish_aqi, incomplete, "
        "over_range, computed_at) SELECT scope, scope_id, day::DATE, rule_set, pm25, "
        "publish_aqi, incomplete, over_range, computed_at FROM daily_in"
    )
    store.con.unregister("daily_in")


def forecast_rows() -> pd.DataFrame:
    rows = []
    for k, aqi in enumerate(ISSUED_AQI):
        target = FIRST_TARGET + timedelta(days=k)
        common = {
            "issue_day": target - timedelta(days=1),
            "issued_at": datetime(2016, 1, 1, tzinfo=UTC) + timedelta(days=k),
            "scope": "city",
            "scope_id": CHENGDU,
            "target_day": target,
            "lead": 1,
            "model": "lightgbm:t",
            "with_meteorology": False,
            "author": "tester",
        }
        rows.append(
            {
                **common,
                "parameter": "AQI",
                "value": aqi,
                "lower": aqi - 20,
                "upper": aqi + 20,
                "level": level_of(aqi),
                "primary_pollutant": "PM2.5" if aqi > 50 else "",
                "rule_set": "HJ633-2012",
            }
        )
        observed = OBSERVED[k + 1]
        rows.append({**common, "parameter": "PM2.5", "value": observed + PM25_ERROR})
    return pd.DataFrame(rows)


def build_store(path: Path) -> Path:
    """The store of the module docstring at ``path`` (a copy of the one made once per
    process)."""
    return built_store_file(path, "forecast verification", _verification_store)


def _verification_store(path: Path) -> None:
    with Store(new_synced_store_file(path)) as store:  # the default region: chengdu_plain
        store.con.execute(
            "INSERT INTO sites (site_id, kind, level, city_code, updated_at) "
            "VALUES ('T001A', 'air_station', 'national', 510100, now())"
        )
        january = [date(2015, 1, 1) + timedelta(days=k) for k in range(31)]
        insert_daily(store, january, [CLIMATOLOGY] * 31)
        days = [FIRST_TARGET - timedelta(days=1) + timedelta(days=k) for k in range(11)]
        insert_daily(store, days, [float(v) for v in OBSERVED])
        store_forecast.replace_forecasts(store, forecast_rows())


#: First local day of the synthetic city hours and how many days they cover.
HOURS_FROM = date(2016, 1, 1)
HOURS_DAYS = 100


def insert_city_hours(store: Store, city: str = CHENGDU, days: int = HOURS_DAYS) -> None:
    """Seeded city hours of the six pollutants (``aqi_hourly``, scope city, HJ633-2012): a
    diurnal cycle and day-to-day noise, enough history for the hourly model."""
    rng = np.random.default_rng(7)
    ends = pd.date_range(
        pd.Timestamp(HOURS_FROM).tz_localize("Asia/Shanghai") + pd.Timedelta(hours=1),
        periods=days * 24,
        freq="h",
    ).tz_convert("UTC")
    hour = ((np.arange(days * 24)) % 24).astype(float)
    day_level = np.repeat(rng.gamma(4.0, 12.0, days), 24)
    cycle = 1 + 0.3 * np.cos(2 * np.pi * (hour - 8) / 24)
    pm25 = np.round(day_level * cycle + rng.normal(0, 3, days * 24).clip(-10, 10), 0).clip(2)
    o3 = np.round(
        60 + 50 * np.sin(2 * np.pi * (hour - 9) / 24).clip(0) + rng.normal(0, 5, days * 24), 0
    ).clip(2)
    frame = pd.DataFrame(
        {
            "scope": "city",
            "scope_id": city,
            "time": ends,
            "rule_set": "HJ633-2012",
            "pm25_1h": pm25,
            "pm10_1h": np.round(pm25 * 1.6, 0),
            "o3_1h": o3,
            "no2_1h": np.round(30 + 10 * cycle, 0),
            "so2_1h": np.full(days * 24, 8.0),
            "co_1h": np.round(0.8 * cycle, 1),
            "publish_aqi": True,
            "incomplete": False,
            "over_range": False,
            "computed_at": datetime(2016, 6, 1, tzinfo=UTC),
        }
    )
    store.con.register("hours_in", frame)
    store.con.execute(
        "INSERT INTO aqi_hourly (scope, scope_id, time, rule_set, pm25_1h, pm10_1h, o3_1h, "
        "no2_1h, so2_1h, co_1h, publish_aqi, incomplete, over_range, computed_at) "
        "SELECT scope, scope_id, time, rule_set, pm25_1h, pm10_1h, o3_1h, no2_1h, so2_1h, "
        "co_1h, publish_aqi, incomplete, over_range, computed_at FROM hours_in"
    )
    store.con.unregister("hours_in")
