"""``GET /api/v1/forecasts/verification`` (issue 21, item 4) and the stored path of
``GET /api/v1/forecasts/hourly`` (item 2), on a small real DuckDB store
(tests/forecast_verification_helpers.py) through the FastAPI app."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient

from ecobasin.services import forecast_hourly as hourly_service
from ecobasin.store import Store
from ecobasin.web import create_app
from ecobasin.web.security import accounts
from forecast_verification_helpers import (
    CHENGDU,
    FIRST_TARGET,
    HOURS_DAYS,
    HOURS_FROM,
    build_store,
    insert_city_hours,
)

pytestmark = pytest.mark.slow  # fits the hourly model (seconds of CPU)
STORED_DAY = date(2016, 3, 20)  # an issue day of the synthetic hours with its hourly stored
FITTED_DAY = date(2016, 3, 25)  # one without: fitted on request


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str]]:
    db = build_store(tmp_path_factory.mktemp("verify-api") / "verify.duckdb")
    with Store(db) as store:
        insert_city_hours(store)
        hourly_service.issue_hourly(store, STORED_DAY)
        accounts.create_user(store.con, "viewer", "viewer", None, "password-viewer-long")
        token = accounts.create_token(store.con, "viewer", "tests")[1]
    with TestClient(create_app(db)) as test_client:
        yield test_client, token


def test_verification_route_declares_its_response_model(client: tuple[TestClient, str]) -> None:
    http, _ = client
    spec = http.get("/openapi.json").json()
    operation = spec["paths"]["/api/v1/forecasts/verification"]["get"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("/VerificationReport")
    assert {p["name"] for p in operation["parameters"]} == {"city", "from", "to"}


def test_verification_by_lead_with_bilingual_labels(client: tuple[TestClient, str]) -> None:
    http, _ = client
    answer = http.get(
        "/api/v1/forecasts/verification",
        params={"city": CHENGDU, "from": str(FIRST_TARGET), "to": "2016-01-20"},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["start"], body["end"], body["issues"]) == (str(FIRST_TARGET), "2016-01-20", 10)
    issued = next(r for r in body["leads"] if r["member"] == "issued" and r["lead"] == 1)
    assert issued["ts_100"] == pytest.approx(3 / 7)  # the hand-checked case
    assert issued["skill_pm25_persistence"] < 0  # 150 µg/m³ off every day: worse
    assert {r["member"] for r in body["leads"]} == {"issued", "persistence", "climatology"}
    assert body["members"]["persistence"] == {"zh": "持续性预报", "en": "persistence"}
    assert body["labels"]["ts_100"]["zh"].startswith("TS") and body["labels"]["far_200"]["en"]
    persistence = next(r for r in body["leads"] if r["member"] == "persistence")
    assert persistence["range_hit"] is None  # NaN is null in JSON, never a number


def test_bad_city_or_period_is_a_422_naming_it(client: tuple[TestClient, str]) -> None:
    http, _ = client
    for params, named in (
        ({"city": "999999"}, "'999999'"),
        ({"city": "51O100"}, "'51O100'"),
        ({"city": "1" * 5000}, "GB/T 2260"),
        ({"city": CHENGDU, "from": "2016-02-01", "to": "2016-01-01"}, "2016-02-01"),
        ({"city": CHENGDU, "from": "2000-01-01", "to": "2016-01-01"}, "at most"),
    ):
        answer = http.get("/api/v1/forecasts/verification", params=params)
        assert answer.status_code == 422, (params, answer.text)
        assert named in answer.json()["detail"], answer.json()
    malformed = http.get("/api/v1/forecasts/verification", params={"city": CHENGDU, "from": "x"})
    assert malformed.status_code == 422
    assert "from" in malformed.text


def test_rights_are_those_of_the_other_forecast_routes(client: tuple[TestClient, str]) -> None:
    """Published forecasts are public: the verification is read like /forecasts, with or
    without credentials; a bad token is refused on both alike."""
    http, token = client
    params = {"city": CHENGDU}
    for headers in ({}, {"Authorization": f"Bearer {token}"}):
        assert http.get("/api/v1/forecasts", headers=headers).status_code == 200
        assert (
            http.get("/api/v1/forecasts/verification", params=params, headers=headers).status_code
            == 200
        )
    bad = {"Authorization": "Bearer not-a-token"}
    assert (
        http.get("/api/v1/forecasts/verification", params=params, headers=bad).status_code
        == http.get("/api/v1/forecasts", headers=bad).status_code
    )


def test_hourly_reads_the_stored_issue_and_fits_only_where_none_is_stored(
    client: tuple[TestClient, str],
) -> None:
    http, _ = client
    latest = http.get("/api/v1/forecasts/hourly", params={"city": CHENGDU})
    assert latest.status_code == 200, latest.text
    body = latest.json()
    assert body["source"] == "stored" and body["issue_day"] == str(STORED_DAY)
    assert body["model_version"].startswith(hourly_service.HOURLY_MODEL_VERSION)
    pm = [v for v in body["values"] if v["pollutant"] == "PM2.5"]
    assert [v["lead_hour"] for v in pm] == list(range(1, 73))
    assert {a["rule_set"] for a in body["aqi"]} == {"HJ633-2012", "HJ633-2026"}
    same = http.get("/api/v1/forecasts/hourly", params={"issued": str(STORED_DAY)}).json()
    assert same["values"] == body["values"] and same["source"] == "stored"
    fitted = http.get("/api/v1/forecasts/hourly", params={"issue_day": str(FITTED_DAY)})
    assert fitted.status_code == 200, fitted.text
    assert fitted.json()["source"] == "fitted"
    both = {"issue_day": str(STORED_DAY), "issued": str(FITTED_DAY)}
    assert http.get("/api/v1/forecasts/hourly", params=both).status_code == 422


def test_hour_of_day_scores_once_hourly_forecasts_are_stored(
    client: tuple[TestClient, str],
) -> None:
    http, _ = client
    start = STORED_DAY.replace(day=STORED_DAY.day + 1)
    body = http.get(
        "/api/v1/forecasts/verification",
        params={"city": CHENGDU, "from": str(start), "to": "2016-03-23"},
    ).json()
    assert body["hourly_issues"] == 1
    pm = [h for h in body["hours"] if h["pollutant"] == "PM2.5"]
    assert [h["local_hour"] for h in pm] == list(range(24))
    assert all(h["n"] == 3 for h in pm)  # three forecast days, each hour once a day
    assert all(h["rmse"] >= 0 and h["persistence_rmse"] >= 0 for h in pm)
    assert HOURS_FROM.toordinal() + HOURS_DAYS > STORED_DAY.toordinal() + 3  # hours observed
