"""What ``ecobasin aqi|evaluate`` and ``/api/v1/aqi|map|rankings|evaluation`` both answer about
air quality: the period assessment and city ranking (HJ 663-2013), and the map, latest and
series entries of hours and days (HJ 633).

Tables in, tables or JSON-ready dicts out; the only reads are of the static part of the map
(:func:`read_static`, through :mod:`ecobasin.store.air`). Levels, names and colours follow
HJ 633-2012 Table 2 / HJ 633-2026 Table 1 and Appendix A (``catalog/data/air/levels.toml``).
Times: ``time`` is the UTC instant the hour ends; ``time_cst`` the China Standard Time
hour-ending label, 01:00 … 24:00 (HJ 663-2013 §3).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from ecobasin import catalog
from ecobasin.errors import NotFound
from ecobasin.services.cells import Lang, pick
from ecobasin.standards import air
from ecobasin.standards.air_tables import DEFAULT_SWITCH_DATE
from ecobasin.store import Connection, Cursor
from ecobasin.store import air as store_air

# the AQI tables' reads the API's cache and pages make, answered by the store unchanged
from ecobasin.store.air import (
    aqi_at,
    aqi_daily,
    aqi_extent,
    aqi_generation,
    aqi_page,
    city_aqi_span,
    sites_fingerprint,
)
from ecobasin.timebase import CST

__all__ = [
    "AVERAGING",
    "EVAL_COLUMNS",
    "NO_DATA",
    "AirStatic",
    "aqi_at",
    "aqi_daily",
    "aqi_extent",
    "aqi_generation",
    "aqi_page",
    "assessment_table",
    "averaging_labels",
    "city_aqi_span",
    "city_assessment",
    "hour_label",
    "iso_utc",
    "level_fields",
    "levels_payload",
    "parse_period",
    "pick",
    "read_static",
    "reported",
    "series_item",
    "sites_fingerprint",
    "snapshot",
]

#: Grey, name and number of "no data" (not an HJ 633 level: no AQI published that hour or day).
NO_DATA = {"color": "#B4B4B4", "name_zh": "无数据", "name_en": "No data"}

# (column, parameter, averaging) of the concentrations shown for an hour and for a day, in the
# order a tooltip lists them. Moving means (HJ 633-2012 real-time report only) are shown when
# present; the six 1-h values (daily: the seven daily statistics) always, null when missing.
_HOURLY_CONCS = (
    ("pm25_1h", "PM2.5", "1h"),
    ("pm10_1h", "PM10", "1h"),
    ("o3_1h", "O3", "1h"),
    ("no2_1h", "NO2", "1h"),
    ("so2_1h", "SO2", "1h"),
    ("co_1h", "CO", "1h"),
    ("pm25_24h", "PM2.5", "24h_moving"),
    ("pm10_24h", "PM10", "24h_moving"),
    ("o3_8h", "O3", "8h_moving"),
)
_DAILY_CONCS = (
    ("pm25", "PM2.5", "24h"),
    ("pm10", "PM10", "24h"),
    ("o3_8h", "O3", "8h_max"),
    ("o3_1h", "O3", "1h_max"),
    ("no2", "NO2", "24h"),
    ("so2", "SO2", "24h"),
    ("co", "CO", "24h"),
)
_OPTIONAL = frozenset({"24h_moving", "8h_moving"})
_CONCENTRATION_COLUMNS = frozenset(
    {c for c, _, _ in _HOURLY_CONCS} | {c for c, _, _ in _DAILY_CONCS} | {"so2_24h"}
)
#: Averaging periods in both languages (HJ 633-2012 §3, HJ 663-2013 §3).
AVERAGING = {
    "1h": ("1小时平均", "1-h mean"),
    "24h_moving": ("24小时滑动平均", "24-h moving mean"),
    "8h_moving": ("8小时滑动平均", "8-h moving mean"),
    "24h": ("24小时平均", "24-h mean"),
    "8h_max": ("日最大8小时滑动平均", "daily maximum 8-h mean"),
    "1h_max": ("日最大1小时平均", "daily maximum 1-h mean"),
}
#: Series columns renamed for the API (hourly 1-h values lose their suffix).
_SERIES_NAMES = {
    "so2_1h": "so2",
    "no2_1h": "no2",
    "co_1h": "co",
    "o3_1h": "o3",
    "pm10_1h": "pm10",
    "pm25_1h": "pm25",
}


# -------------------------------------------------------------------------------------------
# the period assessment and ranking (HJ 663-2013)
# -------------------------------------------------------------------------------------------


def reported(values: pd.Series, name: str) -> pd.Series:
    """Reported concentrations: integers [µg/m³], CO one decimal [mg/m³] (GB/T 8170,
    as HJ 663-2013 §6 reports them)."""
    numbers = values.astype("float64").to_numpy()
    if name.startswith("CO"):
        return pd.Series(air.round_gbt8170(numbers, 1), index=values.index)
    return pd.Series(air.round_gbt8170(numbers, 0), index=values.index).astype("Int64")


def parse_period(text: str) -> tuple[str, date, date]:
    """``2025`` → year, ``2025-10`` → month, ``2025Q3`` → quarter: (kind, first, last day)."""
    m = re.fullmatch(r"(\d{4})(?:-(\d{1,2})|[Qq]([1-4]))?", text.strip())
    if not m:
        raise ValueError(f"cannot read period {text!r}: use 2025, 2025-10 or 2025Q3")
    year = int(m.group(1))
    if m.group(2):
        month = int(m.group(2))
        if not 1 <= month <= 12:
            raise ValueError(f"no month {month} in {text!r}")
        p = pd.Period(year=year, month=month, freq="M")
        kind = "month"
    elif m.group(3):
        p = pd.Period(year=year, quarter=int(m.group(3)), freq="Q")
        kind = "quarter"
    else:
        p = pd.Period(year=year, freq="Y")
        kind = "year"
    return kind, p.start_time.date(), p.end_time.date()


EVAL_COLUMNS = {
    "SO2_mean": "SO2",
    "SO2_p98": "SO2 P98",
    "NO2_mean": "NO2",
    "NO2_p98": "NO2 P98",
    "PM10_mean": "PM10",
    "PM10_p95": "PM10 P95",
    "PM2.5_mean": "PM2.5",
    "PM2.5_p95": "PM2.5 P95",
    "CO_p95": "CO P95",
    "O3_p90": "O3_8h P90",
}


def assessment_table(
    city_days: pd.DataFrame, kind: str, last_day: date
) -> tuple[pd.DataFrame, str, str]:
    """Assessment of each city over the period, from stored city daily rows.

    Returns the table (one row per city, ranked), the compliance standard and the
    composite-index method used (HJ 663-2013 §5, Appendix A; 环办监测〔2018〕19号).
    """
    daily = pd.DataFrame(
        {
            "city": city_days["scope_id"].astype(int).to_numpy(),
            "date": pd.DatetimeIndex(city_days["day"]),
            "SO2": city_days["so2"].to_numpy(dtype=float),
            "NO2": city_days["no2"].to_numpy(dtype=float),
            "CO": city_days["co"].to_numpy(dtype=float),
            "PM10": city_days["pm10"].to_numpy(dtype=float),
            "PM2.5": city_days["pm25"].to_numpy(dtype=float),
            "O3_8h_max": city_days["o3_8h"].to_numpy(dtype=float),
            "aqi": city_days["aqi"].to_numpy(dtype=float, na_value=np.nan),
        }
    )
    standard = "GB3095-2012" if last_day < DEFAULT_SWITCH_DATE else "GB3095-2026"
    method = "CNEMC-2018"
    stats = air.annual_statistics(daily.drop(columns=["aqi"]), by="city", standard=standard)
    ranking = air.city_ranking(daily, kind, method=method)
    valid = air.period_means(daily.drop(columns=["aqi"]), kind, by="city")
    city = ranking["city"].astype(int)
    stats = stats.set_index("city")
    # the columns are gathered first and framed once (each column inserted into a frame
    # rebuilds its column index)
    columns: dict[str, Any] = {"city": city}
    for src, dst in EVAL_COLUMNS.items():
        columns[dst] = reported(city.map(stats[src]), dst)
    columns["good days 优良天数"] = ranking["n_good_days"].to_numpy()
    columns["valid days 有效天数"] = ranking["n_valid_days"].to_numpy()
    columns["good % 优良率"] = ranking["good_day_percent"].to_numpy()
    columns["compliant 达标"] = city.map(stats["compliant"])
    vcols = [c for c in valid.columns if c.startswith("valid_")]
    complete = valid.set_index("city")[vcols].all(axis=1)
    columns["valid period 统计有效"] = city.map(complete)
    columns["index 综合指数"] = ranking["index"].to_numpy()
    columns["max single 最大分指数"] = ranking["max_single_index_pollutant"].to_numpy()
    columns["rank index 指数排名"] = ranking["rank_index"].to_numpy()
    columns["rank good 优良率排名"] = ranking["rank_good_days"].to_numpy()
    rules = city_days.groupby(city_days["scope_id"].astype(int))["rule_set"].agg(
        lambda s: "+".join(sorted(set(s)))
    )
    columns["rule_set"] = city.map(rules)
    out = pd.DataFrame(columns)
    out = out.sort_values(["rank index 指数排名", "city"]).reset_index(drop=True)
    return out, standard, method


def city_assessment(
    where: Connection, kind: str, first: date, last: date
) -> tuple[pd.DataFrame, str, str] | None:
    """The period assessment and ranking of every city from the stored city daily AQI of
    ``first`` … ``last`` (:func:`assessment_table`: the table, the standard, the composite
    index method); None when no city day is stored in the period."""
    days = store_air.aqi_daily(where, scope="city", start=first, end=last)
    if days.empty:
        return None
    return assessment_table(days, kind, last)


# -------------------------------------------------------------------------------------------
# labels, levels, numbers
# -------------------------------------------------------------------------------------------


def hour_label(instant: datetime) -> str:
    """China Standard Time hour-ending label of a UTC instant: ``2025-01-01 24:00`` for the
    hour 23:00–24:00 CST (a day is the hours 01:00 … 24:00, HJ 663-2013 §3)."""
    local = instant.astimezone(CST)
    if local.hour == 0 and local.minute == 0:
        return f"{local - timedelta(days=1):%Y-%m-%d} 24:00"
    return f"{local:%Y-%m-%d %H:%M}"


def iso_utc(instant: datetime) -> str:
    """``2025-01-01T16:00:00Z``."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _number(value: Any, parameter: str) -> float | int | None:
    """A stored concentration for JSON: None for NULL/NaN; integers [µg/m³] as ints (they are
    reported as integers, GB/T 8170), CO [mg/m³] as a float with its decimal."""
    if value is None:
        return None
    number = float(value)
    if math.isnan(number):
        return None
    if parameter != "CO" and number.is_integer():
        return int(number)
    return number


