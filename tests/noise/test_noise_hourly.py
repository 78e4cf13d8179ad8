"""Hourly Leq from minute Leq in a real DuckDB file (HJ 906-2017 valid data rate, issue 23)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from test_noise_store import _station

from ecobasin.jobs.noise_quality import refresh_noise_hourly
from ecobasin.standards import noise
from ecobasin.store import Store
from store_files import new_synced_store_file


@pytest.fixture
def store(tmp_path: Path):
    store = Store(new_synced_store_file(tmp_path / "hourly.duckdb"))
    _station(store, "NZ1", "2")
    yield store
    store.close()


def _minutes(hour_end: str, levels: list[float], parameter: str = "Leq") -> pd.DataFrame:
    # minute ends 00:01 … 01:00 of the hour ending at hour_end (CST), as stored (UTC)
    end = pd.Timestamp(hour_end, tz="Asia/Shanghai")
    ends = pd.date_range(end - pd.Timedelta(minutes=59), end, freq="min").tz_convert("UTC")
    frame = pd.DataFrame({"time": ends[: len(levels)], "value": levels})
    return frame.assign(site_id="NZ1", parameter=parameter, period="1min", flag=None)


def _hourly(store: Store) -> dict[tuple[str, pd.Timestamp], float]:
    rows = store.observations(sites=["NZ1"], periods=["1h"])
    return {
        (p, pd.Timestamp(t)): v
        for p, t, v in zip(rows["parameter"], rows["time"], rows["value"], strict=True)
    }


def test_hour_from_minutes_with_the_validity_rule(store: Store) -> None:
    levels = [50.0] * 30 + [60.0] * 30
    frames = [
        _minutes("2026-07-01T10:00", levels),  # complete
        _minutes("2026-07-01T11:00", [55.0] * 44),  # 44/60 < 75 %: invalid
        _minutes("2026-07-01T10:00", [70.0] + [65.0] * 59, "LMx"),
    ]
    store.write_observations(
        pd.concat(frames, ignore_index=True), store.begin_batch("test", "minutes")
    )
    result = refresh_noise_hourly(store, 2026)
    assert (result.written, result.invalid) == (2, 1)
    ten = pd.Timestamp("2026-07-01T02:00", tz="UTC")  # label 10:00 CST
    hours = _hourly(store)
    assert hours[("Leq", ten)] == noise.round_db(noise.leq(levels)) == 57.4
    assert hours[("LMx", ten)] == 70.0
    assert ("Leq", ten + pd.Timedelta(hours=1)) not in hours
    # idempotent: the same hours again, nothing new
    again = refresh_noise_hourly(store, 2026)
    assert again.written == 2 and _hourly(store) == hours


def test_reported_hours_are_not_overwritten(store: Store) -> None:
    store.write_observations(
        pd.concat([_minutes("2026-07-01T10:00", [50.0] * 60)]), store.begin_batch("test", "m")
    )
    reported = pd.DataFrame(
        [
            {
                "site_id": "NZ1",
                "parameter": "Leq",
                "period": "1h",
                "time": pd.Timestamp("2026-07-01T02:00", tz="UTC"),
                "value": 51.2,
                "flag": "N",
            }
        ]
    )
    store.write_observations(reported, store.begin_batch("gateway", "station"))
    result = refresh_noise_hourly(store, 2026)
    assert result.kept_reported == 1 and result.written == 0
    assert _hourly(store)[("Leq", pd.Timestamp("2026-07-01T02:00", tz="UTC"))] == 51.2


def test_refresh_command(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ecobasin.cli import app

    db = tmp_path / "cli.duckdb"
    with Store(new_synced_store_file(db)) as store:
        _station(store, "NZ1", "1")
        store.write_observations(
            _minutes("2026-03-01T10:00", [50.0] * 60), store.begin_batch("test", "m")
        )
    done = CliRunner().invoke(app, ["noise", "refresh", "--year", "2026", "--db", str(db)])
    assert done.exit_code == 0, done.output
    assert "1 hourly values written" in done.output
