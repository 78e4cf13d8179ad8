"""``ecobasin ledger …`` on a real DuckDB file and ``/api/v1/ledger/…`` over a real app: the
numbers, the refusals, the rights (public reads, restricted accounts, admin writes)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from ecobasin.cli import app
from ecobasin.store import Store
from ecobasin.timebase import CST
from ecobasin.web import create_app
from ecobasin.web.security import accounts
from store_files import built_store_file

runner = CliRunner()

EVENTS = """event_id,account,behaviour,time,quantity,source,evidence_ref
m1,alice,metro,2024-03-01T08:10,12,metro_ticket,TFT-1
m2,alice,metro,2024-03-01T08:20,12,self_checkin,
w1,alice,walking,2024-03-01T22:00,12000,phone_steps,
x1,alice,walking,not a time,1,phone_steps,
"""


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def _build_ledger(path: Path) -> None:
    """Three ledger accounts and the events of EVENTS recorded (a backfill), through the CLI."""
    for account, kind in (("alice", "person"), ("shop", "merchant"), ("solar", "organisation")):
        _ok("ledger", "account", "add", account, "--kind", kind, "--db", str(path))
    events = path.with_suffix(".events.csv")
    events.write_text(EVENTS, encoding="utf-8")
    _ok("ledger", "record", str(events), "--max-age-days", "0", "--db", str(path))  # backfill


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    """A private copy of the ledger store :func:`_build_ledger` made once per process."""
    return built_store_file(tmp_path / "ledger.duckdb", "ledger cli accounts", _build_ledger)


def test_cli_flow(db: Path) -> None:
    # m1: 840 pt/g; m2 a self check-in (no evidence of a metro trip); w1: 24 pt, 196.8 g;
    # x1 unreadable
    balances = json.loads(_ok("ledger", "balance", "alice", "--format", "json", "--db", str(db)))
    assert balances[0]["points"] == "864.000" and balances[0]["grams"] == "1036.800"
    rejected = runner.invoke(app, ["rejected", "--db", str(db)])
    assert "evidence_not_accepted" in rejected.output and "bad_row" in rejected.output
    _ok("ledger", "redeem", "alice", "800", "--merchant", "shop", "--key", "r1", "--db", str(db))
    over = runner.invoke(app, ["ledger", "redeem", "alice", "65", "--db", str(db)])
    assert over.exit_code == 1 and "alice has 64.000 points" in over.output
    _ok("ledger", "project", "register", "pv1", "--methodology", "photovoltaic",
        "--owner", "solar", "--db", str(db))  # fmt: skip
    _ok("ledger", "project", "monitor", "pv1", "--period", "2024H1", "--start", "2024-01-01",
        "--end", "2024-06-30", "--input", "net_generation_mwh=1000", "--verified-by", "CQC",
        "--db", str(db))  # fmt: skip
    _ok("ledger", "project", "issue", "pv1", "--period", "2024H1", "--db", str(db))
    twice = runner.invoke(app, ["ledger", "project", "issue", "pv1", "--period", "2024H1",
                                "--db", str(db)])  # fmt: skip
    assert twice.exit_code == 1 and "issued already" in twice.output
    _ok("ledger", "project", "retire", "solar", "--tonnes", "56.4", "--reason", "offset",
        "--db", str(db))  # fmt: skip
    summary = json.loads(_ok("ledger", "summary", "--db", str(db)))
    assert (summary["issued_t"], summary["retired_t"]) == ("156.400", "56.400")
    verified = json.loads(_ok("ledger", "verify", "--db", str(db)))
    assert verified["ok"] and verified["entries"] == 5
    # the ledger is mounted once: `ecobasin ledger`, no second path under `carbon`
    assert runner.invoke(app, ["carbon", "ledger", "verify", "--db", str(db)]).exit_code == 2
    csv_text = _ok("ledger", "entries", "--db", str(db))
    assert csv_text.splitlines()[0].startswith("seq,prev_hash,hash,kind,account")
    con = duckdb.connect(str(db))
    con.execute("UPDATE ledger_entries SET grams = grams * 2 WHERE seq = 2")
    con.close()
    broken = runner.invoke(app, ["ledger", "verify", "--db", str(db)])
    assert broken.exit_code == 1
    assert json.loads(broken.stdout)["bad_seq"] == 2


def test_cli_refuses_bad_input_clearly(db: Path) -> None:
    bad = runner.invoke(app, ["ledger", "redeem", "alice", "lots", "--db", str(db)])
    assert bad.exit_code == 1 and "points 'lots' is not a number" in bad.output
    unknown = runner.invoke(app, ["ledger", "redeem", "nobody", "1", "--db", str(db)])
    assert unknown.exit_code == 1 and "unknown account(s) nobody" in unknown.output
    rules = runner.invoke(app, ["ledger", "rules", "--version", "1999"])
    assert rules.exit_code == 1 and "has no version '1999'" in rules.output


@pytest.fixture()
def client_tokens(db: Path) -> Iterator[tuple[TestClient, str, str]]:
    with Store(db) as store:
        accounts.create_user(store.con, "root", "admin", password="correct horse 1")
        accounts.create_user(store.con, "eve", "viewer", password="correct horse 2")
        _, admin = accounts.create_token(store.con, "root", "ledger tests")
        _, viewer = accounts.create_token(store.con, "eve", "ledger tests")
    with TestClient(create_app(db)) as client:
        yield client, admin, viewer


def client_tokens_db(client: TestClient) -> Path:
    return Path(client.app.state.store.path)  # type: ignore[attr-defined]


def _consent(client: TestClient, holder_key: str, points: str) -> str:
    made = client.post(
        "/api/v1/ledger/consents",
        json={"account": "alice", "points": points},
        headers={"X-Holder-Key": holder_key},
    )
    assert made.status_code == 201, made.text
    code: str = made.json()["code"]
    return code


def _recent(days: int) -> str:
    return (datetime.now(CST) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")


def test_api_reads_and_rights(client_tokens: tuple[TestClient, str, str]) -> None:
    client, admin, viewer = client_tokens
    rules = client.get("/api/v1/ledger/rules").json()
    assert rules["version"] == "2024.2" and rules["account_daily_cap_points"] == "2000"
    metro = next(b for b in rules["behaviours"] if b["behaviour"] == "metro")
    assert metro["numbers"]["mode_ef_kg_per_pkm"] == "0.03" and metro["evidence"] == [
        "metro_ticket"
    ]
    summary = client.get("/api/v1/ledger/summary").json()
    verify = client.get("/api/v1/ledger/verify").json()
    assert verify["ok"] and verify["head"] == summary["head"] and summary["entries"] == 2
    assert client.get("/api/v1/ledger/accounts").status_code == 401
    listed = client.get("/api/v1/ledger/accounts", headers={"Authorization": f"Bearer {viewer}"})
    by_id = {r["account_id"]: r for r in listed.json()["results"]}
    assert by_id["alice"]["points"] == "864.000"
    holder = _ok("ledger", "account", "key", "alice", "--db", str(client_tokens_db(client)))
    code = _consent(client, holder.strip(), "100")
    body = {"account": "alice", "points": "100", "merchant": "shop", "key": "api-1",
            "consent": code}  # fmt: skip
    refused = client.post(
        "/api/v1/ledger/redeem", json=body, headers={"Authorization": f"Bearer {viewer}"}
    )
    assert refused.status_code == 403
    auth = {"Authorization": f"Bearer {admin}"}
    first = client.post("/api/v1/ledger/redeem", json=body, headers=auth).json()
    again = client.post("/api/v1/ledger/redeem", json=body, headers=auth).json()
    assert (first["replayed"], again["replayed"]) == (False, True)
    assert again["entry"]["seq"] == first["entry"]["seq"] == 3
    code = _consent(client, holder.strip(), "765")
    over = client.post(
        "/api/v1/ledger/redeem",
        json={**body, "points": "765", "key": "api-2", "consent": code},
        headers=auth,
    )
    assert over.status_code == 409 and "has 764.000 points" in over.json()["detail"]


def test_api_posts_events(client_tokens: tuple[TestClient, str, str]) -> None:
    client, admin, _ = client_tokens
    events = [
        {"event_id": "b1", "account": "alice", "behaviour": "bus", "time": _recent(1),
         "quantity": "8", "source": "transit_card"},
        {"event_id": "m1", "account": "alice", "behaviour": "metro", "time": "2024-03-01T08:10",
         "quantity": "12", "source": "metro_ticket"},
        {"event_id": "b2", "account": "alice", "behaviour": "bus", "time": "someday",
         "quantity": "8", "source": "transit_card"},
    ]  # fmt: skip
    answer = client.post(
        "/api/v1/ledger/events",
        json={"events": events, "source": "transport app"},
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["credited"] == 1 and data["points"] == "480.000"  # 8 km × 60 g, 1 pt/g
    codes = {r["event_id"]: r["code"] for r in data["rejections"]}
    assert codes == {"m1": "duplicate_event", "b2": "bad_row"}
    assert client.post("/api/v1/ledger/events", json={"events": events}).status_code == 401
