"""The dashboard pages, rendered on the server in the reader's language (中文 / English).

The pages are thin: the server renders the frame (navigation, headings, labels, the level
legend, the controls) in the chosen language and the page's script fills the charts and tables
from the JSON API (``/api/v1``). Labels come from one message catalogue,
``static/i18n/{zh,en}.json``, used by the templates and embedded in each page for its script.

The language is ``?lang=zh|en`` on any page, else the ``lang`` cookie (set by ``/lang``), else
Chinese. Other routers' pages (sign-in, administration) render through :data:`templates` so
they get the same context (``lang``, ``t``, ``levels``) and extend ``base.html``.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from ecobasin import catalog
from ecobasin.carbon import factors as carbon_factors
from ecobasin.services import air as air_service
from ecobasin.services import carbon as carbon_service
from ecobasin.services import reference
from ecobasin.services import water as water_service
from ecobasin.standards import air_tables, water_tables
from ecobasin.web.deps import CursorDep, RegionDep
from ecobasin.web.models import Lang

__all__ = [
    "LANG_COOKIE",
    "STATIC_DIR",
    "TEMPLATES_DIR",
    "messages",
    "page_context",
    "page_lang",
    "router",
    "templates",
]

WEB_DIR = Path(__file__).resolve().parents[1]
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"
LANG_COOKIE = "lang"
LANGS: tuple[Lang, ...] = ("zh", "en")
_YEAR_SECONDS = 365 * 24 * 3600
_ONE_HOUR = pd.Timedelta(hours=1)

#: Air parameters offered by the data page, in the order of the HJ 633 tables.
AIR_PARAMETERS = ("PM2.5", "PM10", "SO2", "NO2", "O3", "CO")

#: Links kept from the first landing page: the API documentation and raw endpoints.
API_LINKS = (
    ("/docs", "api_docs_swagger"),
    ("/redoc", "api_docs_redoc"),
    ("/api/v1/health", "api_health"),
    ("/api/v1/cities/boundaries", "api_boundaries"),
    ("/api/v1/sites?format=geojson", "api_sites"),
    ("/api/v1/parameters", "api_parameters"),
)


@functools.cache
def messages(lang: Lang) -> dict[str, str]:
    """The message catalogue of ``lang`` (``static/i18n/{lang}.json``)."""
    path = STATIC_DIR / "i18n" / f"{lang}.json"
    catalogue: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    return catalogue


def page_lang(request: Request) -> Lang:
    """The page language: ``?lang=``, else the ``lang`` cookie, else Chinese."""
    for value in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if value == "zh":
            return "zh"
        if value == "en":
            return "en"
    return "zh"


@functools.cache
def _levels(lang: Lang) -> tuple[dict[str, Any], ...]:
    """The six AQI levels (HJ 633-2012 Table 2, Appendix A colours) for legends and scripts,
    with their health effects and recommended measures (issue 15: the health advice panel)."""
    zh = lang == "zh"
    return tuple(
        {
            "level": info.level,
            "name": info.category_zh if zh else info.category_en,
            "category": info.level_zh if zh else info.level_en,
            "color": info.hex,
            "aqi_min": info.aqi_min,
            "aqi_max": info.aqi_max,
            # health effects and recommended measures (HJ 633-2012 Table 2; the 2026 wording)
            "effect": info.effect_zh if zh else info.effect_en,
            "advice": info.advice_zh if zh else info.advice_en,
            "effect_2026": info.effect_zh_2026,
            "advice_2026": info.advice_zh_2026,
        }
        for info in air_tables.levels()
    )


def page_context(request: Request) -> dict[str, Any]:
    """What every page template gets: language, messages, levels and the other language.

    Keys a caller passes itself (``user``, ``title`` …) are never set here, so a caller's
    context is not overridden (Starlette applies context processors last).
    """
    lang = page_lang(request)
    return {
        "lang": lang,
        "other_lang": "en" if lang == "zh" else "zh",
        "t": messages(lang),
        "levels": _levels(lang),
    }


templates = Jinja2Templates(directory=TEMPLATES_DIR, context_processors=[page_context])

router = APIRouter(include_in_schema=False)


def _render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    lang = page_lang(request)
    if request.query_params.get("lang") == lang and request.cookies.get(LANG_COOKIE) != lang:
        _remember(response, lang)
    return response


def _remember(response: Response, lang: Lang) -> None:
    response.set_cookie(LANG_COOKIE, lang, max_age=_YEAR_SECONDS, samesite="lax", httponly=False)


def _not_found(request: Request, message: str) -> HTMLResponse:
    return _render(request, "notfound.html", status_code=404, page="", message=message)


def _local_path(target: str | None) -> str:
    """``target`` when it is a path on this site, else ``/`` (no open redirects)."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _region_cities(region: catalog.Region, lang: Lang) -> list[dict[str, Any]]:
    table = region.city_table()  # in the region's order, like region.cities
    names = zip(table["name_zh"].astype(str), table["name_en"].astype(str), strict=True)
    return [
        {"code": code, "name": zh if lang == "zh" else en, "name_zh": zh, "name_en": en}
        for code, (zh, en) in zip(region.cities, names, strict=True)
    ]


