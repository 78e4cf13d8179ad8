"""Item 11: a huge Cookie header cannot freeze the server (CVE-2024-7592), whatever the
Python version; the request head is capped by h11."""

from __future__ import annotations

import json

import pytest

from loopback import get as http_get

from .conftest import Served, raw_request, status_of


@pytest.fixture(name="server")
def shared_read_only_server(read_only_server: Served) -> Served:
    """The package's read-only server (conftest): these tests only read answers and headers."""
    return read_only_server


def _get(served: Served, path: str, cookie: str) -> bytes:
    head = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
    )
    return raw_request(served.port, head)


def test_a_60_kb_cookie_is_refused_before_parsing_and_the_server_stays_up(server: Served) -> None:
    cookie = "; ".join(f"c{i}=" + "\\" * 50 for i in range(1100))  # ~60 KB, quadratic input
    assert len(cookie) > 60_000
    answer = _get(server, "/", cookie)
    assert status_of(answer) in (400, 431)  # h11 refuses a head above max_header_bytes
    assert http_get(f"{server.base}/api/v1/health").status_code == 200


def test_a_cookie_above_the_cookie_cap_gets_a_431_problem(server: Served) -> None:
    cookie = "ecobasin_session=" + "a" * 9000  # above 8 KiB, below the 16 KiB head cap
    answer = _get(server, "/api/v1/health", cookie)
    assert status_of(answer) == 431
    problem = json.loads(answer.partition(b"\r\n\r\n")[2])
    assert problem["type"] == "urn:ecobasin:problem:header-too-large"
    assert "Cookie header" in problem["detail"]
    normal = http_get(f"{server.base}/api/v1/health", cookies={"ecobasin_session": "x" * 100})
    assert normal.status_code == 200


def test_the_start_up_warning_names_the_cve_on_an_affected_python(server: Served) -> None:
    from ecobasin.limits import cookie_cve_warning

    assert "CVE-2024-7592" in (cookie_cve_warning((3, 11, 7)) or "")
    assert cookie_cve_warning((3, 11, 10)) is None
    assert cookie_cve_warning((3, 12, 5)) is not None
    assert cookie_cve_warning((3, 13, 0)) is None
    expected = cookie_cve_warning()
    if expected is not None:  # this machine's 3.11.7 is affected
        assert "CVE-2024-7592" in server.stderr()
