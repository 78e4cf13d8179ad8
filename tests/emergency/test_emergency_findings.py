"""Open findings of the emergency checks (issue 17): listed with owners, closed with a note by an
editor of the warning's city or an admin (policy ``close_finding``), never reopened by a recheck,
and handed to a supervision case by id (the finding → case hook); API over HTTP, the page and
the CLI on a real DuckDB file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from test_emergency_store_service import END, NOW, START, T0, _hours, _record
from typer.testing import CliRunner

from ecobasin.cli import app
from ecobasin.services import emergency as svc
from ecobasin.store import Store
from ecobasin.store import emergency as db
from ecobasin.web import create_app
from ecobasin.web.security import accounts
from ecobasin.web.security.policy import Principal, denial
from ecobasin.workflow.emergency import ListVersion
from store_files import new_synced_store_file


@pytest.mark.parametrize(
    ("principal", "allowed"),
    [
        (Principal("a", "admin"), True),
        (Principal("cd", "editor", city_code=510100), True),
        (Principal("dy", "editor", city_code=510600), False),
        (Principal("v", "viewer"), False),
        (Principal("e", "enterprise", uscc="BAD"), False),
        (Principal("p", "partner", scopes=("ledger:events",)), False),
        (Principal(None, "public"), False),
    ],
)
def test_close_finding_per_role(principal: Principal, allowed: bool) -> None:
    assert (denial(principal, "close_finding", 510100, "finding x") is None) is allowed


def _seed(path: Path) -> str:
    with Store(new_synced_store_file(path)) as store:
        store.upsert_sites(pd.DataFrame({
            "site_id": ["MNBAD", "MNSIL"], "kind": "gas_outlet", "level": "enterprise",
            "city_code": 510100, "name_zh": ["x", "y"], "name_en": ["x", "y"], "lon": 104.0,
            "lat": 30.6,
        }), "tests")  # fmt: skip
        for site in ("MNBAD", "MNSIL"):
            _hours(store, site, [200.0] * 168, [50.0] * 168, ["N"] * 168, T0)
        _hours(store, "MNBAD", [200.0] * 24, [45.0] * 24, ["N"] * 24, START)
        _hours(store, "MNSIL", [200.0] * 5, [20.0] * 5, ["N"] * 5, START)
        version = ListVersion("510100", 1, T0 - timedelta(days=9), "annual",
                              (_record("BAD", "limit", "青羊区"), _record("SIL", "limit", "金牛区")))  # fmt: skip
        db.save_version(store, version, "tests", T0)
        key = svc.activate_for_warning(store, "510100", "orange", START, END, "forecast", START)
        svc.end_and_check(store, key, NOW)
        for name, role, city in (("viewer1", "viewer", None), ("cd", "editor", 510100),
                                 ("dy", "editor", 510600)):  # fmt: skip
            accounts.create_user(store.con, name, role, city, password=f"{name}-password-1")
    return key


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[TestClient, dict[str, Any], Path]]:
    path = Path(tmp_path_factory.mktemp("findings")) / "e.duckdb"
    key = _seed(path)
    with Store(path) as store:
        tokens = {n: accounts.create_token(store.con, n, "t")[1] for n in ("viewer1", "cd", "dy")}
    with TestClient(create_app(path)) as client:
        yield client, {"key": key, **tokens}, path


def _auth(ctx: dict[str, Any], who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {ctx[who]}"}


def test_findings_are_closed_with_a_note_by_the_citys_editor(
    served: tuple[TestClient, dict[str, Any], Path],
) -> None:
    client, ctx, _ = served
    items = client.get("/api/v1/emergency/findings", headers=_auth(ctx, "viewer1")).json()["items"]
    by_kind = {i["kind"]: i for i in items}
    assert set(by_kind) == {"non_compliant", "insufficient_data"}
    fid = by_kind["non_compliant"]["finding_id"]
    assert by_kind["non_compliant"]["owner"] == "青羊区" and len(fid) == 16
    url = f"/api/v1/emergency/findings/{fid}/close"
    assert client.post(url, json={"note": ""}, headers=_auth(ctx, "cd")).status_code == 422
    assert client.post(url, json={"note": "x"}, headers=_auth(ctx, "viewer1")).status_code == 403
    other = client.post(url, json={"note": "x"}, headers=_auth(ctx, "dy"))
    assert other.status_code == 403 and "510100" in other.json()["detail"]
    assert client.post(url, json={"note": "x"}).status_code == 401
    done = client.post(url, json={"note": "现场检查已整改 rectified"}, headers=_auth(ctx, "cd"))
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "closed" and done.json()["closed_by"] == "cd"
    again = client.post(url, json={"note": "again"}, headers=_auth(ctx, "cd"))
    assert again.status_code == 409
    closed = client.get("/api/v1/emergency/findings", params={"status": "closed"},
                        headers=_auth(ctx, "viewer1")).json()["items"]  # fmt: skip
    assert [(c["finding_id"], c["note"]) for c in closed] == [(fid, "现场检查已整改 rectified")]


def test_a_finding_is_handed_to_a_case_by_id(
    served: tuple[TestClient, dict[str, Any], Path],
) -> None:
    client, ctx, _ = served
    items = client.get("/api/v1/emergency/findings", headers=_auth(ctx, "viewer1")).json()["items"]
    fid = next(i["finding_id"] for i in items if i["kind"] == "insufficient_data")
    got = client.post(f"/api/v1/emergency/findings/{fid}/case", json={"case_id": "CASE-17"},
                      headers=_auth(ctx, "cd"))  # fmt: skip
    assert got.status_code == 200 and got.json()["case_id"] == "CASE-17"


def test_the_hook_opens_a_case_per_open_finding_and_a_recheck_reopens_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "e.duckdb"
    key = _seed(path)
    opened: list[str] = []
    with Store(path) as store:
        fid = next(f["finding_id"] for f in db.findings(store) if f["kind"] == "non_compliant")
        svc.close_finding(store, fid, "rectified", "tests", NOW)
        made = svc.open_cases(store, lambda f: opened.append(f["uscc"]) or f"CASE-{f['uscc']}")
        assert opened == ["SIL"] and list(made.values()) == ["CASE-SIL"]
        assert svc.open_cases(store, lambda f: "never") == {}  # each finding once
        svc.check_activation(store, key, NOW + timedelta(hours=1))  # a recheck
        assert {(f["uscc"], f["status"]) for f in db.findings(store, status=None)} == {
            ("BAD", "closed"),
            ("SIL", "open"),
        }
    out = CliRunner().invoke(
        app, ["emergency", "findings", "--status", "closed", "--db", str(path)]
    )
    assert out.exit_code == 0 and json.loads(out.stdout)[0]["note"] == "rectified"
    sil = next(f for f in json.loads(CliRunner().invoke(
        app, ["emergency", "findings", "--db", str(path)]).stdout))  # fmt: skip
    done = CliRunner().invoke(app, ["emergency", "close-finding", sil["finding_id"],
                                    "--note", "site visit: stack analyser repaired",
                                    "--db", str(path)])  # fmt: skip
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["status"] == "closed"
    empty = CliRunner().invoke(app, ["emergency", "close-finding", "nope", "--note", "x",
                                     "--db", str(path)])  # fmt: skip
    assert empty.exit_code != 0 and "nope" in empty.output


def test_the_findings_page_offers_the_close_form_to_the_citys_editor(
    served: tuple[TestClient, dict[str, Any], Path],
) -> None:
    client, ctx, _ = served
    page = client.get("/emergency/findings", headers=_auth(ctx, "cd"))
    assert page.status_code == 200 and "金牛区" in page.text and "close-finding" in page.text
    viewer = client.get("/emergency/findings", headers=_auth(ctx, "viewer1"))
    assert viewer.status_code == 200 and "close-finding" not in viewer.text
    public = client.get("/emergency/findings", follow_redirects=False)
    assert public.status_code == 303


def test_open_findings_become_rectification_cases_linked_once(tmp_path: Path) -> None:
    """The hook wired to the supervision workflow (issue 18): each open finding opens a case
    linked to it (not copied), whose problem text is the finding's reasons; a second run opens
    nothing; a closed finding opens none."""
    from ecobasin.services import cases as case_service

    path = tmp_path / "e.duckdb"
    _seed(path)
    with Store(path) as store:
        open_ids = {f["finding_id"] for f in db.findings(store)}
        made = svc.open_finding_cases(store, "province-duty", NOW)
        assert set(made) == open_ids and open_ids
        for finding_id, case_id in made.items():
            case = case_service.load(store, case_id)
            assert [(x.source_kind, x.source_id) for x in case.links] == [
                ("emergency_finding", finding_id)
            ]
        assert {f["case_id"] for f in db.findings(store)} == set(made.values())
        assert svc.open_finding_cases(store, "again", NOW) == {}
