"""One router per resource, assembled under ``/api/v1``."""

from __future__ import annotations

from fastapi import APIRouter

from ecobasin.web.routers import (
    admin,
    alarms,
    api_docs,
    aqi,
    carbon,
    cities,
    consultation,
    editing,
    editor_pages,
    emergency,
    forecast,
    forecast_page,
    freshness,
    health,
    ledger,
    live,
    map,
    noise,
    observations,
    pages,
    parameters,
    rankings,
    sites,
    table_export,
    water,
    writes,
)

__all__ = [
    "API_PREFIX",
    "api_docs_router",
    "api_router",
    "editor_pages_router",
    "forecast_pages_router",
    "live_pages_router",
    "pages_router",
    "table_export_router",
]

API_PREFIX = "/api/v1"

api_router = APIRouter(prefix=API_PREFIX)
# air quality (issue 4): /aqi, /map, /rankings. First: routes are matched in order, and the map
# is the most requested answer (bench/api_bench.py); no other path overlaps them.
for _module in (aqi, map, rankings):
    api_router.include_router(_module.router)
for _module in (health, cities, sites, parameters, observations):
    api_router.include_router(_module.router)
for _module in (admin, writes):  # rights (issue 4): /me, /users, /tokens, writes
    api_router.include_router(_module.router)
api_router.include_router(alarms.router)  # alarms (issue 5): /alarms, /limits
api_router.include_router(water.router)  # surface water (issue 7): /water/...
api_router.include_router(carbon.router)  # carbon (issue 8): /carbon/...
api_router.include_router(forecast.router)  # forecasts (issue 6): /forecasts, /warnings
api_router.include_router(ledger.router)  # carbon-inclusive ledger (issue 8): /ledger/...
api_router.include_router(live.router)  # live enterprises, gateway status (issues 4, 5)
api_router.include_router(freshness.router)  # /freshness: badge and demo banner (issue 15)
api_router.include_router(editing.router)  # editors' uploads, retirements, audit (issue 15)
api_router.include_router(noise.router)  # environmental noise (issue 23): /noise/...
api_router.include_router(emergency.router)  # emergency lists (issue 17): /emergency/...
api_router.include_router(consultation.router)  # joint forecast consultation (issue 16)

pages_router = pages.router  # the dashboard pages (/, /city/…, /rankings, /data)
live_pages_router = live.page_router  # /live (issues 4, 5)
forecast_pages_router = forecast_page.router  # /forecast (issue 6)
editor_pages_router = editor_pages.router  # /edit: a city editor's pages (issue 15)
table_export_router = table_export.router  # POST /tables/xlsx: a shown table as Excel (issue 15)
api_docs_router = api_docs.router  # /docs and /redoc from vendored assets (issue 13)
