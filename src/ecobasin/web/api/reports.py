"""``GET /api/v1/reports`` and ``/reports/{sha256}``: the stored bulletins and reports (issue 19).

Bulletins are published documents (公报), so reading them is public like the numbers they are
written from; writing them is ``ecobasin report …`` on the server. Each file is served byte for
byte as first stored, addressed by its SHA-256 (immutable: cached for a year).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from ecobasin.services import reports as service
from ecobasin.services import scorecards as scorecard_service
from ecobasin.web.deps import CursorDep
from ecobasin.web.middleware import DOCUMENT_CONTENT_SECURITY_POLICY
from ecobasin.web.problems import ProblemError, problem_responses

__all__ = ["router", "scorecard_router"]

router = APIRouter(prefix="/reports", tags=["reports"], responses=problem_responses(404, 422))
scorecard_router = APIRouter(
    prefix="/scorecards", tags=["reports"], responses=problem_responses(404, 422)
)


class StoredReportFile(BaseModel):
    """One stored report file."""

    sha256: str = Field(description="SHA-256 of the bytes [hex]; the file's address.")
    kind: str = Field(description="air, water, lowcarbon or scorecard")
    scope: str = Field(description="region, or the city code (GB/T 2260)")
    period: str = Field(description="2025-11, 2025Q3 or 2025")
    lang: str = Field(description="zh or en")
    media_type: str
    size: int = Field(description="[bytes]")
    created_at: str = Field(description="UTC instant it was stored (ISO 8601)")


class StoredReports(BaseModel):
    """The stored report files, newest first."""

    count: int
    items: list[StoredReportFile]


@router.get("", response_model=StoredReports, summary="Stored bulletins and reports 公报与报告")
def list_reports(
    cursor: CursorDep,
    kind: Annotated[
        Literal["air", "water", "lowcarbon", "scorecard"] | None,
        Query(description="Only this kind."),
    ] = None,
    scope: Annotated[
        str | None, Query(max_length=10, description="region or a city code (510100).")
    ] = None,
) -> StoredReports:
    """Every stored report file (HTML and PDF, each language), newest first; download one with
    `GET /api/v1/reports/{sha256}`."""
    items = [StoredReportFile(**row) for row in service.report_files(cursor, kind, scope)]
    return StoredReports(count=len(items), items=items)


@router.get(
    "/{sha256}",
    response_class=Response,
    summary="One stored report file (HTML or PDF) 报告文件",
    responses={200: {"content": {"text/html": {}, "application/pdf": {}}}},
)
def report_file(
    cursor: CursorDep, sha256: Annotated[str, Path(pattern="^[0-9a-f]{64}$")]
) -> Response:
    """A stored report, byte for byte as first stored, with its hash as ETag."""
    try:
        facts, content = service.report_file(cursor, sha256)
    except LookupError as error:
        raise ProblemError(404, str(error.args[0])) from None
    suffix = "pdf" if facts["media_type"] == "application/pdf" else "html"
    name = f"{facts['kind']}_{facts['scope']}_{facts['period']}_{facts['lang']}.{suffix}"
    headers = {
        "ETag": f'"{sha256}"',
        "Cache-Control": "public, max-age=31536000, immutable",
        "Content-Disposition": f'inline; filename="{name}"',
    }
    if facts["media_type"].startswith("text/html"):  # a standalone document: no script
        headers["Content-Security-Policy"] = DOCUMENT_CONTENT_SECURITY_POLICY
    return Response(content, media_type=facts["media_type"], headers=headers)


class ScorecardIndicator(BaseModel):
    """One indicator of a city's scorecard."""

    id: str
    name: str
    name_zh: str
    name_en: str
    unit: str
    weight: float = Field(description="[points]")
    better: str = Field(description="higher: value ≥ target meets it; lower: value ≤ target")
    target: float = Field(description="[unit]")
    value: float | None = Field(description="[unit]; null: no data (scores 0)")
    score: float | None = Field(description="[points]")
    met: bool | None


class Scorecard(BaseModel):
    """A city's scorecard: its total, rank and the rank of the year before."""

    city_code: int
    name: str
    name_zh: str
    name_en: str
    total: float = Field(description="[points]")
    rank: int
    rank_last_year: int | None
    rank_change: int | None = Field(description="> 0: moved up")
    no_data: list[str]
    indicators: list[ScorecardIndicator]


class Scorecards(BaseModel):
    """The target-assessment scorecards of a year (减污降碳考核)."""

    year: int
    version: str = Field(description="Version of the scoring rules (catalog configuration).")
    source: str = Field(description="The rules' source in the language asked.")
    source_zh: str
    source_en: str
    max_total: float = Field(description="[points]")
    items: list[Scorecard]


@scorecard_router.get(
    "/{year}", response_model=Scorecards, summary="Target scorecards of a year 减污降碳考核"
)
def get_scorecards(
    cursor: CursorDep,
    year: Annotated[int, Path(ge=2000, le=2100)],
    lang: Annotated[Literal["zh", "en"], Query()] = "zh",
) -> Scorecards:
    """Every city with data against its targets of `year`: each indicator's weight, target,
    value and score by the versioned rule, the total, the rank and its change. The PDF:
    `ecobasin report scorecard --year`, then `GET /api/v1/reports?kind=scorecard`."""
    try:
        return Scorecards(**scorecard_service.scorecards(cursor, year, lang))
    except LookupError as error:
        raise ProblemError(404, str(error.args[0])) from None


class DistrictScorecard(BaseModel):
    """A district's (区县) scorecard on the air indicators of its stations."""

    district_code: int = Field(description="GB/T 2260 county-level code")
    city_code: int
    name: str
    name_zh: str
    name_en: str
    stations: list[str] = Field(description="the district's air stations")
    total: float = Field(description="[points]")
    rank: int = Field(description="among the districts with data")
    no_data: list[str]
    indicators: list[ScorecardIndicator]


class DistrictScorecards(BaseModel):
    """District scorecards of a year: the city rules' air indicators, weights and targets."""

    year: int
    version: str
    city: int | None
    indicators: list[str] = Field(description="the indicators applied to districts")
    max_total: float = Field(description="[points] of those indicators")
    items: list[DistrictScorecard]


@scorecard_router.get(
    "/{year}/districts",
    response_model=DistrictScorecards,
    summary="District scorecards of a year 区县考核",
)
def get_district_scorecards(
    cursor: CursorDep,
    year: Annotated[int, Path(ge=2000, le=2100)],
    city: Annotated[int | None, Query(ge=100000, le=999999, description="Only this city.")] = None,
    lang: Annotated[Literal["zh", "en"], Query()] = "zh",
) -> DistrictScorecards:
    """Each district (区县) whose stations carry one (catalog `station_districts.csv`, or the
    site's `district_code` attribute), scored on the good-day ratio, PM2.5 and heavy-pollution
    days of the mean of its stations (HJ 663-2013 §5) with its city's targets."""
    try:
        found = scorecard_service.district_scorecards(cursor, year, city, lang)
    except LookupError as error:
        raise ProblemError(404, str(error.args[0])) from None
    return DistrictScorecards(**found)
