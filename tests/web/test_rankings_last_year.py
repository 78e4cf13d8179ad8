"""``GET /api/v1/rankings`` against the same period of last year (issue 15, persona 2): last
year's composite index, good-day ratio, valid days and rank beside the changes, on a store
holding January 2024 and January 2025 (tests/web/aqi_fixtures.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ecobasin.store import Store
from ecobasin.web import create_app
from ecobasin.web.api.rankings import same_period_last_year

from .aqi_fixtures import BASE, CHENGDU, DEYANG, build_air_store, import_and_index

#: January 2024: Chengdu clean (PM2.5 30), Deyang dirty (PM2.5 100): the ranks of 2025 swap.
LAST_YEAR = {
    "A": {**BASE, "PM2.5": 30.0},
    "B": {**BASE, "PM2.5": 30.0},
    "C": {**BASE, "PM10": 60.0, "PM2.5": 100.0},
}
LAST_YEAR_DAYS = (date(2024, 1, 9), date(2024, 1, 10))


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    path = build_air_store(tmp_path_factory.mktemp("yoy") / "air.duckdb")
    with Store(path) as store:
        import_and_index(store, LAST_YEAR_DAYS, LAST_YEAR)
    with TestClient(create_app(path)) as test_client:
        yield test_client


def _by_city(body: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {item["city_code"]: item for item in body["items"]}


def test_same_period_last_year() -> None:
    assert same_period_last_year("2025") == "2024"
    assert same_period_last_year("2025-10") == "2024-10"
    assert same_period_last_year("2025Q3") == "2024Q3"


def test_rankings_show_last_years_figures_and_the_changes(client: TestClient) -> None:
    now = client.get("/api/v1/rankings", params={"period": "2025-01"}).json()
    before = client.get("/api/v1/rankings", params={"period": "2024-01"}).json()
    assert now["compared_with"] == "2024-01"
    assert before["compared_with"] is None  # nothing stored for January 2023
    this, last = _by_city(now), _by_city(before)
    assert (this[DEYANG]["rank"], this[CHENGDU]["rank"]) == (1, 2)
    assert (last[CHENGDU]["rank"], last[DEYANG]["rank"]) == (1, 2)
    assert this[CHENGDU]["rank_change"] == -1 and this[DEYANG]["rank_change"] == 1
    for city in (CHENGDU, DEYANG):
        item, prev = this[city], last[city]
        assert item["rank_last_year"] == prev["rank"]
        assert item["composite_index_last_year"] == prev["composite_index"]
        assert item["composite_change"] == round(
            item["composite_index"] - prev["composite_index"], 2
        )
        assert item["good_percent_change"] == round(item["good_percent"] - prev["good_percent"], 1)
        assert item["valid_days_last_year"] == 2
    assert all(item["rank_change"] is None for item in before["items"])


def test_a_quarter_is_compared_with_the_same_quarter_of_last_year(client: TestClient) -> None:
    """The quarterly ranking (issue 15: monthly / quarterly / annual): 2025Q1 against 2024Q1,
    which hold the same January days here, so the ranks swap as in January."""
    now = client.get("/api/v1/rankings", params={"period": "2025Q1"}).json()
    assert (now["kind"], now["compared_with"]) == ("quarter", "2024Q1")
    this = _by_city(now)
    assert this[CHENGDU]["rank_change"] == -1 and this[DEYANG]["rank_change"] == 1
    assert this[DEYANG]["rank_last_year"] == 2
