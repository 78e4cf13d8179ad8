"""``ecobasin serve`` with the gateway options (issue 5); serving itself runs in the browser
tests (``serve --simulate 8``, tests/browser/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ecobasin.cli import app
from ecobasin.store import Store


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("ECOBASIN_DB", "ECOBASIN_REGION", "ECOBASIN_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)


def test_serve_help_names_the_gateway_options() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--gateway", "--no-gateway", "--gateway-port", "--simulate", "--seed"):
        assert option in result.output


def test_simulated_enterprises_without_the_gateway_are_refused(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    Store(db).close()
    result = CliRunner().invoke(app, ["serve", "--no-gateway", "--simulate", "2", "--db", str(db)])
    assert result.exit_code == 1
    assert "--simulate needs the gateway" in result.output
    with Store(db, read_only=True) as store:  # nothing was registered
        assert store.sites().empty


def test_a_negative_number_of_enterprises_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["serve", "--simulate", "-1", "--db", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert "--simulate" in result.output
