"""The forecast page ``/forecast``: per city the AQI forecast of day +1 … +7 with its
range, level and primary pollutant; the heavy-pollution warning in force as a banner; the
forecaster's adjustments beside the model's values; the model's scores by lead; the
verification of the issued forecasts by lead and of the stored hourly forecasts by hour of day
(issue 21, from ``GET /api/v1/forecasts/verification``).

The server renders the frame, the warning banner (stored warnings of the latest issue day,
环办大气函〔2019〕648号 levels) and the model facts; ``static/js/forecast.js`` fills the table
and the charts from ``GET /api/v1/forecasts`` and sends adjustments to
``POST /api/v1/forecasts/adjust`` (editors of the city or admins, with the CSRF header).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pandas as pd
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ecobasin import catalog
from ecobasin.services import forecast as forecast_service
from ecobasin.services import forecast_verification as verification_service
from ecobasin.web.deps import CursorDep, RegionDep
from ecobasin.web.models import Lang
from ecobasin.web.pages.dashboard import LANG_COOKIE, page_lang, templates
from ecobasin.web.pages.forecast_matrix import matrix_rows
from ecobasin.web.security.deps import CurrentPrincipal
from ecobasin.web.security.policy import Principal

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

#: Warning levels, lowest first (648号); the banner shows the highest first.
WARNING_ORDER = ("yellow", "orange", "red")


def _cities(region: catalog.Region, lang: Lang) -> list[dict[str, Any]]:
    table = region.city_table()  # in the region's order
    names = zip(table["name_zh"].astype(str), table["name_en"].astype(str), strict=True)
    return [
        {"code": str(code), "name": zh if lang == "zh" else en}
        for code, (zh, en) in zip(region.cities, names, strict=True)
    ]


def _cst_day(instant: Any, end: bool = False) -> str:
    """The CST day of a warning's start instant (or the last day before its end instant)."""
    stamp = pd.Timestamp(instant).tz_convert("Asia/Shanghai")
    return str((stamp - pd.Timedelta(seconds=1) if end else stamp).date())


def _warnings(
    cursor: Any, issue_day: date, names: dict[str, str], lang: Lang
) -> list[dict[str, Any]]:
    """The stored warnings of the issue day, highest level first, region before cities."""
    frame = forecast_service.warnings(cursor, start=issue_day, end=issue_day)
    out = []
    for r in frame.to_dict("records"):
        basis = json.loads(r["basis"]) if isinstance(r["basis"], str) else r["basis"]
        cities = [names.get(str(c), str(c)) for c in basis.get("cities", [])]
        out.append(
            {
                "scope": r["scope"],
                "scope_id": str(r["scope_id"]),
                "where": names.get(str(r["scope_id"]), str(r["scope_id"])),
                "cities": cities,
                "level": str(r["level"]),
                "start": _cst_day(r["start_time"]),
                "end": _cst_day(r["end_time"], end=True),
                "reason": r["reason_zh"] if lang == "zh" else r["reason_en"],
                "model": r["model"],
            }
        )
    rank = {level: i for i, level in enumerate(WARNING_ORDER)}
    out.sort(key=lambda w: (-rank.get(w["level"], -1), w["scope"] != "region", w["scope_id"]))
    return out


def _editable(principal: Principal, cities: list[dict[str, Any]]) -> list[str]:
    """Cities whose forecasts the signed-in user may adjust (admins: all; editors: theirs)."""
    if principal.role == "admin":
        return [c["code"] for c in cities]
    if principal.role == "editor" and principal.city_code is not None:
        return [c["code"] for c in cities if c["code"] == str(principal.city_code)]
    return []


def _matrix(
    cursor: Any, issue_day: date | None, label: str | None, cities: list[dict[str, Any]], lang: Lang
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The consultation matrix of the issued model's AQI ranges (forecast_matrix.py)."""
    if issue_day is None or label is None:
        return [], []
    _, frame = forecast_service.forecasts(cursor, issue_day, models=[label], parameters=["AQI"])
    return matrix_rows(frame, label, cities, lang)


def _labels(table: dict[str, tuple[str, str]], lang: Lang) -> list[tuple[str, str]]:
    """(column, label in the page's language) of a verification table, in order."""
    return [(key, zh if lang == "zh" else en) for key, (zh, en) in table.items()]


@router.get("/forecast", response_class=HTMLResponse)
def forecast_page(
    request: Request, cursor: CursorDep, region: RegionDep, principal: CurrentPrincipal
) -> HTMLResponse:
    """Forecasts of the latest issue day, the warning in force and the model's scores."""
    lang = page_lang(request)
    cities = _cities(region, lang)
    issue_day = forecast_service.latest_issue_day(cursor)
    label, with_met = (
        forecast_service.issued_model(cursor, issue_day) if issue_day else (None, False)
    )
    names = {c["code"]: c["name"] for c in cities}
    columns, matrix = _matrix(cursor, issue_day, label, cities, lang)
    context = {
        "matrix_columns": columns,
        "matrix": matrix,
        "page": "forecast",
        "cities": cities,
        "issue_day": None if issue_day is None else issue_day.isoformat(),
        "model": forecast_service.model_facts(cursor, label, lang),
        "model_label": label,
        "with_meteorology": with_met,
        "warnings": _warnings(cursor, issue_day, names, lang) if issue_day else [],
        "editable": _editable(principal, cities),
        "verify_columns": _labels(verification_service.SCORE_LABELS, lang),
        "verify_hour_columns": _labels(verification_service.HOUR_LABELS, lang),
    }
    response = templates.TemplateResponse(request, "forecast.html", context)
    if request.query_params.get("lang") == lang and request.cookies.get(LANG_COOKIE) != lang:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax")
    return response
