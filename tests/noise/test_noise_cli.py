"""`ecobasin noise survey-import|survey|compliance` on a real DuckDB file (issue 23)."""

from __future__ import annotations

import json
from pathlib import Path

from test_noise_store import REGIONAL
from typer.testing import CliRunner

from ecobasin.cli import app


def test_import_then_survey_results_as_json(tmp_path: Path) -> None:
    db = tmp_path / "cli.duckdb"
    survey = tmp_path / "regional.csv"
    survey.write_text(REGIONAL, encoding="utf-8")
    runner = CliRunner()
    done = runner.invoke(app, ["noise", "survey-import", str(survey), "--db", str(db)])
    assert done.exit_code == 0, done.output
    assert "4 stored" in done.output and "3 kept aside" in done.output
    shown = runner.invoke(
        app, ["noise", "survey", "--year", "2026", "--format", "json", "--db", str(db)]
    )
    assert shown.exit_code == 0, shown.output
    items = {i["city_code"]: i for i in json.loads(shown.stdout)["items"]}
    assert items[510100]["mean_dBA"] == 54.0 and items[510100]["grade_zh"] == "二级"


def test_bad_arguments_fail_clearly(tmp_path: Path) -> None:
    db = tmp_path / "cli.duckdb"
    runner = CliRunner()
    missing = runner.invoke(
        app, ["noise", "survey-import", str(tmp_path / "none.csv"), "--db", str(db)]
    )
    assert missing.exit_code == 1 and "does not exist" in missing.output
    (tmp_path / "x.csv").write_text(REGIONAL, encoding="utf-8")
    wrong = runner.invoke(
        app, ["noise", "survey-import", str(tmp_path / "x.csv"), "--survey", "air", "--db", str(db)]
    )
    assert wrong.exit_code == 1 and "survey must be one of" in wrong.output
