"""The FastAPI application of the read API: ``create_app(db_path, region)``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

import ecobasin
from ecobasin import catalog
from ecobasin.jobs.live_feed import LiveFeed, start_live
from ecobasin.limits import Limits, load_limits
from ecobasin.settings import load_settings
from ecobasin.store import Store
from ecobasin.web import problems
from ecobasin.web.api import api_router
from ecobasin.web.api.observations import ExportSlots
from ecobasin.web.api.open311 import router as open311_router
from ecobasin.web.middleware import RequestGuard
from ecobasin.web.pages import (
    api_docs_router,
    consultation_pages_router,
    editor_pages_router,
    forecast_pages_router,
    incident_pages_router,
    live_pages_router,
    machinery_pages_router,
    noise_pages_router,
    pages_router,
    scorecard_pages_router,
    sources_pages_router,
    supervision_pages_router,
    table_export_router,
)
from ecobasin.web.pages.dashboard import STATIC_DIR
from ecobasin.web.pages.emergency import router as emergency_pages_router
from ecobasin.web.schedule import Schedule, every_s_from_env
from ecobasin.web.security import pages as security_pages
from ecobasin.web.security.deps import current_principal

__all__ = ["create_app", "openapi_document", "operation_id"]

DESCRIPTION = """\
Read API of ecobasin, the shared environmental platform of a city region (by default the
eight cities of the Chengdu Plain Economic Zone, 成都平原经济区).

* Times are UTC instants at the end of each averaging period; people read China Standard Time
  hour-ending labels (`time_cst`). Query times without an offset are China Standard Time.
