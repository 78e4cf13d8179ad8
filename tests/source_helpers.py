"""A small real DuckDB file for the source-analysis tests (issue 19): station OWN with its own wind
and a synthetic PM2.5 source in the east, NEAR without wind 5 km from the micro-station MET that
measures it, FAR beyond 50 km of any wind (the city's imported meteorology), and an enterprise
outlet the public may not read. 40 days of hours from 2025-01-01 (CST)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from ecobasin import catalog
from ecobasin.store import Store

DAYS = 40
START, END = date(2025, 1, 1), date(2025, 2, DAYS - 31)
SOURCE_FROM = 90.0  # a synthetic source east of station OWN


def _site(site_id: str, kind: str, lon: float, lat: float) -> dict[str, object]:
    return {"site_id": site_id, "kind": kind, "level": "city", "city_code": 510100,
            "name_zh": f"站{site_id}", "name_en": f"Station {site_id}", "lon": lon, "lat": lat,
            "attributes": None}  # fmt: skip


def _times() -> pd.DatetimeIndex:
    ends = pd.date_range("2025-01-01T01:00", periods=DAYS * 24, freq="h", tz="Asia/Shanghai")
    return ends.tz_convert("UTC")


def _wind(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    wd = rng.integers(1, 37, len(_times())) * 10.0
    ws = np.round(rng.gamma(2.0, 1.5, len(_times())), 1)
    return wd, ws


def _rows(site: str, parameter: str, values: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"site_id": site, "parameter": parameter, "period": "1h",
                         "time": _times(), "value": values, "flag": None})  # fmt: skip


def build(path: Path) -> None:
    with Store(path) as store:
        store.sync_catalog(catalog.load_region())
        sites = pd.DataFrame([
            _site("OWN", "air_station", 104.06, 30.66),
            _site("NEAR", "air_station", 104.10, 30.70),
            _site("MET", "micro_station", 104.12, 30.71),  # 2 km from NEAR, measures wind
            _site("FAR", "air_station", 105.50, 30.10),  # > 50 km from MET: imported wind
            _site("OUTLET", "gas_outlet", 104.07, 30.66),
        ])  # fmt: skip
        store.upsert_sites(sites, source="test")
        wd, ws = _wind(1)
        off = np.radians((wd - SOURCE_FROM + 180) % 360 - 180)
        conc = np.round(20 + 100 * np.exp(-(off**2) / 0.1) * (ws > 1), 1)
        met_wd, met_ws = _wind(2)
        frames = [
            _rows("OWN", "PM2.5", conc), _rows("OWN", "wind_direction", wd),
            _rows("OWN", "wind_speed", ws), _rows("NEAR", "PM2.5", conc),
            _rows("MET", "wind_direction", met_wd), _rows("MET", "wind_speed", met_ws),
            _rows("FAR", "PM2.5", conc), _rows("OUTLET", "PM2.5", conc),
        ]  # fmt: skip
        store.write_observations(pd.concat(frames), store.begin_batch("test", "source"))
        met = pd.DataFrame({
            "city_code": 510100, "parameter": ["wind_speed"] * len(_times())
            + ["wind_direction"] * len(_times()), "period": "1h",
            "time": list(_times()) * 2, "value": np.concatenate([ws, wd]),
        })  # fmt: skip
        store.write_meteorology(met, source="test met")


#: station OWN's position [°E, °N] (where its back-trajectories start)
OWN_AT = (104.06, 30.66)


def tdump_text(
    arrivals: list[pd.Timestamp],
    bearing_of: dict[pd.Timestamp, float],
    hours: int = 24,
    height: float = 500.0,
) -> str:
    """A HYSPLIT tdump file of back-trajectories arriving at station OWN: trajectory k arrives
    at ``arrivals[k]`` (UTC) and comes from ``bearing_of[arrival]`` [°, from north], 0.15° per
    hour back in a straight line (the endpoint layout of the HYSPLIT user's guide)."""
    lines = ["     1     1", "    GDAS     25     1     1     0     0",
             f"{len(arrivals):6d} BACKWARD OMEGA"]  # fmt: skip
    for t in arrivals:
        lines.append(f"{t.year % 100:6d}{t.month:6d}{t.day:6d}{t.hour:6d}"
                     f"{OWN_AT[1]:9.3f}{OWN_AT[0]:9.3f}{height:9.1f}")  # fmt: skip
    lines.append("     1 PRESSURE")
    for k, t in enumerate(arrivals, start=1):
        bearing = np.radians(bearing_of[t])
        for age in range(hours + 1):
            at = t - pd.Timedelta(hours=age)
            lat = OWN_AT[1] + 0.15 * age * np.cos(bearing)
            lon = OWN_AT[0] + 0.15 * age * np.sin(bearing)
            lines.append(f"{k:6d}{1:6d}{at.year % 100:6d}{at.month:6d}{at.day:6d}{at.hour:6d}"
                         f"{0:6d}{0:6d}{-float(age):8.1f}{lat:9.3f}{lon:9.3f}{height:9.1f}"
                         f"{900.0:9.1f}")  # fmt: skip
    return "\n".join(lines) + "\n"