@dataclass(frozen=True)
class _Level:
    level: int
    name_zh: str
    name_en: str
    color: str


def _levels() -> dict[int, _Level]:
    return {
        info.level: _Level(info.level, info.category_zh, info.category_en, info.hex)
        for info in air.levels()
    }


_LEVELS = _levels()


def level_fields(level: Any, lang: Lang) -> dict[str, Any]:
    """``level``, ``level_name`` (in ``lang``), ``level_name_zh``, ``level_name_en`` and
    ``color`` of an AQI level 1–6; the grey "no data" entry (level None) otherwise."""
    info = _LEVELS.get(int(level)) if level is not None else None
    if info is None:
        return {
            "level": None,
            "level_name": None,
            "level_name_zh": None,
            "level_name_en": None,
            "color": NO_DATA["color"],
        }
    return {
        "level": info.level,
        "level_name": info.name_zh if lang == "zh" else info.name_en,
        "level_name_zh": info.name_zh,
        "level_name_en": info.name_en,
        "color": info.color,
    }


def levels_payload(lang: Lang) -> dict[str, Any]:
    """The six AQI levels with their official colours and health advice, and "no data"."""
    levels = []
    for info in air.levels():
        levels.append(
            {
                "level": info.level,
                "name": info.category_zh if lang == "zh" else info.category_en,
                "name_zh": info.category_zh,
                "name_en": info.category_en,
                "category_zh": info.level_zh,
                "category_en": info.level_en,
                "color": info.hex,
                "color_name_zh": info.colour_zh,
                "color_name_en": info.colour_en,
                "aqi_low": info.aqi_min,
                "aqi_high": info.aqi_max,
                "health_zh": info.effect_zh,
                "health_en": info.effect_en,
                "advice_zh": info.advice_zh,
                "advice_en": info.advice_en,
                "health_zh_2026": info.effect_zh_2026,
                "advice_zh_2026": info.advice_zh_2026,
            }
        )
    no_data = {**NO_DATA, "name": NO_DATA["name_zh"] if lang == "zh" else NO_DATA["name_en"]}
    return {"levels": levels, "no_data": no_data}


