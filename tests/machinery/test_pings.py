"""Positioning-terminal pings on a real DuckDB file (issue 18, item 1): a batch with per-record
rejects (unknown terminal, implausible time, outside the region, a speed jump, a bad field), the
pings stored one per report, the site presence derived from the pings inside a site's polygon,
and the checks that read presence (C6 in a no-use zone, C1 a machine on site that is not
registered) firing on it. The CSV import through the CLI and the HTTP batch per role too."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import shapely
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from ecobasin import catalog
from ecobasin.cli import app as cli_app
from ecobasin.machinery.pings import distance_km
from ecobasin.services import machinery as service
from ecobasin.store import Store
from ecobasin.store import machinery as machinery_store
from ecobasin.timebase import CST
from ecobasin.web import create_app
from ecobasin.web.security import accounts
from store_files import new_store_file

NOW = datetime(2026, 6, 1, 10, 0, tzinfo=CST)
HEADER = (
    "registration_code,issuer_city,registered_at,machine_type,fuel,stage_declared,owner_name,"
    "current_city,status,rated_power_kw,terminal_id\n"
)
REGISTRY = [
    "CD-0001,510100,2025-01-05T09:00,挖掘机,diesel,G2,成都建工,510100,active,90,T-G2",
    "CD-0002,510100,2025-01-05T09:00,装载机,diesel,G4,成都建工,510100,active,120,T-G4",
    "CD-0003,510100,2025-01-05T09:00,装载机,diesel,G4,成都建工,510100,suspended,120,T-SUS",
    "DY-0001,510600,2025-01-05T09:00,装载机,diesel,G4,德阳路桥,510600,active,120,T-DY",
]
#: a site inside central Chengdu (its polygon) and a no-use zone around it (国三 and above)
SITE = shapely.box(104.05, 30.64, 104.07, 30.66)
ZONE = shapely.box(104.0, 30.6, 104.1, 30.7)
INSIDE = (104.06, 30.65)
OUTSIDE_SITE = (104.09, 30.69)  # in the zone, off the site


def _registry(store: Store, folder: Path) -> None:
    path = folder / "registry.csv"
    path.write_text(HEADER + "\n".join(REGISTRY) + "\n", encoding="utf-8")
    assert service.import_registry(store, path).rejected == []
    zones = folder / "zones.geojson"
    zones.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "geometry": shapely.geometry.mapping(ZONE),
        "properties": {"zone_id": "CD-Z1", "city": 510100, "name": "绕城内",
                       "valid_from": "2026-01-01T00:00:00+08:00", "min_stage": "G3"}}]}))  # fmt: skip
    service.import_zones(store, zones)
    service.add_site(store, {"site_id": "S1", "city": 510100, "name": "天府工地", "lon": 104.06,
                             "lat": 30.65, "polygon": shapely.geometry.mapping(SITE)})  # fmt: skip


@pytest.fixture
def store(tmp_path: Path) -> Store:
    db = Store(new_store_file(tmp_path / "pings.duckdb"))
    db.sync_catalog(catalog.load_region())
    _registry(db, tmp_path)
    return db


def ping(terminal: str, minutes_ago: float, lon: float, lat: float, **extra: object) -> dict:
    at = NOW - timedelta(minutes=minutes_ago)
    return {"terminal_id": terminal, "ts": at.isoformat(), "lon": lon, "lat": lat, **extra}


def test_a_batch_keeps_each_bad_ping_aside_with_its_reason(store: Store) -> None:
    batch = [
        ping("T-G2", 180, *INSIDE, engine_hours=1200.5, engine_state="on"),  # ping 1
        ping("T-G2", 120, *INSIDE, engine_hours=1201.5, engine_state="on"),  # ping 2
        ping("T-NOBODY", 60, *INSIDE),  # ping 3: unknown terminal
        ping("T-G4", -60, *INSIDE),  # ping 4: an hour ahead of the clock
        ping("T-G4", 60 * 24 * 40, *INSIDE),  # ping 5: forty days old
        ping("T-G4", 50, 116.40, 39.90),  # ping 6: Beijing, outside the region
        ping("T-G4", 30, *INSIDE),  # ping 7
        ping("T-G4", 20, 103.76, 29.55),  # ping 8: Leshan ten minutes later: a speed jump
        ping("T-G4", 10, *INSIDE, engine_state="sleeping"),  # ping 9: a bad field
        ping("T-G2", 60, *INSIDE),  # ping 10
    ]
    done = service.import_pings(store, batch, source="test", now=NOW)
    assert (done.received, done.stored) == (10, 4)
    reasons = {r["record_ref"]: r["reason"] for r in done.rejected}
    assert list(reasons) == ["ping 3", "ping 4", "ping 5", "ping 6", "ping 8", "ping 9"]
    assert "T-NOBODY" in reasons["ping 3"] and "未知终端" in reasons["ping 3"]
    assert "ahead" in reasons["ping 4"] and "older than 30 days" in reasons["ping 5"]
    assert "outside the region" in reasons["ping 6"]
    jump = distance_km(*INSIDE, 103.76, 29.55)
    assert f"{jump:.1f} km in 10 min" in reasons["ping 8"] and "km/h > 120" in reasons["ping 8"]
    assert "engine_state" in reasons["ping 9"]
    assert sorted(store.rejected(source="test")["record_ref"]) == sorted(reasons)
    stored = machinery_store.ping_track(store, ["T-G2", "T-G4"])
    assert list(stored["terminal_id"]) == ["T-G2", "T-G2", "T-G2", "T-G4"]
    # the same batch again stores no report twice
    assert service.import_pings(store, batch, source="test", now=NOW).stored == 0


def test_presence_is_derived_from_pings_inside_the_site_and_the_checks_run_on_it(
    store: Store,
) -> None:
    done = service.import_pings(
        store, [ping("T-G2", 120, *INSIDE), ping("T-G2", 60, *INSIDE)], source="t", now=NOW
    )
    assert done.presences == 1
    stays = machinery_store.presence(store, code_norm="CD0001")
    assert list(stays["source"]) == ["terminal"] and stays["left_at"].isna().all()
    assert stays.iloc[0]["entered_at"] == NOW - timedelta(minutes=120)
    # the 国二 machine on a site inside the 国三 zone: C6, found from the derived presence
    c6 = service.finding_list(store, rule="C6")
    assert [f["code_norm"] for f in c6] == ["CD0001"] and c6[0]["evidence"]["site_id"] == "S1"
    # it drives off the site: the stay ends at the first report outside
    service.import_pings(store, [ping("T-G2", 30, *OUTSIDE_SITE)], source="t", now=NOW)
    stays = machinery_store.presence(store, code_norm="CD0001")
    assert len(stays) == 1 and stays.iloc[0]["left_at"] == NOW - timedelta(minutes=30)


def test_a_machine_not_registered_as_active_found_on_site_by_its_terminal(store: Store) -> None:
    """C1: the suspended machine's terminal puts it on a site: no active registration."""
    service.import_pings(store, [ping("T-SUS", 30, *INSIDE)], source="t", now=NOW)
    c1 = service.finding_list(store, rule="C1")
    assert [f["code_norm"] for f in c1] == ["CD0003"]