* Names are bilingual: `name_zh` and `name_en` always, `name` in the language of `lang`.
* Errors are RFC 9457 problem details (`application/problem+json`) naming the bad parameter.
"""


#: the OpenAPI document of each distinct API built in this process (:func:`openapi_document`)
_OPENAPI_DOCUMENTS: dict[tuple[Any, ...], dict[str, Any]] = {}


def openapi_document(app: FastAPI) -> dict[str, Any]:
    """``app``'s OpenAPI document, with the problem-details schemas; built once per process
    for each distinct set of routes, and shared: callers read it, never change it.

    FastAPI takes 1.5–2 s of CPU to build it (a pydantic adapter for every field of every
    model), inside the event loop, on the first request for it. Every app :func:`create_app`
    makes has the same routes, so the apps of one process (the tests make one per module) need
    it once. The key holds the path, methods and endpoint of each route in the document: an app
    with other routes gets its own document.
    """
    key = (
        app.title,
        app.version,
        app.description,
        repr(app.openapi_tags),
        tuple(
            (route.path, frozenset(route.methods or ()), route.endpoint)
            for route in app.routes
            if isinstance(route, APIRoute) and route.include_in_schema
        ),
    )
    document = _OPENAPI_DOCUMENTS.get(key)
    if document is None:
        document = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        document.setdefault("components", {}).setdefault("schemas", {}).update(
            problems.openapi_components()
        )
        _OPENAPI_DOCUMENTS[key] = document
    return document


def operation_id(route: APIRoute) -> str:
    """Stable OpenAPI operation ids ``{tag}-{function name}`` for generated clients."""
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


def create_app(
    db_path: str | Path,
    region: catalog.Region | None = None,
    live: LiveFeed | None = None,
    limits: Limits | None = None,
    *,
    read_service: bool = False,
    schedule: bool = False,
) -> FastAPI:
    """The API and dashboard over the store at ``db_path``, answering for ``region`` (default:
    the bundled default region).

    The store is opened once, in the app's lifespan (so the file is held only while the app
    runs), and kept in ``app.state.store``; each request reads through its own cursor. A store
    without cities gets the bundled catalogue on start-up. With ``live``, the HJ 212 gateway and
    its simulated enterprises run in the app's event loop too (``ecobasin demo``), writing
    through the same store (DuckDB allows one writing process per file). ``limits``
    (default: the configured :class:`~ecobasin.limits.Limits`) caps bodies, cookies, pages
    and concurrent exports. With
    ``read_service``, read-only CLI commands of other processes run here
    (:mod:`ecobasin.cli.readpath`). With ``schedule``, the periodic jobs run in the lifespan
    (:mod:`ecobasin.web.schedule`: incident escalation every minute, the daily case sweep).
    """
    served = region if region is not None else catalog.load_region()
    limited = limits if limits is not None else load_limits()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = Store(db_path)
        try:
            if store.cities().empty:
                store.sync_catalog(served)
            app.state.store = store
            app.state.region = served
            running = None if live is None else await start_live(store, live, Path(db_path), served)
            app.state.live = running
            readers = None
            if read_service:
                from ecobasin.cli.readpath import ReadService

                readers = ReadService(store, Path(db_path))
                readers.start()
            jobs = Schedule(store, every_s_from_env(), load_settings()) if schedule else None
            if jobs is not None:
                jobs.start()
            try:
                yield
            finally:
                if jobs is not None:
                    await jobs.stop()
                if readers is not None:
                    readers.stop()
                if running is not None:
                    await running.stop()
        finally:
            store.close()

    app = FastAPI(
        title="ecobasin API",
        version=ecobasin.__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        docs_url=None,  # /docs and /redoc from the vendored assets (api_docs_router), no CDN
        redoc_url=None,
        openapi_tags=[
            {"name": "health", "description": "Service status and store counts."},
            {"name": "cities", "description": "Cities of the region and their boundaries."},
            {"name": "sites", "description": "Monitoring sites (JSON or GeoJSON)."},
            {"name": "parameters", "description": "Parameter registry with units."},
            {"name": "observations", "description": "Stored values, paged, JSON or CSV."},
            {"name": "rights", "description": "Who am I, users, API tokens, audit."},
            {"name": "writes", "description": "Write observations and sites; invalidate values."},
            {
                "name": "aqi",
                "description": "AQI levels, latest hour, hourly and daily series (HJ 633).",
            },
            {"name": "map", "description": "The region's AQI map for one hour or day (一张图)."},
            {
                "name": "live",
                "description": "Enterprise outlets' latest readings against their limits, "
                "the HJ 212 gateway's status (实时监控; restricted).",
            },
            {
                "name": "rankings",
                "description": "City assessment and ranking as `ecobasin evaluate` (HJ 663).",
            },
            {
                "name": "water",
                "description": "Surface water: sections, GB 3838 classes, CWQI ranking, "
                "compensation (as `ecobasin water`).",
            },
        ],
    )
    app.state.region = served
    app.state.limits = limited
    app.state.exports = ExportSlots(limited.heavy_exports)
    problems.install(app)
    app.add_middleware(RequestGuard, limits=limited)
    # the principal on every page, so the navigation shows who is signed in
    app.include_router(pages_router, dependencies=[Depends(current_principal)])
    app.include_router(live_pages_router)  # /live: enterprises and the gateway
    app.include_router(forecast_pages_router)  # /forecast: forecasts and warnings
    # /noise, /noise/station/{id}; the principal for the navigation, as pages
    app.include_router(noise_pages_router, dependencies=[Depends(current_principal)])
    app.include_router(
        consultation_pages_router, dependencies=[Depends(current_principal)]
    )  # issue 16
    app.include_router(machinery_pages_router)  # /machinery: the NRMM registry (issue 18)
    app.include_router(security_pages.router)  # /signin, /signout, /admin
    app.include_router(editor_pages_router)  # /edit: a city editor's forms (issue 15)
    app.include_router(incident_pages_router)  # /incidents: sudden incidents on shared rivers
    app.include_router(table_export_router)  # /tables/xlsx: table downloads (issue 15)
    app.include_router(emergency_pages_router)  # /emergency/…: lists and compliance (issue 17)
    app.include_router(supervision_pages_router)  # /supervision: cases, key tasks (issue 18)
    app.include_router(sources_pages_router)  # /sources/{site_id}: source analysis (issue 19)
    # /scorecards: target assessment (issue 19); the principal for the navigation
    app.include_router(scorecard_pages_router, dependencies=[Depends(current_principal)])
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(api_router)
    app.include_router(open311_router)  # /open311/v2: public case disclosure (issue 18)
    app.include_router(api_docs_router)  # /docs, /redoc

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = openapi_document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
