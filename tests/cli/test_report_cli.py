"""``ecobasin report`` refuses what it cannot do with one clear line (issue 19), before it opens
any database."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from ecobasin.cli import app

runner = CliRunner()


def test_unknown_language_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "none.duckdb"
    result = runner.invoke(
        app, ["report", "water", "--period", "2025", "--lang", "fr", "--db", str(db)]
    )
    assert result.exit_code == 1
    assert "--lang: 'fr' is not zh or en" in result.output
    assert not db.exists()  # nothing was opened or created


def test_city_and_region_together_are_refused(tmp_path: Path) -> None:
    db = tmp_path / "none.duckdb"
    args = ["report", "air", "--period", "2025", "--city", "510100", "--region", "--db", str(db)]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "give --city or --region, not both" in result.output
    assert not db.exists()


def test_help_names_every_report() -> None:
    result = runner.invoke(app, ["report", "--help"])
    assert result.exit_code == 0
    for command in ("air", "water", "lowcarbon", "scorecard", "list"):
        assert command in result.output
