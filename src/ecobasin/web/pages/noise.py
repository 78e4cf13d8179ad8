"""The noise pages (issue 23): ``/noise`` (functional-zone compliance per city by month, day and
night, and the HJ 640-2012 survey grades) and ``/noise/station/{site_id}`` (a station's 24-hour
profile on hour-ending labels with its GB 3096-2008 limits, the night Lmax events over the night
limit + 15 dB(A), §5.4, and the monthly compliance day and night).

The server renders the frame, the facts and the choices (years, latest day); the scripts
``static/js/noise.js`` and ``static/js/noise_station.js`` fill charts and tables from
``/api/v1/noise/…`` (no inline script: the pages run under a CSP without it).
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ecobasin.services import noise as noise_service
from ecobasin.services import reference
from ecobasin.standards.noise_tables import noise_rules
from ecobasin.web.deps import CursorDep
from ecobasin.web.models import Lang
from ecobasin.web.pages.dashboard import LANG_COOKIE, page_lang, templates

__all__ = ["router", "zone_classes"]

router = APIRouter(include_in_schema=False)

#: Map colours of the GB 3096-2008 classes (a zoning map's usual light-to-warm scale).
ZONE_COLORS = {
    "0": "#1b9e77",
    "1": "#66c2a5",
    "2": "#fee08b",
    "3": "#fdae61",
    "4a": "#f46d43",
    "4b": "#9e6bb8",
}


def zone_classes() -> list[dict[str, Any]]:
    """The classes with their limits [dB(A)], bilingual use and map colour (for legends)."""
    rules = noise_rules()
    return [
        {
            "zone_class": cls,
            "use_zh": limits.use_zh,
            "use_en": limits.use_en,
            "day": limits.day,
            "night": limits.night,
            "color": ZONE_COLORS.get(cls, "#cccccc"),
        }
        for cls, limits in rules.zones.items()
    ]


# the overview map's noise legend (templates/_noise_legend.html) lists the classes without an
# edit of the overview route (web/pages/dashboard.py belongs to another area)
templates.env.globals["noise_zone_classes"] = zone_classes


def _render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    lang = page_lang(request)
    if request.query_params.get("lang") == lang and request.cookies.get(LANG_COOKIE) != lang:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax")
    return response


@router.get("/noise", response_class=HTMLResponse)
def noise_page(request: Request, cursor: CursorDep) -> HTMLResponse:
    """Compliance per city by month (day and night) and the survey grades of a year."""
    years = noise_service.rate_years(cursor)
    asked = request.query_params.get("year", "")
    year = int(asked) if asked.isdigit() and int(asked) in years else (years[0] if years else None)
    return _render(
        request, "noise.html", page="noise", years=years, year=year, zone_classes=zone_classes()
    )


def _station(cursor: Any, site_id: str, lang: Lang) -> dict[str, Any] | None:
    found = reference.sites(cursor, site_ids=[site_id], kinds=["noise_station"])
    if found.empty:
        return None
    row = found.iloc[0]
    attributes = row["attributes"]
    attrs = json.loads(attributes) if isinstance(attributes, str) else dict(attributes or {})
    name_en = row["name_en"] if isinstance(row["name_en"], str) else row["name_zh"]
    return {
        "site_id": site_id,
        "name": row["name_zh"] if lang == "zh" else name_en,
        "name_zh": row["name_zh"],
        "name_en": name_en,
        "city_code": int(row["city_code"]),
        "zone_class": attrs.get("zone_class"),
    }


@router.get("/noise/station/{site_id}", response_class=HTMLResponse)
def noise_station_page(request: Request, site_id: str, cursor: CursorDep) -> HTMLResponse:
    """One automatic noise station: 24-hour profile, Lmax events, monthly compliance."""
    lang = page_lang(request)
    station = _station(cursor, site_id, lang)
    if station is None:
        message = f"没有声环境自动站 {site_id} · no noise station {site_id}"
        return _render(request, "notfound.html", status_code=404, page="", message=message)
    first, latest = noise_service.station_day_span(cursor, site_id)
    limits = next((z for z in zone_classes() if z["zone_class"] == station["zone_class"]), None)
    return _render(
        request,
        "noise_station.html",
        page="noise",
        station=station,
        limits=limits,
        latest_day=None if latest is None else str(pd.Timestamp(latest).date()),
        first_day=None if first is None else str(pd.Timestamp(first).date()),
    )