def _air_span(cursor: Any, region: catalog.Region) -> dict[str, pd.Timestamp | None]:
    """First and last hour of the stored air quality (the city AQI table), else of all
    observations: enterprise data arriving live through the gateway (``ecobasin serve
    --simulate``) must not move the air pages to a year without air data."""
    span = air_service.city_aqi_span(cursor)
    if span is not None:
        first, last = span
        return {
            "first_time": pd.Timestamp(first, tz="UTC"),
            "last_time": pd.Timestamp(last, tz="UTC"),
        }
    return reference.summary(cursor, region.cities)


def _last_hour_cst(cursor: Any, region: catalog.Region) -> pd.Timestamp | None:
    """The start of the last stored hour in China Standard Time (its hour-ending instant minus
    one hour, so 24:00 of 31 December still counts to that year and month)."""
    last = _air_span(cursor, region)["last_time"]
    return None if last is None else last.tz_convert("Asia/Shanghai") - _ONE_HOUR


def _years(cursor: Any, region: catalog.Region) -> list[int]:
    """The years with air quality, newest first (none when the store is empty)."""
    span = _air_span(cursor, region)
    if span["first_time"] is None or span["last_time"] is None:
        return []
    first = (span["first_time"].tz_convert("Asia/Shanghai") - _ONE_HOUR).year
    last = (span["last_time"].tz_convert("Asia/Shanghai") - _ONE_HOUR).year
    return list(range(last, first - 1, -1))


@functools.cache
def _water_classes(lang: Lang) -> tuple[dict[str, Any], ...]:
    """GB 3838-2002 classes I … 劣V with the status and colour of 环办〔2011〕22号 Table 1."""
    zh = lang == "zh"
    classes = (water_tables.class_info(num) for num in range(1, 7))
    return tuple(
        {
            "num": c.num,
            "label": c.label,
            "name": c.label_zh if zh else f"Class {c.label}",
            "status": c.status_zh if zh else c.status_en,
            "colour": c.colour_zh if zh else c.colour_en,
            "color": c.hex,
        }
        for c in classes
    )


def _water_parameters(cursor: Any) -> dict[str, dict[str, str]]:
    """Water parameters of the registry by id: names zh/en (to name main pollutants) and unit."""
    frame = reference.parameters(cursor, domain="water")
    return {
        str(r.parameter): {
            "name_zh": str(r.name_zh),
            "name_en": str(r.name_en),
            "unit": str(r.unit),
        }
        for r in frame.itertuples()
    }


def _water_periods(cursor: Any) -> tuple[list[str], list[str]]:
    """Months (``YYYY-MM``) and years with stored water results, newest first."""
    periods = water_service.result_periods(cursor)
    months = sorted((p for p in periods if len(p) == 7), reverse=True)
    years = sorted((p for p in periods if len(p) == 4), reverse=True)
    return months, years


def _water_context(cursor: Any, lang: Lang) -> dict[str, Any]:
    months, years = _water_periods(cursor)
    return {
        "water_months": months,
        "water_years": years,
        "water_classes": _water_classes(lang),
        "water_parameters": _water_parameters(cursor),
    }


def _carbon_meta(lang: Lang) -> dict[str, Any]:
    """Sectors (in the GPC order of the library) and the tracked targets, named in ``lang``."""
    zh = lang == "zh"
    sectors = [
        {"id": key, "name": s["name_zh"] if zh else s["name_en"], "gpc": s["gpc_ref"]}
        for key, s in carbon_factors.sectors().items()
    ]
    targets = [
        {
            "id": t["id"],
            "name": t["name_zh"] if zh else t["name_en"],
            "base_year": t.get("base_year"),
            "document": t.get("document", ""),
            "confidence": t.get("confidence", ""),
        }
        for t in carbon_factors.targets()
    ]
    return {"sectors": sectors, "targets": targets}


@router.get("/lang")
def set_language(
    to: Annotated[Lang, Query(description="zh or en")],
    next: Annotated[str | None, Query(description="Page to return to.")] = None,
) -> RedirectResponse:
    """Remember the language in a cookie and go back to the page."""
    response = RedirectResponse(_local_path(next), status_code=303)
    _remember(response, to)
    return response


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, cursor: CursorDep, region: RegionDep) -> HTMLResponse:
    """The overview map: city boundaries, air stations or water sections, the time control."""
    lang = page_lang(request)
    return _render(
        request,
        "overview.html",
        page="overview",
        region_name=region.name_zh if lang == "zh" else region.name_en,
        cities=_region_cities(region, lang),
        api_links=API_LINKS,
        **_water_context(cursor, lang),
    )


