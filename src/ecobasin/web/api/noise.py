"""``GET /api/v1/noise/…``: published environmental noise results (public, read-only, issue 23).

Functional-zone compliance per city by month or quarter, day and night (GB 3096-2008, counted
per station-day), and the annual HJ 640-2012 regional and traffic survey results with grades.
The numbers are those of ``ecobasin noise …``: both ask :mod:`ecobasin.services.noise`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from ecobasin.services import noise as service
from ecobasin.web.deps import StoreViewDep
from ecobasin.web.problems import ProblemError, problem_responses
from ecobasin.web.security.deps import CurrentPrincipal, authorize
from ecobasin.web.security.policy import can

router = APIRouter(prefix="/noise", tags=["noise"], responses=problem_responses(422))


ReaderDep = StoreViewDep  # a Store view over a cursor of its own for this request
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
    standard: str | None = Field(
        default=None,
        description="The standard judging the station: GB 3096-2008 (zone), GB 12523-2011 "
        "(construction boundary 施工场界) or GB 12348-2008 (enterprise boundary 厂界).",
    )
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


class ClassRates(BaseModel):
    """Station-day counts and day/night compliance rates [%] (all classes or one class)."""

    zone_class: str | None = None
    stations: int | None = None
    day_valid: int
    day_compliant: int
    day_rate_pct: float | None
    night_valid: int
    night_compliant: int
    night_rate_pct: float | None


class SurveyFigure(BaseModel):
    """An HJ 640-2012 survey mean [dB(A)] with its grade."""

    n: int
    mean_dBA: float
    grade_zh: str
    rating_zh: str
    rating_en: str


class ComplaintShare(BaseModel):
    """Complaints of one source type and their share of the city's complaints [%]."""

    source_type: str
    label_zh: str
    label_en: str
    count: int
    share_pct: float | None


class AnnualCity(BaseModel):
    """One city's figures of the national annual noise report 年度噪声报告数据."""

    city_code: int
    city_zh: str
    city_en: str
    year: int
    method: str = Field(description="automatic 自动 (stations) or manual 手工")
    stations: int
    zone_compliance: ClassRates
    zone_compliance_by_class: list[ClassRates]
    regional: dict[Literal["day", "night"], SurveyFigure | None]
    traffic: dict[Literal["day", "night"], SurveyFigure | None]
    complaints: int
    complaints_by_source: list[ComplaintShare]


class AnnualReport(BaseModel):
    """Figures of the 中国噪声污染防治报告 per city (noise brief §2.9)."""

    year: int
    items: list[AnnualCity]


@router.get("/annual-report", response_model=AnnualReport, summary="Annual report figures 年报数据")
def annual_report(store: ReaderDep, year: YearQuery, city: CityQuery = None) -> AnnualReport:
    """Zone compliance (overall and per class), survey grades and complaints by source."""
    rows = service.annual_report(store, year, city)
    return AnnualReport(year=year, items=[AnnualCity(**r) for r in rows])


class Measurement(BaseModel):
    """The nearest station's hour at the complaint [dB(A)], distance [m]."""

    site_id: str
    hour_ending_cst: str
    Leq: float
    LMx: float | None
    distance_m: float


class Complaint(BaseModel):
    """A noise complaint placed against zones and stations 噪声投诉."""

    complaint_id: str
    time: str
    city_code: int
    lon: float
    lat: float
    source_type: Literal["social_life", "construction", "industry", "traffic"]
    source_zh: str
    source_en: str
    description: str | None
    zone_id: str | None
    zone_class: str | None
    nearest_site: str | None
    distance_m: float | None
    measurement: Measurement | None
    case_candidate: bool = Field(description="may open a rectification case 可立整改案件")
    case_id: str | None = Field(None, description="the rectification case opened from it 整改案件")


class ComplaintList(BaseModel):
    """Noise complaints, newest first."""

    items: list[Complaint]


#: Decimal places of a complaint's coordinates shown to the public (0.01° ≈ 1 km): a complaint
#: names a neighbour's home, so the public map shows the area, not the door.
PUBLIC_DECIMALS = 2


def _for(principal: CurrentPrincipal, items: list[dict[str, Any]]) -> list[Complaint]:
    """Complaints as this reader may see them: whole for restricted readers (signed-in staff);
    for the public without the complainant's words and with coordinates rounded to ~1 km."""
    if can(principal, "read_restricted"):
        return [Complaint(**c) for c in items]
    return [
        Complaint(
            **{
                **c,
                "description": None,
                "lon": round(float(c["lon"]), PUBLIC_DECIMALS),
                "lat": round(float(c["lat"]), PUBLIC_DECIMALS),
            }
        )
        for c in items
    ]


