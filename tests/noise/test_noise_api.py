"""``/api/v1/noise/…`` over the real app on a real DuckDB file: the same numbers as the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from test_noise_store import REGIONAL, _hours, _station

from ecobasin import catalog
from ecobasin.store import Store
from ecobasin.store import noise as noise_store
from ecobasin.web.app import create_app


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    folder = tmp_path_factory.mktemp("noise_api")
    survey = folder / "regional.csv"
    survey.write_text(REGIONAL, encoding="utf-8")
    with Store(folder / "noise.duckdb") as store:
        store.sync_catalog(catalog.load_region())
        noise_store.import_survey_csv(store, survey, "regional")
        _station(store, "NZ1", "1")  # 55 / 45
        hours = pd.concat(
            [_hours("NZ1", "2026-03-01", 54.0, 46.0), _hours("NZ1", "2026-03-02", 56.0, 44.0)]
        )
        store.write_observations(hours, store.begin_batch("test", "hours"))
    with TestClient(create_app(Path(folder / "noise.duckdb"))) as test_client:
        yield test_client


def test_survey_results_with_grades(client: TestClient) -> None:
    response = client.get("/api/v1/noise/surveys", params={"year": 2026, "city": 510100})
    assert response.status_code == 200, response.text
    [row] = response.json()["items"]
    assert (row["mean_dBA"], row["grade_zh"], row["rating_en"]) == (54.0, "二级", "fairly good")


def test_quarterly_compliance(client: TestClient) -> None:
    response = client.get("/api/v1/noise/compliance", params={"year": 2026, "by": "quarter"})
    assert response.status_code == 200, response.text
    [row] = response.json()["items"]
    # day 1: day pass, night 46 > 45 fails; day 2: day 56 > 55 fails, night passes
    assert (
        row["period"] == "2026Q1" and row["day_rate_pct"] == 50.0 and row["night_rate_pct"] == 50.0
    )


def test_bad_query_is_a_problem_not_a_crash(client: TestClient) -> None:
    response = client.get("/api/v1/noise/surveys", params={"year": 2026, "survey": "air"})
    assert response.status_code == 422
