"""The scorecard page ``/scorecards`` (issue 19): every city against its yearly targets
(减污降碳考核), ranked, with each indicator's weight, target, value and score, and the stored
PDFs of the year, and the districts' (区县) cards on their stations' air indicators. Rendered on the server from :mod:`ecobasin.services.scorecards` (the numbers
of ``GET /api/v1/scorecards/{year}``); no script.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ecobasin.services import reports as reports_service
from ecobasin.services import scorecards as service
from ecobasin.web.deps import CursorDep
from ecobasin.web.pages.dashboard import page_lang, templates

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _year(request: Request) -> int:
    """``?year=``, else the last complete year (the assessment is of a finished year)."""
    asked = request.query_params.get("year", "")
    return int(asked) if asked.isdigit() and 2000 <= int(asked) <= 2100 else date.today().year - 1


@router.get("/scorecards", response_class=HTMLResponse)
def scorecards_page(request: Request, cursor: CursorDep) -> HTMLResponse:
    """The ranking and the cards of one year; a clear message when there is nothing to score."""
    lang = page_lang(request)
    year = _year(request)
    context: dict[str, Any] = {"page": "scorecards", "year": year, "lang": lang, "cards": None}
    try:
        context["cards"] = service.scorecards(cursor, year, lang)
    except LookupError as error:
        context["message"] = str(error.args[0])
    try:
        context["districts"] = service.district_scorecards(cursor, year, None, lang)
    except LookupError:
        context["districts"] = None
    files = reports_service.report_files(cursor, "scorecard")
    context["pdfs"] = [
        f for f in files if f["period"] == str(year) and f["media_type"] == "application/pdf"
    ]
    context["tr"] = lambda zh, en: en if lang == "en" else zh
    status = 200 if context["cards"] else 404
    return templates.TemplateResponse(request, "scorecards.html", context, status_code=status)
