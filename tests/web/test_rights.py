"""Rights over the write API, per role (issue 4): every write endpoint is allowed to an admin
and to the editor of the site's city, refused (403, naming the missing right) to the editor of
another city and to a viewer, and refused (401 with ``WWW-Authenticate``) without credentials.
Restricted reads (enterprise outlets, rejected records) are for signed-in users only.

Everything runs over real HTTP requests (TestClient) on a real DuckDB file; API tokens made by
the account functions identify the callers.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from ecobasin.store import Store
from ecobasin.web import create_app
from ecobasin.web.security import accounts
from ecobasin.web.security.policy import (
    PUBLIC,
    Action,
    Principal,
    can,
    denial,
    readable_kinds,
)

from .conftest import build_store

#: Callers: role name → (role, city). 1431A and 1432A are Chengdu (510100) stations, 2286A is
#: in Deyang (510600) — see tests/web/conftest.py.
CALLERS = {
    "admin": ("admin", None),
    "cd_editor": ("editor", 510100),
    "dy_editor": ("editor", 510600),
    "viewer": ("viewer", None),
}
#: Expected status of a write to a Chengdu site, per caller ("public": no credentials).
CHENGDU_WRITE = {"admin": 200, "cd_editor": 200, "dy_editor": 403, "viewer": 403, "public": 401}
ROLES = list(CHENGDU_WRITE)
OUTLET = pd.DataFrame(
    [("CD-G01", "gas_outlet", "enterprise", 510100, "某电厂1号排口", "Plant 1 stack", None, None)],
    columns=["site_id", "kind", "level", "city_code", "name_zh", "name_en", "lon", "lat"],
)


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = build_store(tmp_path_factory.mktemp("rights") / "rights.duckdb")
    with Store(path) as store:
        store.upsert_sites(OUTLET, "tests")
        outlet_rows = pd.DataFrame(
            {
                "site_id": "CD-G01",
                "parameter": "FG_SO2",
                "period": "1h",
                "time": pd.date_range("2023-12-31T17:00Z", periods=3, freq="h").astype(
                    "datetime64[us, UTC]"
                ),
                "value": [12.0, 14.0, 13.0],
                "flag": None,
            }
        )
        store.write_observations(outlet_rows, store.begin_batch("test", "tests"))
    return path


@pytest.fixture(scope="module")
def tokens(store_path: Path) -> dict[str, str]:
    """An API token per caller."""
    made = {}
    with Store(store_path) as store:
        for name, (role, city) in CALLERS.items():
            accounts.create_user(store.con, name, role, city, f"password-{name}")
            made[name] = accounts.create_token(store.con, name, "tests")[1]
    return made


@pytest.fixture(scope="module")
def client(store_path: Path, tokens: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(store_path)) as test_client:
        yield test_client


def auth(tokens: dict[str, str], caller: str) -> dict[str, str]:
    return {} if caller == "public" else {"Authorization": f"Bearer {tokens[caller]}"}


def assert_refusal(response: object, status: int) -> dict[str, object]:
    """A 401/403 problem; 401 carries the Bearer challenge (RFC 6750 §3)."""
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"].startswith("application/problem+json")  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert body["status"] == status
    if status == 401:
        assert response.headers["www-authenticate"].startswith('Bearer realm="ecobasin"')  # type: ignore[attr-defined]
    return body


def stored_value(
    store_path: Path, client: TestClient, site: str, time: str
) -> list[dict[str, object]]:
    """Observations of ``site`` PM2.5 at one CST time, read back through the public API."""
    response = client.get(
        "/api/v1/observations",
        params={"site": site, "parameter": "PM2.5", "start": time, "end": time},
    )
    assert response.status_code == 200
    results: list[dict[str, object]] = response.json()["results"]
    return results


# -- POST /api/v1/observations -------------------------------------------------------------
@pytest.mark.parametrize("caller", ROLES)
def test_write_observations_per_role(
    client: TestClient, tokens: dict[str, str], store_path: Path, caller: str
) -> None:
    # each caller writes its own hour, so the outcomes do not depend on test order
    hour = 1 + ROLES.index(caller)
    time = f"2024-01-03T{hour:02d}:00"
    body = {"rows": [{"site_id": "1431A", "parameter": "PM2.5", "time": time, "value": 50 + hour}]}
    response = client.post("/api/v1/observations", json=body, headers=auth(tokens, caller))
    expected = CHENGDU_WRITE[caller]
    if expected == 200:
        assert response.status_code == 200, response.text
        assert response.json()["inserted"] == 1
        [row] = stored_value(store_path, client, "1431A", time)
        assert row["value"] == 50 + hour
        return
    problem = assert_refusal(response, expected)
    assert stored_value(store_path, client, "1431A", time) == []
    if caller == "dy_editor":
        assert (
            problem["detail"] == "editor of 510600 (dy_editor) may not write site 1431A of 510100"
        )
    if caller == "viewer":
        assert "viewer" in str(problem["detail"]) and "editor of the city or an admin" in str(
            problem["detail"]
        )


def test_an_editor_may_write_their_own_city_only_whole_request_refused(
    client: TestClient, tokens: dict[str, str], store_path: Path
) -> None:
    body = {
        "rows": [
            {"site_id": "2286A", "parameter": "PM2.5", "time": "2024-01-04T01:00", "value": 40},
            {"site_id": "1431A", "parameter": "PM2.5", "time": "2024-01-04T01:00", "value": 41},
        ]
    }
    refused = client.post("/api/v1/observations", json=body, headers=auth(tokens, "cd_editor"))
    problem = assert_refusal(refused, 403)
    assert problem["detail"] == "editor of 510100 (cd_editor) may not write site 2286A of 510600"
    assert stored_value(store_path, client, "1431A", "2024-01-04T01:00") == []  # nothing written
    allowed = client.post("/api/v1/observations", json=body, headers=auth(tokens, "dy_editor"))
    assert allowed.status_code == 403  # the Deyang editor is refused for the Chengdu row
    assert "site 1431A of 510100" in allowed.json()["detail"]


def test_written_rows_are_validated_and_rejected_rows_kept_with_reasons(
    client: TestClient, tokens: dict[str, str]
) -> None:
    rows = [
        {"site_id": "1432A", "parameter": "PM2.5", "time": "2024-01-05T01:00", "value": 33},
        {"site_id": "1432A", "parameter": "PM2.5", "time": "2024-01-05T02:00", "value": "3O"},
        {"site_id": "1432A", "parameter": "NOPE", "time": "2024-01-05T02:00", "value": 3},
        {"site_id": "1432A", "parameter": "PM2.5", "time": "not a time", "value": 3},
        {"site_id": "1432A", "parameter": "PM2.5", "time": "2024-01-05T03:00", "value": -5},
        {"site_id": "1432A", "parameter": "CO", "time": "2024-01-05T01:00", "value": 900,
         "unit": "ug/m3"},
        {"site_id": "1432A", "parameter": "PM2.5", "time": "2024-01-05T04:00", "value": None},
    ]  # fmt: skip
    response = client.post(
        "/api/v1/observations", json={"rows": rows}, headers=auth(tokens, "cd_editor")
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["received"], result["inserted"], result["missing"]) == (7, 2, 1)
    reasons = {r["record_ref"]: (r["reason_code"], r["reason"]) for r in result["rejected"]}
    assert reasons == {
        "line 2 1432A/PM2.5": ("not_a_number", "value 3O is not a number"),
        "line 3 1432A/NOPE": ("unknown_parameter", "parameter NOPE is not in the registry"),
        "line 4 1432A/PM2.5": ("bad_time", "time could not be read at line 4 1432A/PM2.5"),
        "line 5 1432A/PM2.5": ("negative_value", "negative value -5 µg/m³ is impossible"),
    }
    # 900 ug/m3 of CO is stored as 0.9 mg/m3 (the registry's unit)
    co = client.get(
        "/api/v1/observations",
        params={
            "site": "1432A",
            "parameter": "CO",
            "start": "2024-01-05T01:00",
            "end": "2024-01-05T01:00",
        },
    ).json()["results"]
    assert [(r["value"], r["unit"]) for r in co] == [(0.9, "mg/m³")]
    # the rejected rows are kept in the store's rejected records, under this batch
    kept = client.get("/api/v1/rejected", headers=auth(tokens, "viewer"))
    assert kept.status_code == 200
    mine = [r for r in kept.json() if r["source"] == f"api:cd_editor batch {result['batch_id']}"]
    assert {r["record_ref"] for r in mine} == set(reasons)
    # the hour written is evaluated at once (AQI, HJ 633): one station-day and its city-day
    assert result["aqi"]["site_days"] == 1 and result["aqi"]["city_days"] == 1


def test_an_unknown_site_is_rejected_not_refused(
    client: TestClient, tokens: dict[str, str]
) -> None:
    rows = [{"site_id": "NOSUCH", "parameter": "PM2.5", "time": "2024-01-05T01:00", "value": 3}]
    response = client.post(
        "/api/v1/observations", json={"rows": rows}, headers=auth(tokens, "cd_editor")
    )
    assert response.status_code == 200
    [rejected] = response.json()["rejected"]
    assert rejected["reason_code"] == "unknown_site"


# -- POST /api/v1/sites and PATCH /api/v1/sites/{id} ----------------------------------------
@pytest.mark.parametrize("caller", ROLES)
def test_create_site_per_role(client: TestClient, tokens: dict[str, str], caller: str) -> None:
    site_id = f"CD-M-{caller}"
    body = {"site_id": site_id, "kind": "micro_station", "city_code": 510100, "name_zh": "新微站"}
    response = client.post("/api/v1/sites", json=body, headers=auth(tokens, caller))
    listed = {s["site_id"] for s in client.get("/api/v1/sites").json()["results"]}
    expected = CHENGDU_WRITE[caller]
    if expected == 200:
        assert response.status_code == 201, response.text
        assert response.json()["city_en"] == "Chengdu"
        assert site_id in listed
    else:
        assert_refusal(response, expected)
        assert site_id not in listed


def test_create_site_twice_is_409_and_unknown_city_422(
    client: TestClient, tokens: dict[str, str]
) -> None:
    body = {"site_id": "CD-M-twice", "kind": "micro_station", "city_code": 510100}
    headers = auth(tokens, "admin")
    assert client.post("/api/v1/sites", json=body, headers=headers).status_code == 201
    assert client.post("/api/v1/sites", json=body, headers=headers).status_code == 409
    bad = client.post(
        "/api/v1/sites", json={**body, "site_id": "X-1", "city_code": 999999}, headers=headers
    )
    assert bad.status_code == 422 and "unknown city 999999" in bad.json()["detail"]


@pytest.mark.parametrize("caller", ROLES)
def test_patch_site_per_role(client: TestClient, tokens: dict[str, str], caller: str) -> None:
    name = f"Jinquan ({caller})"
    response = client.patch(
        "/api/v1/sites/1431A", json={"name_en": name}, headers=auth(tokens, caller)
    )
    expected = CHENGDU_WRITE[caller]
    if expected == 200:
        assert response.status_code == 200, response.text
        assert response.json()["name_en"] == name
        assert response.json()["name_zh"] == "金泉两河"  # other fields kept
    else:
        assert_refusal(response, expected)
        site = client.get("/api/v1/sites", params={"city": "510100"}).json()["results"]
        assert name not in {s["name_en"] for s in site}


def test_an_editor_cannot_move_a_site_to_another_city(
    client: TestClient, tokens: dict[str, str]
) -> None:
    response = client.patch(
        "/api/v1/sites/1432A", json={"city_code": 510600}, headers=auth(tokens, "cd_editor")
    )
    problem = assert_refusal(response, 403)
    assert problem["detail"] == "editor of 510100 (cd_editor) may not write site 1432A of 510600"
    sites = client.get("/api/v1/sites", params={"city": "510100"}).json()["results"]
    assert "1432A" in {s["site_id"] for s in sites}
    missing = client.patch(
        "/api/v1/sites/NOSUCH", json={"name_en": "x"}, headers=auth(tokens, "admin")
    )
    assert missing.status_code == 404


# -- POST /api/v1/observations/invalidate --------------------------------------------------
@pytest.mark.parametrize("caller", ROLES)
def test_invalidate_per_role(
    client: TestClient, tokens: dict[str, str], store_path: Path, caller: str
) -> None:
    hour = 10 + ROLES.index(caller)  # each caller its own hour of 2024-01-01 (CST)
    time = f"2024-01-01T{hour:02d}:00"
    body = {
        "site_id": "1431A",
        "parameters": ["PM2.5", "co"],
        "start": time,
        "end": time,
        "flag": "M",
        "reason": "analyser maintenance 仪器维护",
    }
    response = client.post(
        "/api/v1/observations/invalidate", json=body, headers=auth(tokens, caller)
    )
    [row] = stored_value(store_path, client, "1431A", time)
    expected = CHENGDU_WRITE[caller]
    if expected == 200:
        assert response.status_code == 200, response.text
        result = response.json()
        assert (result["matched"], result["updated"]) == (2, 2)  # PM2.5 and CO of one hour
        assert result["previous_flags"] == {"null": 2}
        assert row["flag"] == "M" and row["value"] == 30.0 + hour - 1  # value kept (conftest)
        audit = client.get("/api/v1/audit", headers=auth(tokens, "admin")).json()
        entry = next(
            a
            for a in audit
            if a["action"] == "observations.invalidate"
            and a["detail"]["start"].startswith(f"2024-01-01T{hour - 8:02d}")
        )
        assert entry["user_name"] == caller and entry["detail"]["reason"] == body["reason"]
    else:
        assert_refusal(response, expected)
        assert row["flag"] is None


def test_invalidate_refuses_a_flag_that_does_not_invalidate(
    client: TestClient, tokens: dict[str, str]
) -> None:
    body = {
        "site_id": "1431A",
        "parameters": ["PM2.5"],
        "start": "2024-01-01T20:00",
        "end": "2024-01-01T21:00",
        "flag": "N",
        "reason": "test",
    }
    response = client.post(
        "/api/v1/observations/invalidate", json=body, headers=auth(tokens, "admin")
    )
    assert response.status_code == 422 and "'N' does not mark a value invalid" in response.text


# -- restricted reads ----------------------------------------------------------------------
def test_the_public_sees_no_enterprise_outlets(client: TestClient, tokens: dict[str, str]) -> None:
    public = {s["site_id"] for s in client.get("/api/v1/sites").json()["results"]}
    assert "CD-G01" not in public and "1431A" in public
    viewer = client.get("/api/v1/sites", headers=auth(tokens, "viewer")).json()["results"]
    assert "CD-G01" in {s["site_id"] for s in viewer}
    asked = client.get("/api/v1/sites", params={"kind": "gas_outlet"})
    assert "site kind gas_outlet is restricted data" in str(assert_refusal(asked, 401)["detail"])


def test_outlet_observations_are_restricted(client: TestClient, tokens: dict[str, str]) -> None:
    everything = client.get("/api/v1/observations", params={"parameter": "FG_SO2"}).json()
    assert everything["total"] == 0  # filtered out for the public
    asked = client.get("/api/v1/observations", params={"site": "CD-G01"})
    assert "site CD-G01 is restricted data" in str(assert_refusal(asked, 401)["detail"])
    for caller in ("viewer", "cd_editor", "admin"):
        seen = client.get(
            "/api/v1/observations", params={"site": "CD-G01"}, headers=auth(tokens, caller)
        )
        assert seen.json()["total"] == 3, caller


def test_rejected_records_are_restricted(client: TestClient, tokens: dict[str, str]) -> None:
    assert_refusal(client.get("/api/v1/rejected"), 401)
    assert client.get("/api/v1/rejected", headers=auth(tokens, "viewer")).status_code == 200


def test_a_bad_token_is_refused_not_taken_for_the_public(client: TestClient) -> None:
    for header in ("Bearer eb_1_" + "x" * 43, "Bearer nonsense", "Basic dXNlcjpwdw=="):
        response = client.get("/api/v1/sites", headers={"Authorization": header})
        body = assert_refusal(response, 401)
        assert "token" in str(body["detail"]) or "Authorization" in str(body["detail"])


# -- the policy itself (pure) ----------------------------------------------------------------
ADMIN = Principal("root", "admin", user_id=1)
CD_EDITOR = Principal("cd", "editor", city_code=510100, user_id=2)
VIEWER = Principal("eve", "viewer", user_id=3)


@pytest.mark.parametrize(
    ("principal", "action", "city", "allowed"),
    [
        (PUBLIC, "read_public", None, True),
        (PUBLIC, "read_restricted", None, False),
        (PUBLIC, "write", 510100, False),
        (PUBLIC, "admin", None, False),
        (VIEWER, "read_restricted", None, True),
        (VIEWER, "write", None, False),
        (VIEWER, "admin", None, False),
        (CD_EDITOR, "read_restricted", None, True),
        (CD_EDITOR, "write", None, True),  # some city: its own
        (CD_EDITOR, "write", 510100, True),
        (CD_EDITOR, "write", 510600, False),
        (CD_EDITOR, "admin", None, False),
        (ADMIN, "write", 510600, True),
        (ADMIN, "admin", None, True),
    ],
)
def test_policy_table(
    principal: Principal, action: Action, city: int | None, allowed: bool
) -> None:
    assert can(principal, action, city) is allowed
    assert (denial(principal, action, city) is None) is allowed


def test_policy_reasons_name_the_missing_right() -> None:
    assert (
        denial(CD_EDITOR, "write", 510600, "site 2286A")
        == "editor of 510100 (cd) may not write site 2286A of 510600"
    )
    assert "needs a viewer, editor or admin account" in str(denial(PUBLIC, "read_restricted"))
    assert "viewer (eve) may not administer" in str(denial(VIEWER, "admin"))
    assert readable_kinds(PUBLIC) == ("air_station", "micro_station", "water_section")
    assert readable_kinds(VIEWER) is None
    with pytest.raises(ValueError, match="unknown action"):
        denial(ADMIN, "delete_everything")  # type: ignore[arg-type]
