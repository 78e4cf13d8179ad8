"""Partners on the ledger API (issue 8): the role ``partner`` with scopes, set with ``ecobasin
user add``, decided in the policy, and held to a token bucket per partner (driven here by an
injected clock, never by waiting)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from ecobasin.cli import app
from ecobasin.store import Store
from ecobasin.store import ledger as store_ledger
from ecobasin.store import users as db
from ecobasin.store.migrations import MIGRATIONS
from ecobasin.timebase import CST
from ecobasin.web import create_app
from ecobasin.web.security import accounts
from ecobasin.web.security.policy import PUBLIC, Principal, denial
from ecobasin.web.security.ratelimit import RateLimiter
from store_files import built_store_file

runner = CliRunner()

EVENTS = """event_id,account,behaviour,time,quantity,source
m1,alice,metro,2024-03-01T08:10,12,metro_ticket
"""


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


@dataclass
class Setup:
    client: TestClient
    tokens: dict[str, str]
    clock: list[float]
    holder: str

    def consent(self) -> str:
        made = self.client.post(
            "/api/v1/ledger/consents",
            json={"account": "alice", "points": "10"},
            headers={"X-Holder-Key": self.holder},
        )
        assert made.status_code == 201, made.text
        code: str = made.json()["code"]
        return code

    def post(self, path: str, body: dict[str, object], who: str | None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return self.client.post(f"/api/v1/ledger/{path}", json=body, headers=headers)


def _build_partners(path: Path) -> None:
    """Two ledger accounts, alice's metro trip, four users (two partners) and mall bound to
    shop, made through the CLI."""
    db_option = ("--db", str(path))
    for account, kind in (("alice", "person"), ("shop", "merchant")):
        _ok("ledger", "account", "add", account, "--kind", kind, *db_option)
    events = path.with_suffix(".events.csv")
    events.write_text(EVENTS, encoding="utf-8")
    _ok("ledger", "record", str(events), "--max-age-days", "0", *db_option)  # alice: 840 pt
    # a transport app: 60 requests a minute (one a second), bursts of 2
    _ok("user", "add", "metro_app", "--role", "partner", "--scope", "ledger:events",
        "--rate", "60", "--burst", "2", *db_option)  # fmt: skip
    _ok("user", "add", "mall", "--role", "partner", "--scope", "ledger:redeem", *db_option)
    _ok("user", "add", "root", "--role", "admin", *db_option)
    _ok("user", "add", "eve", "--role", "viewer", *db_option)
    _ok("ledger", "partner", "bind", "mall", "shop", *db_option)


@pytest.fixture()
def setup(tmp_path: Path) -> Iterator[Setup]:
    """A private copy of the partners' store (built once per process) served by a new app."""
    path = str(built_store_file(tmp_path / "partners.duckdb", "ledger partners", _build_partners))
    tokens = {}
    with Store(path) as store:
        for name in ("metro_app", "mall", "root", "eve"):
            tokens[name] = accounts.create_token(store.con, name, "partner tests")[1]
        holder = store_ledger.issue_holder_key(store, "alice")
    clock = [1000.0]
    with TestClient(create_app(path)) as client:
        client.app.state.rate_limiter = RateLimiter(clock=lambda: clock[0])  # type: ignore[attr-defined]
        yield Setup(client, tokens, clock, holder)


def _trip(event_id: str) -> dict[str, object]:
    when = (datetime.now(CST) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    event = {"event_id": event_id, "account": "alice", "behaviour": "bus",
             "time": when, "quantity": "2", "source": "transit_card"}  # fmt: skip
    return {"events": [event], "source": "trips"}


def _redeem(key: str, consent: str = "0" * 18) -> dict[str, object]:
    return {"account": "alice", "points": "10", "merchant": "shop", "key": key,
            "consent": consent}  # fmt: skip


def test_events_by_role(setup: Setup) -> None:
    posted = setup.post("events", _trip("b1"), "metro_app")
    assert posted.status_code == 200, posted.text
    assert posted.json()["credited"] == 1
    assert setup.post("events", _trip("b2"), "root").status_code == 200
    lacking = setup.post("events", _trip("b3"), "mall")
    assert lacking.status_code == 403
    detail = lacking.json()["detail"]
    assert "partner (mall) lacks scope ledger:events (holds: ledger:redeem)" in detail
    viewer = setup.post("events", _trip("b4"), "eve")
    assert viewer.status_code == 403
    assert "scope ledger:events" in viewer.json()["detail"]
    assert setup.post("events", _trip("b5"), None).status_code == 401


def test_redeem_by_role(setup: Setup) -> None:
    mall = setup.post("redeem", _redeem("r1", setup.consent()), "mall")
    assert mall.status_code == 200, mall.text
    assert mall.json()["entry"]["points"] == "10.000"
    assert setup.post("redeem", _redeem("r2", setup.consent()), "root").status_code == 200
    lacking = setup.post("redeem", _redeem("r3"), "metro_app")
    assert lacking.status_code == 403
    assert "lacks scope ledger:redeem" in lacking.json()["detail"]
    assert setup.post("redeem", _redeem("r4"), "eve").status_code == 403
    assert setup.post("redeem", _redeem("r5"), None).status_code == 401
    # partners write only what their scopes say: no donations, no restricted reads
    donate = {"account": "alice", "to": "shop", "points": "1", "key": "d1"}
    assert setup.post("donate", donate, "mall").status_code == 403
    headers = {"Authorization": f"Bearer {setup.tokens['mall']}"}
    assert setup.client.get("/api/v1/ledger/accounts", headers=headers).status_code == 403


def test_rate_limit_per_partner(setup: Setup) -> None:
    for i in range(2):  # the burst
        assert setup.post("events", _trip(f"a{i}"), "metro_app").status_code == 200
    limited = setup.post("events", _trip("a2"), "metro_app")
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "1"
    problem = limited.json()
    assert problem["type"] == "urn:ecobasin:problem:rate_limited"
    assert "60 requests a minute (burst 2)" in problem["detail"]
    # another partner and the admin have buckets of their own (or none)
    assert setup.post("redeem", _redeem("k1", setup.consent()), "mall").status_code == 200
    assert setup.post("events", _trip("a3"), "root").status_code == 200
    setup.clock[0] += 0.5  # half a token back: still refused
    assert setup.post("events", _trip("a4"), "metro_app").status_code == 429
    setup.clock[0] += 0.5  # one token back
    assert setup.post("events", _trip("a5"), "metro_app").status_code == 200
    assert setup.post("events", _trip("a6"), "metro_app").status_code == 429


def test_token_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0])
    # 6 a minute = one per 10 s; bucket of 3
    assert [limiter.take(7, 6, 3) for _ in range(4)] == [0, 0, 0, 10]
    now[0] = 25.0  # 2.5 tokens back
    assert [limiter.take(7, 6, 3) for _ in range(3)] == [0, 0, 5]
    now[0] = 1000.0  # never more than the burst
    assert [limiter.take(7, 6, 3) for _ in range(4)] == [0, 0, 0, 10]
    assert limiter.take(8, 6, 3) == 0  # another key, another bucket


