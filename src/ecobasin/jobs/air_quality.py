"""Keep the stored hourly and daily AQI (stations and cities) up to date after imports.

Shell around the pure engine :mod:`ecobasin.standards.air`: observations are read through
:mod:`ecobasin.store.air`, indexed by the engine, and written back through the same module
(``aqi_hourly``, ``aqi_daily``; keys and columns are documented in migration 2).

What is computed
----------------
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
  never a mean or maximum of station AQIs. For the 2012 moving means this is the mean of the
  stations' moving means (identical to the moving mean of the city's hourly means when no hour
  is missing).
* The rule set is chosen by the CST day of each hour or day (before 2026-03-01 →
  ``HJ633-2012``) and stored on every row.

Incremental rule
----------------
A touched (site, day) recomputes: the station's daily row of that day; its hourly rows of that
day; and, when the next day is still under HJ 633-2012, its hourly rows of the next day too
(their 24-h and 8-h moving windows reach back into the touched day). Daily values never depend
on another day (every window lies inside the day), so no other daily row changes. The same
days are recomputed for the station's city (from all of the city's stations). Nothing else is
deleted or rewritten.

Days are processed in chunks of one calendar month, each read with the 24 hours before its
first day, and each written in one transaction.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ecobasin.standards import air
from ecobasin.standards.air_stats import DECIMALS
from ecobasin.standards.air_tables import DEFAULT_SWITCH_DATE
from ecobasin.store import Store, aqi_pending
from ecobasin.store import air as store_air

__all__ = ["CITY_KIND", "refresh_air_quality", "refresh_pending_air_quality"]

#: Site kind whose stations get an AQI and make the city values (national/provincial/city
#: ambient air-quality stations; micro-stations and outlets do not).
CITY_KIND = "air_station"

Progress = Callable[[int, int], None]

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

_HOUR = pd.Timedelta(hours=1)
_CST = pd.Timedelta(hours=8)
_SWITCH = np.datetime64(DEFAULT_SWITCH_DATE, "D")


def _decimals(column: str) -> int:
    base = column.split("_", 1)[0]
    return DECIMALS["O3" if base.startswith("O3") else base]


def _round(values: pd.Series | npt.NDArray[Any], column: str) -> npt.NDArray[np.float64]:
    """Reported value: GB/T 8170, integers [µg/m³], CO one decimal [mg/m³] (HJ 633-2026
    §4.2.2; HJ 663-2013 §5)."""
    arr = np.asarray(values, dtype=np.float64)
    return np.asarray(air.round_gbt8170(arr, _decimals(column)), dtype=np.float64)


def _day_start_utc(days: npt.NDArray[Any]) -> pd.DatetimeIndex:
    """First hour-ending instant (01:00 CST) of CST days, as UTC."""
    idx = pd.DatetimeIndex(days.astype("datetime64[ns]")).tz_localize("UTC")
    return idx - _CST + _HOUR


def _days(values: Any) -> npt.NDArray[Any]:
    return np.asarray(pd.to_datetime(pd.Series(values)).to_numpy().astype("datetime64[D]"))


# -------------------------------------------------------------------------------------------
# plan: which keys to recompute
# -------------------------------------------------------------------------------------------


def plan_refresh(touched: pd.DataFrame, stations: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The keys a set of touched site-days makes stale (pure; the incremental rule).

    Parameters
    ----------
    touched : pandas.DataFrame
        ``site_id`` and ``day`` (CST day of the hour-ending values received).
    stations : pandas.DataFrame
        ``site_id`` and ``city_code`` of the air stations (other sites are ignored).

    Returns
    -------
    dict of str to pandas.DataFrame
        ``hourly_site``, ``daily_site`` (site_id, city_code, day as ``datetime64[D]``) and
        ``hourly_city``, ``daily_city`` (city_code, day): the hourly keys are the touched days
        plus, where it is still under HJ 633-2012 (before 2026-03-01), the next day, whose
        24-h PM and 8-h O3 moving windows (HJ 633-2012 §5.1.3) reach into the touched day.
    """
    frame = pd.DataFrame(
        {"site_id": touched["site_id"].astype(str).to_numpy(), "day": _days(touched["day"])}
    )
    city = stations.set_index("site_id")["city_code"]
    frame = frame[frame["site_id"].isin(city.index)].drop_duplicates()
    frame["city_code"] = frame["site_id"].map(city).astype(np.int64)
    nxt = frame[frame["day"] + np.timedelta64(1, "D") < _SWITCH].assign(
        day=lambda f: f["day"] + np.timedelta64(1, "D")
    )
    hourly = pd.concat([frame, nxt], ignore_index=True).drop_duplicates(["site_id", "day"])
    order = ["site_id", "city_code", "day"]
    daily_site = frame[order].sort_values(["site_id", "day"]).reset_index(drop=True)
    hourly_site = hourly[order].sort_values(["site_id", "day"]).reset_index(drop=True)

    def cities(f: pd.DataFrame) -> pd.DataFrame:
        return (
            f[["city_code", "day"]].drop_duplicates().sort_values(["city_code", "day"])
        ).reset_index(drop=True)

    return {
        "hourly_site": hourly_site,
        "daily_site": daily_site,
        "hourly_city": cities(hourly_site),
        "daily_city": cities(daily_site),
    }


