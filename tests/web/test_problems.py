"""Every error is RFC 9457 problem details naming what was wrong."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

PROBLEM = "application/problem+json"


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail", "instance"} <= set(body)
    assert body["status"] == status
    return body


@pytest.mark.parametrize(
    ("url", "params", "parameter", "kind", "words"),
    [
        ("/api/v1/observations", {"city": "Atlantis"}, "city", "unknown-value", ["'Atlantis'"]),
        ("/api/v1/sites", {"city": "999999"}, "city", "unknown-value", ["'999999'"]),
        ("/api/v1/observations", {"parameter": "PM7"}, "parameter", "unknown-value", ["'PM7'"]),
        ("/api/v1/observations", {"site": "9999X"}, "site", "unknown-value", ["'9999X'"]),
        (
            "/api/v1/observations",
            {"start": "2024-01-02T00:00", "end": "2024-01-01T00:00"},
            "start",
            "invalid-parameter",
            ["after end"],
        ),
        (
            "/api/v1/observations",
            {"limit": "100001"},
            "limit",
            "invalid-parameter",
            ["100000", "'100001'"],
        ),
        ("/api/v1/observations", {"limit": "0"}, "limit", "invalid-parameter", ["1"]),
        ("/api/v1/observations", {"limit": "many"}, "limit", "invalid-parameter", ["integer"]),
        ("/api/v1/observations", {"offset": "-1"}, "offset", "invalid-parameter", ["0"]),
        (
            "/api/v1/observations",
            {"start": "yesterday"},
            "start",
            "invalid-parameter",
            ["'yesterday'", "ISO 8601"],
        ),
        (
            "/api/v1/observations",
            {"end": "2024-13-01T00:00"},
            "end",
            "invalid-parameter",
            ["'2024-13-01T00:00'"],
        ),
        ("/api/v1/observations", {"period": "8h"}, "period", "invalid-parameter", ["'8h'"]),
        ("/api/v1/observations", {"format": "xml"}, "format", "invalid-parameter", ["'xml'"]),
        ("/api/v1/sites", {"kind": "volcano"}, "kind", "invalid-parameter", ["'volcano'"]),
        ("/api/v1/sites", {"format": "kml"}, "format", "invalid-parameter", ["'kml'"]),
        ("/api/v1/parameters", {"domain": "soil"}, "domain", "invalid-parameter", ["'soil'"]),
        ("/api/v1/cities", {"lang": "fr"}, "lang", "invalid-parameter", ["'fr'"]),
        ("/api/v1/cities", {"all": "perhaps"}, "all", "invalid-parameter", ["'perhaps'"]),
    ],
)
def test_bad_parameter_is_422_naming_it(
    client: TestClient,
    url: str,
    params: dict[str, str],
    parameter: str,
    kind: str,
    words: list[str],
) -> None:
    body = _problem(client.get(url, params=params), 422)
    assert body["type"] == f"urn:ecobasin:problem:{kind}"
    assert f"query parameter '{parameter}'" in body["detail"]
    for word in words:
        assert word in body["detail"]
    assert [error["parameter"] for error in body["errors"]] == [parameter]
    assert body["instance"].startswith(url + "?")


def test_several_unknown_cities_are_all_named(client: TestClient) -> None:
    response = client.get(
        "/api/v1/observations", params=[("city", "成都"), ("city", "Gotham"), ("city", "Oz")]
    )
    body = _problem(response, 422)
    assert "'Gotham'" in body["detail"] and "'Oz'" in body["detail"]
    assert "'成都'" not in body["detail"]


def test_several_bad_parameters_are_all_listed(client: TestClient) -> None:
    response = client.get("/api/v1/observations", params={"limit": "0", "offset": "-5"})
    body = _problem(response, 422)
    assert {error["parameter"] for error in body["errors"]} == {"limit", "offset"}
    assert "'limit'" in body["detail"] and "'offset'" in body["detail"]


def test_csv_request_errors_are_problem_json_too(client: TestClient) -> None:
    response = client.get("/api/v1/observations", params={"format": "csv", "city": "Atlantis"})
    assert "'city'" in _problem(response, 422)["detail"]


@pytest.mark.parametrize("url", ["/api/v1/nothing", "/nothing", "/api/v2/sites"])
def test_unknown_route_is_404_problem(client: TestClient, url: str) -> None:
    body = _problem(client.get(url), 404)
    assert body["type"] == "about:blank"
    assert body["title"] == "Not Found"
    assert url in body["detail"]
    assert body["instance"] == url


def test_wrong_method_is_405_problem(client: TestClient) -> None:
    response = client.post("/api/v1/cities")
    body = _problem(response, 405)
    assert "POST" in body["detail"] and "/api/v1/cities" in body["detail"]
    assert response.headers["allow"] == "GET"
