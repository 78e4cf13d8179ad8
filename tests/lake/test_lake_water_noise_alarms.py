"""The lake's ``observations`` table holds every observation of a month (air, water, noise),
and ``lake export --delete-from-store`` deletes them all from the store; so the water, noise
and alarm readers of observations must read through the same union as the air ones
(:func:`ecobasin.store.lake_read.source`). On a real DuckDB file with the demo water year and
two noise stations, and a real Delta Lake folder: the water API's answers (the section
calendar, which reads the observations, and the evaluation, rank and compensation, which read
the results) are the same bytes before the export, after it and after the months were deleted
from the store, also after ``ecobasin water refresh`` recomputed the year from the lake plus
the store; the noise and alarm readers return the same rows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from ecobasin import catalog
from ecobasin.cli import app
from ecobasin.demo import noise as demo_noise
from ecobasin.demo import water as demo_water
from ecobasin.store import Store
from ecobasin.store import alarms as store_alarms
from ecobasin.store import noise as store_noise
from ecobasin.store import water as store_water
from ecobasin.web import create_app

runner = CliRunner()
#: CLI runs and a web app on DuckDB files and a Delta Lake folder
pytestmark = pytest.mark.slow

YEAR = 2025
#: The readers' period: all of 2025 [UTC instants of CST days].
START = datetime(2024, 12, 31, 16, tzinfo=UTC)
END = datetime(2025, 12, 31, 15, 59, 59, tzinfo=UTC)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The demo water year and a year of two noise stations' hourly Leq/LMx in a store."""
    db = tmp_path_factory.mktemp("lake_water") / "water.duckdb"
    region = catalog.load_region()
    with Store(db) as store:
        store.sync_catalog(region)
        demo_water.install(store, region, year=YEAR)
        stations = demo_noise.generate_stations(region.city_table(), seed=3).head(2)
        store.upsert_sites(stations, source="lake test (noise)")
        rng = np.random.default_rng(3)
        hourly = pd.concat(
            [
                demo_noise.hourly_levels(attributes["zone_class"], YEAR, rng).assign(site_id=site)
                for site, attributes in zip(
                    stations["site_id"], stations["attributes"], strict=True
                )
            ],
            ignore_index=True,
        )
        batch = store.begin_batch("lake_test_noise", "lake test (noise)")
        store.write_observations(hourly, batch_id=batch)
        store.finish_batch(batch, {"values": len(hourly)})
        sections = store_water.water_sections(store)
    return {
        "db": db,
        "sections": [str(s) for s in sections["site_id"]],
        "noise": [str(s) for s in stations["site_id"]],
    }


def api_answers(db: Path, sections: list[str]) -> dict[str, str]:
    urls = [
        "/api/v1/water/evaluation?period=2025",
        "/api/v1/water/evaluation?period=2025-01",
        "/api/v1/water/rank?period=2025-02",
        "/api/v1/water/compensation?period=2025-01",
        *(f"/api/v1/water/sections/{site}/calendar?year={YEAR}" for site in sections[:4]),
    ]
    with TestClient(create_app(db)) as client:
        answers = {}
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, (url, response.text)
            answers[url] = response.text
        return answers


def reader_rows(db: Path, sections: list[str], noise: list[str]) -> dict[str, Any]:
    """What the water, noise and alarm readers of observations return, as read."""
    with Store(db, read_only=True) as store:
        water = store_water.water_observations(store, start=START, end=END)
        years = store_water.water_years(store)
        reported = store_noise.reported_hours(
            store, noise, pd.Timestamp(START), pd.Timestamp(END), "noise_products"
        )
        alarm_obs, _ = store_alarms.alarm_inputs(store, [*sections[:3], *noise], START)
    return {
        "water_observations": water,
        "water_years": years,
        "noise_reported_hours": reported,
        "alarm_inputs": alarm_obs,
    }


def assert_same_rows(after: dict[str, Any], before: dict[str, Any]) -> None:
    """The same rows in the same order, every value and type equal (exact, not as text:
    writing 330,000 rows as JSON cost ~3.5 s of CPU per reading, and rounded the values)."""
    assert after.keys() == before.keys()
    assert after["water_years"] == before["water_years"]
    for name in ("water_observations", "noise_reported_hours", "alarm_inputs"):
        try:
            pd.testing.assert_frame_equal(after[name], before[name], check_exact=True)
        except AssertionError as error:
            raise AssertionError(f"{name}: {error}") from None


def observation_rows(db: Path) -> int:
    with Store(db, read_only=True) as store:
        found = store.con.execute(
            "SELECT count(*) FROM observations WHERE time > ? AND time <= ?",
            [datetime(2024, 12, 31, 16, tzinfo=UTC), datetime(2025, 2, 28, 16, tzinfo=UTC)],
        ).fetchone()
    return int(found[0]) if found else -1


def test_water_noise_and_alarm_readers_see_the_lake(built: dict[str, Any], tmp_path: Path) -> None:
    db, sections, noise = built["db"], built["sections"], built["noise"]
    before_api = api_answers(db, sections)
    before_rows = reader_rows(db, sections, noise)
    assert len(before_rows["water_observations"]) > 1000 and len(before_rows["alarm_inputs"]) > 1000
    assert not before_rows["noise_reported_hours"].empty

    lake = tmp_path / "lake"
    args = ["lake", "export", "--db", str(db), "--lake", str(lake), "--before", "2025-03"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert api_answers(db, sections) == before_api  # exported, still in the store
    assert_same_rows(reader_rows(db, sections, noise), before_rows)

    moved = runner.invoke(app, [*args, "--delete-from-store"])
    assert moved.exit_code == 0, moved.output
    with Store(db, read_only=True) as store:  # January and February left the store's table
        left = store.con.execute(
            "SELECT count(*) FROM observation_values WHERE time > ? AND time <= ?",
            [START, datetime(2025, 2, 28, 16, tzinfo=UTC)],
        ).fetchone()
    assert left == (0,)
    assert_same_rows(reader_rows(db, sections, noise), before_rows)
    after_api = api_answers(db, sections)
    for url, text in before_api.items():
        assert after_api[url] == text, url

    refreshed = runner.invoke(app, ["water", "refresh", "--db", str(db)])
    assert refreshed.exit_code == 0, refreshed.output
    again = api_answers(db, sections)  # recomputed from the lake's months plus the store's
    for url, text in before_api.items():
        assert again[url] == text, url
