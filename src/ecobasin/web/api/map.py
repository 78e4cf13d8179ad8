"""``GET /api/v1/map``: the region's cities and air stations with their AQI for one hour or day.

The dashboard's overview map (一张图) draws this payload. It is answered from the app's
:class:`~ecobasin.web.air.AirCache`: one scan of one AQI table the first time an hour or day is
asked for, then from memory until new AQI rows are written.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from ecobasin.services import air as air_service
from ecobasin.services.air import AirStatic, averaging_labels, hour_label, iso_utc, snapshot
from ecobasin.web.air import AirCacheDep, Body, json_response, parse_day, parse_hour
from ecobasin.web.deps import LangDep
from ecobasin.web.models import Lang, MapPayload
from ecobasin.web.problems import ProblemError, problem_responses

router = APIRouter(prefix="/map", tags=["map"], responses=problem_responses(422))

_HOUR_HELP = (
    "Hour to show, ISO 8601. Without an offset a China Standard Time hour-ending label "
    "(2025-06-01T10:00 is the hour 09:00–10:00 CST; 24:00 allowed); with Z or an offset "
    "taken as given. Must be a whole hour."
)
_DAY_HELP = "Day to show (daily report), YYYY-MM-DD, a China Standard Time day."


def _extent_fields(extent: dict[str, Any]) -> dict[str, Any]:
    latest, first = extent["latest_hour"], extent["first_hour"]
    return {
        "latest_hour": None if latest is None else iso_utc(latest),
        "latest_hour_cst": None if latest is None else hour_label(latest),
        "first_hour": None if first is None else iso_utc(first),
        "latest_day": None if extent["latest_day"] is None else extent["latest_day"].isoformat(),
        "first_day": None if extent["first_day"] is None else extent["first_day"].isoformat(),
    }


def map_payload(
    static: AirStatic,
    rows: list[dict[str, Any]],
    extent: dict[str, Any],
    *,
    hour: datetime | None,
    day: date | None,
    lang: Lang,
) -> Body:
    """The JSON of :class:`~ecobasin.web.models.MapPayload` for one hour or day."""
    cities, stations = snapshot(static, rows, daily=day is not None, lang=lang)
    payload = {
        "scope": "day" if day is not None else "hour",
        "time": None if hour is None else iso_utc(hour),
        "time_cst": None if hour is None else hour_label(hour),
        "day": None if day is None else day.isoformat(),
        **_extent_fields(extent),
        "averaging": averaging_labels(),
        "cities": cities,
        "stations": stations,
    }
    return Body.of(payload)


@router.get(
    "",
    response_model=MapPayload,
    summary="AQI map of the region for one hour or day 区域空气质量地图",
)
async def get_map(
    request: Request,
    cache: AirCacheDep,
    lang: LangDep = "zh",
    hour: Annotated[str | None, Query(description=_HOUR_HELP)] = None,
    day: Annotated[str | None, Query(description=_DAY_HELP)] = None,
) -> Response:
    """Every city and air station of the region with its AQI, level (number, bilingual name,
    official colour), primary pollutant and concentrations, for one hour (`hour`, the
    real-time report, HJ 633) or one day (`day`, the daily report); neither: the latest stored
    hour.

    * Stations without data that hour or day are listed too, with `aqi` and `level` null and
      the grey "no data" colour.
    * Concentrations as reported: [µg/m³] as integers, CO [mg/m³] with one decimal (GB/T
      8170); hourly entries list the 1-h values and, under HJ 633-2012, the moving means the
      real-time report uses (PM 24-h, O3 8-h); daily entries the 24-h means, O3 daily maximum
      8-h mean and O3 maximum 1-h value.
    * City values come from the mean concentrations of the city's stations (HJ 663-2013 §5),
      never from station AQIs.
    * `first_hour`/`latest_hour` and `first_day`/`latest_day` give the span the store holds,
      for the time control.

    Not paged: the payload holds one entry per city and station of the region. Sent
    gzip-encoded to clients that accept it (~4 kB instead of ~80 kB).
    """
    if hour is not None and day is not None:
        raise ProblemError.invalid("day", "give hour or day, not both")
    target_hour = parse_hour("hour", hour) if hour is not None else None
    target_day = parse_day("day", day) if day is not None else None
    static = await cache.static()
    generation = air_service.aqi_generation()
    extent = await cache.extent()
    if target_hour is None and target_day is None:
        target_hour = extent["latest_hour"]
    key = ("map", generation, static.version, target_hour, target_day, lang)

    def build(cursor: Any) -> Body:
        if target_day is not None:
            rows = air_service.aqi_at(cursor, day=target_day)
        elif target_hour is not None:
            rows = air_service.aqi_at(cursor, hour=target_hour)
        else:
            rows = []  # an empty store: every station without data
        return map_payload(static, rows, extent, hour=target_hour, day=target_day, lang=lang)

    return json_response(request, await cache.get(key, build))
