"""``GET /api/v1/water/…``: published surface-water quality (public, read-only).

Sections, the evaluation of a month or year (GB 3838-2002, 环办〔2011〕22号), the city CWQI ranking
(环办监测〔2017〕51号) and the cross-boundary compensation. The numbers are those of
``ecobasin water …``: both read the stored results through :mod:`ecobasin.services.water`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from ecobasin.services import water as service
from ecobasin.services.cells import json_cell, json_rows
from ecobasin.web.deps import CursorDep
from ecobasin.web.problems import ProblemError, problem_responses

router = APIRouter(prefix="/water", tags=["water"], responses=problem_responses(404, 422))

_PERIOD = "Month 2025-10 or year 2025 (China Standard Time calendar)."
Format = Literal["json", "csv"]


def _answer(question: Callable[..., service.Answer], parameter: str, *args: Any) -> service.Answer:
    try:
        return question(*args)
    except LookupError as error:
        raise ProblemError(404, str(error.args[0])) from None
    except ValueError as error:
        raise ProblemError.invalid(parameter, str(error)) from None


def _respond(answer: service.Answer, fmt: Format, name: str) -> Response:
    if fmt == "csv":
        flat = answer.table.drop(columns=[c for c in ("means",) if c in answer.table.columns])
        return Response(
            flat.to_csv(index=False).encode(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    body = {**json_cell(answer.meta), "items": json_rows(answer.table)}
    if answer.summary is not None:
        body["summary"] = json_rows(answer.summary)
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return Response(data.encode(), media_type="application/json")


Row = dict[str, Any]


class WaterSections(BaseModel):
    """The registered water sections (国考/省考断面)."""

    count: int
    items: list[Row] = Field(
        description="One section a row: names zh/en, city, level, river, "
        "basin, water body, target class, boundary cities, WGS-84 point."
    )


class WaterEvaluation(BaseModel):
    """Section classes of a month or year (GB 3838-2002, 环办〔2011〕22号)."""

    period: str = Field(examples=["2025-10"])
    kind: str = Field(description="month or year.")
    basin: str | None = None
    n_sections: int
    failing_target: int = Field(description="Sections not meeting their target class.")
    standard: str
    items: list[Row] = Field(
        description="One section a row: class, status, colour, target, "
        "main pollutants, CWQI, TLI, period means [mg/L]."
    )
    summary: list[Row] = Field(description="Region, basin and river rows.")


class WaterRank(BaseModel):
    """Cities ranked by CWQI (环办监测〔2017〕51号)."""

    period: str
    kind: str
    base: str | None = Field(default=None, description="Base period of the change ranking.")
    rule: str
    items: list[Row] = Field(description="One city a row: CWQI, rank, ΔCWQI [%] and its rank.")


class WaterCompensation(BaseModel):
    """Cross-boundary compensation of a month or year (跨界断面生态补偿)."""

    period: str
    kind: str
    rule_set: str
    rule_set_version: str | int
    method: str
    verified: bool = Field(description="Whether the agreement's amounts are verified.")
    factors: list[str]
    total_cny: float = Field(description="Sum of the amounts [CNY].")
    items: list[Row] = Field(description="One boundary section and month a row.")
    summary: list[Row] = Field(description="Net settlements between cities.")


class SectionCalendar(BaseModel):
    """One section's year: facts, monthly and daily classes, limits of the main items."""

    site_id: str
    year: int
    years: list[int] = Field(description="CST years with results, newest first.")
    section: Row
    annual: Row | None
    months: list[Row]
    days: list[Row] = Field(description="Days with automatic-station data and their class.")
    auto_items: list[str]
    day_rule_min_values: int = Field(description="Values a day needs to be classed.")
    series_limits: dict[str, Row] = Field(description="Class III limits [mg/L] of main items.")


FormatQuery = Annotated[Format, Query(description="json (default) or csv.")]
_CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}}
}


