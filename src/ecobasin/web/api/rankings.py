"""``GET /api/v1/rankings``, ``/evaluation`` and ``/cities/{code}/summary``: city assessments.

The numbers are those of ``ecobasin evaluate``: the same stored city daily rows through the same
report builder, :func:`ecobasin.services.air.assessment_table` (HJ 663-2013 §5 and Appendix A;
composite index of 环办监测〔2018〕19号). Results are cached per period until AQI rows change.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from fastapi import APIRouter, Path, Query, Response

from ecobasin import catalog
from ecobasin.services import air as air_service
from ecobasin.services.air import (
    city_assessment,
    level_fields,
    parse_period,
    pick,
)
from ecobasin.services.cells import json_cell
from ecobasin.standards import air as standards_air
from ecobasin.web.air import AirCache, AirCacheDep, json_bytes
from ecobasin.web.deps import LangDep, resolve_cities
from ecobasin.web.models import CitySummary, Evaluation, Lang, Rankings
from ecobasin.web.problems import ProblemError, problem_responses

router = APIRouter(tags=["rankings"], responses=problem_responses(404, 422))

By = Literal["composite", "good_ratio", "pm25", "o3"]
_PERIOD_HELP = (
    "Year 2025, quarter 2025Q3 or month 2025-10 (China Standard Time days). "
    "Default: the year of the latest stored day."
)
#: Labels of the columns of ``ecobasin evaluate`` (HJ 663-2013 §5, Table 1 statistics).
EVALUATION_LABELS: dict[str, tuple[str, str]] = {
    "city": ("城市代码", "city code (GB/T 2260)"),
    "name": ("城市", "city"),
    "SO2": ("SO2 平均浓度 [µg/m³]", "SO2 mean [µg/m³]"),
    "SO2 P98": ("SO2 24小时平均第98百分位数 [µg/m³]", "SO2 24-h 98th percentile [µg/m³]"),
    "NO2": ("NO2 平均浓度 [µg/m³]", "NO2 mean [µg/m³]"),
    "NO2 P98": ("NO2 24小时平均第98百分位数 [µg/m³]", "NO2 24-h 98th percentile [µg/m³]"),
    "PM10": ("PM10 平均浓度 [µg/m³]", "PM10 mean [µg/m³]"),
    "PM10 P95": ("PM10 24小时平均第95百分位数 [µg/m³]", "PM10 24-h 95th percentile [µg/m³]"),
    "PM2.5": ("PM2.5 平均浓度 [µg/m³]", "PM2.5 mean [µg/m³]"),
    "PM2.5 P95": ("PM2.5 24小时平均第95百分位数 [µg/m³]", "PM2.5 24-h 95th percentile [µg/m³]"),
    "CO P95": ("CO 24小时平均第95百分位数 [mg/m³]", "CO 24-h 95th percentile [mg/m³]"),
    "O3_8h P90": (
        "O3 日最大8小时平均第90百分位数 [µg/m³]",
        "O3 daily maximum 8-h mean, 90th percentile [µg/m³]",
    ),
    "good days 优良天数": ("优良天数", "good days (AQI ≤ 100)"),
    "valid days 有效天数": ("有效天数", "valid days"),
    "good % 优良率": ("优良天数比例 [%]", "good-day ratio [%]"),
    "compliant 达标": ("达标", "compliant (GB 3095 class 2)"),
    "valid period 统计有效": ("统计有效", "enough valid days for the period"),
    "index 综合指数": ("综合指数", "composite index"),
    "max single 最大分指数": ("最大单项指数污染物", "pollutant with the largest single index"),
    "rank index 指数排名": ("综合指数排名", "rank by composite index"),
    "rank good 优良率排名": ("优良天数比例排名", "rank by good-day ratio"),
    "rule_set": ("AQI 规则", "AQI rule set"),
    "standard": ("评价标准", "assessment standard"),
    "method": ("综合指数方法", "composite-index method"),
}


def _city_names(code: int) -> tuple[str, str]:
    table = catalog.cities()
    if code in table.index:
        return str(table.at[code, "name_zh"]), str(table.at[code, "name_en"])
    return str(code), str(code)


def _period(text: str | None, latest_day: date | None) -> tuple[str, str, date, date]:
    """(period text, kind, first day, last day); 422 naming ``period`` when unreadable."""
    if text is None:
        if latest_day is None:
            raise ProblemError(404, "no city daily AQI is stored yet; import data first")
        text = str(latest_day.year)
    try:
        kind, first, last = parse_period(text)
    except ValueError as error:
        raise ProblemError.invalid("period", str(error)) from None
    return text.strip(), kind, first, last


async def _assessment(
    cache: AirCache, text: str | None
) -> tuple[str, str, date, date, pd.DataFrame, str, str]:
    """The ``ecobasin evaluate`` table of a period (with ``name``, ``standard``, ``method``
    columns as the command prints them), cached until AQI rows change."""
    extent = await cache.extent()
    period, kind, first, last = _period(text, extent["latest_day"])

    def build(cursor: Any) -> tuple[pd.DataFrame, str, str] | None:
        assessed = city_assessment(cursor, kind, first, last)
        if assessed is None:
            return None
        frame, standard, method = assessed
        names = {code: _city_names(int(code)) for code in frame["city"]}
        frame.insert(1, "name", [f"{names[c][1]} {names[c][0]}" for c in frame["city"]])
        frame["standard"] = standard
        frame["method"] = method
        return frame, standard, method

    key = ("assessment", air_service.aqi_generation(), kind, first, last)
    result = await cache.get(key, build)
    if result is None:
        raise ProblemError(404, f"no city daily AQI for period {period!r} ({first} … {last})")
    frame, standard, method = result
    return period, kind, first, last, frame, standard, method


def _rank(frame: pd.DataFrame, by: By) -> pd.Series:
    """Rank of each city by ``by`` (ties share the smallest rank; missing values last)."""
    if by == "composite":
        return frame["rank index 指数排名"]
    if by == "good_ratio":
        return frame["rank good 优良率排名"]
    column = "PM2.5" if by == "pm25" else "O3_8h P90"
    values = frame[column].astype("float64")
    return values.rank(method="min", na_option="bottom")


def _rank_or_none(value: Any) -> int | None:
    """A rank, or None for a city with too few valid days to be ranked."""
    return None if pd.isna(value) else int(value)


def ranking_items(frame: pd.DataFrame, by: By, lang: Lang) -> list[dict[str, Any]]:
    """Rows of the assessment table as :class:`~ecobasin.web.models.RankingItem` dicts,
    ordered by their rank by ``by``."""
    ranked = frame.assign(_rank=_rank(frame, by).to_numpy()).sort_values(
        ["_rank", "city"], kind="stable"
    )
    items = []
    for row in ranked.to_dict(orient="records"):
        code = int(row["city"])
        name_zh, name_en = _city_names(code)
        good, valid = int(row["good days 优良天数"]), int(row["valid days 有效天数"])
        percent = json_cell(row["good % 优良率"])
        items.append(
            {
                "rank": _rank_or_none(row["_rank"]),
                "city_code": code,
                "name": pick(lang, name_zh, name_en),
                "name_zh": name_zh,
                "name_en": name_en,
                "composite_index": json_cell(row["index 综合指数"]),
                "max_single": json_cell(row["max single 最大分指数"]),
                "good_ratio": None if percent is None else round(percent / 100.0, 3),
                "good_percent": percent,
                "good_days": good,
                "valid_days": valid,
                "exceed_days": valid - good,
                "pm25": json_cell(row["PM2.5"]),
                "pm10": json_cell(row["PM10"]),
                "o3_8h_p90": json_cell(row["O3_8h P90"]),
                "so2": json_cell(row["SO2"]),
                "no2": json_cell(row["NO2"]),
                "co_p95": json_cell(row["CO P95"]),
                "compliant": json_cell(row["compliant 达标"]),
                "rank_index": _rank_or_none(row["rank index 指数排名"]),
                "rank_good": _rank_or_none(row["rank good 优良率排名"]),
            }
        )
    return items


#: The comparison with the same period of last year (issue 15), in every item.
CHANGE_FIELDS = (
    "composite_index_last_year",
    "composite_change",
    "good_percent_change",
    "valid_days_last_year",
    "rank_last_year",
    "rank_change",
)


def same_period_last_year(period: str) -> str:
    """``2025`` → ``2024``, ``2025-10`` → ``2024-10``, ``2025Q3`` → ``2024Q3``."""
    return f"{int(period[:4]) - 1}{period[4:]}"


async def _last_year(
    cache: AirCache, period: str, by: By, lang: Lang
) -> tuple[str, dict[int, dict[str, Any]]] | None:
    """The items of the same period a year before by city, or None when none is stored."""
    before = same_period_last_year(period)
    try:
        frame = (await _assessment(cache, before))[4]
    except ProblemError:
        return None
    return before, {item["city_code"]: item for item in ranking_items(frame, by, lang)}


def _difference(now: float | None, before: float | None, digits: int) -> float | None:
    return None if now is None or before is None else round(now - before, digits)


def with_changes(items: list[dict[str, Any]], before: dict[int, dict[str, Any]]) -> None:
    """Add last year's figures and the changes to each item (in place; None without)."""
    for item in items:
        item.update(dict.fromkeys(CHANGE_FIELDS))
        prev = before.get(item["city_code"])
        if prev is None:
            continue
        item["composite_index_last_year"] = prev["composite_index"]
        item["composite_change"] = _difference(item["composite_index"], prev["composite_index"], 2)
        item["good_percent_change"] = _difference(item["good_percent"], prev["good_percent"], 1)
        item["valid_days_last_year"] = prev["valid_days"]
        item["rank_last_year"] = prev["rank"]
        ranks = (prev["rank"], item["rank"])
        item["rank_change"] = None if None in ranks else ranks[0] - ranks[1]


