"""Issue 12: the web status of a running gateway (``/api/v1/gateway/status`` and ``/live``)
shows the connections closed for their budget (``budget_closed``) and the problems counted
but not written one by one (``unsampled``), over real sockets against the server's gateway."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from gateway_helpers import PATIENCE, upload

from ecobasin import catalog
from ecobasin.store import Store


def _bad_crc(frame: bytes) -> bytes:
    """The frame with a CRC that does not match (HJ 212-2017 Appendix A): a framing error."""
    crc = frame[-6:-2]
    return frame[:-6] + (b"0000" if crc != b"0000" else b"1111") + b"\r\n"


def _spend_budget(port: int, frames: int) -> None:
    """One hostile connection: frames with wrong CRCs until the gateway closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=PATIENCE) as sock:
        bad = _bad_crc(upload(mn="NOBODY"))
        try:
            sock.sendall(bad * frames)
            while sock.recv(4096):  # no reply to a bad frame: read until the gateway closes
                pass
        except ConnectionError:
            pass  # reset: closed with unread bytes, as a budget close may be


def test_status_and_live_page_show_budget_closes_and_unsampled_problems(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from ecobasin.jobs.live_feed import LiveFeed, register_fleet
    from ecobasin.web.app import create_app
    from ecobasin.web.security import accounts

    region = catalog.load_region()
    db = tmp_path / "status.duckdb"
    feed = LiveFeed(gateway_port=0, enterprises=1, seed=5, refresh_every=0.5, speedup=120.0)
    with Store(db) as store:
        store.sync_catalog(region)
        register_fleet(store, feed, region)
        accounts.create_user(store.con, "viewer", "viewer", None, "password-viewer-1")
        token = accounts.create_token(store.con, "viewer", "tests")[1]
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(db, region, live=feed)) as client:
        gateway = client.app.state.live.gateway  # type: ignore[attr-defined]
        limit = gateway.config.max_frame_errors
        samples = gateway.config.reject_samples
        connections = samples // limit + 2  # more problems from this address than samples
        for _ in range(connections):
            _spend_budget(gateway.port, limit)
        deadline = time.monotonic() + PATIENCE  # a safety net for a stuck gateway, not a speed test
        status: dict[str, object] = {}
        while time.monotonic() < deadline:
            status = client.get("/api/v1/gateway/status", headers=headers).json()
            if status["budget_closed"] == connections:
                break
            time.sleep(0.1)
        page = client.get("/live?lang=en", headers=headers).text
    assert status["budget_closed"] == connections
    problems = connections * (limit + 1)  # each: its CRC errors and one connection_budget
    assert status["unsampled"] == problems - samples
    assert 'id="gw-budget_closed"' in page and 'id="gw-unsampled"' in page
