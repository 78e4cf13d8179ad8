"""``GET /api/v1/alarms`` and ``GET /api/v1/limits`` over real HTTP (TestClient, lifespan run)
on a real DuckDB file, with a viewer's API token (alarms are restricted data)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from alarm_helpers import T0, build_store, series, write
from fastapi.testclient import TestClient

from ecobasin.jobs.alarms import recompute_alarms
from ecobasin.store import Store
from ecobasin.web import create_app
from ecobasin.web.security import accounts

URL = "/api/v1/alarms"
H = pd.Timedelta(hours=1)
HOURLY = [34.0, 35.0, 35.1, 40.0, 35.0, 36.0, 35.0, 34.9, 70.0, 71.0, 72.0]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str]]:
    path = build_store(tmp_path_factory.mktemp("api") / "alarms.duckdb")
    with Store(path) as store:
        write(store, series("GAS1", "FG_SO2_Zs", HOURLY))
        write(store, series("AIR1", "PM2.5", [10.0, 11.0]))
        recompute_alarms(store, {"GAS1", "AIR1"}, T0, T0 + 11 * H, now=T0 + 11 * H)
        accounts.create_user(store.con, "viewer1", "viewer", password="viewer-password-1")
        _, token = accounts.create_token(store.con, "viewer1", "alarm tests")
    with TestClient(create_app(path)) as client:
        yield client, token


def get(served: tuple[TestClient, str], url: str, params: Any = None, auth: bool = True) -> Any:
    client, token = served
    headers = {"Authorization": f"Bearer {token}"} if auth else {}
    return client.get(url, params=params, headers=headers)


def page(served: tuple[TestClient, str], params: Any = None) -> dict[str, Any]:
    response = get(served, URL, params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_all_alarms_newest_first(served: tuple[TestClient, str]) -> None:
    body = page(served)
    # over-limit episodes of GAS1 (hours 9-11 open, 6, 3-4) and AIR1 silent since T0+2h
    kinds = [(r["kind"], r["site_id"], r["start_utc"]) for r in body["results"]]
    assert body["total"] == 4 and body["next"] is None
    assert kinds == [
        ("over_limit", "GAS1", "2024-03-01T00:00:00Z"),
        ("over_limit", "GAS1", "2024-02-29T21:00:00Z"),
        ("silent", "AIR1", "2024-02-29T18:00:00Z"),  # same start: by site id
        ("over_limit", "GAS1", "2024-02-29T18:00:00Z"),
    ]
    first = body["results"][0]
    assert first["status"] == "open" and first["end_utc"] is None
    assert first["start_cst"] == "2024-03-01 08:00" and first["site_name_zh"] == "一号烟囱"
    assert first["peak"] == 72.0 and first["limit"] == 35.0 and first["periods"] == 3
    assert first["evidence"]["basis"] == "1h"


@pytest.mark.parametrize(
    ("params", "total"),
    [
        ({"kind": "silent"}, 1),
        ({"site": "GAS1"}, 3),
        ({"status": "closed"}, 2),
        ({"parameter": "FG_SO2_Zs", "status": "open"}, 1),
        ({"city": "德阳"}, 0),
        ({"start": "2024-03-01T07:30"}, 2),  # CST: the open over-limit and the open silence
        ({"end": "2024-03-01T02:00"}, 2),  # episodes starting by 02:00 CST
    ],
)
def test_filters(served: tuple[TestClient, str], params: dict[str, str], total: int) -> None:
    assert page(served, params)["total"] == total


def test_paging_links(served: tuple[TestClient, str]) -> None:
    body = page(served, {"limit": 3})
    assert len(body["results"]) == 3 and "offset=3" in body["next"]
    second = page(served, {"limit": 3, "offset": 3})
    assert len(second["results"]) == 1 and second["next"] is None
    assert "offset=0" in second["previous"]


def problem(served: tuple[TestClient, str], url: str, params: Any, status: int) -> dict[str, Any]:
    response = get(served, url, params)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


def test_unknown_site_names_the_parameter(served: tuple[TestClient, str]) -> None:
    body = problem(served, URL, {"site": "NOPE"}, 422)
    assert body["errors"][0]["parameter"] == "site" and "NOPE" in body["detail"]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [({"kind": "loud"}, "kind"), ({"status": "maybe"}, "status"), ({"limit": 0}, "limit"),
     ({"start": "soon"}, "start"), ({"city": "Atlantis"}, "city")],
)  # fmt: skip
def test_bad_parameters_are_named(
    served: tuple[TestClient, str], params: dict[str, Any], parameter: str
) -> None:
    body = problem(served, URL, params, 422)
    assert [e["parameter"] for e in body["errors"]] == [parameter]


def test_alarms_are_restricted(served: tuple[TestClient, str]) -> None:
    response = get(served, URL, auth=False)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


def test_one_alarm_and_unknown_id(served: tuple[TestClient, str]) -> None:
    alarm_id = page(served)["results"][0]["alarm_id"]
    response = get(served, f"{URL}/{alarm_id}")
    assert response.status_code == 200 and response.json()["alarm_id"] == alarm_id
    body = problem(served, f"{URL}/deadbeef", None, 404)
    assert "deadbeef" in body["detail"]


def test_limits_table_is_public(served: tuple[TestClient, str]) -> None:
    response = get(served, "/api/v1/limits", {"category": "municipal_wwtp_1a"}, auth=False)
    assert response.status_code == 200
    rows = {r["parameter"]: r for r in response.json()["results"]}
    assert rows["COD"]["limit"] == 50 and rows["COD"]["basis"] == "1d"
    assert rows["COD"]["standard_id"] == "GB 18918-2002" and rows["COD"]["verified"] is True
    assert rows["COD"]["category_zh"] == "城镇污水处理厂（一级A）"
    body = problem(served, "/api/v1/limits", {"category": "volcano"}, 422)
    assert body["errors"][0]["parameter"] == "category"


def test_site_limits(served: tuple[TestClient, str]) -> None:
    response = get(served, "/api/v1/limits", {"site": "GAS2", "parameter": "fg_so2_zs"})
    results = response.json()["results"]
    assert response.status_code == 200
    assert [(r["source"], r["limit"]) for r in results] == [
        ("site_attributes", 30.0), ("standard", 100.0),
    ]  # fmt: skip
    assert get(served, "/api/v1/limits", {"site": "GAS2"}, auth=False).status_code == 401
    body = problem(served, "/api/v1/limits", {"site": "NOPE"}, 422)
    assert body["errors"][0]["parameter"] == "site"
