"""The read API's resources: health, home page, OpenAPI, cities, boundaries, sites, parameters."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ecobasin import catalog
from ecobasin.web.app import create_app, openapi_document

REGION = catalog.load_region()
N_SITES = 5  # conftest.SITES
N_TOTAL = 145  # 3 air stations x (PM2.5, CO) x 24 hours + 1 daily value


def _json(client: TestClient, url: str, **params: Any) -> Any:
    response = client.get(url, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


# -- health and home ---------------------------------------------------------------------------
def test_health_reports_schema_counts_and_span(client: TestClient) -> None:
    body = _json(client, "/api/v1/health")
    assert body["status"] == "ok"
    assert body["schema_version"] >= 1
    assert body["counts"] == {
        "cities_in_region": 8,
        "sites": N_SITES,
        "observations": N_TOTAL,
        "meteorology": 0,
        "rejected": 0,
    }
    assert body["first_time"] == "2023-12-31T17:00:00Z"
    assert body["last_time"] == "2024-01-01T16:00:00Z"
    assert body["region"]["id"] == "chengdu_plain"
    assert body["region"]["cities"] == list(REGION.cities)
    assert body["region"]["name"] == "成都平原经济区"
    assert _json(client, "/api/v1/health", lang="en")["region"]["name"] == (
        "Chengdu Plain Economic Zone"
    )


def test_home_page_is_bilingual_and_links_the_api(client: TestClient) -> None:
    # the dashboard's overview (tests/web/test_pages.py has the rest)
    client.cookies.clear()
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "成都平原经济区" in response.text
    assert "Chengdu Plain Economic Zone" in client.get("/?lang=en").text
    client.cookies.clear()
    for href in ("/docs", "/api/v1/health", "/api/v1/sites?format=geojson"):
        assert f'href="{href}"' in response.text


def test_openapi_has_stable_operation_ids_and_problem_responses(client: TestClient) -> None:
    schema = _json(client, "/openapi.json")
    operations = {
        (path, method): operation
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    }
    ids = [op["operationId"] for op in operations.values()]
    assert len(ids) == len(set(ids))  # generated clients need unique, stable names
    assert all(op["operationId"].startswith(f"{op['tags'][0]}-") for op in operations.values())
    assert {
        "health-get_health",
        "cities-list_cities",
        "cities-get_city_boundaries",
        "sites-list_sites",
        "parameters-list_parameters",
        "observations-list_observations",
        "aqi-get_latest",
        "aqi-get_hourly",
        "aqi-get_daily",
        "map-get_map",
        "rankings-get_rankings",
        "rankings-get_evaluation",
    } <= set(ids)
    assert "/" not in schema["paths"]  # the home page is not part of the API
    observations = operations[("/api/v1/observations", "get")]
    assert observations["description"].startswith("Stored observations")
    assert observations["responses"]["422"]["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/Problem"
    }
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    problem = schema["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "instance"} <= set(problem["properties"])
    assert "ParameterError" in schema["components"]["schemas"]
    limit = next(p for p in observations["parameters"] if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 100_000


def test_apps_with_the_same_routes_share_one_openapi_document(
    client: TestClient, tmp_path: Path
) -> None:
    """FastAPI takes ~2 s of CPU to build the document, in the event loop: a process builds it
    once per set of routes. An app with one more route gets its own, with that route."""
    served = client.get("/openapi.json").json()
    again = create_app(tmp_path / "again.duckdb")
    assert openapi_document(again) is openapi_document(client.app)  # type: ignore[arg-type]
    assert served == json.loads(json.dumps(openapi_document(again)))

    other = create_app(tmp_path / "other.duckdb")

    @other.get("/api/v1/one-more", tags=["health"])
    def one_more() -> dict[str, str]:
        return {}

    assert "/api/v1/one-more" in openapi_document(other)["paths"]
    assert "/api/v1/one-more" not in openapi_document(again)["paths"]
    assert openapi_document(other)["paths"].keys() - {"/api/v1/one-more"} == served["paths"].keys()


def test_docs_page_is_served(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert "swagger" in response.text.lower()


# -- cities ------------------------------------------------------------------------------------
def test_cities_of_the_region_in_region_order(client: TestClient) -> None:
    body = _json(client, "/api/v1/cities")
    assert body["count"] == 8
    assert [city["code"] for city in body["results"]] == list(REGION.cities)
    chengdu = body["results"][0]
    assert chengdu["name_zh"] == "成都市" and chengdu["name_en"] == "Chengdu"
    assert chengdu["name"] == "成都市"  # lang defaults to zh
    assert chengdu["in_region"] is True
    assert chengdu["lon"] == pytest.approx(104.065735)
    assert all(city["in_region"] for city in body["results"])


def test_cities_lang_en(client: TestClient) -> None:
    body = _json(client, "/api/v1/cities", lang="en")
    assert [city["name"] for city in body["results"]][:3] == ["Chengdu", "Deyang", "Mianyang"]
    assert body["results"][0]["name_zh"] == "成都市"  # both names are always there


def test_cities_all(client: TestClient) -> None:
    body = _json(client, "/api/v1/cities", all="true")
    assert body["count"] == len(catalog.cities()) > 8
    codes = [city["code"] for city in body["results"]]
    assert codes == sorted(codes)
    in_region = {city["code"] for city in body["results"] if city["in_region"]}
    assert in_region == set(REGION.cities)


def test_city_boundaries_geojson(client: TestClient) -> None:
    response = client.get("/api/v1/cities/boundaries", params={"lang": "en"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert [f["properties"]["code"] for f in body["features"]] == list(REGION.cities)
    for feature in body["features"]:
        assert feature["type"] == "Feature"
        assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon")
        lon, lat = feature["properties"]["center"]
        assert 97 < lon < 110 and 26 < lat < 35  # lon/lat order, inside Sichuan
    assert body["features"][0]["properties"]["name"] == "Chengdu"
    assert body["features"][0]["properties"]["name_zh"] == "成都市"


# -- sites -------------------------------------------------------------------------------------
def _site_ids(body: dict[str, Any]) -> list[str]:
    return [site["site_id"] for site in body["results"]]


def test_sites_all_ordered_by_city_then_id(client: TestClient) -> None:
    body = _json(client, "/api/v1/sites")
    assert body["count"] == N_SITES
    assert _site_ids(body) == ["1431A", "1432A", "CD-M01", "2286A", "LS-W01"]
    first = body["results"][0]
    assert first == {
        "site_id": "1431A",
        "kind": "air_station",
        "level": "national",
        "city_code": 510100,
        "city_zh": "成都市",
        "city_en": "Chengdu",
        "city": "成都市",
        "name_zh": "金泉两河",
        "name_en": "Jinquan",
        "name": "金泉两河",
        "lon": 104.0325,
        "lat": 30.7004,
        "attributes": None,
    }
    water = body["results"][-1]
    assert water["attributes"] == {"river_zh": "岷江", "river_en": "Min River"}


@pytest.mark.parametrize("city", ["510100", "成都", "成都市", "Chengdu", "chengdu"])
def test_sites_city_by_code_or_name(client: TestClient, city: str) -> None:
    assert _site_ids(_json(client, "/api/v1/sites", city=city)) == ["1431A", "1432A", "CD-M01"]


def test_sites_several_cities(client: TestClient) -> None:
    body = client.get("/api/v1/sites", params=[("city", "德阳"), ("city", "511100")]).json()
    assert _site_ids(body) == ["2286A", "LS-W01"]
    assert _site_ids(_json(client, "/api/v1/sites", city="Deyang,Leshan")) == ["2286A", "LS-W01"]


def test_sites_city_without_sites_is_empty(client: TestClient) -> None:
    assert _json(client, "/api/v1/sites", city="雅安") == {"count": 0, "results": []}


def test_sites_kind_filter(client: TestClient) -> None:
    assert _site_ids(_json(client, "/api/v1/sites", kind="water_section")) == ["LS-W01"]
    body = client.get(
        "/api/v1/sites", params=[("kind", "micro_station"), ("kind", "water_section")]
    ).json()
    assert _site_ids(body) == ["CD-M01", "LS-W01"]
    both = _json(client, "/api/v1/sites", kind="air_station", city="Chengdu")
    assert _site_ids(both) == ["1431A", "1432A"]


def test_sites_lang_falls_back_to_the_other_name(client: TestClient) -> None:
    body = _json(client, "/api/v1/sites", lang="en", kind="micro_station")
    micro = body["results"][0]
    assert micro["name_en"] is None
    assert micro["name"] == "青羊微站"  # no English name: the Chinese one rather than nothing
    assert micro["city"] == "Chengdu"


def test_sites_geojson(client: TestClient) -> None:
    response = client.get("/api/v1/sites", params={"format": "geojson", "lang": "en"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert [f["id"] for f in body["features"]] == ["1431A", "1432A", "CD-M01", "2286A", "LS-W01"]
    first = body["features"][0]
    assert first["type"] == "Feature"
    assert first["geometry"] == {"type": "Point", "coordinates": [104.0325, 30.7004]}  # lon, lat
    properties = first["properties"]
    assert properties["name_zh"] == "金泉两河" and properties["name_en"] == "Jinquan"
    assert properties["name"] == "Jinquan"
    assert properties["kind"] == "air_station"
    assert properties["city_code"] == 510100 and properties["city"] == "Chengdu"
    assert "lon" not in properties and "lat" not in properties
    micro = body["features"][2]
    assert micro["geometry"] is None  # RFC 7946 §3.2: unlocated feature


def test_sites_geojson_filtered(client: TestClient) -> None:
    body = client.get("/api/v1/sites", params={"format": "geojson", "city": "德阳"}).json()
    assert [f["id"] for f in body["features"]] == ["2286A"]


# -- parameters --------------------------------------------------------------------------------
def test_parameters_all(client: TestClient) -> None:
    body = _json(client, "/api/v1/parameters")
    assert body["count"] == len(catalog.parameters())
    by_id = {p["parameter"]: p for p in body["results"]}
    assert by_id["PM2.5"]["unit"] == "µg/m³"
    assert by_id["PM2.5"]["hj212_2017"] == "a34004"
    assert by_id["PM2.5"]["hj212_2005"] is None
    assert by_id["CO"]["unit"] == "mg/m³"
    assert by_id["CO"]["name"] == "一氧化碳"
    assert by_id["NH3N"]["unit"] == "mg/L"


def test_parameters_domain_and_lang(client: TestClient) -> None:
    body = _json(client, "/api/v1/parameters", domain="water", lang="en")
    assert {p["domain"] for p in body["results"]} == {"water"}
    assert body["count"] == len(catalog.parameters("water"))
    cod = next(p for p in body["results"] if p["parameter"] == "COD")
    assert cod["name"] == "chemical oxygen demand" and cod["name_zh"] == "化学需氧量"
