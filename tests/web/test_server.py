"""The app's life cycle: concurrent requests, a fresh store, another region, time parsing, and
``serve`` as a real process on a real socket."""

from __future__ import annotations

import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import loopback
from ecobasin import catalog
from ecobasin.errors import StoreBusyError
from ecobasin.store import Store
from ecobasin.web import create_app
from ecobasin.web.deps import parse_time
from ecobasin.web.problems import ProblemError

#: A safety net against a server that never starts, not a speed test: at load 15 on two
#: cores a start of a few CPU seconds took over 30 s of wall time.
START_PATIENCE = 120


def test_concurrent_requests_each_read_through_their_own_cursor(client: TestClient) -> None:
    urls = [
        "/api/v1/observations?limit=7&offset=3",
        "/api/v1/observations?city=Deyang&format=csv",
        "/api/v1/sites?format=geojson",
        "/api/v1/health",
        "/api/v1/cities",
    ] * 12
    expected = {url: client.get(url).content for url in set(urls)}
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda url: (url, client.get(url)), urls))
    for url, response in answers:
        assert response.status_code == 200, response.text
        assert response.content == expected[url]


def test_fresh_store_gets_the_catalogue_and_answers_empty(tmp_path: Path) -> None:
    with TestClient(create_app(tmp_path / "new.duckdb")) as client:
        health = client.get("/api/v1/health").json()
        assert health["counts"]["cities_in_region"] == 8
        assert health["counts"]["observations"] == 0
        assert health["first_time"] is None and health["last_time"] is None
        page = client.get("/api/v1/observations").json()
        assert page == {
            "total": 0,
            "limit": 1000,
            "offset": 0,
            "next": None,
            "previous": None,
            "results": [],
        }
        assert client.get("/api/v1/sites").json() == {"count": 0, "results": []}
        assert client.get("/").status_code == 200


def test_another_region_is_configuration(db_path: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(db_path.read_bytes())
    region = catalog.load_region("beijing")
    with TestClient(create_app(copy, region)) as client:
        cities = client.get("/api/v1/cities", params={"lang": "en"}).json()
        assert [(c["code"], c["name"], c["in_region"]) for c in cities["results"]] == [
            (110100, "Beijing", True)
        ]
        everything = client.get("/api/v1/cities", params={"all": "true"}).json()["results"]
        chengdu = next(c for c in everything if c["code"] == 510100)
        assert chengdu["in_region"] is False
        health = client.get("/api/v1/health").json()
        assert health["region"]["id"] == "beijing"
        assert health["counts"]["cities_in_region"] == 1
        boundaries = client.get("/api/v1/cities/boundaries").json()
        # the national catalog (issue 15) outlines every city: Beijing's, and only the region's
        assert [f["properties"]["code"] for f in boundaries["features"]] == [110100]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-01T10:00", datetime(2024, 1, 1, 2, tzinfo=UTC)),
        ("2024-01-01 10:00:00", datetime(2024, 1, 1, 2, tzinfo=UTC)),
        ("2024-01-01", datetime(2023, 12, 31, 16, tzinfo=UTC)),
        ("2024-01-01T02:00Z", datetime(2024, 1, 1, 2, tzinfo=UTC)),
        ("2024-01-01T10:00+08:00", datetime(2024, 1, 1, 2, tzinfo=UTC)),
        ("2024-01-01T10:00 08:00", datetime(2024, 1, 1, 2, tzinfo=UTC)),  # lost "+"
        ("2024-01-01T10:00:00.5 0800", datetime(2024, 1, 1, 2, 0, 0, 500000, tzinfo=UTC)),
        ("2024-01-01T00:00-05:00", datetime(2024, 1, 1, 5, tzinfo=UTC)),
        ("20240101T1000", datetime(2024, 1, 1, 2, tzinfo=UTC)),
    ],
)
def test_parse_time(text: str, expected: datetime) -> None:
    assert parse_time("start", text) == expected


@pytest.mark.parametrize("text", ["", "soon", "2024-02-30", "10:00", "2024-01-01T25:00"])
def test_parse_time_rejects_with_the_parameter_name(text: str) -> None:
    with pytest.raises(ProblemError) as caught:
        parse_time("end", text)
    assert caught.value.status == 422
    assert caught.value.detail.startswith("query parameter 'end': ")
    assert repr(text) in caught.value.detail


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_serve_runs_uvicorn_and_holds_the_file(db_path: Path, tmp_path: Path) -> None:
    copy = tmp_path / "served.duckdb"
    copy.write_bytes(db_path.read_bytes())
    port = _free_port()
    code = (
        "import sys; from ecobasin.web import serve; "
        "serve(sys.argv[1], host='127.0.0.1', port=int(sys.argv[2]), region='chengdu_plain')"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code, str(copy), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        response = loopback.wait_for_health(base, process, START_PATIENCE)
        assert response.status_code == 200
        assert response.json()["counts"]["observations"] == 145
        page = loopback.get(f"{base}/api/v1/observations", params={"limit": 5}).json()
        assert page["next"] == "/api/v1/observations?limit=5&offset=5"  # not from Host
        assert loopback.get(f"{base}/docs").status_code == 200
        with pytest.raises(StoreBusyError, match="in use by another ecobasin process"):
            Store(copy)  # one process holds the file while it serves
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stderr is not None:
            process.stderr.close()
