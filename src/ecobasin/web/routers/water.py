"""``GET /api/v1/water/…``: published surface-water quality (public, read-only).

Sections, the evaluation of a month or year (GB 3838-2002, 环办〔2011〕22号), the city CWQI ranking
(环办监测〔2017〕51号) and the cross-boundary compensation. The numbers are those of
``ecobasin water …``: both read the stored results through :mod:`ecobasin.water.service`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from fastapi import APIRouter, Query, Response

from ecobasin.water import calendar, service
from ecobasin.web.deps import CursorDep
from ecobasin.web.problems import ProblemError, problem_responses

router = APIRouter(prefix="/water", tags=["water"], responses=problem_responses(404, 422))

_PERIOD = "Month 2025-10 or year 2025 (China Standard Time calendar)."
Format = Literal["json", "csv"]


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _rows(frame: pd.DataFrame | None) -> list[dict[str, Any]]:
    if frame is None:
        return []
    return [{str(k): _plain(v) for k, v in r.items()} for r in frame.to_dict("records")]


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
    body = {**_plain(answer.meta), "items": _rows(answer.table)}
    if answer.summary is not None:
        body["summary"] = _rows(answer.summary)
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return Response(data.encode(), media_type="application/json")


FormatQuery = Annotated[Format, Query(description="json (default) or csv.")]
_CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}}
}


@router.get("/sections", summary="Water sections 水质断面", responses=_CSV)
def get_sections(cursor: CursorDep, format: FormatQuery = "json") -> Response:
    """Registered water sections (国考/省考断面): names zh/en, city, level, river, basin, water
    body (river or lake/reservoir), target class, upstream and downstream city of boundary
    sections, coordinates (WGS-84). As `ecobasin water sections`."""
    return _respond(_answer(service.sections, "format", cursor), format, "water_sections")


@router.get("/evaluation", summary="Section classes of a period 断面水质评价", responses=_CSV)
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


@router.get("/rank", summary="City CWQI ranking 城市水质指数排名", responses=_CSV)
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


@router.get("/compensation", summary="Cross-boundary compensation 跨界断面生态补偿", responses=_CSV)
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


@router.get("/sections/{site_id}/calendar", summary="Section class calendar 断面水质日历")
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
        body = calendar.section_calendar(cursor, site_id, year)
    except LookupError as error:
        raise ProblemError(404, str(error.args[0])) from None
    data = json.dumps(_plain(body), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return Response(data.encode(), media_type="application/json")
