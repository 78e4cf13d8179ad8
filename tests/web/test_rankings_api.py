"""``GET /api/v1/rankings``, ``/evaluation`` and ``/cities/{code}/summary``: the numbers of
``ecobasin evaluate`` (the report builder and the command itself, on the same store)."""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from ecobasin.cli import app as cli
from ecobasin.jobs.air_quality import refresh_air_quality
from ecobasin.services.air import assessment_table
from ecobasin.store import Store
from ecobasin.store import air as store_air
from ecobasin.web import create_app
from ecobasin.web.models import CitySummary, Evaluation, Rankings

from .aqi_fixtures import CHENGDU, DEYANG, build_air_store

PERIOD = "2025-01"


@pytest.fixture(scope="module")
def db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_air_store(tmp_path_factory.mktemp("rankings") / "air.duckdb")


@pytest.fixture(scope="module")
def cli_json(db_path: Path) -> list[dict[str, Any]]:
    """``ecobasin evaluate --period 2025-01 --format json`` on the store (before the app opens
    it: DuckDB lets one process hold the file)."""
    result = CliRunner().invoke(
        cli, ["evaluate", "--period", PERIOD, "--db", str(db_path), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


@pytest.fixture(scope="module")
def cli_csv(db_path: Path) -> str:
    """``ecobasin evaluate --period 2025-01 --format csv`` on the store."""
    result = CliRunner().invoke(
        cli, ["evaluate", "--period", PERIOD, "--db", str(db_path), "--format", "csv"]
    )
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def expected(db_path: Path) -> pd.DataFrame:
    """The report builder's table on the same stored city daily rows."""
    with Store(db_path, read_only=True) as store:
        days = store_air.aqi_daily(
            store, scope="city", start=date(2025, 1, 1), end=date(2025, 1, 31)
        )
    frame, _, _ = assessment_table(days, "month", date(2025, 1, 31))
    return frame.set_index("city")


@pytest.fixture(scope="module")
def client(
    db_path: Path, cli_json: list[dict[str, Any]], cli_csv: str, expected: pd.DataFrame
) -> Iterator[TestClient]:
    with TestClient(create_app(db_path)) as test_client:
        yield test_client


def get_json(client: TestClient, url: str, **params: Any) -> dict[str, Any]:
    response = client.get(url, params=params)
    assert response.status_code == 200, response.text
    payload: dict[str, Any] = response.json()
    return payload


def same(a: Any, b: Any) -> bool:
    """Equal, with NaN/NA/None all meaning "missing" and 1 == 1.0."""
    missing_a = a is None or (isinstance(a, float) and math.isnan(a)) or a is pd.NA
    missing_b = b is None or (isinstance(b, float) and math.isnan(b)) or b is pd.NA
    if missing_a or missing_b:
        return missing_a and missing_b
    return bool(a == b)


def test_rankings_hold_the_report_builders_numbers(
    client: TestClient, expected: pd.DataFrame
) -> None:
    payload = get_json(client, "/api/v1/rankings", period=PERIOD)
    Rankings.model_validate(payload)
    assert (payload["kind"], payload["first_day"], payload["last_day"]) == (
        "month",
        "2025-01-01",
        "2025-01-31",
    )
    assert [item["city_code"] for item in payload["items"]] == list(
        expected.sort_values(["rank index 指数排名"]).index
    )
    pairs = {
        "composite_index": "index 综合指数",
        "good_percent": "good % 优良率",
        "good_days": "good days 优良天数",
        "valid_days": "valid days 有效天数",
        "pm25": "PM2.5",
        "pm10": "PM10",
        "o3_8h_p90": "O3_8h P90",
        "so2": "SO2",
        "no2": "NO2",
        "co_p95": "CO P95",
        "rank_index": "rank index 指数排名",
        "rank_good": "rank good 优良率排名",
        "max_single": "max single 最大分指数",
    }
    for item in payload["items"]:
        row = expected.loc[item["city_code"]]
        for key, column in pairs.items():
            assert same(item[key], row[column]), (item["city_code"], key)
        assert item["rank"] == item["rank_index"]


def test_hand_computed_good_days_and_order_by_good_ratio(client: TestClient) -> None:
    """Chengdu: daily AQI 82, 82, 137 → 2 good of 3 valid days, 66.7 %; Deyang: 55 × 3 →
    100 % (HJ 663-2013 §5: good = AQI ≤ 100). PM2.5 means: Chengdu (60 + 60 + 104) / 3 =
    74.67 → 75, Deyang 30 [µg/m³]."""
    payload = get_json(client, "/api/v1/rankings", period=PERIOD, by="good_ratio", lang="en")
    items = payload["items"]
    assert [(i["city_code"], i["rank"]) for i in items] == [(DEYANG, 1), (CHENGDU, 2)]
    deyang, chengdu = items
    assert (chengdu["good_days"], chengdu["valid_days"], chengdu["exceed_days"]) == (2, 3, 1)
    assert (chengdu["good_percent"], chengdu["good_ratio"]) == (66.7, 0.667)
    assert (deyang["good_percent"], deyang["good_ratio"], deyang["exceed_days"]) == (100.0, 1.0, 0)
    assert (chengdu["pm25"], deyang["pm25"]) == (75, 30)
    assert (chengdu["name"], chengdu["name_zh"]) == ("Chengdu", "成都市")
    by_pm25 = get_json(client, "/api/v1/rankings", period=PERIOD, by="pm25")["items"]
    assert [(i["city_code"], i["rank"]) for i in by_pm25] == [(DEYANG, 1), (CHENGDU, 2)]


def test_evaluation_json_is_the_commands_json(
    client: TestClient, cli_json: list[dict[str, Any]]
) -> None:
    payload = get_json(client, "/api/v1/evaluation", period=PERIOD)
    Evaluation.model_validate(payload)
    assert [c["key"] for c in payload["columns"]] == list(cli_json[0])
    assert all(c["label_zh"] and c["label_en"] for c in payload["columns"])
    assert len(payload["items"]) == len(cli_json)
    for item, row in zip(payload["items"], cli_json, strict=True):
        assert item.keys() == row.keys()
        for key in row:
            assert same(item[key], row[key]), (row["city"], key)


def test_evaluation_csv_is_the_commands_csv(client: TestClient, cli_csv: str) -> None:
    response = client.get("/api/v1/evaluation", params={"period": PERIOD, "format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.text == cli_csv
    api = pd.read_csv(io.StringIO(response.text))
    assert list(api.columns)[:3] == ["city", "name", "SO2"]
    only = client.get(
        "/api/v1/evaluation", params={"period": PERIOD, "format": "csv", "cities": "德阳"}
    )
    assert pd.read_csv(io.StringIO(only.text))["city"].tolist() == [DEYANG]


def test_city_summary_hand_computed(client: TestClient) -> None:
    """Chengdu 2025: days 2025-01-09 … 11 with AQI 82 (良), 82 (良), 137 (轻度污染): 3 valid, 2
    good, 1 exceedance day (primary PM2.5), 66.7 %; mean AQI (82 + 82 + 137) / 3 = 100.3."""
    payload = get_json(client, "/api/v1/cities/Chengdu/summary", year=2025)
    CitySummary.model_validate(payload)
    assert (payload["code"], payload["name"], payload["year"]) == (CHENGDU, "成都市", 2025)
    assert (payload["days"], payload["valid_days"], payload["good_days"]) == (3, 3, 2)
    assert (payload["exceed_days"], payload["good_percent"], payload["good_ratio"]) == (
        1,
        66.7,
        0.667,
    )
    assert [lv["days"] for lv in payload["levels"]] == [0, 2, 1, 0, 0, 0]
    assert payload["levels"][2]["name_en"] == "Lightly polluted"
    assert payload["levels"][2]["color"] == "#FF7E00"
    assert payload["primary_pollutants"] == {"PM2.5": 1}
    assert (payload["mean_aqi"], payload["max_aqi"], payload["max_aqi_day"]) == (
        100.3,
        137,
        "2025-01-11",
    )
    assert get_json(client, "/api/v1/cities/510100/summary") == payload  # default: latest year


@pytest.mark.parametrize(
    ("url", "status", "parameter"),
    [
        ("/api/v1/rankings?period=last-year", 422, "period"),
        ("/api/v1/rankings?period=2025-13", 422, "period"),
        ("/api/v1/rankings?by=aqi", 422, "by"),
        ("/api/v1/evaluation?cities=Atlantis", 422, "cities"),
        ("/api/v1/cities/Atlantis/summary", 422, "code"),
        ("/api/v1/rankings?period=2024", 404, None),
    ],
)
def test_bad_requests_are_problems(
    client: TestClient, url: str, status: int, parameter: str | None
) -> None:
    response = client.get(url)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    if parameter is None:
        assert "2024" in problem["detail"]
    else:
        assert [e["parameter"] for e in problem["errors"]] == [parameter]


def test_a_city_too_short_of_valid_days_is_listed_without_a_rank(tmp_path: Path) -> None:
    """One stored hour in a new year: the city is there, unranked (rank null), never a 500."""
    db = build_air_store(tmp_path / "one_hour.duckdb")
    with Store(db) as store:
        site = store.sites(kinds=["air_station"], cities=[CHENGDU])["site_id"].iloc[0]
        hour = pd.DataFrame(
            {
                "site_id": [site],
                "parameter": ["PM2.5"],
                "period": ["1h"],
                "time": pd.to_datetime(["2026-12-05T10:00Z"]).astype("datetime64[us, UTC]"),
                "value": [40.0],
                "flag": [None],
            }
        )
        store.write_observations(hour, store.begin_batch("test", "one hour of 2026"))
        refresh_air_quality(store, pd.DataFrame({"site_id": [site], "day": [date(2026, 12, 5)]}))
    with TestClient(create_app(db)) as client:
        answer = client.get("/api/v1/rankings", params={"period": "2026", "by": "composite"})
    assert answer.status_code == 200, answer.text
    [item] = answer.json()["items"]
    assert item["city_code"] == CHENGDU and item["rank"] is None and item["rank_change"] is None