@router.get("/complaints", response_model=ComplaintList, summary="Complaints 噪声投诉")
def complaints(
    store: ReaderDep,
    principal: CurrentPrincipal,
    city: CityQuery = None,
    month: Annotated[
        str | None,
        Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="CST month 2026-07 月份"),
    ] = None,
) -> ComplaintList:
    """Complaints with zone, nearest site, the attached measurement and the case flag (the
    public gets no description and coordinates rounded to ~1 km)."""
    return ComplaintList(items=_for(principal, service.complaint_items(store, city, month)))


ComplaintId = Annotated[str, Path(max_length=80, description="Complaint id 投诉编号")]


@router.get(
    "/complaints/{complaint_id}",
    response_model=Complaint,
    summary="One complaint 噪声投诉",
    responses=problem_responses(404),
)
def complaint(
    store: ReaderDep, principal: CurrentPrincipal, complaint_id: ComplaintId
) -> Complaint:
    """One complaint (the link a rectification case opened from it points at)."""
    try:
        item = service.complaint_item(store, complaint_id)
    except LookupError as error:
        raise ProblemError(404, str(error.args[0])) from None
    return _for(principal, [item])[0]


class ComplaintCase(BaseModel):
    """The rectification case of a complaint: opened now (``created``) or already open."""

    complaint_id: str
    case_id: str
    created: bool


def _now(request: Request) -> datetime:
    """The app's clock when one is set (a test's), else now."""
    clock: Callable[[], datetime] | None = getattr(request.app.state, "clock", None)
    return clock() if clock else datetime.now(UTC)


@router.post(
    "/complaints/{complaint_id}/case",
    response_model=ComplaintCase,
    summary="Open a rectification case from a complaint 投诉立案",
    responses=problem_responses(401, 403, 404, 409),
)
def open_case(
    store: ReaderDep, principal: CurrentPrincipal, complaint_id: ComplaintId, request: Request
) -> ComplaintCase:
    """Open a rectification task linked to a case-candidate complaint (an editor of the
    complaint's city or an admin); a complaint already linked returns its case (409: no
    candidate)."""
    try:
        item = service.complaint_item(store, complaint_id)
    except LookupError as error:
        raise ProblemError(404, str(error.args[0])) from None
    authorize(principal, "open_noise_case", item["city_code"], f"complaint {complaint_id}")
    try:
        case_id, created = service.open_complaint_case(
            store, complaint_id, principal.name or "-", _now(request), "api"
        )
    except service.NotACandidate as error:
        raise ProblemError(409, str(error), title="not a case candidate 非立案候选") from None
    return ComplaintCase(complaint_id=complaint_id, case_id=case_id, created=created)


class MapStation(BaseModel):
    """A noise station and its latest station-day verdict (GB 3096-2008)."""

    site_id: str
    name_zh: str | None
    name_en: str | None
    city_code: int
    lon: float | None
    lat: float | None
    zone_class: str | None
    day: str | None
    Ld: float | None
    Ln: float | None
    day_pass: bool | None
    night_pass: bool | None


class NoiseMap(BaseModel):
    """The overview map's noise layer 声环境图层: zones, stations, a month of complaints."""

    zones: dict[str, Any]
    stations: list[MapStation]
    complaint_month: str | None
    complaints: list[Complaint]


@router.get("/map", response_model=NoiseMap, summary="Noise map layer 声环境图层")
def noise_map(store: ReaderDep, principal: CurrentPrincipal) -> NoiseMap:
    """Zones as GeoJSON, stations by latest compliance, the latest month of complaints (for
    the public without descriptions, coordinates rounded to ~1 km)."""
    layer = service.map_layer(store)
    return NoiseMap(**{**layer, "complaints": _for(principal, layer["complaints"])})


class StationMonth(BaseModel):
    """A station's monthly compliance (station-days) [%]."""

    month: str
    day_valid: int
    day_compliant: int
    day_rate_pct: float | None
    night_valid: int
    night_compliant: int
    night_rate_pct: float | None


class StationMonths(BaseModel):
    """Monthly day and night compliance of one station 站点逐月达标."""

    site_id: str
    year: int
    items: list[StationMonth]


@router.get(
    "/stations/{site_id}/months",
    response_model=StationMonths,
    summary="Station monthly compliance 站点逐月达标",
    responses=problem_responses(404),
)
def station_months(store: ReaderDep, site_id: str, year: YearQuery) -> StationMonths:
    """Stored station-day verdicts counted per month, day and night."""
    try:
        rows = service.station_months(store, site_id, year)
    except LookupError as error:
        raise ProblemError(404, str(error.args[0])) from None
    return StationMonths(site_id=site_id, year=year, items=[StationMonth(**r) for r in rows])
