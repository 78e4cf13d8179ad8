"""``GET /api/v1/aqi/...`` (levels, latest, hourly, daily) and ``/observations?format=parquet``
on a real DuckDB store indexed by the real AQI job (see aqi_fixtures)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from ecobasin.store import air as store_air
from ecobasin.web import create_app
from ecobasin.web.models import AqiDailyPage, AqiHourlyPage, AqiLatest, AqiLevelList

from .aqi_fixtures import AIR_STATIONS, CHENGDU, DEYANG, build_air_store, day_hours


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    path = build_air_store(tmp_path_factory.mktemp("aqi") / "air.duckdb")
    with TestClient(create_app(path)) as test_client:
        yield test_client


def get_json(client: TestClient, url: str, **params: Any) -> dict[str, Any]:
    response = client.get(url, params=params) if params else client.get(url)
    assert response.status_code == 200, response.text
    payload: dict[str, Any] = response.json()
    return payload


def test_levels_are_the_six_official_ones_in_both_languages(client: TestClient) -> None:
    """HJ 633-2012 Table 2 and Appendix A: 0–50 优 green #00E400 … 301+ 严重污染 maroon
    #7E0023."""
    payload = get_json(client, "/api/v1/aqi/levels", lang="en")
    AqiLevelList.model_validate(payload)
    levels = payload["levels"]
    assert [lv["color"] for lv in levels] == [
        "#00E400",
        "#FFFF00",
        "#FF7E00",
        "#FF0000",
        "#99004C",
        "#7E0023",
    ]
    assert [lv["name_zh"] for lv in levels] == [
        "优",
        "良",
        "轻度污染",
        "中度污染",
        "重度污染",
        "严重污染",
    ]
    assert levels[0]["name"] == "Excellent" and levels[0]["category_zh"] == "一级"
    assert [(lv["aqi_low"], lv["aqi_high"]) for lv in levels[:2]] == [(0, 50), (51, 100)]
    assert payload["no_data"]["name_en"] == "No data"


def test_latest_stations_equal_the_stored_rows_of_the_latest_hour(client: TestClient) -> None:
    payload = get_json(client, "/api/v1/aqi/latest", scope="site")
    AqiLatest.model_validate(payload)
    assert (payload["time"], payload["time_cst"]) == ("2025-01-11T16:00:00Z", "2025-01-11 24:00")
    assert [item["site_id"] for item in payload["items"]] == list(AIR_STATIONS)
    store = client.app.state.store.reader()  # type: ignore[attr-defined]
    hour = pd.Timestamp(payload["time"])
    stored = store_air.aqi_hourly(store, scope="site", start=hour, end=hour).set_index("scope_id")
    for item in payload["items"]:
        if item["site_id"] == "D":
            assert item["aqi"] is None  # no data at all
            continue
        assert item["aqi"] == int(stored.at[item["site_id"], "aqi"])


def test_latest_cities_filtered_by_name(client: TestClient) -> None:
    payload = get_json(client, "/api/v1/aqi/latest", scope="city", cities="Deyang,成都")
    assert [item["code"] for item in payload["items"]] == [CHENGDU, DEYANG]
    # 2025-01-11 24:00: Deyang = station C, PM10 24-h 60 → 55 (HJ 633-2012 Table 1)
    assert payload["items"][1]["aqi"] == 55


def test_hourly_city_series_of_one_day_with_cst_labels(client: TestClient) -> None:
    payload = get_json(
        client,
        "/api/v1/aqi/hourly",
        scope="city",
        ids="成都",
        start="2025-01-10T01:00",
        end="2025-01-10T24:00+08:00".replace("24:00", "23:00"),
    )
    AqiHourlyPage.model_validate(payload)
    items = payload["items"]
    assert len(items) == 23
    assert items[0]["time_cst"] == "2025-01-10 01:00"
    assert items[0]["time"] == "2025-01-09T17:00:00Z"
    assert items[-1]["time_cst"] == "2025-01-10 23:00"
    store = client.app.state.store.reader()  # type: ignore[attr-defined]
    hours = day_hours(date(2025, 1, 10))
    stored = store_air.aqi_hourly(store, scope="city", ids=[str(CHENGDU)], start=hours[0])
    for item, row in zip(items, stored.itertuples(), strict=False):
        assert item["aqi"] == (None if pd.isna(row.aqi) else int(row.aqi))
        assert item["pm25"] == row.pm25_1h and item["pm25_24h"] == row.pm25_24h
        assert item["iaqi_pm25"] == row.iaqi_pm25
        assert item["n_stations"] == 2
    assert {item["pm25"] for item in items} == {60}  # mean(57, 64) = 60.5 → 60 (GB/T 8170)


def test_hourly_pages_follow_next_links_without_gaps(client: TestClient) -> None:
    whole = get_json(client, "/api/v1/aqi/hourly", scope="site", ids="A,B")
    assert whole["next"] is None and whole["count"] == 2 * 72
    seen: list[tuple[str, str]] = []
    url: str | None = "/api/v1/aqi/hourly?scope=site&ids=A&ids=B&limit=50"
    pages = 0
    while url is not None:
        page = get_json(client, url)
        assert page["count"] <= 50
        seen.extend((item["scope_id"], item["time"]) for item in page["items"])
        url = page["next"]
        pages += 1
    assert pages == 3
    assert seen == [(item["scope_id"], item["time"]) for item in whole["items"]]