# -------------------------------------------------------------------------------------------
# compute (pure given the hourly frame)
# -------------------------------------------------------------------------------------------


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
            values = pd.to_numeric(report[key].astype(object), errors="coerce")
            out[column] = pd.array(values.to_numpy(dtype=float, na_value=np.nan)).astype("Int16")
        else:
            out[column] = pd.array([pd.NA] * len(report), dtype="Int16")
    return out


def _hourly_indicators(hourly: pd.DataFrame) -> pd.DataFrame:
    """Real-time indicator columns for both rule sets, unused moving means blanked.

    The 2012 moving means are computed over the whole frame (they need the 23 preceding
    hours); rows under HJ 633-2026 keep only the 1-h values (§4.2.3).
    """
    days = air.local_day(hourly["time"])
    old = days < _SWITCH
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
    frame = pd.DataFrame({"scope": scope, "scope_id": ids.astype(str).to_numpy()})
    frame["time"] = pd.DatetimeIndex(ind["time"])
    for column, values in _aqi_columns(report).items():
        frame[column] = values
    for src, dst in HOURLY_CONC.items():
        frame[dst] = _round(ind[src], src)
    frame["n_stations"] = pd.array(n_stations, dtype="Int16")
    frame["computed_at"] = computed_at
    return frame


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


def _daily_rows(
    frame: pd.DataFrame,
    scope: str,
    ids: pd.Series,
    counts: dict[str, npt.NDArray[Any]],
    n_stations: Any,
    computed_at: datetime,
) -> pd.DataFrame:
    report = air.daily_aqi(frame)
    out = pd.DataFrame({"scope": scope, "scope_id": ids.astype(str).to_numpy()})
    out["day"] = _days(frame["date"])
    for src, dst in DAILY_CONC.items():
        out[dst] = _round(frame[src], src) if src in frame else np.nan
    for dst, values in counts.items():
        out[dst] = pd.array(values, dtype="Int16")
    for column, values in _aqi_columns(report).items():
        out[column] = values
    out["n_stations"] = pd.array(n_stations, dtype="Int16")
    out["computed_at"] = computed_at
    out["day"] = [d.date() for d in pd.DatetimeIndex(out["day"])]
    return out


def _in_keys(
    ids: pd.Series, days: npt.NDArray[Any], keys: pd.DataFrame, key_col: str
) -> npt.NDArray[np.bool_]:
    want = pd.MultiIndex.from_arrays([keys[key_col].astype(str), _days(keys["day"])])
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
        return pd.DataFrame(columns=store_air.HOURLY_COLUMNS), pd.DataFrame(
            columns=store_air.DAILY_COLUMNS
        )
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
    ddays = _days(daily["date"])
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


# -------------------------------------------------------------------------------------------
# the job
# -------------------------------------------------------------------------------------------


def _hour_keys(frame: pd.DataFrame, scope: str, id_col: str) -> pd.DataFrame:
    start = _day_start_utc(frame["day"].to_numpy())
    return pd.DataFrame(
        {
            "scope": scope,
            "scope_id": frame[id_col].astype(str).to_numpy(),
            "start": start,
            "end": start + pd.Timedelta(hours=23),
        }
    )


def _day_keys(frame: pd.DataFrame, scope: str, id_col: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "scope": scope,
            "scope_id": frame[id_col].astype(str).to_numpy(),
            "day": [d.date() for d in pd.DatetimeIndex(frame["day"])],
        }
    )


