"""``GET /api/v1/alarms`` (over-limit, flag and silence alarms 报警) and ``GET /api/v1/limits``
(emission limits 排放限值: the standards' table, or the limits applying to a site)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from ecobasin.catalog import emission
from ecobasin.services import alarms as alarm_service
from ecobasin.services import reference
from ecobasin.timebase import CST
from ecobasin.web.deps import INT64_MAX, CitiesDep, CursorDep, TimeRangeDep, page_link
from ecobasin.web.problems import ProblemError, problem_responses
from ecobasin.web.security.deps import CurrentPrincipal, RestrictedReader, authorize
from ecobasin.web.security.policy import RESTRICTED_KINDS

if TYPE_CHECKING:
    from ecobasin.store import Cursor

router = APIRouter(responses=problem_responses(422))

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
Kind = Literal["over_limit", "flag_persistent", "silent", "low_valid_rate"]
Status = Literal["open", "closed"]


class Alarm(BaseModel):
    """One alarm episode 报警."""

    alarm_id: str = Field(description="Stable id (kind, site, parameter, flag, start).")
    kind: Kind = Field(
        description="over_limit 超标, flag_persistent 异常标记持续, silent 断线 (no data), "
        "low_valid_rate 有效数据率不足 (a noise station-day below HJ 906's valid rate)."
    )
    site_id: str
    site_name_zh: str | None = None
    site_name_en: str | None = None
    city_code: int | None = None
    parameter: str | None = Field(default=None, description="Parameter id; null for silent.")
    flag: str | None = Field(default=None, description="HJ 212 data flag (flag_persistent).")
    start_utc: datetime = Field(description="Start of the episode (UTC).")
    end_utc: datetime | None = Field(description="End (UTC); null while open.")
    start_cst: str = Field(description="Start, China Standard Time label.")
    end_cst: str | None = None
    status: Status
    peak: float | None = Field(default=None, description="over_limit: highest value [unit].")
    limit: float | None = Field(default=None, description="over_limit: the limit at the peak.")
    multiple: float | None = Field(default=None, description="over_limit: peak ÷ limit.")
    periods: int | None = Field(default=None, description="Over-limit periods, flagged readings.")
    evidence: dict[str, Any] = Field(description="Values, the limit and its source, the rule.")
    created_at: datetime
    updated_at: datetime


class AlarmPage(BaseModel):
    total: int
    limit: int
    offset: int
    next: str | None
    previous: str | None
    results: list[Alarm]


class Limit(BaseModel):
    """An emission limit 排放限值 (standard row, or the rule applying to a site)."""

    parameter: str = Field(examples=["FG_SO2_Zs"])
    limit: float = Field(description="[unit]; a value strictly above it is over the limit.")
    unit: str
    basis: str = Field(description="1h hourly mean, 1d daily mean (CST day).")
    reference_o2: float | None = Field(default=None, description="Reference O2 [%].")
    source_category: str | None = None
    category_zh: str | None = None
    category_en: str | None = None
    standard_id: str | None = None
    clause: str | None = None
    valid_from: str | None = Field(default=None, description="First CST day it applies.")
    verified: bool = Field(description="Checked against the standard's text.")
    note: str | None = None
    site_id: str | None = None
    source: str | None = Field(
        default=None, description="For a site: permit, site_attributes or standard."
    )
    permit_id: str | None = None


class LimitList(BaseModel):
    count: int
    results: list[Limit]


def _split(values: list[str] | None) -> list[str]:
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def _known_sites(cursor: Cursor, values: list[str] | None) -> list[str] | None:
    ids = list(dict.fromkeys(_split(values)))
    if not ids:
        return None
    unknown = [site for site in ids if site not in reference.known_site_ids(cursor, ids)]
    if unknown:
        raise ProblemError.unknown(
            "site", f"unknown site {', '.join(map(repr, unknown))}; GET /api/v1/sites lists them"
        )
    return ids


def _page_link(request: Request, offset: int, limit: int) -> str:
    return page_link(request, limit=limit, offset=offset)


def _none(value: Any) -> Any:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def _alarm(row: dict[str, Any]) -> Alarm:
    start, end = row["start_time"], _none(row["end_time"])
    return Alarm(
        alarm_id=row["alarm_id"],
        kind=row["kind"],
        site_id=row["site_id"],
        site_name_zh=_none(row["site_name_zh"]),
        site_name_en=_none(row["site_name_en"]),
        city_code=None if _none(row["city_code"]) is None else int(row["city_code"]),
        parameter=_none(row["parameter"]),
        flag=_none(row["flag"]),
        start_utc=start,
        end_utc=end,
        start_cst=start.tz_convert(CST).strftime("%Y-%m-%d %H:%M"),
        end_cst=None if end is None else end.tz_convert(CST).strftime("%Y-%m-%d %H:%M"),
        status=row["status"],
        peak=_none(row["peak"]),
        limit=_none(row["limit_value"]),
        multiple=_none(row["multiple"]),
        periods=None if _none(row["periods"]) is None else int(row["periods"]),
        evidence=row["evidence"]
        if isinstance(row["evidence"], dict)
        else json.loads(row["evidence"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


@router.get(
    "/alarms", tags=["alarms"], response_model=AlarmPage, responses=problem_responses(401, 403)
)
def list_alarms(
    request: Request,
    cursor: CursorDep,
    principal: RestrictedReader,
    cities: CitiesDep,
    times: TimeRangeDep,
    site: Annotated[list[str] | None, Query(description="Site id; repeatable.")] = None,
    kind: Annotated[list[Kind] | None, Query(description="Alarm kind; repeatable.")] = None,
    parameter: Annotated[
        list[str] | None, Query(description="Parameter id (FG_SO2_Zs, COD …); repeatable.")
    ] = None,
    status: Annotated[Status | None, Query(description="open or closed.")] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"Page size, at most {MAX_LIMIT}.")
    ] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=INT64_MAX, description="Alarms to skip.")] = 0,
) -> AlarmPage:
    """Alarms 报警 (restricted: signed-in users), newest start first, filtered by `site`,
    `city`, `kind`, `parameter` (each repeatable), `status` and by `start`/`end`: an alarm is
    listed when its episode overlaps them (an open one lasts until now). Times without an
    offset are China Standard Time.

    Kinds: `over_limit` (a value on the limit's basis — hourly mean for flue gas, daily mean
    for wastewater — strictly above the permit's or standard's limit), `flag_persistent` (HJ
    212 flags D, B, F, M, C lasting too long), `silent` (no data for longer than 3 × the
    reporting interval). `evidence` holds the values, the limit and its source, and the rule.
    Paging: `limit` (default 100) and `offset`, with `total` and `next`/`previous` links.
    """
    del principal  # checked by the dependency: alarms are restricted data
    filters = alarm_service.AlarmFilter(
        sites=_known_sites(cursor, site),
        cities=cities,
        kinds=kind,
        parameters=_split(parameter) or None,
        status=status,
        start=times.start,
        end=times.end,
    )
    total, frame = alarm_service.alarm_page(cursor, filters, limit, offset)
    return AlarmPage(
        total=total,
        limit=limit,
        offset=offset,
        next=_page_link(request, offset + limit, limit) if offset + limit < total else None,
        previous=_page_link(request, max(offset - limit, 0), limit) if offset > 0 else None,
        results=[_alarm(row) for row in frame.to_dict(orient="records")],  # type: ignore[arg-type]
    )


@router.get(
    "/alarms/{alarm_id}",
    tags=["alarms"],
    response_model=Alarm,
    responses=problem_responses(401, 403, 404),
)
def get_alarm(cursor: CursorDep, principal: RestrictedReader, alarm_id: str) -> Alarm:
    """One alarm with its evidence (404 when there is no alarm with that id)."""
    del principal
    record = alarm_service.alarm(cursor, alarm_id)
    if record is None:
        raise ProblemError(404, f"no alarm with id {alarm_id!r}; GET /api/v1/alarms lists them")
    return _alarm(record)


@router.get("/limits", tags=["limits"], response_model=LimitList)
def list_limits(
    cursor: CursorDep,
    principal: CurrentPrincipal,
    category: Annotated[
        str | None, Query(description="Source category (e.g. coal_boiler_ultra_low).")
    ] = None,
    parameter: Annotated[str | None, Query(description="Parameter id (e.g. FG_SO2_Zs).")] = None,
    site: Annotated[
        str | None,
        Query(description="Instead of the standards' table: the limits applying to this site."),
    ] = None,
) -> LimitList:
    """Emission limits 排放限值 as data: each standard's limit per source category and
    parameter, with its clause, averaging basis, reference O2, first day of validity and
    whether the number was checked against the standard's text (`verified`).

    With `site`, the limit rules applying to that site: its permit's (排污许可证, imported or in
    the site's attributes) first, else its source category's standard (and the category it
    falls back to). Limits of enterprise outlets are restricted to signed-in users.
    """
    categories = emission.source_categories()
    if category is not None and category not in categories.index:
        raise ProblemError.unknown(
            "category",
            f"unknown source category {category!r}; known: {', '.join(categories.index)}",
        )
    if site is not None:
        frame = _site_rules(cursor, principal, site)
    else:
        frame = alarm_service.standard_limits(category)
        frame["site_id"] = None
        frame["source"] = None
        frame["permit_id"] = None
    if category is not None:
        frame = frame[frame["source_category"] == category]
    if parameter is not None:
        frame = frame[frame["parameter"].str.lower() == parameter.lower()]
    names = categories.set_index("source_category")
    frame = frame.assign(
        category_zh=frame["source_category"].map(names["name_zh"]),
        category_en=frame["source_category"].map(names["name_en"]),
    )
    results = [
        Limit(**{str(k): _none(v) for k, v in row.items() if k in Limit.model_fields})
        for row in frame.to_dict(orient="records")
    ]
    return LimitList(count=len(results), results=results)


def _site_rules(cursor: Cursor, principal: CurrentPrincipal, site: str) -> pd.DataFrame:
    _known_sites(cursor, [site])
    sites = reference.sites(cursor, site_ids=[site])
    if sites["kind"].iloc[0] in RESTRICTED_KINDS:
        authorize(principal, "read_restricted", what=f"limits of outlet {site}")
    rules = alarm_service.site_limits(cursor, [site])
    rules["note"] = None
    return rules
