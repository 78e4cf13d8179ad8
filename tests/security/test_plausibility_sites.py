"""Item 16: site kinds across the public/restricted line are for admins (audited); station
coordinates must lie in their city (with a margin) on every path that creates sites."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ecobasin.ingest import importer
from ecobasin.store import Store, queries
from ecobasin.web import create_app

from .conftest import SecurityStore

BEIJING = (116.40, 39.90)  # [°E, °N] far outside Chengdu


@pytest.fixture
def db(security_store: SecurityStore, tmp_path: Path) -> Path:
    copy = tmp_path / "sites.duckdb"
    shutil.copyfile(security_store.path, copy)
    return copy


@pytest.fixture
def client(db: Path) -> Iterator[TestClient]:
    with TestClient(create_app(db)) as test_client:
        yield test_client


def test_an_editor_may_not_move_a_site_across_the_public_restricted_line(
    client: TestClient, security_store: SecurityStore
) -> None:
    editor, admin = security_store.auth("cd_editor"), security_store.auth("admin")
    refused = client.patch("/api/v1/sites/1431A", json={"kind": "gas_outlet"}, headers=editor)
    assert refused.status_code == 403
    assert "public/restricted" in refused.json()["detail"]
    same_side = client.patch("/api/v1/sites/CD-M01", json={"kind": "air_station"}, headers=editor)
    assert same_side.status_code == 200  # micro-station → air station stays public
    allowed = client.patch("/api/v1/sites/1432A", json={"kind": "gas_outlet"}, headers=admin)
    assert allowed.status_code == 200 and allowed.json()["kind"] == "gas_outlet"
    audit = client.get("/api/v1/audit", headers=admin).json()
    change = next(e for e in audit if e["action"] == "sites.update" and e["target"] == "1432A")
    assert change["detail"]["kind"] == "gas_outlet"
    assert change["detail"]["kind_before"] == "air_station"


def test_the_api_refuses_a_station_outside_its_city(
    client: TestClient, security_store: SecurityStore
) -> None:
    admin = security_store.auth("admin")
    site = {"site_id": "CD-X1", "kind": "air_station", "city_code": 510100}
    far = client.post(
        "/api/v1/sites", json={**site, "lon": BEIJING[0], "lat": BEIJING[1]}, headers=admin
    )
    assert far.status_code == 422
    assert far.json()["errors"][0]["parameter"] == "lon"
    huge = client.post("/api/v1/sites", json={**site, "lon": 1e308, "lat": 30.6}, headers=admin)
    assert huge.status_code == 422
    moved = client.patch(
        "/api/v1/sites/1431A", json={"lon": BEIJING[0], "lat": BEIJING[1]}, headers=admin
    )
    assert moved.status_code == 422
    inside = client.post("/api/v1/sites", json={**site, "lon": 104.06, "lat": 30.66}, headers=admin)
    assert inside.status_code == 201, inside.text


def test_the_sites_import_keeps_a_misplaced_station_aside(db: Path, tmp_path: Path) -> None:
    path = tmp_path / "stations.csv"
    path.write_text(
        "station_code,city,name_zh,lon,lat\n"
        "CD-N1,成都,好站,104.06,30.66\n"
        f"CD-N2,成都,错站,{BEIJING[0]},{BEIJING[1]}\n"
        "CD-N3,成都,溢出,1e308,30.6\n",
        encoding="utf-8",
    )
    with Store(db) as store:
        report = importer.import_sites(store, path)
        assert report.sites_added == 1
        assert report.rejected["implausible_location"] == 2
        kept = queries.rejected(store.con)
        assert set(kept[kept["reason_code"] == "implausible_location"]["record_ref"]) == {
            "line 3",
            "line 4",
        }


def test_the_cnemc_live_feed_registers_no_station_at_lon_1e308(db: Path, tmp_path: Path) -> None:
    path = tmp_path / "live.csv"
    path.write_text(
        "timepoint,stationcode,longitude,latitude,area,positionname,aqi,pm2_5\n"
        "2024-01-03T10:00:00,9001A,1e308,30.7,成都市,远站,50,30\n"
        "2024-01-03T10:00:00,9002A,104.06,30.66,成都市,近站,50,30\n",
        encoding="utf-8",
    )
    with Store(db) as store:
        report = importer.import_cnemc(store, [path])
        registered = set(store.sites(site_ids=["9001A", "9002A"])["site_id"])
        assert registered == {"9002A"}
        assert report.rejected["implausible_location"] == 1
