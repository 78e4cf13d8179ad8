"""The real samples in tests/data go through the real readers and a real DuckDB file (no skips)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from ecobasin.cli import app
from ecobasin.ingest import csvmap
from ecobasin.store import Store
from needs import DATA

ZIYANG = 512000


def test_uci_chengdu_slice_is_read_hour_ending() -> None:
    """The UCI labels start the hour (StateAir); stored times end it (HJ 663-2013 §3)."""
    frame, meta = csvmap.read_mapped_csv(
        DATA / "uci_chengdu_pm25_2015-01-01.csv", csvmap.load_mapping("uci_chengdu_pm25")
    )
    pm = frame[frame["parameter"] == "PM2.5"]
    # 48 hours × 3 sites, less the 3 rows without station values (2 stations each) that are
    # empty, not rejected
    assert pm["value"].notna().sum() == 48 * 3 - 3 * 2
    first_hour = pm[pm["time"] == pm["time"].min()]
    # 2015-01-01T00:00 CST starts the hour that ends 01:00 CST = 2014-12-31T17:00Z
    assert first_hour["time"].iloc[0] == pd.Timestamp("2014-12-31T17:00Z")
    assert sorted(first_hour["value"].dropna()) == [152.0]
    assert meta


def test_ziyang_station_slice_registers_five_sites(tmp_path: Path) -> None:
    db = tmp_path / "samples.duckdb"
    result = CliRunner().invoke(
        app, ["sites", "import", str(DATA / "stations_ziyang.csv"), "--db", str(db)]
    )
    assert result.exit_code == 0, result.output
    with Store(db, read_only=True) as store:
        sites = store.sites()
    assert sorted(sites["site_id"]) == ["2561A", "2562A", "2563A", "2564A", "2565A"]
    assert set(sites["city_code"]) == {ZIYANG}
