"""services/ledger.py: the CLI and the API give the ledger's numbers from the same answers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from ecobasin.cli import app
from ecobasin.errors import NotFound
from ecobasin.services import ledger as ledger_service
from ecobasin.store import Store
from ecobasin.web import create_app

runner = CliRunner()


def test_plain_keeps_amounts_exact_and_instants_as_iso_text() -> None:
    cells = {
        "points": Decimal("864.000"),
        "at": pd.Timestamp("2024-03-01T00:10:00Z"),
        "plain_at": datetime(2024, 3, 1, tzinfo=UTC),
        "none": float("nan"),
    }
    assert ledger_service.plain(cells) == {
        "points": "864.000",
        "at": "2024-03-01T00:10:00+00:00",
        "plain_at": "2024-03-01T00:00:00+00:00",
        "none": None,
    }


def test_cli_and_api_give_the_same_summary_and_accounts(tmp_path: Path) -> None:
    db = tmp_path / "ledger.duckdb"
    for account, kind in (("alice", "person"), ("shop", "merchant")):
        added = runner.invoke(app, ["ledger", "account", "add", account, "--kind", kind,
                                    "--db", str(db)])  # fmt: skip
        assert added.exit_code == 0, added.output
    cli = runner.invoke(app, ["ledger", "summary", "--db", str(db)])
    assert cli.exit_code == 0, cli.output
    with TestClient(create_app(db)) as client:
        api = client.get("/api/v1/ledger/summary").json()
    assert json.loads(cli.stdout) == api
    assert api["accounts"] == 2 and api["points_in_circulation"] == "0"
    with Store(db) as store:
        assert [a["account_id"] for a in ledger_service.rows(ledger_service.accounts(store))] == [
            "alice",
            "shop",
        ]
        with pytest.raises(NotFound, match="no ledger account 'bob'"):
            ledger_service.account(store, "bob")
