"""Typed dependencies of the read API (``Annotated`` aliases, FastAPI-template style).

``CursorDep`` gives each request its own DuckDB cursor on the one store the app opened: DuckDB
connections are not shared between threads, and FastAPI runs sync endpoints in a thread pool.
Query-parameter parsing that must name the bad parameter in its error (cities given by code or
name, ISO 8601 times in China Standard Time) lives here too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Query, Request

from ecobasin import catalog
from ecobasin.jobs.air_quality import refresh_air_quality, refresh_pending_air_quality
from ecobasin.services.writes import AqiJobs
from ecobasin.store import Cursor, Store
from ecobasin.timebase import CST
from ecobasin.web.models import Lang
from ecobasin.web.problems import ProblemError

__all__ = [
    "AQI_JOBS",
    "INT64_MAX",
    "CitiesDep",
    "CursorDep",
    "LangDep",
    "OffsetQuery",
    "RegionDep",
    "Store",
    "StoreDep",
    "StoreViewDep",
    "TimeRange",
    "TimeRangeDep",
    "get_cursor",
    "get_region",
    "get_store",
    "get_store_view",
    "page_link",
    "parse_time",
    "resolve_cities",
]


def get_store(request: Request) -> Store:
    """The store the app opened in its lifespan."""
    store: Store = request.app.state.store
    return store


def get_region(request: Request) -> catalog.Region:
    """The region the app serves."""
    region: catalog.Region = request.app.state.region
    return region


StoreDep = Annotated[Store, Depends(get_store)]
RegionDep = Annotated[catalog.Region, Depends(get_region)]


def get_cursor(store: StoreDep) -> Iterator[Cursor]:
    """A cursor of its own for this request, closed when the request is done."""
    cursor = store.cursor()
    try:
        yield cursor
    finally:
        cursor.close()


CursorDep = Annotated[Cursor, Depends(get_cursor)]


def get_store_view(store: StoreDep) -> Iterator[Store]:
    """A Store view over a cursor of its own for this request's writes (DuckDB connections
    are not shared between threads), closed when the request is done."""
    view = store.reader()
    try:
        yield view
    finally:
        view.con.close()


StoreViewDep = Annotated[Store, Depends(get_store_view)]

#: The AQI refreshes (HJ 633) a write runs after storing (services do not run jobs).
AQI_JOBS = AqiJobs(touched=refresh_air_quality, pending=refresh_pending_air_quality)

#: The largest row offset the store can take (DuckDB's BIGINT); above it is a 422, not a 500.
INT64_MAX = 2**63 - 1

OffsetQuery = Annotated[int, Query(ge=0, le=INT64_MAX, description="Rows to skip.")]


def page_link(request: Request, **params: int | str) -> str:
    """The link to another page of this request (``params`` replace those of the request),
    under the configured ``public_url`` or relative: never from the request's Host header,
    which a client chooses (OWASP ASVS 4.0 V5.1.5)."""
    url = request.url.remove_query_params(list(params)).include_query_params(**params)
    base = (request.app.state.limits.public_url or "").rstrip("/")
    return f"{base}{url.path}?{url.query}"


LangDep = Annotated[
    Lang,
    Query(
        description="Language of the `name` fields: zh (中文) or en. `name_zh` and `name_en` "
        "are always returned."
    ),
]


def resolve_cities(values: list[str] | None, parameter: str = "city") -> list[int] | None:
    """City codes for cities given by GB/T 2260 code, Chinese name (成都 / 成都市) or English
    name (Chengdu, case-insensitive); a comma inside one value separates several.

    Raises
    ------
    ProblemError
        422 naming ``parameter`` and every unknown city.
    """
    if not values:
        return None
    names = [part.strip() for value in values for part in value.split(",") if part.strip()]
    codes: list[int] = []
    unknown: list[str] = []
    for name in names:
        try:
            code = catalog.city_code(name)
        except KeyError:
            unknown.append(name)
            continue
        if code not in codes:
            codes.append(code)
    if unknown:
        listed = ", ".join(repr(name) for name in unknown)
        raise ProblemError.unknown(
            parameter,
            f"unknown city {listed}; give a GB/T 2260 code (510100) or a name (成都, Chengdu); "
            "GET /api/v1/cities?all=true lists them",
        )
    return codes or None


def city_filter(
    city: Annotated[
        list[str] | None,
        Query(
            description="City by code (510100), Chinese (成都) or English name (Chengdu); "
            "repeat the parameter for several.",
        ),
    ] = None,
) -> list[int] | None:
    """The ``city`` query parameter as city codes."""
    return resolve_cities(city)


CitiesDep = Annotated[list[int] | None, Depends(city_filter)]

# "+08:00" sent unencoded in a query string arrives as " 08:00": put the plus sign back.
_LOST_PLUS = re.compile(
    r"^(\d{4}-?\d{2}-?\d{2}[T ]\d{2}(?::?\d{2}){0,2}(?:[.,]\d+)?) (\d{2}(?::?\d{2})?)$"
)


def parse_time(parameter: str, text: str) -> datetime:
    """Parse an ISO 8601 time from a query parameter to a UTC instant.

    Naive times (no offset) are China Standard Time (UTC+8), the time people in the region
    read; times with an offset or ``Z`` are taken as given. A date alone means its midnight.

    Raises
    ------
    ProblemError
        422 naming ``parameter`` when the text is not an ISO 8601 time.
    """
    value = text.strip()
    match = _LOST_PLUS.match(value)
    if match:
        value = f"{match.group(1)}+{match.group(2)}"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ProblemError.invalid(
            parameter,
            f"{text!r} is not an ISO 8601 time; use e.g. 2024-01-01T10:00 (China Standard "
            "Time) or 2024-01-01T02:00Z / 2024-01-01T10:00%2B08:00",
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=CST)
    return parsed.astimezone(UTC)


@dataclass(frozen=True)
class TimeRange:
    """Inclusive UTC bounds; ``None`` leaves that side open."""

    start: datetime | None
    end: datetime | None


_TIME_HELP = (
    "ISO 8601 time, inclusive. Without an offset it is China Standard Time (UTC+8): "
    "2024-01-01T10:00 is the hour ending 10:00 CST; with one (Z, +08:00) it is taken as given."
)


def time_range(
    start: Annotated[
        str | None, Query(description=_TIME_HELP, examples=["2024-01-01T01:00"])
    ] = None,
    end: Annotated[str | None, Query(description=_TIME_HELP, examples=["2024-01-02T00:00"])] = None,
) -> TimeRange:
    """``start`` and ``end`` parsed, and checked to be in order."""
    first = parse_time("start", start) if start else None
    last = parse_time("end", end) if end else None
    if first is not None and last is not None and first > last:
        raise ProblemError.invalid(
            "start",
            f"start {start!r} ({first:%Y-%m-%dT%H:%M}Z) is after end {end!r} "
            f"({last:%Y-%m-%dT%H:%M}Z)",
        )
    return TimeRange(first, last)


TimeRangeDep = Annotated[TimeRange, Depends(time_range)]