@router.get("/city/{code}", response_class=HTMLResponse)
def city_page(request: Request, code: int, cursor: CursorDep, region: RegionDep) -> HTMLResponse:
    """One city: trends, the daily calendar, good-day ratio and its stations."""
    lang = page_lang(request)
    city = next((c for c in _region_cities(region, lang) if c["code"] == code), None)
    if city is None:
        return _not_found(
            request, f"城市 {code} 不在本区域 · city {code} is not in the region {region.id}"
        )
    return _render(
        request,
        "city.html",
        page="city",
        scope="city",
        scope_id=str(code),
        city=city,
        years=_years(cursor, region),
    )


@router.get("/station/{site_id}", response_class=HTMLResponse)
def station_page(
    request: Request, site_id: str, cursor: CursorDep, region: RegionDep
) -> HTMLResponse:
    """One air station: trends, the daily calendar and its good-day ratio."""
    lang = page_lang(request)
    found = reference.sites(cursor, site_ids=[site_id], kinds=["air_station"])
    if found.empty:
        return _not_found(request, f"没有空气站点 {site_id} · no air station {site_id}")
    row = found.iloc[0]
    name_en = row["name_en"] if isinstance(row["name_en"], str) else row["name_zh"]
    station = {
        "site_id": site_id,
        "name": row["name_zh"] if lang == "zh" else name_en,
        "name_zh": row["name_zh"],
        "name_en": name_en,
        "city_code": int(row["city_code"]),
        "city_name": row["city_zh"] if lang == "zh" else row["city_en"],
        "lon": None if row["lon"] != row["lon"] else float(row["lon"]),
        "lat": None if row["lat"] != row["lat"] else float(row["lat"]),
    }
    return _render(
        request,
        "station.html",
        page="station",
        scope="site",
        scope_id=site_id,
        station=station,
        years=_years(cursor, region),
    )


@router.get("/rankings", response_class=HTMLResponse)
def rankings_page(request: Request, cursor: CursorDep, region: RegionDep) -> HTMLResponse:
    """The cities ranked for a year, a quarter or a month."""
    last = _last_hour_cst(cursor, region)
    return _render(
        request,
        "rankings.html",
        page="rankings",
        years=_years(cursor, region),
        latest_month=None if last is None else last.month,
        latest_quarter=None if last is None else (last.month - 1) // 3 + 1,
    )


@router.get("/data", response_class=HTMLResponse)
def data_page(request: Request, region: RegionDep) -> HTMLResponse:
    """The query form with a preview table and CSV/Parquet downloads."""
    lang = page_lang(request)
    return _render(
        request,
        "data.html",
        page="data",
        cities=_region_cities(region, lang),
        parameters=AIR_PARAMETERS,
    )


@router.get("/water", response_class=HTMLResponse)
def water_page(
    request: Request,
    cursor: CursorDep,
    region: RegionDep,
    period: Annotated[str | None, Query(description="Month YYYY-MM shown first.")] = None,
) -> HTMLResponse:
    """Surface water: section classes of a month, class shares, the CWQI ranking and the
    cross-boundary compensation (GB 3838-2002, 环办〔2011〕22号, 环办监测〔2017〕51号)."""
    lang = page_lang(request)
    context = _water_context(cursor, lang)
    months = context["water_months"]
    return _render(
        request,
        "water.html",
        page="water",
        cities=_region_cities(region, lang),
        selected_month=period if period in months else (months[0] if months else None),
        **context,
    )


@router.get("/water/section/{site_id}", response_class=HTMLResponse)
def water_section_page(
    request: Request,
    site_id: str,
    cursor: CursorDep,
    year: Annotated[int | None, Query(description="CST year shown first.")] = None,
) -> HTMLResponse:
    """One water section: its facts, the class calendar of a year (months, and days with
    automatic data), the main items against Class III and main pollutants by month."""
    lang = page_lang(request)
    found = water_service.section_facts(cursor, site_id)
    if found is None:
        return _not_found(request, f"没有水质断面 {site_id} · no water section {site_id}")
    years = found["years"]
    return _render(
        request,
        "water_section.html",
        page="water",
        section=found["section"],
        water_years=years,
        selected_year=year if year in years else (years[0] if years else None),
        water_classes=_water_classes(lang),
        water_parameters=_water_parameters(cursor),
    )


@router.get("/carbon", response_class=HTMLResponse)
def carbon_page(
    request: Request,
    cursor: CursorDep,
    region: RegionDep,
    city: Annotated[int | None, Query(description="City code shown first.")] = None,
) -> HTMLResponse:
    """Carbon: a city's inventory by sector over the years, peak tracking against the targets,
    sinks and the electricity accounting choice."""
    lang = page_lang(request)
    cities = _region_cities(region, lang)
    codes = [c["code"] for c in cities]
    years = sorted({int(y) for y in carbon_service.inventories(cursor, codes, None)["year"]})
    return _render(
        request,
        "carbon.html",
        page="carbon",
        cities=cities,
        selected_city=city if city in codes else (codes[0] if codes else None),
        carbon_years=years,
        carbon_meta=_carbon_meta(lang),
    )
