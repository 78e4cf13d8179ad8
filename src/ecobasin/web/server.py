"""``serve``: run the API with uvicorn (``ecobasin serve``)."""

from __future__ import annotations

import logging
from pathlib import Path

import uvicorn

from ecobasin import catalog
from ecobasin.jobs.live_feed import LiveFeed
from ecobasin.limits import cookie_cve_warning, load_limits
from ecobasin.store import Store
from ecobasin.web.app import create_app

__all__ = ["serve"]


def serve(
    db_path: str | Path,
    host: str = "127.0.0.1",
    port: int = 8000,
    region: catalog.Region | str | Path | None = None,
    live: LiveFeed | None = None,
) -> None:
    """Serve the API and dashboard over the store at ``db_path`` until interrupted.

    ``region`` is a :class:`~ecobasin.catalog.Region`, a bundled region name or a region TOML
    path (default: the bundled default region). ``live``: also run the HJ 212 gateway with
    simulated enterprises (the demo).

    Raises
    ------
    StoreBusyError
        Before serving, when another process holds the database file.
    """
    served = (
        region
        if isinstance(region, catalog.Region) or region is None
        else (catalog.load_region(region))
    )
    Store(db_path).close()  # fail here, with StoreBusyError, rather than inside uvicorn
    limits = load_limits()
    warning = cookie_cve_warning()
    if warning:
        logging.getLogger("ecobasin.security").warning(warning)
    # h11, not httptools: h11 bounds the request head (max_header_bytes), httptools does not;
    # a bounded graceful stop: SIGTERM / Ctrl+C end the server within 10 s with open connections
    uvicorn.run(
        create_app(db_path, served, live, limits, read_service=True, schedule=True),  # CLI readers
        host=host,
        port=port,
        http="h11",
        h11_max_incomplete_event_size=limits.max_header_bytes,
        timeout_graceful_shutdown=3,
    )