def _ok(body: bytes, media_type: str = "application/json", **headers: str) -> Response:
    return Response(content=body, media_type=media_type, headers=headers or None)


@router.get(
    "/rankings",
    response_model=Rankings,
    summary="City ranking for a month, quarter or year 城市空气质量排名",
)
async def get_rankings(
    cache: AirCacheDep,
    lang: LangDep = "zh",
    period: Annotated[str | None, Query(description=_PERIOD_HELP)] = None,
    by: Annotated[
        By,
        Query(
            description="composite: composite index (ascending, 1 = cleanest); good_ratio: "
            "good-day ratio (descending); pm25: PM2.5 mean; o3: O3 daily max 8-h P90."
        ),
    ] = "composite",
) -> Response:
    """Every city with stored city daily AQI, ranked for the period by `by`, with the numbers
    `ecobasin evaluate --period` prints: composite index (环办监测〔2018〕19号), good-day ratio
    (`good_ratio` 0 … 1 and `good_percent` [%]; good days have AQI ≤ 100), good, valid and
    exceedance days, period means of PM2.5, PM10, SO2, NO2 [µg/m³], the 95th percentile of CO
    24-h means [mg/m³] and the 90th percentile of O3 daily maximum 8-h means [µg/m³]
    (HJ 663-2013 §5), compliance with GB 3095 and both official ranks; when the same period
    of the year before is stored (`compared_with`), last year's composite index, good-day
    ratio, valid days and rank beside the changes (`rank_change` > 0: moved up).

    Not paged: one item per city.
    """
    name, kind, first, last, frame, standard, method = await _assessment(cache, period)
    items = ranking_items(frame, by, lang)
    last_year = await _last_year(cache, name, by, lang)
    with_changes(items, {} if last_year is None else last_year[1])
    payload = {
        "period": name,
        "kind": kind,
        "first_day": first.isoformat(),
        "last_day": last.isoformat(),
        "by": by,
        "standard": standard,
        "method": method,
        "compared_with": None if last_year is None else last_year[0],
        "items": items,
    }
    return _ok(json_bytes(payload))


