"""``GET /api/v1/aqi/...``: AQI levels, the latest hour, and hourly and daily series.

Hourly rows are the real-time report (HJ 633-2012 §5.1.3 / HJ 633-2026 §4.2.3-§4.2.4), daily
rows the daily report (HJ 633-2012 §5.1.2 / HJ 633-2026 §4.2.2), for stations (``scope=site``)
and cities (``scope=city``, HJ 663-2013 §5), as ``ecobasin.jobs.air_quality`` stores them.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Annotated, Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq
from fastapi import APIRouter, Query, Request, Response

from ecobasin.services import air as air_service
from ecobasin.services.air import (
    AirStatic,
    hour_label,
    iso_utc,
    levels_payload,
    series_item,
    snapshot,
)
from ecobasin.web.air import (
    AirCache,
    AirCacheDep,
    Body,
    decode_cursor,
    encode_cursor,
    json_response,
    parse_day,
    split_values,
)
from ecobasin.web.deps import LangDep, TimeRangeDep, page_link, resolve_cities
from ecobasin.web.models import (
    AqiDailyItem,
    AqiDailyPage,
    AqiHourlyItem,
    AqiHourlyPage,
    AqiLatest,
    AqiLevelList,
    Lang,
)
from ecobasin.web.problems import ProblemError, problem_responses

router = APIRouter(prefix="/aqi", tags=["aqi"], responses=problem_responses(422))

DEFAULT_LIMIT = 5000
MAX_LIMIT = 100_000
Scope = Literal["site", "city"]
Format = Literal["json", "csv", "parquet"]
PARQUET = "application/vnd.apache.parquet"

_SCOPE_HELP = "site: air-quality stations; city: cities (from their stations' mean values)."
_IDS_HELP = (
    "Site ids (scope=site, e.g. 1431A) or cities (scope=city: code 510100, 成都 or Chengdu); "
    "comma-separated or repeated. Default: every station or city of the region."
)
_CITIES_HELP = (
    "Only these cities (code, Chinese or English name; comma-separated or repeated); with "
    "scope=site, the stations of these cities."
)
_LIMIT_HELP = f"Rows per page, at most {MAX_LIMIT}."
_CURSOR_HELP = "Where the page starts: the `next` link of the previous page carries it."
_FORMAT_HELP = (
    "json (paged envelope), csv (UTF-8, a header line, one row per item) or parquet (one "
    "file); csv and parquet carry the next page's URL in the `Link` header."
)
_SERIES_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A page of items as JSON, or with `format=csv` / `format=parquet` as a "
        "CSV or Parquet file of the same rows.",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            PARQUET: {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


_LEVELS_JSON = {lang: Body.of(levels_payload(lang)) for lang in ("zh", "en")}


@router.get(
    "/levels",
    response_model=AqiLevelList,
    summary="AQI levels, colours and health advice AQI 等级、颜色与健康建议",
)
async def get_levels(request: Request, lang: LangDep = "zh") -> Response:
    """The six AQI levels of HJ 633 (HJ 633-2012 Table 2, HJ 633-2026 Table 1): level number,
    category (优 Excellent … 严重污染 Severely polluted) and level (一级 Level I …) in both
    languages, AQI range, the official colour of Appendix A (hex RGB), health effect and
    advice; and the grey used for hours or days without a published AQI (`no_data`)."""
    return json_response(request, _LEVELS_JSON[lang])


def _scope_ids(
    static: AirStatic, scope: Scope, ids: list[str] | None, cities: list[str] | None
) -> list[str]:
    """The scope ids asked for (validated, 422 naming the parameter), default the region's."""
    codes = resolve_cities(cities, "cities")
    if scope == "city":
        chosen = resolve_cities(ids, "ids") if ids else None
        region = [c["code"] for c in static.cities]
        picked = chosen if chosen is not None else region
        if codes is not None:
            picked = [c for c in picked if c in codes]
        return [str(c) for c in picked]
    wanted = split_values(ids)
    if not wanted:
        return static.station_ids(codes)
    known = set(static.station_ids())
    unknown = [site for site in wanted if site not in known]
    if unknown:
        raise ProblemError.unknown(
            "ids",
            f"no air station {', '.join(map(repr, unknown))} in the region; "
            "GET /api/v1/sites?kind=air_station lists them",
        )
    if codes is not None:
        allowed = set(static.station_ids(codes))
        wanted = [site for site in wanted if site in allowed]
    return wanted