def averaging_labels() -> dict[str, dict[str, str]]:
    """``averaging`` code → ``{"zh": …, "en": …}`` labels, for a legend."""
    return {code: {"zh": zh, "en": en} for code, (zh, en) in AVERAGING.items()}


# -------------------------------------------------------------------------------------------
# the static part and snapshot payloads
# -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AirStatic:
    """What the map draws whatever the hour: the region's cities and air stations, and the
    names and units of the pollutants. ``version`` changes whenever the station list does."""

    version: int
    fingerprint: tuple[Any, ...]
    cities: tuple[dict[str, Any], ...]
    stations: tuple[dict[str, Any], ...]
    labels: dict[str, tuple[str, str, str]]
    names: dict[tuple[str, str], tuple[str | None, str | None]] = field(default_factory=dict)

    def name_of(self, scope: str, scope_id: str) -> tuple[str | None, str | None]:
        """(zh, en) name of a station or city (None, None when unknown)."""
        return self.names.get((scope, scope_id), (None, None))

    def station_ids(self, cities: Sequence[int] | None = None) -> list[str]:
        """Site ids of the region's air stations (of ``cities`` when given)."""
        return [s["site_id"] for s in self.stations if cities is None or s["city_code"] in cities]


def read_static(cursor: Cursor, region: catalog.Region, version: int) -> AirStatic:
    """Read the static part of the region's map."""
    fingerprint = store_air.sites_fingerprint(cursor)
    table = region.city_table()
    cities: tuple[dict[str, Any], ...] = tuple(
        {"code": int(code), "name_zh": str(zh), "name_en": str(en)}
        for code, zh, en in zip(table["code"], table["name_zh"], table["name_en"], strict=True)
    )
    stations = tuple(store_air.air_stations(cursor, list(region.cities)))
    names: dict[tuple[str, str], tuple[str | None, str | None]] = {
        ("city", str(c["code"])): (c["name_zh"], c["name_en"]) for c in cities
    }
    names.update({("site", s["site_id"]): (s["name_zh"], s["name_en"]) for s in stations})
    labels = store_air.parameter_labels(cursor)
    return AirStatic(version, fingerprint, cities, stations, labels, names)


