"""Item 13: observation pages stream from the store in batches, the public's page size is
capped, and heavy exports run a few at a time (429 with Retry-After beyond)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from loopback import get as http_get
from loopback import stream as http_stream

from .conftest import SecurityStore, Served, start_server, status_of, stop_server

PAGE = "/api/v1/observations"


@pytest.fixture(name="server")
def shared_read_only_server(read_only_server: Served) -> Served:
    """The package's read-only server (conftest): these tests read pages and measure nothing
    of the process (the memory test starts its own)."""
    return read_only_server


def test_the_public_page_size_is_capped(server: Served) -> None:
    response = http_get(f"{server.base}{PAGE}", params={"limit": 100_000})
    assert response.status_code == 422
    assert response.json()["errors"][0]["parameter"] == "limit"
    assert http_get(f"{server.base}{PAGE}", params={"limit": 10_000}).status_code == 200


@pytest.mark.parametrize("fmt", ["json", "csv", "parquet"])
def test_every_format_streams_a_100k_page(
    server: Served, security_store: SecurityStore, fmt: str
) -> None:
    url = f"{server.base}{PAGE}"
    params = {"limit": 100_000, "format": fmt}
    auth = security_store.auth("viewer")
    with http_stream("GET", url, params=params, headers=auth, timeout=300) as response:
        assert response.status_code == 200
        assert "content-length" not in response.headers  # streamed (chunked), not built whole
        assert response.headers["x-total-count"] == str(120_000 + 145)
        size = sum(len(chunk) for chunk in response.iter_raw())
    assert size > 500_000


def test_a_100k_json_page_costs_less_memory_than_its_size(
    security_store: SecurityStore, tmp_path: Path
) -> None:
    fresh = start_server(security_store.path, tmp_path)  # a peak no other test has raised
    try:
        url = f"{fresh.base}{PAGE}"
        auth = security_store.auth("viewer")
        http_get(url, params={"limit": 10_000}, headers=auth, timeout=300)  # warm up
        before = fresh.peak_rss_kib()
        response = http_get(url, params={"limit": 100_000}, headers=auth, timeout=300)
        assert response.status_code == 200
        assert len(response.json()["results"]) == 100_000
        ratio = (fresh.peak_rss_kib() - before) * 1024 / len(response.content)
    finally:
        stop_server(fresh)
    # built whole (DataFrame, 100k dicts, one encoded body) the peak grows ~8 times the page's
    # size (measured on the code before streaming); streamed in batches, about once
    assert ratio < 3, f"peak grew by {ratio:.1f} times the page's size"


@pytest.fixture
def one_export_server(configured_server: Served) -> Served:
    """The package's server with one heavy-export slot (conftest; its public URL is another
    module's subject)."""
    return configured_server


def _open_export(served: Served, token: str) -> socket.socket:
    """A 100k-row JSON export whose answer is left unread (the server blocks on a full
    socket, holding its export slot)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(60)
    sock.connect(("127.0.0.1", served.port))
    sock.sendall(
        f"GET {PAGE}?limit=100000 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {token}\r\n\r\n".encode()
    )
    assert status_of(sock.recv(4096)) == 200
    return sock


def test_heavy_exports_beyond_the_bound_get_429_with_retry_after(
    one_export_server: Served, security_store: SecurityStore
) -> None:
    url = f"{one_export_server.base}{PAGE}"
    auth = security_store.auth("admin")
    held = _open_export(one_export_server, security_store.tokens["admin"])
    try:
        busy = http_get(url, params={"limit": 100_000, "format": "csv"}, headers=auth)
        assert busy.status_code == 429
        assert int(busy.headers["retry-after"]) > 0
        assert busy.json()["type"] == "urn:ecobasin:problem:exports-busy"
        small = http_get(url, params={"limit": 100}, headers=auth)
        assert small.status_code == 200  # light pages are never held back
    finally:
        held.close()
    for _ in range(600):  # the slot comes back once the held export ends
        again = http_get(url, params={"limit": 100_000, "format": "csv"}, headers=auth)
        if again.status_code == 200:
            break
        assert again.status_code == 429
        time.sleep(0.1)
    assert again.status_code == 200