@router.get(
    "/latest",
    response_model=AqiLatest,
    summary="Latest hour's AQI of every station or city 最新小时空气质量指数",
)
async def get_latest(
    request: Request,
    cache: AirCacheDep,
    lang: LangDep = "zh",
    scope: Annotated[Scope, Query(description=_SCOPE_HELP)] = "site",
    cities: Annotated[list[str] | None, Query(description=_CITIES_HELP)] = None,
) -> Response:
    """The real-time report of the latest stored hour (`time`, UTC hour end; `time_cst`, its
    China Standard Time label) for every air station (`scope=site`) or city (`scope=city`) of
    the region, shaped like the entries of `GET /api/v1/map`: AQI, level (number, bilingual
    name, official colour), primary pollutant and concentrations ([µg/m³], CO [mg/m³]).
    Stations or cities without data that hour have a null AQI and the grey colour.

    Not paged: one entry per station or city of the region.
    """
    codes = resolve_cities(cities, "cities")
    static = await cache.static()
    generation = air_service.aqi_generation()
    extent = await cache.extent()
    latest: datetime | None = extent["latest_hour"]
    key = ("latest", generation, static.version, scope, tuple(codes or ()), lang)

    def build(cursor: Any) -> Body:
        rows = air_service.aqi_at(cursor, hour=latest) if latest is not None else []
        city_items, station_items = snapshot(static, rows, daily=False, lang=lang, cities=codes)
        items = station_items if scope == "site" else city_items
        return Body.of(
            {
                "scope": scope,
                "time": None if latest is None else iso_utc(latest),
                "time_cst": None if latest is None else hour_label(latest),
                "count": len(items),
                "items": items,
            }
        )

    return json_response(request, await cache.get(key, build))


def _next_link(request: Request, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    return page_link(request, cursor=cursor)


def _decode(cursor: str | None, daily: bool) -> tuple[str, date | datetime] | None:
    if cursor is None:
        return None
    try:
        return decode_cursor(cursor, daily)
    except ValueError as error:
        raise ProblemError.invalid("cursor", str(error)) from None


def _file(items: list[dict[str, Any]], daily: bool, fmt: Format, next_url: str | None) -> Response:
    """The items of a page as a CSV or Parquet download (columns: the JSON item's keys)."""
    model = AqiDailyItem if daily else AqiHourlyItem
    columns = list(items[0]) if items else list(model.model_fields)
    headers = {
        "Content-Disposition": f'attachment; filename="aqi_{"daily" if daily else "hourly"}.{fmt}"'
    }
    if next_url is not None:
        headers["Link"] = f'<{next_url}>; rel="next"'
    if fmt == "parquet":
        table = pa.Table.from_pylist(items) if items else pa.table({c: [] for c in columns})
        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        return Response(buffer.getvalue(), media_type=PARQUET, headers=headers)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(items)
    return Response(text.getvalue().encode(), media_type="text/csv; charset=utf-8", headers=headers)


async def _series_page(
    request: Request,
    cache: AirCache,
    *,
    daily: bool,
    scope: Scope,
    ids: list[str] | None,
    cities: list[str] | None,
    start: date | datetime | None,
    end: date | datetime | None,
    limit: int,
    cursor: str | None,
    lang: Lang,
    fmt: Format,
) -> Response:
    after = _decode(cursor, daily)
    static = await cache.static()
    chosen = _scope_ids(static, scope, ids, cities)

    def read(con: Any) -> list[dict[str, Any]]:
        if not chosen:
            return []
        return air_service.aqi_page(
            con,
            daily=daily,
            scope=scope,
            ids=chosen,
            start=start,
            end=end,
            after=after,
            limit=limit + 1,
        )

    rows = await cache.read(read)
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more:
        last = rows[-1]
        next_cursor = encode_cursor(last["scope_id"], last["day" if daily else "time"])
    items = [series_item(row, scope, static, lang) for row in rows]
    next_url = _next_link(request, next_cursor)
    if fmt != "json":
        return _file(items, daily, fmt, next_url)
    page = {"scope": scope, "count": len(items), "limit": limit, "next": next_url, "items": items}
    return json_response(request, Body.of(page, level=1))


@router.get(
    "/hourly",
    response_model=AqiHourlyPage,
    responses=_SERIES_RESPONSES,
    summary="Hourly AQI series (real-time report) 小时空气质量指数(实时报)",
)
async def get_hourly(
    request: Request,
    cache: AirCacheDep,
    times: TimeRangeDep,
    lang: LangDep = "zh",
    scope: Annotated[Scope, Query(description=_SCOPE_HELP)] = "city",
    ids: Annotated[list[str] | None, Query(description=_IDS_HELP)] = None,
    cities: Annotated[list[str] | None, Query(description=_CITIES_HELP)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description=_LIMIT_HELP)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(description=_CURSOR_HELP)] = None,
    format: Annotated[Format, Query(description=_FORMAT_HELP)] = "json",
) -> Response:
    """Stored hourly AQI rows (the real-time report) of stations or cities, ordered by id and
    time, filtered by `ids`/`cities` and the inclusive range `start`–`end` (hour-ending times;
    without an offset China Standard Time).

    Each item: `time` (UTC hour end) and `time_cst` (CST label, 01:00 … 24:00), AQI, level
    (number, bilingual name, colour), primary and exceeding pollutants, the IAQI of each
    indicator, and the reported concentrations: `so2`, `no2`, `o3`, `pm10`, `pm25` 1-h
    [µg/m³], `co` 1-h [mg/m³], and under HJ 633-2012 the moving means `o3_8h`, `pm10_24h`,
    `pm25_24h`, `so2_24h` [µg/m³]. `rule_set` names the standard applied.

    Paging: `limit` rows per page (default 5000, at most 100000); `next` is the URL of the
    next page (keyset cursor, stable while data are added), null on the last. `format=csv` or
    `parquet` answers the page's items as a file (next page in the `Link` header).
    """
    return await _series_page(
        request,
        cache,
        daily=False,
        scope=scope,
        ids=ids,
        cities=cities,
        start=times.start,
        end=times.end,
        limit=limit,
        cursor=cursor,
        lang=lang,
        fmt=format,
    )


