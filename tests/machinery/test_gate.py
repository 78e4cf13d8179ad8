"""The gate check of a construction site (issue 18, item 2; nonroad brief A6 进出场核验) on a real
DuckDB file: one test per reason of a refusal, an admission that begins the machine's stay, the
log of every check; the API per role and the phone page."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import shapely
from fastapi.testclient import TestClient

from ecobasin import catalog
from ecobasin.errors import InputError
from ecobasin.services import machinery as service
from ecobasin.store import Store
from ecobasin.store import machinery as machinery_store
from ecobasin.timebase import CST
from ecobasin.web import create_app
from ecobasin.web.security import accounts
from ecobasin.web.security.policy import Principal, denial
from ecobasin.web.security.ratelimit import VerificationGate
from store_files import new_store_file

AT = datetime(2026, 6, 1, 10, 0, tzinfo=CST)
HEADER = (
    "registration_code,issuer_city,registered_at,machine_type,fuel,stage_declared,owner_name,"
    "current_city,status,rated_power_kw,terminal_id\n"
)
REGISTRY = [
    "CD-G2,510100,2025-01-05T09:00,挖掘机,diesel,G2,成都建工,510100,active,90,",
    "CD-G3,510100,2025-01-05T09:00,挖掘机,diesel,G3,成都建工,510100,active,90,T-G3",
    "CD-G4,510100,2025-01-05T09:00,装载机,diesel,G4,成都建工,510100,active,120,T-G4",
    "CD-OLD,510100,2025-01-05T09:00,装载机,diesel,G4,成都建工,510100,scrapped,120,",
    "DY-G4,510600,2025-01-05T09:00,装载机,diesel,G4,德阳路桥,510600,active,120,",
]
ZONE = shapely.box(104.0, 30.6, 104.1, 30.7)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    db = Store(new_store_file(tmp_path / "gate.duckdb"))
    db.sync_catalog(catalog.load_region())
    path = tmp_path / "registry.csv"
    path.write_text(HEADER + "\n".join(REGISTRY) + "\n", encoding="utf-8")
    assert service.import_registry(db, path).rejected == []
    zones = tmp_path / "zones.geojson"
    zones.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "geometry": shapely.geometry.mapping(ZONE),
        "properties": {"zone_id": "CD-Z1", "city": 510100, "name": "绕城内",
                       "valid_from": "2026-01-01T00:00:00+08:00", "min_stage": "G3",
                       "require_terminal_online": True, "terminal_max_silence_h": 24}}]}))  # fmt: skip
    service.import_zones(db, zones)
    for site_id, lon, lat in (("IN", 104.05, 30.65), ("OUT", 104.30, 30.85)):
        service.add_site(db, {"site_id": site_id, "city": 510100, "name": f"工地 {site_id}",
                              "lon": lon, "lat": lat})  # fmt: skip
    service.import_pings(db, [{"terminal_id": "T-G4", "ts": (AT - timedelta(hours=1)).isoformat(),
                               "lon": 104.2, "lat": 30.8}], source="t", now=AT)  # fmt: skip
    return db


def codes(check: service.GateCheck) -> list[str]:
    return [r["code"] for r in check.reasons]


def test_a_compliant_machine_is_admitted_and_its_stay_begins(store: Store) -> None:
    done = service.gate_check(store, "IN", "cd·g4", "gate-1", AT)
    assert done.admit and done.reasons == [] and done.zone_ids == ["CD-Z1"]
    stays = machinery_store.presence(store, code_norm="CDG4")
    assert list(zip(stays["site_id"], stays["source"], strict=True)) == [("IN", "gate")]
    # a machine of Deyang is admitted in Chengdu: registered in the region (A7)
    assert service.gate_check(store, "OUT", "DY-G4", "gate-1", AT).admit


def test_refused_unregistered_or_no_longer_active(store: Store) -> None:
    for code in ("ZZ-404", "CD-OLD"):
        done = service.gate_check(store, "OUT", code, "gate-1", AT)
        assert not done.admit and codes(done) == ["unregistered"]
        assert code in done.reasons[0]["text_en"] and "未在八市" in done.reasons[0]["text_zh"]
    assert machinery_store.presence(store, code_norm="ZZ404").empty  # a refusal is no stay


def test_refused_stage_below_the_zones_requirement(store: Store) -> None:
    done = service.gate_check(store, "IN", "CD-G2", "gate-1", AT)
    assert not done.admit and "stage_below_zone" in codes(done)
    reason = next(r for r in done.reasons if r["code"] == "stage_below_zone")
    assert "China II is below China III" in reason["text_en"] and "国二低于" in reason["text_zh"]
    # outside the zone the same machine enters
    assert service.gate_check(store, "OUT", "CD-G2", "gate-1", AT).admit


def test_refused_after_a_failed_spot_check_until_a_passing_follow_up(store: Store) -> None:
    failed = service.record_spot_check(store, service.SpotCheck(
        "CD-G4", 510100, "成都市生态环境局", AT - timedelta(days=2),
        readings_k=(1.7, 1.65, 1.62)), recorded_by="cd")  # fmt: skip
    assert failed.result == "fail"
    done = service.gate_check(store, "OUT", "CD-G4", "gate-1", AT)
    assert not done.admit and codes(done) == ["failed_spot_check"]
    assert f"no. {failed.inspection_id}" in done.reasons[0]["text_en"]
    service.record_spot_check(store, service.SpotCheck(
        "CD-G4", 510100, "成都市生态环境局", AT - timedelta(days=1), readings_k=(0.3, 0.3, 0.3),
        follow_up_of=failed.inspection_id), recorded_by="cd")  # fmt: skip
    assert service.gate_check(store, "OUT", "CD-G4", "gate-1", AT).admit


def test_refused_during_a_heavy_pollution_warning_below_the_emergency_stage(store: Store) -> None:
    assert service.gate_check(store, "OUT", "CD-G2", "gate-1", AT).admit
    store.con.execute(
        "INSERT INTO warnings (scope, scope_id, issue_day, issued_at, model, rule, level, "
        "start_time, end_time, basis, reason_zh, reason_en, author) VALUES ('city', '510100', "
        "?, ?, 'm', 'HBDQH-2019-648', 'orange', ?, ?, '{}', '预警', 'warning', 'test')",
        [AT.date(), AT - timedelta(days=1), AT - timedelta(hours=2), AT + timedelta(days=1)],
    )
    done = service.gate_check(store, "OUT", "CD-G2", "gate-1", AT)
    assert not done.admit and codes(done) == ["warning_stage"]
    assert "orange" in done.reasons[0]["text_en"] and "橙色" in done.reasons[0]["text_zh"]
    assert service.gate_check(store, "OUT", "CD-G3", "gate-1", AT).admit  # 国三 goes on


def test_refused_in_a_zone_needing_an_online_terminal_that_is_silent(store: Store) -> None:
    done = service.gate_check(store, "IN", "CD-G3", "gate-1", AT)  # T-G3 never reported
    assert not done.admit and codes(done) == ["terminal_offline"]
    assert "never" in done.reasons[0]["text_en"]
    # T-G4 reported an hour ago: online
    assert service.gate_check(store, "IN", "CD-G4", "gate-1", AT).admit


def test_every_check_is_logged_and_bad_input_names_the_field(store: Store) -> None:
    service.gate_check(store, "IN", "CD-G2", "gate-1", AT)
    service.gate_check(store, "IN", "CD-G4", "gate-2", AT + timedelta(minutes=1))
    log = service.gate_log(store, "IN")
    assert [(e["code_norm"], e["decision"], e["operator"]) for e in log] == [
        ("CDG4", "admit", "gate-2"), ("CDG2", "refuse", "gate-1")]  # fmt: skip
    assert log[1]["reasons"][0]["code"] == "stage_below_zone"
    with pytest.raises(InputError, match="site_id"):
        service.gate_check(store, "NOWHERE", "CD-G4", "gate-1", AT)
    with pytest.raises(InputError, match="empty"):
        service.gate_check(store, "IN", " · ", "gate-1", AT)


@pytest.mark.parametrize(
    ("role", "city", "site_city", "allowed"),
    [
        ("admin", None, 510100, True),
        ("editor", 510100, 510100, True),
        ("editor", 510600, 510100, False),
        ("viewer", None, 510100, False),
        ("partner", None, 510100, False),
        ("enterprise", None, 510100, False),
        ("gate", None, 510100, False),  # an operator bound to no site
        ("public", None, 510100, False),
    ],
)
def test_gate_rights_action_by_role(
    role: str, city: int | None, site_city: int, allowed: bool
) -> None:
    principal = Principal(name=None if role == "public" else role, role=role, city_code=city)  # type: ignore[arg-type]
    assert (denial(principal, "machinery:gate", site_city) is None) is allowed


def test_the_gate_api_and_page_per_role(store: Store) -> None:
    tokens = {}
    for name, (role, city) in {"cd": ("editor", 510100), "dy": ("editor", 510600),
                               "viewer": ("viewer", None)}.items():  # fmt: skip
        accounts.create_user(store.con, name, role, city, f"password-of-{name}")
        tokens[name] = accounts.create_token(store.con, name, "tests")[1]
    db = store.path
    store.close()
    body = {"site_id": "IN", "code": "CD-G2", "at": AT.isoformat()}
    with TestClient(create_app(db)) as client:

        def auth(name: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {tokens[name]}"}

        assert client.post("/api/v1/machinery/gate", json=body).status_code == 401
        refused = client.post("/api/v1/machinery/gate", json=body, headers=auth("dy"))
        assert refused.status_code == 403 and "510100" in refused.json()["detail"]
        assert (
            client.post("/api/v1/machinery/gate", json=body, headers=auth("viewer")).status_code
            == 403
        )
        done = client.post("/api/v1/machinery/gate", json=body, headers=auth("cd"))
        assert done.status_code == 201, done.text
        assert done.json()["admit"] is False
        assert [r["code"] for r in done.json()["reasons"]] == [
            "stage_below_zone",
            "terminal_offline",
        ]
        log = client.get("/api/v1/machinery/gate", params={"site_id": "IN"}, headers=auth("viewer"))
        assert [e["decision"] for e in log.json()["items"]] == ["refuse"]
        bad = client.post(
            "/api/v1/machinery/gate", json={**body, "site_id": "X"}, headers=auth("cd")
        )
        assert bad.status_code == 422 and "site_id" in bad.text
        page = client.get("/machinery/gate", headers=auth("cd")).text
        assert 'id="gate-form"' in page and 'value="IN"' in page
        assert 'id="gate-form"' not in client.get("/machinery/gate", headers=auth("dy")).text
        assert 'id="gate-signin"' in client.get("/machinery/gate").text


def test_a_gate_operator_checks_at_its_own_site_only() -> None:
    own = Principal(name="gate-in", role="gate", site_id="IN")
    assert denial(own, "machinery:gate", 510100, "IN") is None
    reason = denial(own, "machinery:gate", 510100, "OUT")
    assert reason is not None and "site OUT" in reason and "gate operator of site IN" in reason
    for action in ("read_restricted", "machinery:read", "write", "machinery:write"):
        assert denial(own, action, 510100) is not None  # nothing else restricted


def test_a_gate_operator_account_through_the_cli_the_api_and_the_page(store: Store) -> None:
    from typer.testing import CliRunner

    from ecobasin.cli import app as cli_app

    db = store.path
    store.close()
    made = CliRunner().invoke(cli_app, ["machinery", "gate-user", "gate-in", "--site", "IN",
                                        "--db", str(db)])  # fmt: skip
    assert made.exit_code == 0, made.output
    password = made.stdout.strip().splitlines()[-1]
    nowhere = CliRunner().invoke(cli_app, ["machinery", "gate-user", "gate-x", "--site", "NOPE",
                                           "--db", str(db)])  # fmt: skip
    assert nowhere.exit_code != 0 and "NOPE" in nowhere.output
    with Store(db) as again:
        token = accounts.create_token(again.con, "gate-in", "tests")[1]
        signed = asyncio.run(accounts.sign_in(again.con, "gate-in", password, None,
                                              limiter=accounts.SigninLimiter(),
                                              gate=VerificationGate(1)))  # fmt: skip
        assert signed is not None and signed.user.role == "gate"
    auth = {"Authorization": f"Bearer {token}"}
    body = {"code": "CD-G4", "at": AT.isoformat()}
    with TestClient(create_app(db)) as client:
        other = client.post("/api/v1/machinery/gate", json={**body, "site_id": "OUT"}, headers=auth)
        assert other.status_code == 403 and "site OUT" in other.json()["detail"]
        own = client.post("/api/v1/machinery/gate", json={**body, "site_id": "IN"}, headers=auth)
        assert own.status_code == 201, own.text
        log = client.get("/api/v1/machinery/gate", headers=auth).json()["items"]
        assert {e["site_id"] for e in log} == {"IN"} and len(log) == 1
        assert client.get("/api/v1/machinery/gate", params={"site_id": "OUT"},
                          headers=auth).status_code == 403  # fmt: skip
        assert client.get("/api/v1/machinery/machines", headers=auth).status_code == 403
        page = client.get("/machinery/gate", headers=auth).text
        assert 'value="IN"' in page and 'value="OUT"' not in page


def test_the_cli_gate_refuses_with_exit_status_1(store: Store) -> None:
    from typer.testing import CliRunner

    from ecobasin.cli import app as cli_app

    db = store.path
    store.close()
    refused = CliRunner().invoke(cli_app, ["machinery", "gate", "--site", "IN", "--code", "CD-G2",
                                           "--at", "2026-06-01T10:00", "--db", str(db)])  # fmt: skip
    assert refused.exit_code == 1 and "stage_below_zone" in refused.output
    admitted = CliRunner().invoke(cli_app, ["machinery", "gate", "--site", "OUT", "--code",
                                            "CD-G4", "--at", "2026-06-01T10:00", "--db", str(db)])  # fmt: skip
    assert admitted.exit_code == 0 and "admit" in admitted.output
