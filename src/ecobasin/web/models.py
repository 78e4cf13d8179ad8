"""Response models of the read API (they become the OpenAPI schemas).

Names are bilingual: every named thing carries ``name_zh`` and ``name_en`` and, for the
language the client asked for with ``lang``, ``name``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from ecobasin.services.writes import INVALID_FLAGS

__all__ = [
    "AqiDailyItem",
    "AqiDailyPage",
    "AqiHourlyItem",
    "AqiHourlyPage",
    "AqiLatest",
    "AqiLevel",
    "AqiLevelList",
    "City",
    "CityList",
    "CitySummary",
    "Concentration",
    "Evaluation",
    "EvaluationColumn",
    "Health",
    "HealthCounts",
    "Invalidation",
    "Lang",
    "LevelDays",
    "MapCity",
    "MapPayload",
    "MapStation",
    "NoDataLevel",
    "Observation",
    "ObservationPage",
    "Parameter",
    "ParameterList",
    "Period",
    "RankingItem",
    "Rankings",
    "RegionInfo",
    "RejectedLine",
    "Retirement",
    "Site",
    "SiteIn",
    "SiteKind",
    "SiteLevel",
    "SiteList",
    "SitePatch",
    "UploadOut",
]

Lang = Literal["zh", "en"]


class RegionInfo(BaseModel):
    """The region this server answers for."""

    id: str = Field(examples=["chengdu_plain"])
    name_zh: str = Field(examples=["成都平原经济区"])
    name_en: str = Field(examples=["Chengdu Plain Economic Zone"])
    name: str
    cities: list[int] = Field(description="GB/T 2260 codes of the region's cities.")


class HealthCounts(BaseModel):
    """Row counts of the store."""

    cities_in_region: int
    sites: int
    observations: int
    meteorology: int
    rejected: int


class Health(BaseModel):
    """Whether the API and its store answer, and what the store holds."""

    status: Literal["ok"] = "ok"
    version: str = Field(description="ecobasin version.")
    schema_version: int = Field(description="Highest store migration applied.")
    region: RegionInfo
    counts: HealthCounts
    first_time: datetime | None = Field(description="Earliest observation (UTC).")
    last_time: datetime | None = Field(description="Latest observation (UTC).")


class City(BaseModel):
    """A prefecture-level city."""

    code: int = Field(description="GB/T 2260 division code.", examples=[510100])
    name_zh: str = Field(examples=["成都市"])
    name_en: str = Field(examples=["Chengdu"])
    name: str = Field(description="The name in the requested language.")
    province_zh: str | None = None
    province_en: str | None = None
    lon: float | None = Field(default=None, description="Label point [°E, WGS-84].")
    lat: float | None = Field(default=None, description="Label point [°N, WGS-84].")
    in_region: bool = Field(description="Whether the city belongs to the served region.")


class CityList(BaseModel):
    count: int
    results: list[City]


class Site(BaseModel):
    """A monitoring site: air station, micro-station, water section or enterprise outlet."""

    site_id: str = Field(examples=["1431A"])
    kind: str = Field(examples=["air_station"])
    level: str = Field(examples=["national"])
    city_code: int = Field(examples=[510100])
    city_zh: str | None = None
    city_en: str | None = None
    city: str | None = Field(default=None, description="City name in the requested language.")
    name_zh: str | None = None
    name_en: str | None = None
    name: str | None = Field(default=None, description="Site name in the requested language.")
    lon: float | None = Field(default=None, description="[°E, WGS-84]")
    lat: float | None = Field(default=None, description="[°N, WGS-84]")
    attributes: dict[str, Any] | None = None


class SiteList(BaseModel):
    count: int
    results: list[Site]


class Parameter(BaseModel):
    """A measured parameter of the registry, with its canonical unit."""

    parameter: str = Field(examples=["PM2.5"])
    domain: str = Field(examples=["air"])
    hj212_2017: str | None = Field(default=None, description="HJ 212-2017 factor code.")
    hj212_2005: str | None = Field(default=None, description="HJ/T 212-2005 code.")
    name_zh: str
    name_en: str
    name: str
    unit: str = Field(examples=["µg/m³"])
    min_value: float | None = None
    max_value: float | None = None
    decimals: int | None = None


class ParameterList(BaseModel):
    count: int
    results: list[Parameter]


class Observation(BaseModel):
    """One stored value. ``time_utc`` is the end of the averaging period."""

    site_id: str
    city_code: int
    parameter: str
    period: str = Field(examples=["1h"])
    time_utc: datetime = Field(description="End of the averaging period (UTC).")
    time_cst: str = Field(
        description="China Standard Time hour-ending label (YYYY-MM-DD HH:MM): 10:00 is the "
        "value averaged over 09:00–10:00 CST; midnight ends a day as 24:00 (HJ 663-2013 §3).",
        examples=["2024-01-01 10:00"],
    )
    value: float | None
    unit: str | None
    flag: str | None
    source: str


class ObservationPage(BaseModel):
    """One page of observations and the links to its neighbours."""

    total: int = Field(description="How many observations match the filters.")
    limit: int
    offset: int
    next: str | None = Field(description="URL of the next page, null on the last.")
    previous: str | None = Field(description="URL of the previous page, null on the first.")
    results: list[Observation]


# -------------------------------------------------------------------------------------------
# air quality: levels, map, latest, series, rankings (HJ 633, HJ 663)
# -------------------------------------------------------------------------------------------

_TIME_DOC = "UTC instant the hour ends (ISO 8601, Z)."
_TIME_CST_DOC = (
    "China Standard Time hour-ending label, 01:00 … 24:00 (HJ 663-2013 §3): "
    "'2025-01-01 24:00' is the hour 23:00–24:00 CST."
)


class AqiLevel(BaseModel):
    """One AQI level (HJ 633-2012 Table 2 / HJ 633-2026 Table 1; colours of Appendix A)."""

    level: int = Field(description="1 … 6.", examples=[1])
    name: str = Field(description="Category in the requested language.")
    name_zh: str = Field(examples=["优"])
    name_en: str = Field(examples=["Excellent"])
    category_zh: str = Field(examples=["一级"])
    category_en: str = Field(examples=["Level I"])
    color: str = Field(description="Official colour, hex RGB.", examples=["#00E400"])
    color_name_zh: str = Field(examples=["绿色"])
    color_name_en: str = Field(examples=["green"])
    aqi_low: int = Field(description="Lowest AQI of the level.", examples=[0])
    aqi_high: int = Field(description="Highest AQI of the level.", examples=[50])
    health_zh: str
    health_en: str
    advice_zh: str
    advice_en: str
    health_zh_2026: str = Field(description="Health effect as HJ 633-2026 words it.")
    advice_zh_2026: str = Field(description="Advice as HJ 633-2026 words it.")


class NoDataLevel(BaseModel):
    """How an hour or day without a published AQI is drawn (not an HJ 633 level)."""

    color: str = Field(examples=["#B4B4B4"])
    name: str
    name_zh: str = Field(examples=["无数据"])
    name_en: str = Field(examples=["No data"])


class AqiLevelList(BaseModel):
    levels: list[AqiLevel]
    no_data: NoDataLevel


class Concentration(BaseModel):
    """One concentration behind an AQI, as reported (GB/T 8170: integers [µg/m³], CO one
    decimal [mg/m³])."""

    parameter: str = Field(examples=["PM2.5"])
    name_zh: str = Field(examples=["细颗粒物"])
    name_en: str = Field(examples=["fine particulate matter (PM2.5)"])
    value: float | None = Field(description="[unit]; null when missing or invalid.")
    unit: str = Field(examples=["µg/m³"])
    averaging: Literal["1h", "24h_moving", "8h_moving", "24h", "8h_max", "1h_max"] = Field(
        description="1h: hourly mean; 24h_moving / 8h_moving: moving means of the HJ 633-2012 "
        "real-time report; 24h: daily mean; 8h_max: daily maximum 8-h mean (O3, HJ 663 §6); "
        "1h_max: daily maximum 1-h value."
    )
    averaging_zh: str = Field(examples=["1小时平均"])
    averaging_en: str = Field(examples=["1-h mean"])


class _AqiFields(BaseModel):
    aqi: int | None = Field(description="AQI; null when none is published.", examples=[72])
    level: int | None = Field(description="AQI level 1 … 6; null with aqi.", examples=[2])
    level_name: str | None = Field(description="Level category in the requested language.")
    level_name_zh: str | None = Field(examples=["良"])
    level_name_en: str | None = Field(examples=["Good"])
    color: str = Field(description="Level colour (grey without data).", examples=["#FFFF00"])
    primary_pollutant: str | None = Field(
        description="Primary pollutant(s), comma-separated; '' when AQI ≤ 50 (HJ 633 §3).",
        examples=["PM2.5"],
    )
    rule_set: str | None = Field(description="HJ633-2012 or HJ633-2026.")


class MapCity(_AqiFields):
    """A city of the region with its city AQI (HJ 663-2013 §5: from the mean concentrations
    of its stations)."""

    code: int = Field(examples=[510100])
    name: str | None
    name_zh: str
    name_en: str
    n_stations: int = Field(description="Stations with data in that hour or day.")
    n_stations_total: int = Field(description="Air stations of the city.")
    concentrations: list[Concentration]


class MapStation(_AqiFields):
    """An air-quality station with its AQI; every station of the region is listed, with a
    null AQI when it has no data."""

    site_id: str = Field(examples=["1431A"])
    name: str | None
    name_zh: str | None
    name_en: str | None
    city_code: int
    lon: float | None = Field(description="[°E, WGS-84]")
    lat: float | None = Field(description="[°N, WGS-84]")
    concentrations: list[Concentration]


class MapPayload(BaseModel):
    """One hour (real-time report) or one day (daily report) of the whole region."""

    scope: Literal["hour", "day"]
    time: str | None = Field(description=_TIME_DOC + " Null for a day.")
    time_cst: str | None = Field(description=_TIME_CST_DOC + " Null for a day.")
    day: str | None = Field(description="CST day YYYY-MM-DD; null for an hour.")
    latest_hour: str | None = Field(description="Latest stored hour (UTC).")
    latest_hour_cst: str | None
    first_hour: str | None = Field(description="First stored hour (UTC).")
    latest_day: str | None
    first_day: str | None
    averaging: dict[str, dict[str, str]] = Field(
        description="Labels of the `averaging` codes: {code: {zh, en}}.",
        examples=[{"1h": {"zh": "1小时平均", "en": "1-h mean"}}],
    )
    cities: list[MapCity]
    stations: list[MapStation]


class AqiLatest(BaseModel):
    """The latest stored hour of every station or city."""

    scope: Literal["site", "city"]
    time: str | None = Field(description=_TIME_DOC)
    time_cst: str | None = Field(description=_TIME_CST_DOC)
    count: int
    items: list[MapStation] | list[MapCity]


class _SeriesFields(BaseModel):
    scope_id: str = Field(description="Site id, or the city code as text.", examples=["510100"])
    name: str | None
    name_zh: str | None
    name_en: str | None
    aqi: int | None
    level: int | None
    level_name: str | None
    level_name_zh: str | None
    level_name_en: str | None
    color: str
    rule_set: str
    primary_pollutant: str | None
    exceeding: str | None = Field(description="Pollutants with IAQI > 100 (HJ 633-2012 §3.4).")
    publish_aqi: bool = Field(description="False when the AQI is withheld (HJ 633-2026 5.3.1).")
    incomplete: bool = Field(description="An indicator is missing.")
    over_range: bool = Field(description="A concentration is above the breakpoint table.")
    n_stations: int | None = Field(description="City rows: stations with data.")
    iaqi_so2: int | None
    iaqi_no2: int | None
    iaqi_pm10: int | None
    iaqi_co: int | None
    iaqi_o3_1h: int | None
    iaqi_o3_8h: int | None
    iaqi_pm25: int | None


class AqiHourlyItem(_SeriesFields):
    """One hour of the real-time report. Concentrations [µg/m³], CO [mg/m³]."""

    time: str = Field(description=_TIME_DOC)
    time_cst: str = Field(description=_TIME_CST_DOC)
    so2: float | None = Field(description="SO2 1-h [µg/m³].")
    no2: float | None = Field(description="NO2 1-h [µg/m³].")
    co: float | None = Field(description="CO 1-h [mg/m³].")
    o3: float | None = Field(description="O3 1-h [µg/m³].")
    pm10: float | None = Field(description="PM10 1-h [µg/m³].")
    pm25: float | None = Field(description="PM2.5 1-h [µg/m³].")
    o3_8h: float | None = Field(description="O3 8-h moving mean [µg/m³] (HJ 633-2012 only).")
    pm10_24h: float | None = Field(description="PM10 24-h moving mean [µg/m³] (2012 only).")
    pm25_24h: float | None = Field(description="PM2.5 24-h moving mean [µg/m³] (2012 only).")
    so2_24h: float | None = Field(description="SO2 24-h moving mean [µg/m³] (2012 only).")


class AqiDailyItem(_SeriesFields):
    """One day of the daily report. Concentrations [µg/m³], CO [mg/m³]."""

    day: str = Field(description="CST day YYYY-MM-DD (hours 01:00 … 24:00).")
    so2: float | None = Field(description="SO2 24-h mean [µg/m³].")
    no2: float | None = Field(description="NO2 24-h mean [µg/m³].")
    co: float | None = Field(description="CO 24-h mean [mg/m³].")
    pm10: float | None = Field(description="PM10 24-h mean [µg/m³].")
    pm25: float | None = Field(description="PM2.5 24-h mean [µg/m³].")
    o3_8h: float | None = Field(description="O3 daily maximum 8-h mean [µg/m³].")
    o3_1h: float | None = Field(description="O3 daily maximum 1-h value [µg/m³].")


class AqiHourlyPage(BaseModel):
    scope: Literal["site", "city"]
    count: int = Field(description="Items on this page.")
    limit: int
    next: str | None = Field(description="URL of the next page, null on the last.")
    items: list[AqiHourlyItem]


class AqiDailyPage(BaseModel):
    scope: Literal["site", "city"]
    count: int = Field(description="Items on this page.")
    limit: int
    next: str | None = Field(description="URL of the next page, null on the last.")
    items: list[AqiDailyItem]


class RankingItem(BaseModel):
    """A city's assessment for the period (the numbers of ``ecobasin evaluate``)."""

    rank: int | None = Field(
        description="Rank by the requested measure; ties share the rank; null when the city "
        "has too few valid days in the period to be assessed (HJ 663-2013 statistics)"
    )
    city_code: int
    name: str
    name_zh: str
    name_en: str
    composite_index: float | None = Field(description="Composite index (环办监测〔2018〕19号).")
    max_single: str | None = Field(description="Pollutant with the largest single index.")
    good_ratio: float | None = Field(description="Good-day ratio, 0 … 1 (AQI ≤ 100).")
    good_percent: float | None = Field(description="Good-day ratio [%], 1 decimal.")
    good_days: int
    valid_days: int
    exceed_days: int = Field(description="Valid days with AQI > 100.")
    pm25: int | None = Field(description="PM2.5 period mean [µg/m³].")
    pm10: int | None = Field(description="PM10 period mean [µg/m³].")
    o3_8h_p90: int | None = Field(description="O3 daily max 8-h mean, 90th percentile [µg/m³].")
    so2: int | None = Field(description="SO2 period mean [µg/m³].")
    no2: int | None = Field(description="NO2 period mean [µg/m³].")
    co_p95: float | None = Field(description="CO 24-h mean, 95th percentile [mg/m³].")
    compliant: bool | None = Field(description="Meets GB 3095 class 2 for the period.")
    rank_index: int | None = Field(
        description="Rank by composite index (1 = cleanest; null: unranked)."
    )
    rank_good: int | None = Field(
        description="Rank by good-day ratio (1 = highest; null: unranked)."
    )
    composite_index_last_year: float | None = Field(
        default=None, description="Composite index of the same period a year before."
    )
    composite_change: float | None = Field(
        default=None, description="Composite index minus last year's (negative: cleaner)."
    )
    good_percent_change: float | None = Field(
        default=None, description="Good-day ratio minus last year's [percentage points]."
    )
    valid_days_last_year: int | None = Field(
        default=None, description="Valid days of the same period a year before."
    )
    rank_last_year: int | None = Field(
        default=None, description="Rank by the same measure in the same period a year before."
    )
    rank_change: int | None = Field(
        default=None, description="Last year's rank minus this rank (positive: moved up)."
    )