@router.get(
    "/sections", summary="Water sections 水质断面", responses=_CSV, response_model=WaterSections
)
def get_sections(cursor: CursorDep, format: FormatQuery = "json") -> Response:
    """Registered water sections (国考/省考断面): names zh/en, city, level, river, basin, water
    body (river or lake/reservoir), target class, upstream and downstream city of boundary
    sections, coordinates (WGS-84). As `ecobasin water sections`."""
    return _respond(_answer(service.sections, "format", cursor), format, "water_sections")


@router.get(
    "/evaluation",
    summary="Section classes of a period 断面水质评价",
    responses=_CSV,
    response_model=WaterEvaluation,
)
def get_evaluation(
    cursor: CursorDep,
    period: Annotated[str, Query(description=_PERIOD)],
    basin: Annotated[
        str | None, Query(description="Basin or river, zh or en (岷江流域, Tuojiang).")
    ] = None,
    format: FormatQuery = "json",
) -> Response:
    """Per section: GB 3838-2002 class (single-factor method over the 21 items of 环办〔2011〕22号),
    qualitative status and colour (zh/en), target class and whether it is met, main pollutants
    with exceedance multiples, determining items, CWQI (4 decimals), TLI for lakes, and the
    period means [mg/L]; `summary` has the region, basin and river rows (mean method below 5
    sections, class shares from 5). As `ecobasin water evaluate --period … --format json`."""
    answer = _answer(service.evaluation, "period", cursor, period, basin)
    return _respond(answer, format, f"water_evaluation_{answer.meta['period']}")


@router.get(
    "/rank", summary="City CWQI ranking 城市水质指数排名", responses=_CSV, response_model=WaterRank
)
def get_rank(
    cursor: CursorDep,
    period: Annotated[str, Query(description=_PERIOD)],
    base: Annotated[
        str | None, Query(description="Base period for the change ranking (same kind).")
    ] = None,
    format: FormatQuery = "json",
) -> Response:
    """Cities ranked by CWQI ascending (1 = cleanest; ties on the 4-decimal value share a
    rank), with M river sections and N lake points; with `base`, ΔCWQI [%] and its rank
    (环办监测〔2017〕51号). As `ecobasin water rank`."""
    answer = _answer(service.rank, "period", cursor, period, base)
    return _respond(answer, format, f"water_rank_{answer.meta['period']}")


@router.get(
    "/compensation",
    summary="Cross-boundary compensation 跨界断面生态补偿",
    responses=_CSV,
    response_model=WaterCompensation,
)
def get_compensation(
    cursor: CursorDep,
    period: Annotated[str, Query(description=_PERIOD)],
    format: FormatQuery = "json",
) -> Response:
    """Per boundary section and month: factor values, the target-class limits and multiples,
    deduction or award, payer and payee, amount [CNY], rule set and version; `summary` has the
    net settlements between cities. Default agreement `ecobasin-default` (amounts unverified,
    `verified` false). As `ecobasin water compensation`."""
    answer = _answer(service.compensation, "period", cursor, period)
    return _respond(answer, format, f"water_compensation_{answer.meta['period']}")


@router.get(
    "/sections/{site_id}/calendar",
    summary="Section class calendar 断面水质日历",
    response_model=SectionCalendar,
)
def get_section_calendar(
    cursor: CursorDep,
    site_id: str,
    year: Annotated[
        int | None, Query(ge=1900, le=2100, description="CST year; default the newest.")
    ] = None,
) -> Response:
    """One section's year: facts (river, basin, level, target class, upstream and downstream
    city), the GB 3838-2002 class of every month (stored results, 环办〔2011〕22号) and of every
    day with automatic-station data (daily means of the items the station measures, ≥ 4
    values a day), main pollutants by month, the monthly means [mg/L] and the Class III
    limits of the main items. 404 for an unknown section or a year without results."""
    try:
        body = service.section_calendar(cursor, site_id, year)
    except LookupError as error:
        raise ProblemError(404, str(error.args[0])) from None
    data = json.dumps(json_cell(body), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return Response(data.encode(), media_type="application/json")