def refresh_air_quality(
    store: Store,
    touched: pd.DataFrame | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Recompute the stored hourly and daily AQI of stations and cities.

    Parameters
    ----------
    store : Store
        Open for writing.
    touched : pandas.DataFrame, optional
        ``site_id`` and ``day`` (CST calendar day), e.g.
        :meth:`ecobasin.ingest.importer.ImportReport.touched_frame`; None recomputes every
        site-day holding hourly air observations. Sites that are not air stations are ignored.
    progress : callable, optional
        Called as ``progress(done, total)`` with the number of monthly chunks.

    Returns
    -------
    dict
        ``site_days`` and ``city_days`` recomputed (daily keys), ``hourly_rows`` and
        ``daily_rows`` written, ``hourly_deleted``, ``daily_deleted``, ``chunks``,
        ``rule_sets`` (those used) and ``seconds``.

    Notes
    -----
    The incremental rule and the standards applied are described in the module docstring
    (HJ 633-2012 §5.1.2-§5.1.3; HJ 633-2026 §4.2.1-§4.2.4, §5.3.1; HJ 663-2013 §5-§6;
    GB 3095-2012 Table 4).
    """
    t0 = _time.perf_counter()
    computed_at = datetime.now(UTC)
    stations = store.sites(kinds=[CITY_KIND])[["site_id", "city_code"]]
    if touched is None:
        touched = store_air.air_site_days(store, kinds=(CITY_KIND,))
    result: dict[str, Any] = {
        "site_days": 0,
        "city_days": 0,
        "hourly_rows": 0,
        "daily_rows": 0,
        "hourly_deleted": 0,
        "daily_deleted": 0,
        "chunks": 0,
        "rule_sets": [],
        "seconds": 0.0,
    }
    if touched.empty or stations.empty:
        if progress:
            progress(0, 0)
        result["seconds"] = _time.perf_counter() - t0
        return result
    plan = plan_refresh(touched, stations)
    months = sorted(
        set(plan["hourly_site"]["day"].to_numpy().astype("datetime64[M]"))
        | set(plan["daily_site"]["day"].to_numpy().astype("datetime64[M]"))
    )
    if progress:
        progress(0, len(months))
    rule_sets: set[str] = set()
    for i, month in enumerate(months, 1):
        keys = {
            name: frame[frame["day"].to_numpy().astype("datetime64[M]") == month].reset_index(
                drop=True
            )
            for name, frame in plan.items()
        }
        cities = set(keys["hourly_city"]["city_code"]) | set(keys["daily_city"]["city_code"])
        sites = stations[stations["city_code"].isin(cities)]
        all_days = np.concatenate(
            [keys["hourly_site"]["day"].to_numpy(), keys["daily_site"]["day"].to_numpy()]
        ).astype("datetime64[D]")
        first, last = all_days.min(), all_days.max()
        start = _day_start_utc(np.array([first - np.timedelta64(1, "D")]))[0]
        end = _day_start_utc(np.array([last]))[0] + pd.Timedelta(hours=23)
        hourly = store_air.air_hourly(
            store,
            sites=list(sites["site_id"]),
            start=start.to_pydatetime(),
            end=end.to_pydatetime(),
        )
        hourly_rows, daily_rows = compute_chunk(hourly, sites, keys, computed_at)
        counts = store_air.replace_aqi(
            store,
            hourly_keys=pd.concat(
                [
                    _hour_keys(keys["hourly_site"], "site", "site_id"),
                    _hour_keys(keys["hourly_city"], "city", "city_code"),
                ],
                ignore_index=True,
            ),
            daily_keys=pd.concat(
                [
                    _day_keys(keys["daily_site"], "site", "site_id"),
                    _day_keys(keys["daily_city"], "city", "city_code"),
                ],
                ignore_index=True,
            ),
            hourly=hourly_rows,
            daily=daily_rows,
        )
        rule_sets |= set(daily_rows["rule_set"].dropna()) | set(hourly_rows["rule_set"].dropna())
        result["hourly_rows"] += counts["hourly_inserted"]
        result["daily_rows"] += counts["daily_inserted"]
        result["hourly_deleted"] += counts["hourly_deleted"]
        result["daily_deleted"] += counts["daily_deleted"]
        if progress:
            progress(i, len(months))
    result["site_days"] = len(plan["daily_site"])
    result["city_days"] = len(plan["daily_city"])
    result["chunks"] = len(months)
    result["rule_sets"] = sorted(rule_sets)
    result["seconds"] = _time.perf_counter() - t0
    return result


def refresh_pending_air_quality(store: Store, progress: Progress | None = None) -> dict[str, Any]:
    """Compute the AQI of the station-days marked "AQI pending", then delete their marks.

    Imports mark what they store in the same transaction as the observations
    (:mod:`ecobasin.store.aqi_pending`), so the AQI of an import killed before its refresh is
    computed here by the next run (an import, ``ecobasin serve``, any write command). A run
    killed in here leaves the marks, and the next one computes them again (the refresh
    replaces rows by key, so repeating it changes nothing).

    Returns
    -------
    dict
        As :func:`refresh_air_quality`, plus ``pending``: the number of marks consumed.
    """
    pending = aqi_pending.pending_aqi_site_days(store)
    result = refresh_air_quality(store, pending, progress=progress)
    aqi_pending.clear_aqi_pending(store, pending)
    result["pending"] = len(pending)
    return result
