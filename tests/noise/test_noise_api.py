"""``/api/v1/noise/…`` over the real app on a real DuckDB file: the same numbers as the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from test_noise_store import REGIONAL, YEAR_2026, _hours, _station

from ecobasin.jobs.noise_quality import refresh_noise_products
from ecobasin.store import Store
from ecobasin.store import noise as noise_store
from ecobasin.web.app import create_app
from store_files import new_synced_store_file

REGIONAL_NIGHT = """year,period,grid_id,city,valid,start_time,Leq
2026,night,G001,510100,true,2026-05-12T23:00,44.0
2026,night,G002,510100,true,2026-05-12T23:20,48.4
"""


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    folder = tmp_path_factory.mktemp("noise_api")
    survey = folder / "regional.csv"
    survey.write_text(REGIONAL, encoding="utf-8")
    with Store(new_synced_store_file(folder / "noise.duckdb")) as store:
        noise_store.import_survey_csv(store, survey, "regional")
        night = folder / "regional_night.csv"
        night.write_text(REGIONAL_NIGHT, encoding="utf-8")
        noise_store.import_survey_csv(store, night, "regional")
        _station(store, "NZ1", "1")  # 55 / 45
        hours = pd.concat(
            [_hours("NZ1", "2026-03-01", 54.0, 46.0), _hours("NZ1", "2026-03-02", 56.0, 44.0)]
        )
        lmx = _hours("NZ1", "2026-03-01", 70.0, 58.0).assign(parameter="LMx")
        lmx.loc[2, "value"] = 63.0  # 03:00, a night event over 45 + 15
        store.write_observations(pd.concat([hours, lmx]), store.begin_batch("test", "hours"))
        refresh_noise_products(store, ["NZ1"], *YEAR_2026)
    with TestClient(create_app(Path(folder / "noise.duckdb"))) as test_client:
        yield test_client


def test_survey_results_with_grades(client: TestClient) -> None:
    response = client.get("/api/v1/noise/surveys", params={"year": 2026, "city": 510100})
    assert response.status_code == 200, response.text
    [row] = response.json()["items"]
    assert (row["mean_dBA"], row["grade_zh"], row["rating_en"]) == (54.0, "二级", "fairly good")


def test_night_survey_results_are_graded_on_the_night_scale(client: TestClient) -> None:
    grades = {}
    for period in ("day", "night"):
        response = client.get(
            "/api/v1/noise/surveys", params={"year": 2026, "city": 510100, "period": period}
        )
        assert response.status_code == 200, response.text
        [row] = response.json()["items"]
        assert row["period"] == response.json()["period"] == period
        grades[period] = (row["n"], row["mean_dBA"], row["grade_zh"], row["rating_en"])
    # night (44.0 + 48.4) / 2 = 46.2: 三级 on the night scale (it would be 一级 by day)
    assert grades == {
        "day": (2, 54.0, "二级", "fairly good"),
        "night": (2, 46.2, "三级", "moderate"),
    }


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


def test_station_profile_with_lmax_events(client: TestClient) -> None:
    response = client.get("/api/v1/noise/stations/NZ1/profile", params={"day": "2026-03-01"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [h["label"] for h in body["hours"]][:2] == ["01:00", "02:00"] and len(
        body["hours"]
    ) == 24
    assert (
        body["hours"][5]["period"] == "night" and body["hours"][6]["period"] == "day"
    )  # 06:00, 07:00
    assert (body["Ld"], body["Ln"], body["day_pass"], body["night_pass"]) == (
        54.0,
        46.0,
        True,
        False,
    )
    assert body["night_lmax_limit"] == 60.0 and body["night_Lmax"] == 63.0
    assert body["lmax_events"] == [{"label": "03:00", "LMx": 63.0}]


def test_unknown_station_is_404(client: TestClient) -> None:
    response = client.get("/api/v1/noise/stations/NOPE/profile", params={"day": "2026-03-01"})
    assert response.status_code == 404
    bad_day = client.get("/api/v1/noise/stations/NZ1/profile", params={"day": "yesterday-ish"})
    assert bad_day.status_code == 422


@pytest.mark.parametrize("month", ["2026-13", "2026-00"])
def test_a_month_that_is_no_month_is_a_422_naming_it(client: TestClient, month: str) -> None:
    # found trying the API as a user: these gave HTTP 500 (DateParseError)
    response = client.get("/api/v1/noise/complaints", params={"month": month})
    assert response.status_code == 422, response.text
    assert "month" in response.json()["detail"] and month in response.json()["detail"]
