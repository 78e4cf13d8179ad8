"""``ecobasin forecast verify`` (issue 21, item 4) prints the table the API and the page give,
from the same service, on the hand-checked store of tests/forecast_verification_helpers.py."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from ecobasin.cli import app
from forecast_verification_helpers import CHENGDU, FIRST_TARGET, build_store

runner = CliRunner()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_store(tmp_path_factory.mktemp("verify-cli") / "verify.duckdb")


def _verify(db: Path, *extra: str) -> tuple[int, str]:
    args = ["forecast", "verify", "--db", str(db), "--region", "chengdu_plain", *extra]
    result = runner.invoke(app, args)
    return result.exit_code, result.output


def test_verify_prints_the_table_by_lead_and_the_csv(db: Path) -> None:
    code, output = _verify(db, "--city", CHENGDU, "--from", str(FIRST_TARGET), "--lang", "en")
    assert code == 0, output
    assert "2016-01-11 → 2016-01-20, 10 issues" in output
    assert "level accuracy" in output and "issued forecast" in output
    scores = pd.read_csv(io.StringIO(output[output.index("model,lead") :]))
    issued = scores[scores["model"] == "issued"].iloc[0]
    assert issued["ts_100"] == pytest.approx(3 / 7)
    assert issued["skill_pm25_persistence"] < 0
    code, chinese = _verify(db, "--city", CHENGDU)
    assert code == 0 and "级别准确率" in chinese and "持续性预报" in chinese


def test_verify_names_a_bad_city_or_period(db: Path) -> None:
    code, output = _verify(db, "--city", "999999")
    assert code == 1 and "'999999'" in output
    code, output = _verify(db, "--city", CHENGDU, "--from", "2016-02-01", "--to", "2016-01-01")
    assert code == 1 and "2016-02-01" in output
    code, output = _verify(db, "--city", CHENGDU, "--from", "2016-13-01")
    assert code == 1 and "--from" in output
