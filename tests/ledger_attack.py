"""What the ledger security tests (tests/security/test_ledger_*.py, issue 13 items 1-5) share: a
real DuckDB file set up through the CLI as an operator would (accounts, partners, an admin,
points earned from a metro ticket yesterday), the real app over it, and a real ``serve``
process where the behaviour depends on one (concurrency)."""

from __future__ import annotations

import atexit
import functools
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import loopback
from ecobasin.cli import app as cli_app
from ecobasin.store import Store
from ecobasin.timebase import CST
from ecobasin.web import create_app
from ecobasin.web.security import accounts

runner = CliRunner()

ACCOUNTS = (
    ("alice", "person"),
    ("bob", "person"),
    ("shop", "merchant"),
    ("rival", "merchant"),
    ("green_pool", "pool"),
)
#: user name, role, scopes
USERS = (
    ("root", "admin", ()),
    ("mall", "partner", ("ledger:redeem",)),
    ("mall2", "partner", ("ledger:redeem",)),
    ("metro_app", "partner", ("ledger:events",)),
    ("bus_app", "partner", ("ledger:events",)),
)


def cli(*args: str) -> str:
    """Run ``ecobasin …``; its stdout (fails the test on a non-zero exit)."""
    result = runner.invoke(cli_app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def cst(days_ago: float) -> str:
    """An ISO local time (China Standard Time) ``days_ago`` days before now."""
    return (datetime.now(CST) - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M")


def make_ledger(path: Path) -> dict[str, str]:
    """Accounts, users and alice's 840 points (metro 12 km yesterday) at ``path``; the API tokens.

    A copy of one ledger built once per test process (:func:`_built_ledger`): its 11 CLI commands
    each open the file, seconds per test on the shared machine, and every test starts from the
    same state anyway.
    """
    template, tokens = _built_ledger()
    shutil.copyfile(template, path)
    return dict(tokens)


@functools.cache
def _built_ledger() -> tuple[Path, dict[str, str]]:
    folder = Path(tempfile.mkdtemp(prefix="ledger-attack-"))  # private (0700)
    atexit.register(shutil.rmtree, folder, True)
    path = folder / "ledger.duckdb"
    return path, _build_ledger(path)


def _build_ledger(path: Path) -> dict[str, str]:
    """Set the ledger up through the CLI as an operator would; the API tokens."""
    db = str(path)
    for account, kind in ACCOUNTS:
        cli("ledger", "account", "add", account, "--kind", kind, "--db", db)
    for name, role, scopes in USERS:
        flags = [x for scope in scopes for x in ("--scope", scope)]
        cli("user", "add", name, "--role", role, *flags, "--rate", "100000", "--burst", "1000",
            "--db", db) if scopes else cli("user", "add", name, "--role", role, "--db", db)  # fmt: skip
    events = path.parent / "events.csv"
    events.write_text(
        "event_id,account,behaviour,time,quantity,source\n"
        f"m1,alice,metro,{cst(1)},12,metro_ticket\n",
        encoding="utf-8",
    )
    cli("ledger", "record", str(events), "--db", db)
    with Store(path) as store:
        return {name: accounts.create_token(store.con, name, "attack")[1] for name, *_ in USERS}


@dataclass
class Api:
    """The real app over the file; requests as one of the users (or nobody)."""

    client: TestClient
    tokens: dict[str, str]
    path: Path

    def post(self, route: str, body: dict[str, Any], who: str | None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return self.client.post(f"/api/v1/ledger/{route}", json=body, headers=headers)

    def points(self, account: str) -> str:
        found = self.client.get(
            f"/api/v1/ledger/accounts/{account}",
            headers={"Authorization": f"Bearer {self.tokens['root']}"},
        )
        assert found.status_code == 200, found.text
        value: str = found.json()["account"]["points"]
        return value

    def consent(self, holder_key: str, points: str, account: str = "alice", **more: Any) -> str:
        made = self.client.post(
            "/api/v1/ledger/consents",
            json={"account": account, "points": points, **more},
            headers={"X-Holder-Key": holder_key},
        )
        assert made.status_code == 201, made.text
        code: str = made.json()["code"]
        return code


@contextmanager
def api(tmp_path: Path) -> Iterator[Api]:
    path = tmp_path / "ledger.duckdb"
    tokens = make_ledger(path)
    with TestClient(create_app(path), raise_server_exceptions=False) as client:
        yield Api(client, tokens, path)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def served(path: Path) -> Iterator[str]:
    """``serve`` as a real process over ``path``; its base URL."""
    port = _free_port()
    code = (
        "import sys; from ecobasin.web import serve; "
        "serve(sys.argv[1], host='127.0.0.1', port=int(sys.argv[2]), region='chengdu_plain')"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code, str(path), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        loopback.wait_for_health(base, process)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stderr is not None:
            process.stderr.close()