class Rankings(BaseModel):
    """Cities of the region ranked for a month, quarter or year (HJ 663-2013)."""

    period: str = Field(examples=["2025"])
    kind: Literal["month", "quarter", "year"]
    first_day: str
    last_day: str
    by: Literal["composite", "good_ratio", "pm25", "o3"]
    standard: str = Field(examples=["GB3095-2012"])
    method: str = Field(examples=["CNEMC-2018"])
    compared_with: str | None = Field(
        default=None,
        description="The same period a year before, when its city daily AQI is stored (the "
        "`*_last_year` and `*_change` fields of the items); null otherwise.",
        examples=["2024"],
    )
    items: list[RankingItem]


class EvaluationColumn(BaseModel):
    key: str = Field(description="Key in each item (the column of `ecobasin evaluate`).")
    label_zh: str
    label_en: str


class Evaluation(BaseModel):
    """The assessment table of ``ecobasin evaluate --period``: every column, one item per
    city, keyed exactly as ``ecobasin evaluate --format json`` keys them."""

    period: str
    kind: Literal["month", "quarter", "year"]
    first_day: str
    last_day: str
    standard: str
    method: str
    columns: list[EvaluationColumn]
    items: list[dict[str, Any]]


class LevelDays(BaseModel):
    level: int
    name: str
    name_zh: str
    name_en: str
    color: str
    days: int


