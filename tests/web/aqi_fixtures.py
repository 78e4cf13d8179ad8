"""A small air-quality store for the air API tests: hand-made hourly observations of three
CST days of January 2025 (HJ 633-2012 rules), imported and indexed by the real job.

Constant concentrations [µg/m³] (CO [mg/m³]) of each station, every hour:

* A (Chengdu): SO2 10, NO2 40, CO 1.0, O3 100, PM10 100, PM2.5 57 → daily AQI 78 (PM2.5,
  50 + 50/40·22 = 77.5 → 78, HJ 633-2012 Table 1), level 2 良 Good.
* B (Chengdu): as A with PM2.5 64 (→ 87); on the third day PM2.5 150
  (→ 150 + 50/35·35 = 200, level 4 中度污染).
* C (Deyang): as A with PM10 60 (→ 50 + 50/100·10 = 55), PM2.5 30 (→ 30·50/35 = 42.86 → 43):
  daily AQI 55, primary PM10.
* D (Deyang): an air station without any data.
* M (Chengdu): a micro-station (PM2.5 300): not an assessment station, never on the map.

City daily values are the means of the stations' daily values, rounded (GB/T 8170), then
indexed (HJ 663-2013 §5): Chengdu PM2.5 mean(57, 64) = 60.5 → 60 → 50 + 1.25·25 = 81.25 → 82
on the first two days; mean(57, 150) = 103.5 → 104 → 100 + 50/40·29 = 136.25 → 137 (level 3
轻度污染) on the third. Deyang = C: 55.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from ecobasin import catalog
from ecobasin.ingest import importer
from ecobasin.jobs import refresh_air_quality
from ecobasin.store import Store

CHENGDU, DEYANG = 510100, 510600
SITES = pd.DataFrame(
    [
        ("A", "air_station", "national", CHENGDU, "甲站", "Station A", 104.0, 30.6),
        ("B", "air_station", "national", CHENGDU, "乙站", "Station B", 104.1, 30.7),
        ("C", "air_station", "national", DEYANG, "丙站", "Station C", 104.4, 31.1),
        ("D", "air_station", "national", DEYANG, "丁站", "Station D", 104.5, 31.2),
        ("M", "micro_station", "city", CHENGDU, "微站", "Micro M", 104.0, 30.6),
    ],
    columns=["site_id", "kind", "level", "city_code", "name_zh", "name_en", "lon", "lat"],
)
AIR_STATIONS = ("A", "B", "C", "D")
BASE = {"SO2": 10.0, "NO2": 40.0, "CO": 1.0, "O3": 100.0, "PM10": 100.0, "PM2.5": 57.0}
LEVELS: dict[str, dict[str, float]] = {
    "A": BASE,
    "B": {**BASE, "PM2.5": 64.0},
    "C": {**BASE, "PM10": 60.0, "PM2.5": 30.0},
    "M": {"PM2.5": 300.0},
}
DAYS = (date(2025, 1, 9), date(2025, 1, 10), date(2025, 1, 11))
#: (station, parameter, day) → value, overriding LEVELS.
OVERRIDES = {("B", "PM2.5", date(2025, 1, 11)): 150.0}
#: The latest hour of the data: 2025-01-11 24:00 CST.
LATEST_HOUR = pd.Timestamp("2025-01-11T16:00Z")


def day_hours(day: date) -> pd.DatetimeIndex:
    """The 24 hour-ending UTC instants of a CST day (labels 01:00 … 24:00)."""
    first = pd.Timestamp(day).tz_localize("Asia/Shanghai") + pd.Timedelta(hours=1)
    return pd.date_range(first, periods=24, freq="h").tz_convert("UTC")


def candidates(days: tuple[date, ...], levels: dict[str, dict[str, float]]) -> pd.DataFrame:
    """Candidate rows, as a reader returns them, for the importer."""
    rows = []
    for day in days:
        for site, values in levels.items():
            for parameter, value in values.items():
                v = OVERRIDES.get((site, parameter, day), value)
                rows.extend((site, parameter, "1h", t, v) for t in day_hours(day))
    frame = pd.DataFrame(rows, columns=["site_id", "parameter", "period", "time", "value"])
    return frame.assign(raw_value=None, unit=None, flag=None, line=frame.index + 1, field="test")


def import_and_index(
    store: Store, days: tuple[date, ...], levels: dict[str, dict[str, float]]
) -> None:
    """Import hourly observations and recompute the AQI of the days they touch."""
    frame = candidates(days, levels)
    report = importer.import_frames(store, [(frame, {"source": f"test {days[0]}"})], "test")
    refresh_air_quality(store, report.touched_frame())


def build_air_store(path: Path) -> Path:
    """Write the data set above to a new DuckDB file at ``path``."""
    with Store(path) as store:
        store.sync_catalog(catalog.load_region())
        store.upsert_sites(SITES, source="test")
        import_and_index(store, DAYS, LEVELS)
    return path