@router.get(
    "/evaluation",
    response_model=Evaluation,
    summary="Assessment table of `ecobasin evaluate` 环境空气质量评价表",
    responses={
        200: {
            "description": "The table as JSON, or with `format=csv` as the CSV "
            "`ecobasin evaluate --format csv` writes.",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    },
)
async def get_evaluation(
    cache: AirCacheDep,
    period: Annotated[str | None, Query(description=_PERIOD_HELP)] = None,
    cities: Annotated[
        list[str] | None,
        Query(
            description="Only these cities (code or name; comma-separated or repeated); ranks "
            "stay those among all cities."
        ),
    ] = None,
    format: Annotated[Literal["json", "csv"], Query(description="json or csv.")] = "json",
) -> Response:
    """The assessment of each city for a year, quarter or month, every column of
    `ecobasin evaluate --period`: period means of SO2, NO2, PM10, PM2.5 [µg/m³] and their
    98th (SO2, NO2) and 95th (PM) percentiles of 24-h means, CO 24-h P95 [mg/m³], O3 daily
    maximum 8-h P90 [µg/m³] (HJ 663-2013 §5), good and valid days, good-day ratio [%],
    compliance, whether the period has enough valid days, composite index, the pollutant with
    the largest single index, both ranks, the AQI rule set, the standard and the method.

    JSON items are keyed exactly as `ecobasin evaluate --format json` keys them; `columns`
    gives each key's labels in both languages. `format=csv` answers the command's CSV.
    Not paged: one item per city.
    """
    codes = resolve_cities(cities, "cities")
    name, kind, first, last, frame, standard, method = await _assessment(cache, period)
    if codes is not None:
        frame = frame[frame["city"].isin(codes)].reset_index(drop=True)
    if format == "csv":
        disposition = f'attachment; filename="evaluation_{name}.csv"'
        return _ok(
            frame.to_csv(index=False).encode(),
            "text/csv; charset=utf-8",
            **{"Content-Disposition": disposition},
        )
    columns = [
        {
            "key": str(column),
            "label_zh": EVALUATION_LABELS.get(str(column), (str(column), str(column)))[0],
            "label_en": EVALUATION_LABELS.get(str(column), (str(column), str(column)))[1],
        }
        for column in frame.columns
    ]
    items = [
        {str(key): json_cell(value) for key, value in row.items()}
        for row in frame.to_dict(orient="records")
    ]
    payload = {
        "period": name,
        "kind": kind,
        "first_day": first.isoformat(),
        "last_day": last.isoformat(),
        "standard": standard,
        "method": method,
        "columns": columns,
        "items": items,
    }
    return _ok(json_bytes(payload))


def city_summary(days: pd.DataFrame, code: int, year: int, lang: Lang) -> dict[str, Any]:
    """Good days, exceedance days and days by level of a city's daily rows of one year.

    A valid day has a daily AQI; a good day has AQI ≤ 100 and an exceedance day AQI > 100
    (HJ 633-2012 Table 2; HJ 663-2013 §5). The good-day percentage is rounded to one decimal
    (GB/T 8170) as ``ecobasin evaluate`` rounds it.
    """
    name_zh, name_en = _city_names(code)
    aqi = days["aqi"].to_numpy(dtype="float64", na_value=np.nan)
    valid = ~np.isnan(aqi)
    n_valid = int(valid.sum())
    n_good = int((valid & (aqi <= 100)).sum())
    levels = days["level"].to_numpy(dtype="float64", na_value=np.nan)
    level_days = []
    for info in standards_air.levels():
        fields = level_fields(info.level, lang)
        level_days.append(
            {
                "level": info.level,
                "name": fields["level_name"],
                "name_zh": fields["level_name_zh"],
                "name_en": fields["level_name_en"],
                "color": fields["color"],
                "days": int((valid & (levels == info.level)).sum()),
            }
        )
    primary: dict[str, int] = {}
    for text in days.loc[valid & (aqi > 100), "primary"].dropna():
        for pollutant in str(text).split(","):
            if pollutant:
                primary[pollutant] = primary.get(pollutant, 0) + 1
    percent = standards_air.attainment_rate(n_good, n_valid)
    day_index = pd.DatetimeIndex(days["day"])
    top = int(np.nanargmax(aqi)) if n_valid else None
    return {
        "code": code,
        "name": pick(lang, name_zh, name_en),
        "name_zh": name_zh,
        "name_en": name_en,
        "year": year,
        "first_day": f"{day_index.min():%Y-%m-%d}" if len(days) else None,
        "last_day": f"{day_index.max():%Y-%m-%d}" if len(days) else None,
        "days": len(days),
        "valid_days": n_valid,
        "good_days": n_good,
        "good_ratio": round(n_good / n_valid, 3) if n_valid else None,
        "good_percent": percent,
        "exceed_days": n_valid - n_good,
        "levels": level_days,
        "primary_pollutants": dict(sorted(primary.items(), key=lambda kv: (-kv[1], kv[0]))),
        "mean_aqi": round(float(np.nanmean(aqi)), 1) if n_valid else None,
        "max_aqi": int(aqi[top]) if top is not None else None,
        "max_aqi_day": f"{day_index[top]:%Y-%m-%d}" if top is not None else None,
    }


@router.get(
    "/cities/{code}/summary",
    response_model=CitySummary,
    summary="A city's year at a glance 城市年度空气质量概况",
)
async def get_city_summary(
    cache: AirCacheDep,
    code: Annotated[
        str, Path(description="City code (510100), Chinese (成都) or English name (Chengdu).")
    ],
    lang: LangDep = "zh",
    year: Annotated[
        int | None,
        Query(ge=1900, le=2200, description="Year (default: that of the latest stored day)."),
    ] = None,
) -> Response:
    """For the detail page of a city: the year's days with a city daily row, valid days
    (with a daily AQI), good days (AQI ≤ 100) and their ratio (0 … 1, and [%] with one
    decimal as `ecobasin evaluate` prints it), exceedance days (AQI > 100), days at each of
    the six levels (bilingual names, official colours), exceedance days by primary
    pollutant, the mean and the highest daily AQI. The calendar itself:
    `GET /api/v1/aqi/daily?scope=city&ids={code}&year={year}`.
    """
    codes = resolve_cities([code], "code")
    assert codes is not None  # one value given: resolve_cities answers it or raises
    city = codes[0]
    if year is None:
        latest = (await cache.extent())["latest_day"]
        if latest is None:
            raise ProblemError(404, "no city daily AQI is stored yet; import data first")
        year = latest.year
    chosen = year

    def build(cursor: Any) -> bytes:
        days = air_service.aqi_daily(
            cursor,
            scope="city",
            ids=[str(city)],
            start=date(chosen, 1, 1),
            end=date(chosen, 12, 31),
        )
        return json_bytes(city_summary(days, city, chosen, lang))

    key = ("summary", air_service.aqi_generation(), city, chosen, lang)
    return _ok(await cache.get(key, build))
