"""``/api/v1/incidents`` and ``/api/v1/rivers`` over real HTTP requests (TestClient) on a real
DuckDB file: the whole response driven through the API with the rights of each role — Chengdu's
editor opens a spill, Ziyang's acknowledges its notice and posts results, Deyang's is refused
everything, the public is asked to sign in, the province (admin) sees all and refits."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ecobasin import catalog
from ecobasin.services import incidents as service
from ecobasin.store import Store
from ecobasin.web import create_app
from ecobasin.web.security import accounts

DATA = resources.files("ecobasin.demo") / "data"
PEOPLE = {
    "chengdu": ("editor", 510100),
    "ziyang": ("editor", 512000),
    "deyang": ("editor", 510600),
    "province": ("admin", None),
    "watcher": ("viewer", None),
}
TOKENS: dict[str, str] = {}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    path = tmp_path_factory.mktemp("incidents") / "i.duckdb"
    with Store(path) as store:
        store.sync_catalog(catalog.load_region())
        nodes, reaches = service.read_network_files(
            Path(str(DATA / "river_nodes.csv")), Path(str(DATA / "river_reaches.csv"))
        )
        service.import_network(store, "demo", nodes, reaches, datetime.now(UTC))
        for name, (role, city) in PEOPLE.items():
            accounts.create_user(store.con, name, role, city, f"password-of-{name}")
            TOKENS[name] = accounts.create_token(store.con, name, "tests")[1]
    with TestClient(create_app(path)) as test_client:
        yield test_client


def as_(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[name]}"}


def spill(hours_ago: float = 2.0) -> dict[str, object]:
    at = (datetime.now(UTC) - timedelta(hours=hours_ago)).isoformat()
    return {
        "title": "苯泄漏 benzene spill", "network": "demo", "node_id": "T03", "city": 510100,
        "substance": "benzene", "release": {"mode": "instantaneous", "mass_kg": 2000},
        "occurred_at": at, "discovered_at": at, "determined_at": at,
    }  # fmt: skip


def test_the_whole_response_through_the_api(client: TestClient) -> None:
    assert client.get("/api/v1/rivers/demo").json()["nodes"]  # geography is public
    assert client.post("/api/v1/incidents", json=spill()).status_code == 401
    assert client.post("/api/v1/incidents", json=spill(), headers=as_("deyang")).status_code == 403
    opened = client.post("/api/v1/incidents", json=spill(), headers=as_("chengdu"))
    assert opened.status_code == 201, opened.text
    incident_id = opened.json()["incident_id"]
    assert opened.json()["grade"] == "I"

    view = client.get(f"/api/v1/incidents/{incident_id}", headers=as_("ziyang")).json()
    assert {n["to_city"] for n in view["notices"] if n["kind"] == "cross_boundary"} >= {
        "512000",
        "511000",
    }
    assert any(c["node_id"] == "I-ZY-1" for c in view["curves"])
    assert client.get(f"/api/v1/incidents/{incident_id}", headers=as_("deyang")).status_code == 403
    assert client.get(f"/api/v1/incidents/{incident_id}").status_code == 401
    assert client.get(f"/api/v1/incidents/{incident_id}", headers=as_("watcher")).status_code == 200

    mine = next(n for n in view["notices"] if n["to_city"] == "512000")
    other = next(n for n in view["notices"] if n["to_city"] == "511000")
    refused = client.post(
        f"/api/v1/incidents/{incident_id}/notices/{other['notice_id']}/ack",
        json={},
        headers=as_("ziyang"),
    )
    assert refused.status_code == 409 and "addressed to 511000" in refused.json()["detail"]
    acked = client.post(
        f"/api/v1/incidents/{incident_id}/notices/{mine['notice_id']}/ack",
        json={},
        headers=as_("ziyang"),
    )
    assert acked.status_code == 200, acked.text
    again = client.post(
        f"/api/v1/incidents/{incident_id}/notices/{mine['notice_id']}/ack",
        json={},
        headers=as_("ziyang"),
    )
    assert again.status_code == 409

    now = datetime.now(UTC)
    rows = {"results": [
        {"node_id": "T05", "sampled_at": now.isoformat(), "value_mg_L": 0.05},
        {"node_id": "T04", "sampled_at": now.isoformat(), "value_mg_L": 0.05},  # Chengdu's reach
    ]}  # fmt: skip
    posted = client.post(
        f"/api/v1/incidents/{incident_id}/results", json=rows, headers=as_("ziyang")
    ).json()
    assert (
        posted["detail"]["accepted"] == 1
        and "not 512000" in posted["detail"]["rejected"][0]["reason"]
    )
    bad = client.post(f"/api/v1/incidents/{incident_id}/results", json={"results": [
        {"node_id": "T05", "sampled_at": "2026-01-01T00:00:00", "value_mg_L": 1}]}, headers=as_("ziyang"))  # fmt: skip
    assert bad.status_code == 422  # a time without its offset

    approve = client.post(f"/api/v1/incidents/{incident_id}/plan/approve", headers=as_("ziyang"))
    assert approve.status_code == 200 and "512000" in approve.json()["detail"]["approved"]
    refit = client.post(f"/api/v1/incidents/{incident_id}/refit", headers=as_("ziyang"))
    assert refit.status_code == 403  # the source city or the province refits
    too_few = client.post(f"/api/v1/incidents/{incident_id}/refit", headers=as_("province"))
    assert too_few.status_code == 409 and "two stations" in too_few.json()["detail"]

    listed = client.get("/api/v1/incidents", headers=as_("ziyang")).json()
    assert [i["incident_id"] for i in listed] == [incident_id]
    assert client.get("/api/v1/incidents", headers=as_("deyang")).json() == []
    score = client.get(f"/api/v1/incidents/{incident_id}/score", headers=as_("province")).json()
    assert score["notices"] == len(view["notices"])


def test_implausible_input_is_refused_with_the_reason(client: TestClient) -> None:
    future = spill(hours_ago=-48)
    answer = client.post("/api/v1/incidents", json=future, headers=as_("chengdu"))
    assert answer.status_code == 422 and "future" in answer.json()["detail"]
    nowhere = {**spill(), "node_id": "NOWHERE"}
    answer = client.post("/api/v1/incidents", json=nowhere, headers=as_("chengdu"))
    assert answer.status_code == 422 and "NOWHERE" in answer.json()["detail"]
    huge = {**spill(), "release": {"mode": "instantaneous", "mass_kg": 1e12}}
    assert client.post("/api/v1/incidents", json=huge, headers=as_("chengdu")).status_code == 422
    assert client.get("/api/v1/incidents/INC-none", headers=as_("province")).status_code == 404


def test_an_overdue_notice_says_so_and_when_it_was_due(client: TestClient) -> None:
    """The notice board's states (issue 22: sent, acknowledged, overdue): each notice carries
    its acknowledgement deadline (sent + 30 min) and its state by the server clock (overdue is
    tested with a later clock in tests/services/test_incident_service.py)."""
    opened = client.post("/api/v1/incidents", json=spill(hours_ago=3), headers=as_("chengdu"))
    incident_id = opened.json()["incident_id"]
    view = client.get(f"/api/v1/incidents/{incident_id}", headers=as_("province")).json()
    cross = [n for n in view["notices"] if n["kind"] == "cross_boundary"]
    assert cross and all(n["state"] == "sent" for n in cross)
    for notice in cross:
        due = datetime.fromisoformat(notice["ack_due_at"]) - datetime.fromisoformat(
            notice["sent_at"]
        )
        assert due == timedelta(minutes=30)
    assert all(n["state"] == "sent" for n in view["notices"] if n["kind"] == "initial")
    mine = next(n for n in cross if n["to_city"] == "512000")
    client.post(
        f"/api/v1/incidents/{incident_id}/notices/{mine['notice_id']}/ack",
        json={},
        headers=as_("ziyang"),
    )
    view = client.get(f"/api/v1/incidents/{incident_id}", headers=as_("province")).json()
    states = {n["notice_id"]: n["state"] for n in view["notices"]}
    assert states[mine["notice_id"]] == "acknowledged"
    assert view["incident"]["source_type"] == "unknown"


def test_stocks_are_read_by_signed_in_users_and_kept_by_their_city(client: TestClient) -> None:
    rows = {"stocks": [
        {"depot_id": "ZY-9", "depot_name": "资阳库", "item": "activated carbon", "quantity": 12, "unit": "t"},
    ]}  # fmt: skip
    assert client.put("/api/v1/materials/stocks/512000", json=rows).status_code == 401
    assert (
        client.put("/api/v1/materials/stocks/512000", json=rows, headers=as_("chengdu")).status_code
        == 403
    )
    kept = client.put("/api/v1/materials/stocks/512000", json=rows, headers=as_("ziyang"))
    assert kept.status_code == 200 and kept.json()["kept"] == 1, kept.text
    listed = client.get("/api/v1/materials/stocks", headers=as_("deyang"))
    assert listed.status_code == 200
    assert any(s["depot_id"] == "ZY-9" and s["city_code"] == "512000" for s in listed.json())
    assert client.get("/api/v1/materials/stocks").status_code == 401
    big = {"stocks": rows["stocks"] * 5001}
    assert (
        client.put("/api/v1/materials/stocks/512000", json=big, headers=as_("ziyang")).status_code
        == 422
    )


def test_every_write_is_in_the_audit_log(client: TestClient) -> None:
    """Issue 22 "everything audited": each API write leaves who, how, what and the city in the
    audit log (the incident's own timeline is tested in tests/services)."""
    incident_id = client.post("/api/v1/incidents", json=spill(), headers=as_("chengdu")).json()[
        "incident_id"
    ]
    view = client.get(f"/api/v1/incidents/{incident_id}", headers=as_("ziyang")).json()
    mine = next(n for n in view["notices"] if n["to_city"] == "512000")
    client.post(
        f"/api/v1/incidents/{incident_id}/notices/{mine['notice_id']}/ack",
        json={},
        headers=as_("ziyang"),
    )
    client.post(f"/api/v1/incidents/{incident_id}/plan/approve", headers=as_("ziyang"))
    rows = {"stocks": [{"depot_id": "CD-9", "depot_name": "成都库", "item": "lime", "quantity": 3, "unit": "t"}]}  # fmt: skip
    client.put("/api/v1/materials/stocks/510100", json=rows, headers=as_("chengdu"))
    log = client.get("/api/v1/audit?limit=50", headers=as_("province")).json()
    seen = {(e["action"], e["user_name"]) for e in log if e["target"] in (incident_id, "510100")}
    assert {
        ("incident.open", "chengdu"),
        ("incident.ack", "ziyang"),
        ("incident.approve", "ziyang"),
        ("incident.stocks", "chengdu"),
    } <= seen
