"""A city outside Sichuan from public-layout data to a backtest, with no code change: a region
file for Guangzhou (440100), ``init``, a synthetic file in the UCI five-cities layout imported
with the bundled mapping, ``forecast train`` and ``forecast backtest``, all through the CLI on a
real DuckDB file."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from ecobasin.cli import app
from ecobasin.store import Store

pytestmark = pytest.mark.slow  # trains LightGBM twice (on half a year, then eleven months)

DAYS = 400
DIRECTIONS = ["NE", "NW", "SE", "SW", "cv"]


def run(*args: str | Path) -> Result:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


def guangzhou_file(folder: Path) -> Path:
    """400 days of hours in the UCI five-cities layout: PM2.5 at three sites driven by the
    day's wind speed, which the file carries only as the running sum ``Iws`` per ``cbwd`` run."""
    rng = np.random.default_rng(440100)
    hours = pd.date_range("2014-01-01", periods=DAYS * 24, freq="h")
    daily_wind = rng.gamma(2.0, 1.0, DAYS)
    speed = np.round(
        np.clip(np.repeat(daily_wind, 24) + rng.normal(0, 0.2, len(hours)), 0.1, None), 2
    )
    run_starts = np.cumsum(rng.integers(1, 12, len(hours)))  # wind direction runs of 1–11 h
    run_id = np.searchsorted(run_starts, np.arange(len(hours)), side="right")
    cbwd = np.array(DIRECTIONS)[run_id % len(DIRECTIONS)]
    iws = pd.Series(speed).groupby(run_id).cumsum().round(2)
    pm = np.clip(np.repeat(90 - 18 * (daily_wind - 2), 24) + rng.normal(0, 8, len(hours)), 3, None)
    frame = pd.DataFrame(
        {
            "No": np.arange(1, len(hours) + 1),
            "year": hours.year,
            "month": hours.month,
            "day": hours.day,
            "hour": hours.hour,
            "season": (hours.month % 12 // 3 + 1),
            "PM_City Station": pm.round(),
            "PM_5th Middle School": (pm * 1.05).round(),
            "PM_US Post": (pm * 0.95).round(),
            "DEWP": 15.0,
            "HUMI": 75.0,
            "PRES": 1012.0,
            "TEMP": 22.0,
            "cbwd": cbwd,
            "Iws": iws,
            "precipitation": 0.0,
            "Iprec": 0.0,
        }
    )
    path = folder / "GuangzhouPM20140101_20150204.csv"
    frame.to_csv(path, index=False)
    return path


def test_guangzhou_from_the_uci_layout_to_a_backtest(tmp_path: Path) -> None:
    data = guangzhou_file(tmp_path)
    region = tmp_path / "gz.toml"
    db = tmp_path / "gz.duckdb"
    where = ["--db", db, "--region", region]
    run("region", "new", "gz", "--cities", "440100", "--out", region)
    run("init", *where)
    run("import", "csv", data, "--mapping", "uci_five_cities", *where)
    with Store(db, read_only=True) as store:
        sites = store.sites()
        weather = store.meteorology(cities=[440100])
    wind = weather.loc[weather["parameter"] == "wind_speed", "value"]
    assert sorted(sites["site_id"]) == [
        "440100-5th_Middle_School",
        "440100-City_Station",
        "440100-US_Post",
    ]
    assert set(sites["city_code"]) == {440100}
    assert 1.5 < wind.mean() < 2.5 and wind.max() < 15  # hourly speeds [m/s], not running sums
    # the stored model's plumbing (the backtest trains its own): half a year of training does
    run("forecast", "train", "--from", "2014-07-01", "--to", "2014-12-31", *where)
    result = run("forecast", "backtest", "--from", "2014-12-01", "--to", "2015-01-31", *where)
    scores = pd.read_csv(io.StringIO(result.stdout)).set_index(["model", "lead"])
    assert scores.loc[("lightgbm", 1), "n"] > 50
    # the observed wind (from Iws) carries the signal: the model beats persistence at day +1
    assert scores.loc[("lightgbm", 1), "pm25_rmse"] < scores.loc[("persistence", 1), "pm25_rmse"]