def _concentrations(row: dict[str, Any] | None, daily: bool, static: AirStatic) -> list[Any]:
    out = []
    for column, parameter, averaging in _DAILY_CONCS if daily else _HOURLY_CONCS:
        value = _number(row.get(column), parameter) if row else None
        if value is None and averaging in _OPTIONAL:
            continue
        name_zh, name_en, unit = static.labels.get(parameter, (parameter, parameter, ""))
        out.append(
            {
                "parameter": parameter,
                "name_zh": name_zh,
                "name_en": name_en,
                "value": value,
                "unit": unit,
                "averaging": averaging,
                "averaging_zh": AVERAGING[averaging][0],
                "averaging_en": AVERAGING[averaging][1],
            }
        )
    return out


def _aqi_fields(row: dict[str, Any] | None, lang: Lang) -> dict[str, Any]:
    if row is None:
        return {
            "aqi": None,
            **level_fields(None, lang),
            "primary_pollutant": None,
            "rule_set": None,
        }
    return {
        "aqi": None if row["aqi"] is None else int(row["aqi"]),
        **level_fields(row["level"] if row["aqi"] is not None else None, lang),
        "primary_pollutant": row["primary_pollutant"],
        "rule_set": row["rule_set"],
    }


def snapshot(
    static: AirStatic,
    rows: Sequence[dict[str, Any]],
    *,
    daily: bool,
    lang: Lang,
    cities: Sequence[int] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """City and station entries of one hour or day: every city and air station of the region
    (of ``cities`` when given), with a null AQI and the grey colour where no row was stored.

    Parameters
    ----------
    static : AirStatic
    rows : sequence of dict
        :func:`ecobasin.store.air.aqi_at` rows of that hour or day.
    daily : bool
        Whether ``rows`` are daily (their concentrations are daily statistics).
    lang : {"zh", "en"}
    cities : sequence of int, optional

    Returns
    -------
    (list of dict, list of dict)
        City entries (region order) and station entries (by city and site id).
    """
    by_key = {(row["scope"], row["scope_id"]): row for row in rows}
    city_entries = []
    for city in static.cities:
        if cities is not None and city["code"] not in cities:
            continue
        row = by_key.get(("city", str(city["code"])))
        n_total = sum(1 for s in static.stations if s["city_code"] == city["code"])
        city_entries.append(
            {
                "code": city["code"],
                "name": pick(lang, city["name_zh"], city["name_en"]),
                "name_zh": city["name_zh"],
                "name_en": city["name_en"],
                **_aqi_fields(row, lang),
                "n_stations": int(row["n_stations"] or 0) if row else 0,
                "n_stations_total": n_total,
                "concentrations": _concentrations(row, daily, static),
            }
        )
    station_entries = []
    for station in static.stations:
        if cities is not None and station["city_code"] not in cities:
            continue
        row = by_key.get(("site", station["site_id"]))
        station_entries.append(
            {
                "site_id": station["site_id"],
                "name": pick(lang, station["name_zh"], station["name_en"]),
                "name_zh": station["name_zh"],
                "name_en": station["name_en"],
                "city_code": station["city_code"],
                "lon": station["lon"],
                "lat": station["lat"],
                **_aqi_fields(row, lang),
                "concentrations": _concentrations(row, daily, static),
            }
        )
    return city_entries, station_entries


def series_item(row: dict[str, Any], scope: str, static: AirStatic, lang: Lang) -> dict[str, Any]:
    """One :func:`ecobasin.store.air.aqi_page` row shaped for the API (names, level fields,
    ``time``/``time_cst`` or ``day``, concentrations without the ``_1h`` suffix)."""
    name_zh, name_en = static.name_of(scope, row["scope_id"])
    item: dict[str, Any] = {
        "scope_id": row["scope_id"],
        "name": pick(lang, name_zh, name_en),
        "name_zh": name_zh,
        "name_en": name_en,
    }
    if "time" in row:
        item["time"] = iso_utc(row["time"])
        item["time_cst"] = hour_label(row["time"])
    else:
        item["day"] = row["day"].isoformat()
    item["aqi"] = None if row["aqi"] is None else int(row["aqi"])
    item.update(level_fields(row["level"] if row["aqi"] is not None else None, lang))
    for key, value in row.items():
        if key in ("scope_id", "time", "day", "aqi", "level"):
            continue
        name = _SERIES_NAMES.get(key, key) if "time" in row else key
        if key.startswith(("iaqi_", "n_")):
            item[name] = None if value is None else int(value)
        elif key in _CONCENTRATION_COLUMNS:
            item[name] = _number(value, "CO" if key.startswith("co") else key)
        else:
            item[name] = value
    return item


#: what a listing asks of an empty store
NO_AQI_YET = "no AQI stored yet 尚无数据: import data or run `ecobasin demo`"


def aqi_days(
    where: Connection, scope: str, ids: Sequence[str] | None, first: date | None, last: date | None
) -> pd.DataFrame:
    """Daily AQI rows (HJ 633 §5.2) of cities or stations from ``first`` to ``last`` (China
    Standard Time days); a missing bound makes the week up to the latest stored day.

    Raises
    ------
    NotFound
        A bound is missing and no daily AQI is stored yet.
    """
    if first is None or last is None:
        latest = store_air.aqi_latest(where, daily=True, scope=scope)
        if latest is None:
            raise NotFound(NO_AQI_YET)
        last = last or latest
        first = first or (last - timedelta(days=6))
    return store_air.aqi_daily(where, scope=scope, ids=ids, start=first, end=last)


def aqi_hours(
    where: Connection,
    scope: str,
    ids: Sequence[str] | None,
    first: datetime | None,
    last: datetime | None,
) -> pd.DataFrame:
    """Hourly AQI rows (HJ 633 §5.1) of cities or stations from ``first`` to ``last`` (UTC
    instants); a missing bound makes the 24 hours up to the latest stored hour.

    Raises
    ------
    NotFound
        A bound is missing and no hourly AQI is stored yet.
    """
    if first is None or last is None:
        latest = store_air.aqi_latest(where, daily=False, scope=scope)
        if latest is None:
            raise NotFound(NO_AQI_YET)
        last = last or latest.to_pydatetime()
        first = first or (last - timedelta(hours=23))
    return store_air.aqi_hourly(where, scope=scope, ids=ids, start=first, end=last)
