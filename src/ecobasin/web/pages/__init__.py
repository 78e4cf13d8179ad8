"""Server-rendered pages: the dashboard, /forecast and the API documentation (the /live page
router still sits beside the live API, in ``web/api/live.py``)."""

from __future__ import annotations

from ecobasin.web.pages import api_docs, dashboard, forecast

__all__ = ["api_docs_router", "forecast_pages_router", "pages_router"]

pages_router = dashboard.router  # the dashboard pages (/, /city/…, /rankings, /data)
forecast_pages_router = forecast.router  # /forecast
api_docs_router = api_docs.router  # /docs and /redoc from vendored assets
