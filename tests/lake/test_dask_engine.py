"""``ecobasin evaluate --engine dask``: the city-month kernels on a real Dask LocalCluster
(worker processes) give the same assessment, byte for byte in JSON, as the stored AQI and as
the in-process engine: on the seeded store, after its first months moved to the lake (the
workers then read their Delta partitions themselves), and on two months of the real UCI
Beijing multi-site data (12 CNEMC stations)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from ecobasin import catalog
from ecobasin.cli import app
from ecobasin.ingest import csvmap, importer
from ecobasin.jobs.air_quality import refresh_pending_air_quality
from ecobasin.services import evaluation
from ecobasin.store import Store

from .helpers import build_store

runner = CliRunner()
#: starts Dask LocalCluster worker processes
pytestmark = pytest.mark.slow
BEIJING = "data/beijing_multisite_2013_2017.csv.gz"


@pytest.fixture(autouse=True)
def small_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    # two one-thread worker processes under a memory limit (the settings the CLI reads)
    monkeypatch.setenv("ECOBASIN_DASK_WORKERS", "2")
    monkeypatch.setenv("ECOBASIN_DASK_WORKER_MEMORY", "768MiB")


def evaluate_json(db: Path, period: str, engine: str) -> str:
    args = ["evaluate", "--db", str(db), "--period", period, "--format", "json"]
    result = runner.invoke(app, [*args, "--engine", engine])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("["), result.stdout[:200]
    return result.stdout


def test_dask_equals_store_before_and_after_the_lake(tmp_path: Path) -> None:
    db = build_store(tmp_path / "air.duckdb")
    stored = evaluate_json(db, "2025Q1", "store")
    assert evaluate_json(db, "2025Q1", "dask") == stored
    moved = runner.invoke(
        app,
        [
            "lake",
            "export",
            "--db",
            str(db),
            "--lake",
            str(tmp_path / "lake"),
            "--before",
            "2025-03",
            "--delete-from-store",
        ],
    )
    assert moved.exit_code == 0, moved.output
    with Store(db, read_only=True) as store:
        parts, _ = evaluation.partitions(
            store, pd.Timestamp("2025-01-01").date(), pd.Timestamp("2025-03-31").date()
        )
    assert {p.month for p in parts if p.lake} == {1, 2}  # the workers read these from the lake
    assert {p.month for p in parts if not p.lake} == {3}
    assert evaluate_json(db, "2025Q1", "dask") == stored
    assert evaluate_json(db, "2025-02", "dask") == evaluate_json(db, "2025-02", "store")


def test_unknown_engine_and_stray_scheduler_are_refused(tmp_path: Path) -> None:
    db = build_store(tmp_path / "air.duckdb")
    bad = runner.invoke(app, ["evaluate", "--db", str(db), "--period", "2025", "--engine", "spark"])
    assert bad.exit_code == 1 and "--engine 'spark'" in bad.output
    stray = runner.invoke(
        app, ["evaluate", "--db", str(db), "--period", "2025", "--scheduler", "tcp://x:1"]
    )
    assert stray.exit_code == 1 and "--scheduler needs --engine dask" in stray.output


@pytest.mark.shared_data
def test_dask_on_real_beijing_months(needs_shared, tmp_path: Path) -> None:
    source = needs_shared(BEIJING)
    with gzip.open(source, "rt", encoding="utf-8") as handle:
        frame = pd.read_csv(handle)
    # March and April 2013 of the 12 stations (hour 0 of 1 March closes 28 February)
    frame[(frame["year"] == 2013) & frame["month"].isin([3, 4])].to_csv(
        tmp_path / "beijing.csv", index=False
    )
    db = tmp_path / "beijing.duckdb"
    with Store(db) as store:
        store.sync_catalog(catalog.load_region())
        mapping = csvmap.load_mapping("uci_beijing_multisite")
        report = importer.import_csv(store, [tmp_path / "beijing.csv"], mapping)
        assert report.sites_added == 12
        refresh_pending_air_quality(store)
    for period in ("2013-03", "2013-04"):
        stored = evaluate_json(db, period, "store")
        assert '"city": 110100' in stored
        assert evaluate_json(db, period, "inprocess") == stored
        assert evaluate_json(db, period, "dask") == stored
