"""A noise complaint that is a case candidate opens a rectification case (issues 23 and 18) in a
real DuckDB file, the real app and the real CLI: linked (not copied) to the complaint, opened
once, refused for a complaint that is no candidate, and only by an editor of the complaint's
city or an admin (policy ``open_noise_case``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from test_noise_complaints import folder  # noqa: F401  (the module's complaints database)
from typer.testing import CliRunner

from ecobasin.cli import app as cli_app
from ecobasin.store import Store
from ecobasin.store import cases as store_cases
from ecobasin.web.app import create_app
from ecobasin.web.security import accounts
from ecobasin.web.security.policy import PUBLIC, Principal, denial

TOKENS: dict[str, str] = {}


@pytest.fixture()
def database(folder: Path, tmp_path: Path) -> Path:  # noqa: F811
    """A copy of the complaints database with users of every role."""
    copy = tmp_path / "cases.duckdb"
    copy.write_bytes((folder / "noise.duckdb").read_bytes())
    with Store(copy) as store:
        for name, role, city in (
            ("cd_editor", "editor", 510100),
            ("dy_editor", "editor", 510600),
            ("watcher", "viewer", None),
            ("root", "admin", None),
        ):
            accounts.create_user(store.con, name, role, city, f"password-of-{name}")
            TOKENS[name] = accounts.create_token(store.con, name, "tests")[1]
    return copy


@pytest.fixture()
def client(database: Path) -> Iterator[TestClient]:
    with TestClient(create_app(database)) as test_client:
        yield test_client


def as_(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[name]}"}


@pytest.mark.parametrize(
    ("principal", "allowed"),
    [
        (Principal("root", "admin"), True),
        (Principal("cd", "editor", 510100), True),
        (Principal("dy", "editor", 510600), False),
        (Principal("v", "viewer"), False),
        (Principal("p", "partner", scopes=("ledger:events",)), False),
        (Principal("e", "enterprise", uscc="91510100MA0000000X"), False),
        (PUBLIC, False),
    ],
)
def test_open_noise_case_per_role(principal: Principal, allowed: bool) -> None:
    reason = denial(principal, "open_noise_case", 510100, "complaint C1")
    assert (reason is None) is allowed
    if not allowed:
        assert "complaint C1" in str(reason) and "510100" in str(reason)


def test_an_editor_opens_one_case_linked_to_the_complaint(client: TestClient) -> None:
    first = client.post("/api/v1/noise/complaints/C1/case", headers=as_("cd_editor"))
    assert first.status_code == 200, first.text
    case_id = first.json()["case_id"]
    assert first.json()["created"] is True and case_id.startswith("FX-510100-")
    again = client.post("/api/v1/noise/complaints/C1/case", headers=as_("root"))
    assert again.json() == {"complaint_id": "C1", "case_id": case_id, "created": False}
    shown = client.get("/api/v1/noise/complaints/C1", headers=as_("watcher")).json()
    assert shown["case_id"] == case_id and shown["case_candidate"] is True
    listed = client.get("/api/v1/noise/complaints", params={"month": "2026-03"}).json()
    assert {c["complaint_id"]: c["case_id"] for c in listed["items"]}["C1"] == case_id
    case = store_cases.load(client.app.state.store, case_id)  # the server holds the file
    [link] = case.links
    assert (link.source_kind, link.source_id, link.url) == (
        "noise_complaint",
        "C1",
        "/api/v1/noise/complaints/C1",
    )
    assert (case.category, case.city_code, case.state) == (
        "noise_cooking_fumes",
        510100,
        "registered",
    )
    # the measurement travels with the case: the night hour 03:00 at NZ1
    assert "NZ1" in case.problem_text and "Leq 52.0 dB(A)" in case.problem_text
    assert case.audit[-1].actor == "cd_editor"


def test_refusals_name_the_reason(client: TestClient) -> None:
    no_candidate = client.post("/api/v1/noise/complaints/C3/case", headers=as_("root"))
    assert no_candidate.status_code == 409
    assert "C3 is not a case candidate" in no_candidate.json()["detail"]
    unknown = client.post("/api/v1/noise/complaints/NOPE/case", headers=as_("root"))
    assert unknown.status_code == 404
    other_city = client.post("/api/v1/noise/complaints/C1/case", headers=as_("dy_editor"))
    assert other_city.status_code == 403 and "510100" in other_city.json()["detail"]
    assert (
        client.post("/api/v1/noise/complaints/C1/case", headers=as_("watcher")).status_code == 403
    )
    assert client.post("/api/v1/noise/complaints/C1/case").status_code == 401
    assert client.get("/api/v1/noise/complaints/C1").json()["case_id"] is None


def test_the_cli_opens_the_case_once(database: Path) -> None:
    runner = CliRunner()
    args = ["noise", "complaint-case", "C1", "--as", "ops", "--db", str(database)]
    first = runner.invoke(cli_app, args)
    assert first.exit_code == 0, first.output
    case_id = first.stdout.strip().splitlines()[0]
    assert case_id.startswith("FX-510100-")
    again = runner.invoke(cli_app, args)
    assert again.stdout.strip().splitlines()[0] == case_id
    refused = runner.invoke(
        cli_app, ["noise", "complaint-case", "C3", "--as", "ops", "--db", str(database)]
    )
    assert refused.exit_code != 0 and "not a case candidate" in refused.output
