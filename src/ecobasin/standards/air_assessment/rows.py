"""Hourly and daily AQI rows of stations and cities from hourly concentrations (no I/O).

* **Station hourly (real-time report).** HJ 633-2012 §5.1.3 for hours of CST days before
  2026-03-01: SO2, NO2, CO, O3 1-h values, the O3 8-h moving mean (≥ 6 valid hours) and the
  PM10 / PM2.5 24-h moving means (≥ 20 valid hours, GB 3095-2012 Table 4); SO2 1-h above 800
  uses the SO2 24-h moving mean (Table 1 note 2). HJ 633-2026 §4.2.3-§4.2.4 from that day on:
  the six 1-h values, PM on the daily breakpoints.
* **Station daily.** 24-h means (≥ 20 h), O3 daily maximum 8-h (17 windows ending 08:00 …
  24:00, ≥ 14 valid or above 160 µg/m³, HJ 663-2013 §6) and O3 maximum 1-h; AQI per
  HJ 633-2012 §5.1.2 (7 indicators) or HJ 633-2026 §4.2.2 (6 indicators).
* **City hourly and daily.** HJ 663-2013 §5 and HJ 633-2026 §4.2.1: every indicator
  concentration of the city is the arithmetic mean of its air stations' concentrations of that
  indicator (stations without a valid value left out), rounded per GB/T 8170, then indexed;
  never a mean or maximum of station AQIs.

Concentrations in [µg/m³], CO in [mg/m³]. The rows have the columns of the ``aqi_hourly`` and
``aqi_daily`` tables (:data:`HOURLY_COLUMNS`, :data:`DAILY_COLUMNS`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ecobasin.standards import air
from ecobasin.standards.air_assessment.days import SWITCH_DAY, cst_days
from ecobasin.standards.air_stats import DECIMALS

__all__ = [
    "DAILY_COLUMNS",
    "HOURLY_COLUMNS",
    "compute_chunk",
]

#: Real-time report indicator columns (engine name → table column).
HOURLY_CONC: dict[str, str] = {
    "SO2_1h": "so2_1h",
    "NO2_1h": "no2_1h",
    "CO_1h": "co_1h",
    "O3_1h": "o3_1h",
    "PM10_1h": "pm10_1h",
    "PM2.5_1h": "pm25_1h",
    "O3_8h_moving": "o3_8h",
    "PM10_24h_moving": "pm10_24h",
    "PM2.5_24h_moving": "pm25_24h",
    "SO2_24h_moving": "so2_24h",
}
#: Moving means: indicators of the HJ 633-2012 real-time report only.
MOVING = ("O3_8h_moving", "PM10_24h_moving", "PM2.5_24h_moving", "SO2_24h_moving")
#: Daily statistics (engine name → table column) and their valid-count columns.
DAILY_CONC: dict[str, str] = {
    "SO2": "so2",
    "NO2": "no2",
    "CO": "co",
    "PM10": "pm10",
    "PM2.5": "pm25",
    "O3_8h_max": "o3_8h",
    "O3_1h_max": "o3_1h",
}
DAILY_COUNTS: dict[str, str] = {
    "n_hours_SO2": "n_so2",
    "n_hours_NO2": "n_no2",
    "n_hours_CO": "n_co",
    "n_hours_PM10": "n_pm10",
    "n_hours_PM2.5": "n_pm25",
    "n_hours_O3": "n_o3",
    "n_o3_8h_windows": "n_o3_8h",
}
#: Station-count columns of city daily rows (daily statistic → table column).
CITY_COUNTS: dict[str, str] = {
    "SO2": "n_so2",
    "NO2": "n_no2",
    "CO": "n_co",
    "PM10": "n_pm10",
    "PM2.5": "n_pm25",
    "O3_1h_max": "n_o3",
    "O3_8h_max": "n_o3_8h",
}
#: IAQI labels of the engine → table columns.
IAQI_COLUMNS: dict[str, str] = {
    "SO2": "iaqi_so2",
    "NO2": "iaqi_no2",
    "PM10": "iaqi_pm10",
    "CO": "iaqi_co",
    "O3_1h": "iaqi_o3_1h",
    "O3_8h": "iaqi_o3_8h",
    "PM2.5": "iaqi_pm25",
}

#: AQI columns common to hourly and daily rows.
AQI_COMMON: tuple[str, ...] = (
    "rule_set",
    "aqi",
    "level",
    "primary_pollutant",
    "exceeding",
    "publish_aqi",
    "incomplete",
    "over_range",
    "iaqi_so2",
    "iaqi_no2",
    "iaqi_pm10",
    "iaqi_co",
    "iaqi_o3_1h",
    "iaqi_o3_8h",
    "iaqi_pm25",
)
#: Columns of ``aqi_hourly`` in table order.
HOURLY_COLUMNS: tuple[str, ...] = (
    "scope",
    "scope_id",
    "time",
    *AQI_COMMON,
    "so2_1h",
    "no2_1h",
    "co_1h",
    "o3_1h",
    "pm10_1h",
    "pm25_1h",
    "o3_8h",
    "pm10_24h",
    "pm25_24h",
    "so2_24h",
    "n_stations",
    "computed_at",
)
#: Columns of ``aqi_daily`` in table order.
DAILY_COLUMNS: tuple[str, ...] = (
    "scope",
    "scope_id",
    "day",
    "rule_set",
    "so2",
    "no2",
    "co",
    "pm10",
    "pm25",
    "o3_8h",
    "o3_1h",
    "n_so2",
    "n_no2",
    "n_co",
    "n_pm10",
    "n_pm25",
    "n_o3",
    "n_o3_8h",
    *AQI_COMMON[1:],
    "n_stations",
    "computed_at",
)


def _decimals(column: str) -> int:
    base = column.split("_", 1)[0]
    return DECIMALS["O3" if base.startswith("O3") else base]


def _round(values: pd.Series | npt.NDArray[Any], column: str) -> npt.NDArray[np.float64]:
    """Reported value: GB/T 8170, integers [µg/m³], CO one decimal [mg/m³] (HJ 633-2026
    §4.2.2; HJ 663-2013 §5)."""
    arr = np.asarray(values, dtype=np.float64)
    return np.asarray(air.round_gbt8170(arr, _decimals(column)), dtype=np.float64)


def _aqi_columns(report: pd.DataFrame) -> dict[str, Any]:
    """Table columns of an engine report frame (hourly_aqi / daily_aqi)."""
    out: dict[str, Any] = {
        "rule_set": report["rule_set"].astype(str).to_numpy(),
        "aqi": report["aqi"].astype("Int16").array,
        "level": report["level"].astype("Int8").array,
        "primary_pollutant": report["primary"].astype(object).to_numpy(),
        "exceeding": report["exceeding"].astype(object).to_numpy(),
        "publish_aqi": report["publish_aqi"].to_numpy(dtype=bool),
        "incomplete": report["incomplete"].to_numpy(dtype=bool),
        "over_range": report["over_range"].to_numpy(dtype=bool),
    }
    for label, column in IAQI_COLUMNS.items():
        key = f"iaqi_{label}"
        if key in report:
            out[column] = report[key].astype("Int16").array
        else:
            out[column] = pd.array([pd.NA] * len(report), dtype="Int16")
    return out


def _hourly_indicators(hourly: pd.DataFrame) -> pd.DataFrame:
    """Real-time indicator columns for both rule sets, unused moving means blanked.

    The 2012 moving means are computed over the whole frame (they need the 23 preceding
    hours); rows under HJ 633-2026 keep only the 1-h values (§4.2.3).
    """
    days = air.local_day(hourly["time"])
    old = days < SWITCH_DAY
    rule = "HJ633-2012" if bool(old.any()) else "HJ633-2026"
    ind = air.realtime_indicators(hourly, rule)
    for c in HOURLY_CONC:
        if c not in ind:
            ind[c] = np.nan
        ind[c] = ind[c].astype(np.float64)
    ind.loc[~old, list(MOVING)] = np.nan
    ind["day"] = days
    return ind


def _hourly_rows(
    ind: pd.DataFrame, scope: str, ids: pd.Series, n_stations: Any, computed_at: datetime
) -> pd.DataFrame:
    report = air.hourly_aqi(ind)
    columns: dict[str, Any] = {
        "scope": scope,
        "scope_id": ids.astype(str).to_numpy(),
        "time": pd.DatetimeIndex(ind["time"]).array,
        **_aqi_columns(report),
    }
    for src, dst in HOURLY_CONC.items():
        columns[dst] = _round(ind[src], src)
    columns["n_stations"] = pd.array(n_stations, dtype="Int16")
    columns["computed_at"] = computed_at
    return pd.DataFrame(columns)


def _city_hourly(ind: pd.DataFrame) -> pd.DataFrame:
    """City indicator concentrations: mean of the stations', then rounded (HJ 663 §5)."""
    cols = list(HOURLY_CONC)
    g = ind.groupby(["city_code", "time"], sort=True)
    means = g[cols].mean()
    out = means.reset_index()
    for c in cols:
        out[c] = _round(out[c], c)
    out["n_stations"] = g.size().to_numpy()
    out["time"] = pd.DatetimeIndex(out["time"])
    return out


