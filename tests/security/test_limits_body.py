"""Item 12: credentials are checked before a body is read, and bodies are capped (413)."""

from __future__ import annotations

import json
from collections.abc import Iterator

from loopback import get as http_get
from loopback import post as http_post

from .conftest import SecurityStore, Served, raw_request, status_of

DECLARED = 50_000_000  # [bytes] the attack's 47 MB body


def _post_head(path: str, length: int, extra: str = "") -> str:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n{extra}Connection: close\r\n\r\n"
    )


def test_no_credentials_gets_401_before_the_body_is_sent(server: Served) -> None:
    # only the head and 1 KiB are sent: the answer comes without waiting for the other 50 MB
    answer = raw_request(server.port, _post_head("/api/v1/observations", DECLARED), b"{" * 1024)
    assert status_of(answer) == 401
    problem = json.loads(answer.partition(b"\r\n\r\n")[2])
    assert "credentials" in problem["detail"]


def test_a_declared_body_above_the_cap_gets_413_at_once(
    server: Served, security_store: SecurityStore
) -> None:
    token = security_store.tokens["admin"]
    head = _post_head("/api/v1/observations", DECLARED, f"Authorization: Bearer {token}\r\n")
    answer = raw_request(server.port, head, b"{" * 1024)
    assert status_of(answer) == 413
    problem = json.loads(answer.partition(b"\r\n\r\n")[2])
    assert problem["type"] == "urn:ecobasin:problem:body-too-large"
    assert str(8 * 1024 * 1024) in problem["detail"]


def test_a_chunked_body_is_counted_and_refused_at_the_cap(
    server: Served, security_store: SecurityStore
) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: 9 MiB in 64 KiB chunks
        yield b'{"rows": [' + b" " * 65526
        for _ in range(9 * 16):
            yield b" " * 65536

    before = server.peak_rss_kib()
    response = http_post(
        f"{server.base}/api/v1/observations",
        content=chunks(),
        headers={**security_store.auth("admin"), "Content-Type": "application/json"},
        timeout=120,
    )
    assert response.status_code == 413, response.text
    assert response.json()["type"] == "urn:ecobasin:problem:body-too-large"
    grown = server.peak_rss_kib() - before
    assert grown < 4 * 9 * 1024  # [KiB] far below what parsing 9 MiB of JSON would take
    assert http_get(f"{server.base}/api/v1/health").status_code == 200


def test_a_body_under_the_cap_with_credentials_is_served(
    server: Served, security_store: SecurityStore
) -> None:
    row = {"site_id": "1431A", "parameter": "PM2.5", "time": "2024-01-02T10:00", "value": 33}
    response = http_post(
        f"{server.base}/api/v1/observations",
        json={"rows": [row]},
        headers=security_store.auth("admin"),
        timeout=120,  # a bound for a wedged server, not a performance limit (httpx's is 5 s)
    )
    assert response.status_code == 200, response.text
    assert response.json()["inserted"] + response.json()["replaced"] == 1