class CitySummary(BaseModel):
    """A city's year (or part of it) at a glance: good days, exceedance days, days by level."""

    code: int
    name: str
    name_zh: str
    name_en: str
    year: int
    first_day: str | None = Field(description="First day with a city daily row.")
    last_day: str | None
    days: int = Field(description="Days with a stored city daily row.")
    valid_days: int = Field(description="Days with a daily AQI.")
    good_days: int = Field(description="Valid days with AQI ≤ 100 (优良天数).")
    good_ratio: float | None = Field(description="good_days / valid_days, 0 … 1.")
    good_percent: float | None = Field(description="[%], 1 decimal (HJ 663-2013 §5).")
    exceed_days: int = Field(description="Valid days with AQI > 100 (超标天数).")
    levels: list[LevelDays]
    primary_pollutants: dict[str, int] = Field(
        description="Exceedance days by primary pollutant (a day with two counts for both)."
    )
    mean_aqi: float | None = Field(description="Mean daily AQI of the valid days.")
    max_aqi: int | None
    max_aqi_day: str | None


#: Site kinds the write API registers (``sites.kind``).
SiteKind = Literal["air_station", "micro_station", "water_section", "gas_outlet", "water_outlet"]
#: Administrative levels of a site.
SiteLevel = Literal["national", "provincial", "city", "enterprise", "other"]
#: Averaging periods of stored values.
Period = Literal["1h", "1d", "10min", "1min", "instant"]