def _dates(days: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """``datetime.date`` objects of ``datetime64[D]`` days, as a DATE column reads back (a
    column without rows stays float64, as pandas makes an empty list)."""
    return days.astype(object) if len(days) else np.array([], dtype=np.float64)


def _daily_rows(
    frame: pd.DataFrame,
    scope: str,
    ids: pd.Series,
    counts: dict[str, npt.NDArray[Any]],
    n_stations: Any,
    computed_at: datetime,
) -> pd.DataFrame:
    report = air.daily_aqi(frame)
    out: dict[str, Any] = {
        "scope": scope,
        "scope_id": ids.astype(str).to_numpy(),
        "day": _dates(cst_days(frame["date"])),
    }
    for src, dst in DAILY_CONC.items():
        out[dst] = _round(frame[src], src) if src in frame else np.nan
    for dst, values in counts.items():
        out[dst] = pd.array(values, dtype="Int16")
    out.update(_aqi_columns(report))
    out["n_stations"] = pd.array(n_stations, dtype="Int16")
    out["computed_at"] = computed_at
    return pd.DataFrame(out)


def _in_keys(
    ids: pd.Series, days: npt.NDArray[Any], keys: pd.DataFrame, key_col: str
) -> npt.NDArray[np.bool_]:
    want = pd.MultiIndex.from_arrays([keys[key_col].astype(str), cst_days(keys["day"])])
    have = pd.MultiIndex.from_arrays([ids.astype(str).to_numpy(), days.astype("datetime64[D]")])
    return np.asarray(have.isin(want))


def compute_chunk(
    hourly: pd.DataFrame,
    stations: pd.DataFrame,
    keys: dict[str, pd.DataFrame],
    computed_at: datetime,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hourly and daily AQI rows (stations and cities) of one chunk's keys.

    Parameters
    ----------
    hourly : pandas.DataFrame
        ``site_id``, ``time`` and the six pollutants [µg/m³] (CO [mg/m³]) of every station of
        the chunk's cities, from 24 h before the first key day to the end of the last.
    stations : pandas.DataFrame
        ``site_id``, ``city_code``.
    keys : dict
        The chunk's part of :func:`plan_refresh`.
    computed_at : datetime

    Returns
    -------
    (hourly_rows, daily_rows) : tuple of pandas.DataFrame
        Rows for ``aqi_hourly`` and ``aqi_daily``, restricted to the keys.
    """
    if hourly.empty:
        return pd.DataFrame(columns=HOURLY_COLUMNS), pd.DataFrame(columns=DAILY_COLUMNS)
    city_of = stations.set_index("site_id")["city_code"]
    hourly = hourly.reset_index(drop=True)
    # hourly: stations
    ind = _hourly_indicators(hourly)
    ind["city_code"] = ind["site_id"].map(city_of).to_numpy()
    site_ind = ind[_in_keys(ind["site_id"], ind["day"].to_numpy(), keys["hourly_site"], "site_id")]
    parts = [
        _hourly_rows(site_ind, "site", site_ind["site_id"], [pd.NA] * len(site_ind), computed_at)
    ]
    # hourly: cities (all stations of the city at that hour)
    city_days = keys["hourly_city"]
    if len(city_days):
        in_city_day = _in_keys(ind["city_code"], ind["day"].to_numpy(), city_days, "city_code")
        city_ind = _city_hourly(ind[in_city_day])
        parts.append(
            _hourly_rows(
                city_ind, "city", city_ind["city_code"], city_ind["n_stations"], computed_at
            )
        )
    hourly_rows = pd.concat(parts, ignore_index=True)
    # daily: stations
    daily = air.daily_means(hourly)
    daily["city_code"] = daily["site_id"].map(city_of).to_numpy()
    ddays = cst_days(daily["date"])
    site_daily = daily[_in_keys(daily["site_id"], ddays, keys["daily_site"], "site_id")]
    counts = {dst: site_daily[src].to_numpy() for src, dst in DAILY_COUNTS.items()}
    dparts = [
        _daily_rows(
            site_daily.reset_index(drop=True),
            "site",
            site_daily["site_id"],
            counts,
            [pd.NA] * len(site_daily),
            computed_at,
        )
    ]
    # daily: cities (HJ 663: mean of the stations' daily values, rounded, then indexed)
    if len(keys["daily_city"]):
        chosen = daily[_in_keys(daily["city_code"], ddays, keys["daily_city"], "city_code")]
        base = chosen.rename(columns={"city_code": "city"}).drop(columns=["site_id"])
        cd = air.city_daily(base)
        n_valid = base.groupby(["city", "date"], sort=True)[list(CITY_COUNTS)].count()
        ccounts = {dst: n_valid[src].to_numpy() for src, dst in CITY_COUNTS.items()}
        dparts.append(
            _daily_rows(cd, "city", cd["city"], ccounts, cd["n_stations"].to_numpy(), computed_at)
        )
    daily_rows = pd.concat(dparts, ignore_index=True)
    return hourly_rows, daily_rows
