"""Enterprise users (issue 17): the ``enterprise`` role bound to its own USCC reads its own
measures, warnings, verdicts and evidence, and is refused another enterprise's (policy, API over
HTTP on a real DuckDB file, the CLI that creates the account)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from test_emergency_store_service import END, NOW, START, T0, _hours, _record
from typer.testing import CliRunner

from ecobasin.cli import app
from ecobasin.services import emergency as svc
from ecobasin.store import Store
from ecobasin.store import emergency as db
from ecobasin.store import users as users_db
from ecobasin.web import create_app
from ecobasin.web.security import accounts
from ecobasin.web.security.policy import ACTIONS, Principal, denial
from store_files import new_synced_store_file

OWN = Principal("ok-user", "enterprise", user_id=7, uscc="OK")


@pytest.mark.parametrize(
    ("principal", "uscc", "allowed"),
    [
        (OWN, "OK", True),
        (OWN, "BAD", False),
        (Principal("unbound", "enterprise", user_id=8), "OK", False),  # no USCC bound
        (Principal("v", "viewer"), "BAD", True),
        (Principal("e", "editor", city_code=510100), "BAD", True),
        (Principal("a", "admin"), "BAD", True),
        (Principal("p", "partner", scopes=("ledger:events",)), "OK", False),
        (Principal(None, "public"), "OK", False),
    ],
)
def test_read_enterprise_per_role(principal: Principal, uscc: str, allowed: bool) -> None:
    assert (denial(principal, "read_enterprise", what=uscc) is None) is allowed


def test_an_enterprise_user_has_no_other_right() -> None:
    refused = [a for a in ACTIONS if a not in ("read_public", "read_enterprise")]
    assert all(denial(OWN, a, city_code=510100, what="x") is not None for a in refused)
    reason = denial(OWN, "read_enterprise", what="BAD")
    assert reason is not None and "BAD" in reason and "本企业" in reason


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[TestClient, dict[str, str], str]]:
    path = Path(tmp_path_factory.mktemp("ent")) / "e.duckdb"
    with Store(new_synced_store_file(path)) as store:
        store.upsert_sites(pd.DataFrame({
            "site_id": ["MNOK", "MNBAD"], "kind": "gas_outlet", "level": "enterprise",
            "city_code": 510100, "name_zh": ["x", "y"], "name_en": ["x", "y"], "lon": 104.0,
            "lat": 30.6,
        }), "tests")  # fmt: skip
        for site, flow in (("MNOK", 20.0), ("MNBAD", 45.0)):
            _hours(store, site, [200.0] * 168, [50.0] * 168, ["N"] * 168, T0)
            _hours(store, site, [200.0] * 24, [flow] * 24, ["N"] * 24, START)
        from ecobasin.workflow.emergency import ListVersion

        version = ListVersion("510100", 1, T0 - timedelta(days=9), "annual",
                              (_record("OK", "limit", "锦江区"), _record("BAD", "limit", "青羊区")))  # fmt: skip
        db.save_version(store, version, "tests", T0)
        key = svc.activate_for_warning(store, "510100", "orange", START, END, "forecast", START)
        svc.end_and_check(store, key, NOW)
        accounts.create_user(store.con, "viewer1", "viewer", password="viewer-password-1")
        tokens = {"viewer": accounts.create_token(store.con, "viewer1", "t")[1]}
    for uscc in ("OK", "BAD"):  # through the CLI, as a bureau creates them
        out = CliRunner().invoke(
            app, ["emergency", "enterprise-user", f"ent-{uscc}", "--uscc", uscc, "--db", str(path)]
        )
        assert out.exit_code == 0, out.output
    with Store(path) as store:
        for uscc in ("OK", "BAD"):
            tokens[uscc] = accounts.create_token(store.con, f"ent-{uscc}", "t")[1]
        user = users_db.user_by_name(store.con, "ent-OK")
        assert user is not None and user.role == "enterprise"
        assert db.enterprise_of(store, user.user_id) == "OK"
    with TestClient(create_app(path)) as client:
        yield client, tokens, key


def _auth(tokens: dict[str, str], who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[who]}"}


def test_an_enterprise_reads_its_own_view(served: tuple[TestClient, dict[str, str], str]) -> None:
    client, tokens, key = served
    got = client.get("/api/v1/emergency/enterprises/OK", headers=_auth(tokens, "OK"))
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["measures"]["orange"] == {"action": "limit", "ratio": 0.5}
    assert body["grade"] == "C" and body["list_version"] == 1
    assert [w["activation_id"] for w in body["warnings"]] == [key]
    assert [v["verdict"] for v in body["warnings"][0]["verdicts"]] == ["compliant"]
    assert body["active_warning"] is None  # the warning is over
    csv = client.get(
        f"/api/v1/emergency/activations/{key}/evidence.csv",
        params={"uscc": "OK", "outlet": "MNOK"}, headers=_auth(tokens, "OK"),
    )  # fmt: skip
    assert csv.status_code == 200 and "compliant" in csv.text


def test_an_enterprise_is_refused_another(served: tuple[TestClient, dict[str, str], str]) -> None:
    client, tokens, key = served
    other = client.get("/api/v1/emergency/enterprises/BAD", headers=_auth(tokens, "OK"))
    assert other.status_code == 403 and "BAD" in other.json()["detail"]
    csv = client.get(
        f"/api/v1/emergency/activations/{key}/evidence.csv",
        params={"uscc": "BAD", "outlet": "MNBAD"}, headers=_auth(tokens, "OK"),
    )  # fmt: skip
    assert csv.status_code == 403
    # and nothing restricted: no verdict list of the city, no findings, no outlet data
    assert client.get(f"/api/v1/emergency/activations/{key}/verdicts",
                      headers=_auth(tokens, "OK")).status_code == 403  # fmt: skip
    assert client.get("/api/v1/emergency/findings", headers=_auth(tokens, "OK")).status_code == 403
    assert client.get("/api/v1/emergency/enterprises/OK").status_code == 401
    viewer = client.get("/api/v1/emergency/enterprises/BAD", headers=_auth(tokens, "viewer"))
    assert viewer.status_code == 200 and viewer.json()["findings"][0]["kind"] == "non_compliant"


def test_the_cli_refuses_an_unlisted_enterprise(tmp_path: Path) -> None:
    path = new_synced_store_file(tmp_path / "x.duckdb")
    out = CliRunner().invoke(
        app, ["emergency", "enterprise-user", "ghost", "--uscc", "NOPE", "--db", str(path)]
    )
    assert out.exit_code != 0 and "NOPE" in out.output


def test_an_unknown_stored_role_gets_the_publics_rights() -> None:
    row = users_db.UserRow(1, "odd", "auditor", None, "x", False, NOW)
    assert accounts.principal_of(row, "session").role == "public"


def test_the_enterprise_page_shows_its_own_and_refuses_another(
    served: tuple[TestClient, dict[str, str], str],
) -> None:
    client, tokens, key = served
    own = client.get("/emergency/enterprises/OK", headers=_auth(tokens, "OK"))
    assert own.status_code == 200
    assert "限产 50% · limit 50 %" in own.text and "达标 compliant" in own.text and key in own.text
    other = client.get("/emergency/enterprises/BAD", headers=_auth(tokens, "OK"))
    assert other.status_code == 403 and "本企业" in other.text
    public = client.get("/emergency/enterprises/OK", follow_redirects=False)
    assert public.status_code == 303 and public.headers["location"].startswith("/signin")