@router.get(
    "/daily",
    response_model=AqiDailyPage,
    responses=_SERIES_RESPONSES,
    summary="Daily AQI series (daily report) 日空气质量指数(日报)",
)
async def get_daily(
    request: Request,
    cache: AirCacheDep,
    lang: LangDep = "zh",
    scope: Annotated[Scope, Query(description=_SCOPE_HELP)] = "city",
    ids: Annotated[list[str] | None, Query(description=_IDS_HELP)] = None,
    cities: Annotated[list[str] | None, Query(description=_CITIES_HELP)] = None,
    start: Annotated[str | None, Query(description="First CST day YYYY-MM-DD, inclusive.")] = None,
    end: Annotated[str | None, Query(description="Last CST day YYYY-MM-DD, inclusive.")] = None,
    year: Annotated[
        int | None,
        Query(ge=1900, le=2200, description="A whole year (instead of start and end)."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description=_LIMIT_HELP)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(description=_CURSOR_HELP)] = None,
    format: Annotated[Format, Query(description=_FORMAT_HELP)] = "json",
) -> Response:
    """Stored daily AQI rows (the daily report) of stations or cities, ordered by id and day,
    for the CST days `start`–`end` (inclusive) or a whole `year`.

    Each item: `day` (CST day, hours 01:00 … 24:00), AQI, level (number, bilingual name,
    colour), primary and exceeding pollutants, IAQIs and the daily values: `so2`, `no2`,
    `pm10`, `pm25` 24-h means [µg/m³], `co` 24-h mean [mg/m³], `o3_8h` daily maximum 8-h
    mean and `o3_1h` maximum 1-h value [µg/m³] (HJ 663-2013 §6; ≥ 20 valid hours, GB 3095
    Table 4). The calendar of a year: `?scope=city&ids=510100&year=2025`.

    Paging: `limit` rows per page (default 5000, at most 100000); `next` is the URL of the
    next page, null on the last. `format=csv` or `parquet` answers the page's items as a file
    (next page in the `Link` header).
    """
    first = parse_day("start", start) if start is not None else None
    last = parse_day("end", end) if end is not None else None
    if year is not None:
        if first is not None or last is not None:
            raise ProblemError.invalid("year", "give year, or start and end, not both")
        first, last = date(year, 1, 1), date(year, 12, 31)
    if first is not None and last is not None and first > last:
        raise ProblemError.invalid("start", f"start {first} is after end {last}")
    return await _series_page(
        request,
        cache,
        daily=True,
        scope=scope,
        ids=ids,
        cities=cities,
        start=first,
        end=last,
        limit=limit,
        cursor=cursor,
        lang=lang,
        fmt=format,
    )
