"""``/api/v1/emergency/…`` over HTTP (TestClient, lifespan run) on a real DuckDB file: ratios are
public; verdicts and findings name enterprises, so only signed-in readers get them."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from test_emergency_store_service import END, NOW, START, T0, _hours, _record

from ecobasin.services import emergency as svc
from ecobasin.store import Store
from ecobasin.store import emergency as db
from ecobasin.web import create_app
from ecobasin.web.security import accounts
from ecobasin.workflow.emergency import ListVersion
from store_files import new_synced_store_file


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str, str]]:
    path = Path(tmp_path_factory.mktemp("api")) / "e.duckdb"
    with Store(new_synced_store_file(path)) as store:
        store.upsert_sites(pd.DataFrame({
            "site_id": ["MNBAD"], "kind": "gas_outlet", "level": "enterprise", "city_code": 510100,
            "name_zh": ["x"], "name_en": ["x"], "lon": 104.0, "lat": 30.6,
        }), "tests")  # fmt: skip
        _hours(store, "MNBAD", [200.0] * 168, [50.0] * 168, ["N"] * 168, T0)
        _hours(store, "MNBAD", [200.0] * 24, [45.0] * 24, ["N"] * 24, START)
        version = ListVersion("510100", 1, T0 - timedelta(days=9), "annual",
                              (_record("BAD", "limit", "青羊区"),))  # fmt: skip
        db.save_version(store, version, "tests", T0)
        key = svc.activate_for_warning(store, "510100", "orange", START, END, "forecast", START)
        svc.end_and_check(store, key, NOW)
        accounts.create_user(store.con, "viewer1", "viewer", password="viewer-password-1")
        _, token = accounts.create_token(store.con, "viewer1", "emergency tests")
    with TestClient(create_app(path)) as client:
        yield client, token, key


def test_ratios_are_public(served: tuple[TestClient, str, str]) -> None:
    client, _, _ = served
    got = client.get(
        "/api/v1/emergency/ratios", params={"city": "510600", "level": "orange", "at": "2025-01-01"}
    )
    assert got.status_code == 200 and got.json()["ratio"]["VOCs"] == 0.15
    missing = client.get(
        "/api/v1/emergency/ratios", params={"city": "510600", "level": "orange", "at": "2001-01-01"}
    )
    assert missing.status_code == 404


def test_verdicts_and_findings_need_a_reader(served: tuple[TestClient, str, str]) -> None:
    client, token, key = served
    url = f"/api/v1/emergency/activations/{key}/verdicts"
    assert client.get(url).status_code == 401
    assert client.get("/api/v1/emergency/findings").status_code == 401
    auth = {"Authorization": f"Bearer {token}"}
    items = client.get(url, headers=auth).json()["items"]
    assert [(i["uscc"], i["verdict"]) for i in items] == [("BAD", "non_compliant")]
    assert items[0]["numbers"]["achieved_reduction"] == pytest.approx(0.1)
    found = client.get("/api/v1/emergency/findings", headers=auth).json()["items"]
    assert [(f["uscc"], f["owner"]) for f in found] == [("BAD", "青羊区")]
    assert (
        client.get("/api/v1/emergency/activations/nope/verdicts", headers=auth).status_code == 404
    )


def test_evidence_csv_holds_the_hours_and_the_measure(served: tuple[TestClient, str, str]) -> None:
    client, token, key = served
    url = f"/api/v1/emergency/activations/{key}/evidence.csv"
    params = {"uscc": "BAD", "outlet": "MNBAD", "pollutant": "NOx"}
    assert client.get(url, params=params).status_code == 401
    got = client.get(url, params=params, headers={"Authorization": f"Bearer {token}"})
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    frame = pd.read_csv(io.StringIO(got.text))
    assert len(frame) == 24 and set(frame["verdict"]) == {"non_compliant"}
    # 200 mg/m³ × 45 m³/s × 3600 s/h × 10⁻⁶ = 32.4 kg per hour
    assert frame["mass_kg"].iloc[0] == pytest.approx(32.4)
    assert json.loads(frame["measure"].iloc[0]) == {"action": "limit", "ratio": 0.5}
    assert set(frame["list_version"]) == {1}
    missing = client.get(
        url, params={**params, "outlet": "MNX"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert missing.status_code == 404
