"""``GET /api/v1/noise/…``: published environmental noise results (public, read-only, issue 23).

Functional-zone compliance per city by month or quarter, day and night (GB 3096-2008, counted
per station-day), and the annual HJ 640-2012 regional and traffic survey results with grades.
The numbers are those of ``ecobasin noise …``: both ask :mod:`ecobasin.services.noise`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from ecobasin.services import noise as service
from ecobasin.store import Store
from ecobasin.web.deps import StoreDep
from ecobasin.web.problems import ProblemError, problem_responses

router = APIRouter(prefix="/noise", tags=["noise"], responses=problem_responses(422))


def _reader(store: StoreDep) -> Iterator[Store]:
    view = store.reader()  # a cursor of its own for this request
    try:
        yield view
    finally:
        view.con.close()


ReaderDep = Annotated[Store, Depends(_reader)]
YearQuery = Annotated[int, Query(ge=1990, le=2100, description="Year (CST calendar) 年份.")]
CityQuery = Annotated[int | None, Query(description="City code, e.g. 510100 城市代码.")]


class ComplianceRow(BaseModel):
    """Day and night compliance of one city and month/quarter, counted per station-day [%]."""

    city_code: int
    period: str = Field(description="2026-07 or 2026Q3")
    stations: int
    day_valid: int
    day_compliant: int
    day_rate_pct: float | None
    night_valid: int
    night_compliant: int
    night_rate_pct: float | None


class ComplianceList(BaseModel):
    """GB 3096-2008 functional-zone compliance 功能区声环境达标率."""

    year: int
    by: Literal["month", "quarter"]
    items: list[ComplianceRow]


class SurveyRow(BaseModel):
    """One city's HJ 640-2012 survey result: mean [dB(A)], grade and distribution."""

    city_code: int
    city_zh: str
    city_en: str
    survey: str
    year: int
    period: str
    n: int
    mean_dBA: float
    grade_zh: str
    rating_zh: str
    rating_en: str
    counts_by_rating: dict[str, int]
    shares_by_rating_pct: dict[str, float]
    total_length_km: float | None = None
    share_over_70_pct: float | None = None


class SurveyList(BaseModel):
    """Annual regional (区域) or traffic (道路交通) survey results 声环境调查结果."""

    survey: Literal["regional", "traffic"]
    year: int
    period: Literal["day", "night"]
    items: list[SurveyRow]


@router.get(
    "/compliance", response_model=ComplianceList, summary="Functional-zone compliance 功能区达标率"
)
def compliance(
    store: ReaderDep,
    year: YearQuery,
    by: Annotated[
        Literal["month", "quarter"], Query(description="month 月 or quarter 季")
    ] = "month",
    city: CityQuery = None,
) -> ComplianceList:
    """Day and night compliance rates per city (station-days, GB 3096-2008 Table 1)."""
    rows = service.zone_compliance_rates(store, year, by, city)
    return ComplianceList(year=year, by=by, items=[ComplianceRow(**r) for r in rows])


@router.get("/surveys", response_model=SurveyList, summary="Survey results and grades 调查结果")
def surveys(
    store: ReaderDep,
    year: YearQuery,
    survey: Annotated[Literal["regional", "traffic"], Query(description="调查类型")] = "regional",
    period: Annotated[Literal["day", "night"], Query(description="昼间 day / 夜间 night")] = "day",
    city: CityQuery = None,
) -> SurveyList:
    """HJ 640-2012 city results: arithmetic (regional) or length-weighted (traffic) means."""
    try:
        rows = service.survey_results(store, survey, year, period, city)
    except ValueError as error:
        raise ProblemError.invalid("survey", str(error)) from None
    return SurveyList(survey=survey, year=year, period=period, items=[SurveyRow(**r) for r in rows])


class ProfileHour(BaseModel):
    """One hour-ending label of the 24-hour profile [dB(A)]."""

    label: str
    period: Literal["day", "night"]
    Leq: float | None
    LMx: float | None


class LmaxEvent(BaseModel):
    """A night hour whose LMx exceeds the night limit + 15 dB(A) (GB 3096-2008 §5.4)."""

    label: str
    LMx: float


class StationProfile(BaseModel):
    """A station's day: 24-hour profile, Ld/Ln, verdicts and Lmax events 站点24小时声级."""

    site_id: str
    name_zh: str | None
    name_en: str | None
    day: str
    zone_class: str | None
    day_limit: float | None
    night_limit: float | None
    night_lmax_limit: float | None
    Ld: float | None
    Ln: float | None
    night_Lmax: float | None
    day_pass: bool | None
    night_pass: bool | None
    hours: list[ProfileHour]
    lmax_events: list[LmaxEvent]


@router.get(
    "/stations/{site_id}/profile",
    response_model=StationProfile,
    summary="Station 24-hour profile 站点24小时声级",
    responses=problem_responses(404),
)
def station_profile(
    store: ReaderDep,
    site_id: str,
    day: Annotated[str, Query(description="CST day 2026-07-01 日期 (hours 01:00-24:00).")],
) -> StationProfile:
    """Hourly Leq and LMx by hour-ending label, Ld/Ln and the night Lmax events."""
    try:
        return StationProfile(**service.station_profile(store, site_id, day))
    except LookupError as error:
        raise ProblemError(404, str(error.args[0])) from None
    except ValueError as error:
        raise ProblemError.invalid("day", str(error)) from None
