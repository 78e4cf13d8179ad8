"""Item 17: out-of-range numbers (an offset above int64, 1e308, 10**30) in any query
parameter give 422 problems, never 500."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ecobasin.web import create_app

from .conftest import SecurityStore

HUGE = [str(2**63), str(10**30), "1e308", "-1e308", str(-(2**63) - 1)]


@pytest.fixture(scope="module")
def client(
    security_store: SecurityStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    import shutil

    copy = tmp_path_factory.mktemp("numbers") / "numbers.duckdb"
    shutil.copyfile(security_store.path, copy)
    with TestClient(create_app(copy), raise_server_exceptions=False) as test_client:
        yield test_client


def test_an_offset_above_int64_is_a_422_problem(
    client: TestClient, security_store: SecurityStore
) -> None:
    for path in ("/api/v1/observations", "/api/v1/alarms"):
        response = client.get(path, params={"offset": 2**63}, headers=security_store.auth("admin"))
        assert response.status_code == 422, (path, response.text)
        assert response.json()["errors"][0]["parameter"] == "offset"
    fine = client.get("/api/v1/observations", params={"offset": 2**63 - 1})
    assert fine.status_code == 200 and fine.json()["results"] == []


def _numeric_parameters(schema: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for path, item in schema["paths"].items():
        get = item.get("get")
        if get is None or "{" in path:
            continue
        for parameter in get.get("parameters", []):
            types = {parameter["schema"].get("type")} | {
                option.get("type") for option in parameter["schema"].get("anyOf", [])
            }
            if parameter["in"] == "query" and types & {"integer", "number"}:
                yield path, parameter["name"]


def test_no_numeric_query_parameter_gives_a_500(
    client: TestClient, security_store: SecurityStore
) -> None:
    found = list(_numeric_parameters(client.get("/openapi.json").json()))
    assert len(found) >= 5
    for path, name in found:
        for value in HUGE:
            response = client.get(path, params={name: value}, headers=security_store.auth("admin"))
            assert response.status_code < 500, (path, name, value, response.text)