def test_the_cli_imports_a_csv_of_pings(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "pings.csv"
    at = datetime.now(CST) - timedelta(minutes=5)
    path.write_text(
        "terminal_id,ts,lon,lat,engine_hours,engine_state\n"
        f"T-G4,{at:%Y-%m-%dT%H:%M:%S},104.06,30.65,10.5,on\n"  # no offset: CST
        f"T-G4,{at:%Y-%m-%dT%H:%M:%S},104.06,north,10.5,on\n",
        encoding="utf-8",
    )
    db = store.path
    store.close()
    result = CliRunner().invoke(cli_app, ["machinery", "pings", str(path), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "1 stored" in result.output and "line 3: lon, lat" in result.output
    with Store(db) as again:
        held = machinery_store.ping_track(again, ["T-G4"])
        assert len(held) == 1 and held.iloc[0]["ts"] == at.replace(microsecond=0)


def test_the_api_takes_a_batch_and_refuses_pings_of_another_citys_machine(
    store: Store,
) -> None:
    tokens = {}
    for name, (role, city) in {"cd": ("editor", 510100), "viewer": ("viewer", None)}.items():
        accounts.create_user(store.con, name, role, city, f"password-of-{name}")
        tokens[name] = accounts.create_token(store.con, name, "tests")[1]
    db = store.path
    store.close()
    recent = datetime.now(CST) - timedelta(minutes=5)
    body = {"pings": [
        {"terminal_id": "T-G4", "ts": recent.isoformat(), "lon": 104.06, "lat": 30.65},
        {"terminal_id": "T-DY", "ts": recent.isoformat(), "lon": 104.40, "lat": 31.13},
    ]}  # fmt: skip
    with TestClient(create_app(db)) as client:
        assert client.post("/api/v1/machinery/pings", json=body).status_code == 401
        viewer = {"Authorization": f"Bearer {tokens['viewer']}"}
        assert client.post("/api/v1/machinery/pings", json=body, headers=viewer).status_code == 403
        cd = {"Authorization": f"Bearer {tokens['cd']}"}
        answer = client.post("/api/v1/machinery/pings", json=body, headers=cd)
        assert answer.status_code == 200, answer.text
        done = answer.json()
        assert (done["received"], done["stored"], done["presences"]) == (2, 1, 1)
        assert [r["record_ref"] for r in done["rejected"]] == ["ping 2"]
        assert "510600" in done["rejected"][0]["reason"]
        too_many = {"pings": [body["pings"][0]] * 5001}
        assert client.post("/api/v1/machinery/pings", json=too_many, headers=cd).status_code == 422