def test_policy_of_partners() -> None:
    app_ = Principal("metro_app", "partner", user_id=3, scopes=("ledger:events",))
    assert denial(app_, "ledger:events") is None
    assert "lacks scope ledger:redeem" in (denial(app_, "ledger:redeem") or "")
    assert denial(app_, "read_restricted") is not None
    assert denial(app_, "write") is not None and denial(app_, "admin") is not None
    assert denial(Principal("root", "admin"), "ledger:redeem") is None
    assert "needs an admin or a partner token" in (denial(PUBLIC, "ledger:events") or "")


def test_cli_refuses_bad_partners(tmp_path: Path) -> None:
    path = str(tmp_path / "u.duckdb")
    cases = [
        (["p1", "--role", "partner"], "needs at least one scope"),
        (["p2", "--role", "partner", "--scope", "ledger:steal"], "unknown scope(s) ledger:steal"),
        (["p3", "--role", "viewer", "--scope", "ledger:events"], "only partners have scopes"),
        (["p4", "--role", "partner", "--scope", "ledger:events", "--rate", "0"], "rate > 0"),
    ]
    for args, words in cases:
        result = runner.invoke(app, ["user", "add", *args, "--db", path])
        assert result.exit_code == 1 and words in result.output, result.output
    _ok("user", "add", "p5", "--role", "partner", "--scope", "ledger:events", "--scope",
        "ledger:redeem", "--rate", "120", "--burst", "5", "--db", path)  # fmt: skip
    with Store(path) as store:
        user = db.user_by_name(store.con, "p5")
        assert user is not None and user.role == "partner"
        partner = db.partner(store.con, user.user_id)
    assert partner == db.PartnerRow(user.user_id, ("ledger:events", "ledger:redeem"), 120.0, 5)
    listed = runner.invoke(app, ["user", "list", "--db", path])
    assert "partner" in listed.output


def test_migration_10_keeps_users(tmp_path: Path) -> None:
    """A database made before migration 10 keeps its users and ids, and takes partners."""
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, "
                "description VARCHAR, applied_at TIMESTAMPTZ)")  # fmt: skip
    for version, description, sql in MIGRATIONS:
        if version < 10:
            con.execute(sql)
            con.execute("INSERT INTO schema_version VALUES (?, ?, now())", [version, description])
    con.execute("INSERT INTO users (name, role, city_code, password_hash, created_at) "
                "VALUES ('cd', 'editor', 510100, 'h', now())")  # fmt: skip
    con.close()
    with Store(path) as store:
        assert store.schema_version >= 10
        kept = db.user_by_name(store.con, "cd")
        assert kept is not None and (kept.user_id, kept.city_code) == (1, 510100)
        user, _ = accounts.create_user(
            store.con, "bus_app", "partner", password="long enough 1", scopes=["ledger:events"]
        )
        assert user.user_id == 2
        with pytest.raises(duckdb.ConstraintException):
            store.con.execute("INSERT INTO users (name, role, password_hash, created_at) "
                              "VALUES ('x', 'owner', 'h', now())")  # fmt: skip


def test_partners_in_the_user_api(setup: Setup) -> None:
    me = setup.client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {setup.tokens['mall']}"}
    ).json()
    assert (me["role"], me["can_read_restricted"]) == ("partner", False)
    users = setup.client.get(
        "/api/v1/users", headers={"Authorization": f"Bearer {setup.tokens['root']}"}
    ).json()
    assert {u["name"]: u["role"] for u in users}["metro_app"] == "partner"
