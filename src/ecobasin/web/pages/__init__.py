"""Server-rendered pages: the dashboard, /live, /forecast, /noise, /edit and the API
documentation, /incidents."""

from __future__ import annotations

from ecobasin.web.pages import (
    api_docs,
    consultation,
    dashboard,
    editor,
    forecast,
    incidents,
    live,
    machinery,
    noise,
    scorecards,
    sources,
    supervision,
    table_export,
)

__all__ = [
    "api_docs_router",
    "consultation_pages_router",
    "editor_pages_router",
    "forecast_pages_router",
    "incident_pages_router",
    "live_pages_router",
    "machinery_pages_router",
    "noise_pages_router",
    "pages_router",
    "scorecard_pages_router",
    "sources_pages_router",
    "supervision_pages_router",
    "table_export_router",
]

pages_router = dashboard.router  # the dashboard pages (/, /city/…, /rankings, /data)
forecast_pages_router = forecast.router  # /forecast
live_pages_router = live.router  # /live: enterprises and the gateway
api_docs_router = api_docs.router  # /docs and /redoc from vendored assets
editor_pages_router = editor.router  # /edit: a city editor's sites, uploads, invalidations
noise_pages_router = noise.router  # /noise, /noise/station/…
machinery_pages_router = machinery.router  # /machinery: the shared NRMM registry (issue 18)
table_export_router = table_export.router  # POST /tables/xlsx: a shown table as Excel
incident_pages_router = incidents.router  # /incidents, /incidents/{id}
consultation_pages_router = consultation.router  # /consultation/…: the consultation pages
supervision_pages_router = supervision.router  # /supervision…: cases and key tasks (issue 18)
sources_pages_router = sources.router  # /sources/{site_id}: a station's source view (issue 19)
scorecard_pages_router = scorecards.router  # /scorecards: target assessment (issue 19)
