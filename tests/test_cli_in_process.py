"""tests/cli_in_process.py: ``ecobasin`` run in the test's process answers as its process would
(exit code, stdout and stderr apart, its own environment and directory) and leaves this process
as it found it."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import pytest

from cli_in_process import fresh_process_state, run_ecobasin
from ecobasin import limits
from ecobasin.services import credentials


def test_output_streams_and_exit_codes_are_those_of_the_process(tmp_path: Path) -> None:
    made = run_ecobasin("init", "--db", "new.duckdb", cwd=tmp_path)  # relative to its cwd
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "new.duckdb").exists() and not Path("new.duckdb").exists()
    listed = run_ecobasin("sites", "--format", "csv", "--db", str(tmp_path / "new.duckdb"))
    assert listed.returncode == 0 and listed.stdout.startswith("site_id")
    assert "site_id" not in listed.stderr
    bad = run_ecobasin("aqi", "--format", "xml", "--db", str(tmp_path / "new.duckdb"))
    assert bad.returncode == 1 and bad.stdout == "" and "unknown format" in bad.stderr


def test_the_run_sees_its_environment_and_this_process_gets_its_own_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECOBASIN_PASSWORD_HASH_TIME_COST", "1")
    before_cwd, before_argv = Path.cwd(), sys.argv
    before_env = dict(os.environ)
    ours = credentials._hasher()
    configured = limits.configured_limits()
    logger = logging.getLogger("ecobasin")
    handlers_before = list(logger.handlers)
    with fresh_process_state(env={"ECOBASIN_PASSWORD_HASH_TIME_COST": "2"}, cwd=tmp_path):
        assert credentials._hasher().time_cost == 2  # read again, as a new process would
        assert Path.cwd() == tmp_path and "PATH" not in os.environ
        logger.addHandler(logging.StreamHandler(sys.stderr))  # what a run might leave
        sys.argv = ["ecobasin", "status"]
    assert Path.cwd() == before_cwd and sys.argv is before_argv
    assert dict(os.environ) == before_env
    assert logger.handlers == handlers_before
    assert credentials._hasher().time_cost == 1 and credentials._hasher() is not ours
    assert limits.configured_limits() == configured
