"""``ecobasin lake export`` and the transparent read path, on a real DuckDB file and a real
Delta Lake folder: the API's observation and AQI answers and ``ecobasin evaluate`` are the
same JSON, byte for byte, before the export, after it, and after the months were deleted
from the store (so they can only come from the lake)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import deltalake
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from ecobasin.cli import app
from ecobasin.store import Store
from ecobasin.store import lake as store_lake
from ecobasin.web import create_app

from .helpers import build_store

runner = CliRunner()
#: CLI runs and a web app on DuckDB files and a Delta Lake folder
pytestmark = pytest.mark.slow

#: API answers compared (paths with their query strings); January and February go to the lake.
API_URLS = (
    "/api/v1/evaluation?period=2025Q1",
    "/api/v1/evaluation?period=2025-01",
    "/api/v1/rankings?period=2025-02",
    "/api/v1/aqi/daily?scope=city&start=2025-01-01&end=2025-03-31",
    "/api/v1/aqi/daily?scope=site&ids=A&ids=C&start=2025-01-25&end=2025-02-05",
    "/api/v1/aqi/hourly?scope=site&ids=B&start=2025-01-31T20:00&end=2025-02-01T05:00",
    "/api/v1/aqi/hourly?scope=city&start=2025-02-28T22:00&end=2025-03-01T03:00",
    "/api/v1/map?hour=2025-01-15T10:00",
    "/api/v1/map?day=2025-02-10",
    "/api/v1/map",
    "/api/v1/observations?site=A&parameter=PM2.5&start=2025-01-31T20:00&end=2025-02-01T04:00",
    "/api/v1/observations?site=D&start=2025-02-27T00:00&end=2025-03-02T00:00&limit=500",
)
EVALUATE = (("2025Q1", "store"), ("2025-01", "store"), ("2025Q1", "inprocess"))


def api_answers(db: Path) -> dict[str, Any]:
    with TestClient(create_app(db)) as client:
        answers = {}
        for url in API_URLS:
            response = client.get(url)
            assert response.status_code == 200, (url, response.text)
            answers[url] = response.text
        return answers


def evaluate_json(db: Path, period: str, engine: str) -> str:
    args = ["evaluate", "--db", str(db), "--period", period, "--format", "json"]
    result = runner.invoke(app, [*args, "--engine", engine])
    assert result.exit_code == 0, result.output
    return result.stdout


def store_rows(db: Path) -> dict[str, int]:
    with Store(db, read_only=True) as store:
        return {t: store_lake.checksum(store, t, 2025, 1).rows for t in store_lake.LAKE_TABLES}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return build_store(tmp_path / "air.duckdb")


def test_answers_are_identical_after_export_and_delete(db: Path, tmp_path: Path) -> None:
    before_api = api_answers(db)
    before_eval = {key: evaluate_json(db, *key) for key in EVALUATE}
    # the recomputing engine agrees with the stored AQI before anything moves
    assert before_eval[("2025Q1", "inprocess")] == before_eval[("2025Q1", "store")]
    assert all(n > 0 for n in store_rows(db).values())

    lake = tmp_path / "lake"
    args = ["lake", "export", "--db", str(db), "--lake", str(lake), "--before", "2025-03"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert api_answers(db) == before_api  # exported, still in the store

    moved = runner.invoke(app, [*args, "--delete-from-store"])
    assert moved.exit_code == 0, moved.output
    assert store_rows(db) == {t: 0 for t in store_lake.LAKE_TABLES}  # January left the store
    after_api = api_answers(db)
    for url in API_URLS:
        assert after_api[url] == before_api[url], url
    for key in EVALUATE:
        assert evaluate_json(db, *key) == before_eval[key], key
    status = runner.invoke(app, ["status", "--db", str(db)])  # says where January went
    assert status.exit_code == 0, status.output
    assert "observations_in_lake_only" in status.output and "lake_months" in status.output
    with Store(db, read_only=True) as store:
        summary = store.summary()
    assert summary["lake_months"] >= 1 and summary["observations_in_lake_only"] > 0


def test_export_is_idempotent_and_recorded(db: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    args = ["lake", "export", "--db", str(db), "--lake", str(lake), "--before", "2025-02"]
    for _ in range(2):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    with Store(db, read_only=True) as store:
        rows = [r for r in store_lake.manifest(store) if r["lake"] == str(lake.resolve())]
    assert {(r["table_name"], r["year"], r["month"]) for r in rows} == {
        (t, 2025, 1) for t in store_lake.LAKE_TABLES
    }
    for row in rows:
        assert row["verified_at"] is not None
        table = deltalake.DeltaTable(str(lake / row["table_name"]))
        held = table.to_pyarrow_dataset().count_rows()
        assert held == row["rows"] > 0  # the second run replaced the month, not appended
        assert {p["city"] for p in table.partitions()} >= {"510100", "510600"}
    assert (lake.stat().st_mode & 0o777) == 0o700