def test_daily_year_of_a_station(client: TestClient) -> None:
    payload = get_json(client, "/api/v1/aqi/daily", scope="site", ids="B", year=2025, lang="en")
    AqiDailyPage.model_validate(payload)
    assert [item["day"] for item in payload["items"]] == ["2025-01-09", "2025-01-10", "2025-01-11"]
    # PM2.5 64 → 50 + 1.25·29 = 86.25 → 87; 150 → 200 (HJ 633-2012 Table 1)
    assert [item["aqi"] for item in payload["items"]] == [87, 87, 200]
    last = payload["items"][-1]
    assert (last["level"], last["level_name"], last["color"]) == (
        4,
        "Moderately polluted",
        "#FF0000",
    )
    assert (last["pm25"], last["o3_8h"], last["co"]) == (150, 100, 1.0)
    assert last["exceeding"] == "PM2.5"


def test_daily_range_and_cities_filter(client: TestClient) -> None:
    payload = get_json(
        client,
        "/api/v1/aqi/daily",
        scope="site",
        cities="德阳",
        start="2025-01-10",
        end="2025-01-10",
    )
    assert [(item["scope_id"], item["day"]) for item in payload["items"]] == [("C", "2025-01-10")]
    assert payload["items"][0]["aqi"] == 55


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("/api/v1/aqi/daily?year=2025&start=2025-01-01", "year"),
        ("/api/v1/aqi/daily?start=01/10/2025", "start"),
        ("/api/v1/aqi/daily?start=2025-02-01&end=2025-01-01", "start"),
        ("/api/v1/aqi/daily?scope=site&ids=A,ZZZ", "ids"),
        ("/api/v1/aqi/daily?scope=city&ids=Atlantis", "ids"),
        ("/api/v1/aqi/daily?cursor=not-a-cursor", "cursor"),
        ("/api/v1/aqi/hourly?limit=0", "limit"),
        ("/api/v1/aqi/hourly?start=noon", "start"),
        ("/api/v1/aqi/hourly?scope=region", "scope"),
        ("/api/v1/aqi/latest?cities=Atlantis", "cities"),
    ],
)
def test_bad_parameters_are_422_naming_the_parameter(
    client: TestClient, url: str, parameter: str
) -> None:
    response = client.get(url)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["parameter"] for e in response.json()["errors"]] == [parameter]


def test_openapi_documents_every_air_endpoint(client: TestClient) -> None:
    paths = get_json(client, "/openapi.json")["paths"]
    for path in (
        "/api/v1/aqi/levels",
        "/api/v1/aqi/latest",
        "/api/v1/aqi/hourly",
        "/api/v1/aqi/daily",
        "/api/v1/map",
        "/api/v1/rankings",
        "/api/v1/evaluation",
        "/api/v1/cities/{code}/summary",
    ):
        operation = paths[path]["get"]
        assert operation["summary"] and len(operation["description"]) > 100, path
        assert "422" in operation["responses"], path
        assert "$ref" in str(operation["responses"]["200"]), path
    hourly = {p["name"] for p in paths["/api/v1/aqi/hourly"]["get"]["parameters"]}
    assert {"start", "end", "limit", "cursor", "ids", "scope"} <= hourly


def test_observations_as_parquet_hold_the_json_page(client: TestClient) -> None:
    params = {"site": "A", "parameter": "PM2.5", "limit": 30, "offset": 10}
    response = client.get("/api/v1/observations", params={**params, "format": "parquet"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.apache.parquet"
    assert response.headers["x-total-count"] == "72"
    assert 'rel="next"' in response.headers["link"]
    table = pq.read_table(io.BytesIO(response.content)).to_pandas()
    page = get_json(client, "/api/v1/observations", **params)["results"]
    assert len(table) == len(page) == 30
    assert table["value"].tolist() == [row["value"] for row in page]
    assert table["time_cst"].tolist() == [row["time_cst"] for row in page]
    assert [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in table["time_utc"]] == [
        row["time_utc"].replace("+00:00", "Z") for row in page
    ]
    assert str(table["time_utc"].dt.tz) == "UTC"


def test_daily_series_as_csv_and_parquet_hold_the_json_items(client: TestClient) -> None:
    params = {"scope": "site", "ids": "A,B", "start": "2025-01-10", "end": "2025-01-11"}
    items = get_json(client, "/api/v1/aqi/daily", **params)["items"]
    assert len(items) == 4
    response = client.get("/api/v1/aqi/daily", params={**params, "format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    frame = pd.read_csv(io.StringIO(response.text), dtype={"scope_id": str})
    assert list(frame.columns) == list(items[0])
    assert frame["aqi"].tolist() == [item["aqi"] for item in items] == [78, 78, 87, 200]
    assert frame["day"].tolist() == [item["day"] for item in items]
    response = client.get("/api/v1/aqi/daily", params={**params, "format": "parquet"})
    assert response.headers["content-type"] == "application/vnd.apache.parquet"
    table = pq.read_table(io.BytesIO(response.content)).to_pylist()
    assert table == items


def test_hourly_csv_pages_link_the_next_page(client: TestClient) -> None:
    response = client.get(
        "/api/v1/aqi/hourly", params={"scope": "site", "ids": "A", "limit": 50, "format": "csv"}
    )
    assert response.status_code == 200
    assert len(response.text.strip().splitlines()) == 1 + 50
    link = response.headers["link"]
    assert link.endswith('rel="next"') and "format=csv" in link and "cursor=" in link
    follow = client.get(link[link.index("<") + 1 : link.index(">")])
    assert len(follow.text.strip().splitlines()) == 1 + 22  # 72 hours in all
    assert "link" not in follow.headers
