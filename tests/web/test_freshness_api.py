"""``GET /api/v1/freshness`` (issue 15): the latest stored hour with its CST hour-ending label
and age, and whether the store is the generated demo."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient

from ecobasin.store import Store
from ecobasin.web import create_app

from .aqi_fixtures import build_air_store


def test_latest_hour_label_age_and_demo_flag(tmp_path: Path) -> None:
    path = build_air_store(tmp_path / "fresh.duckdb")
    with TestClient(create_app(path)) as client:
        body = client.get("/api/v1/freshness").json()
    assert body["latest_hour"].startswith("2025-01-11T16:00")  # the hour ending 24:00 CST
    assert body["latest_hour_cst"] == "2025-01-11 24:00"
    expected = (datetime.now(UTC) - datetime(2025, 1, 11, 16, tzinfo=UTC)).total_seconds() // 60
    assert abs(body["age_minutes"] - expected) <= 1
    assert body["demo"] is False
    with Store(path) as store:
        store.begin_batch("demo", "demo 2025-01")
    with TestClient(create_app(path)) as client:
        assert client.get("/api/v1/freshness").json()["demo"] is True


def test_an_empty_store_has_no_latest_hour(tmp_path: Path) -> None:
    with TestClient(create_app(tmp_path / "empty.duckdb")) as client:
        body = client.get("/api/v1/freshness").json()
    assert (body["latest_hour"], body["latest_hour_cst"], body["age_minutes"]) == (None, None, None)