# -- writes: the request bodies the write API and the editing pages share ------------------


class SiteIn(BaseModel):
    site_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", examples=["CD-M02"])
    kind: SiteKind
    level: SiteLevel = "city"
    city_code: int = Field(examples=[510100])
    name_zh: str | None = Field(default=None, max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    lon: float | None = Field(default=None, ge=-180, le=180, description="WGS-84 [°E]")
    lat: float | None = Field(default=None, ge=-90, le=90, description="WGS-84 [°N]")
    attributes: dict[str, Any] | None = None


class SitePatch(BaseModel):
    kind: SiteKind | None = None
    level: SiteLevel | None = None
    city_code: int | None = None
    name_zh: str | None = Field(default=None, max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    attributes: dict[str, Any] | None = None


class Invalidation(BaseModel):
    site_id: str = Field(max_length=64, examples=["1431A"])
    parameters: list[str] = Field(min_length=1, max_length=50, examples=[["PM2.5"]])
    period: Period = "1h"
    start: str = Field(max_length=40, description="ISO 8601, inclusive; no offset: CST.")
    end: str = Field(max_length=40, description="ISO 8601, inclusive; no offset: CST.")
    flag: str = Field(
        default="D",
        description=f"HJ 212 flag marking the values invalid: one of {', '.join(INVALID_FLAGS)} "
        "(M maintenance, D fault, C calibration …).",
    )
    reason: str = Field(min_length=3, max_length=500, description="Why (kept in the audit log).")


class Retirement(BaseModel):
    """Why and from when a site is retired (its data and history stay)."""

    reason: str = Field(min_length=3, max_length=500, description="Kept in the audit log.")
    on: date | None = Field(default=None, description="First day retired [CST]; empty: today.")


class RejectedLine(BaseModel):
    record_ref: str = Field(description="'line <n> …': the line of the file.")
    reason_code: str
    reason: str
    raw: str | None = Field(description="The line or cell as read.")


class UploadOut(BaseModel):
    """The import report of one uploaded file."""

    source: str = Field(description="The upload's name in the rejected records and batches.")
    layout: str
    records: int = Field(description="Values read.")
    inserted: int
    replaced: int
    unchanged: int
    missing: int = Field(description="Empty cells (not stored, not rejected).")
    sites_added: int
    rejected_counts: dict[str, int] = Field(description="Rejected values by reason code.")
    rejected: list[RejectedLine] = Field(description="The lines kept aside, with reasons.")
    aqi_site_days: int = Field(description="Station-days whose AQI (HJ 633) was recomputed.")
