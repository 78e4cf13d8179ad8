"""Every API route declares its response model, so /docs shows what each one answers.

Read from the OpenAPI document the app serves (what /docs renders): the JSON answer of every
operation must be a named schema (a pydantic model), not a bare object.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from ecobasin.web import create_app

#: Not JSON answers: a PNG image, a GeoJSON document (RFC 7946, its own media type), the CSV
#: evidence of an emergency-list verdict and a stored consultation report (HTML, byte for byte).
MEDIA_ROUTES = {
    ("get", "/api/v1/forecasts/plot.png"),
    ("get", "/api/v1/cities/boundaries"),
    ("get", "/api/v1/emergency/activations/{activation}/evidence.csv"),
    ("get", "/api/v1/emergency/list-template.xlsx"),  # the empty list workbook (issue 17)
    ("get", "/api/v1/emergency/activations/{activation}/report.pdf"),  # report PDF (issue 17)
    ("get", "/api/v1/consultation/reports/{sha256}"),
    ("get", "/api/v1/cases/{case_id}/evidence/{sha256}"),  # attachment bytes (issue 18)
    ("get", "/api/v1/sources/{site_id}/{method}.png"),  # source-analysis plots (issue 19)
    ("get", "/api/v1/sources/{site_id}/trajectories/{method}.png"),  # PSCF/CWT maps (issue 19)
    ("get", "/api/v1/sources/{site_id}/pmf/{run_id}/{kind}.{fmt}"),  # PMF figures (issue 19)
    ("get", "/api/v1/reports/{sha256}"),  # a stored bulletin, HTML or PDF (issue 19)
}


def _names_a_model(schema: dict[str, Any] | None) -> bool:
    if not schema:
        return False
    return "$ref" in schema or "$ref" in schema.get("items", {})


def _routes_without_model(spec: dict[str, Any]) -> set[tuple[str, str]]:
    missing = set()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            success = [r for code, r in operation["responses"].items() if code.startswith("2")]
            content = success[0].get("content", {}) if success else {}
            if not _names_a_model(content.get("application/json", {}).get("schema")):
                missing.add((method, path))
    return missing


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The OpenAPI document an app on an empty store serves, fetched once for the module
    (building it walks all ~200 routes: ~1.7 s of CPU; the tests only read it)."""
    empty = tmp_path_factory.mktemp("openapi") / "empty.duckdb"
    with TestClient(create_app(empty)) as client:
        answer = client.get("/openapi.json")
    assert answer.status_code == 200, answer.text
    document: dict[str, Any] = answer.json()
    return document


def test_every_json_route_declares_a_response_model(spec: dict[str, Any]) -> None:
    missing = _routes_without_model(spec)
    assert missing - MEDIA_ROUTES == set(), "routes without a response model"
    # the media routes are listed only while they are there and have no JSON model
    assert missing == MEDIA_ROUTES


def test_water_and_carbon_models_are_shown_with_their_fields(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    evaluation = spec["paths"]["/api/v1/water/evaluation"]["get"]["responses"]["200"]
    assert evaluation["content"]["application/json"]["schema"]["$ref"].endswith("WaterEvaluation")
    assert "text/csv" in evaluation["content"]  # the CSV variant stays documented
    assert {"period", "failing_target", "items", "summary"} <= set(
        schemas["WaterEvaluation"]["properties"]
    )
    assert {"count", "unit", "by", "results"} <= set(schemas["CarbonEmissions"]["properties"])
