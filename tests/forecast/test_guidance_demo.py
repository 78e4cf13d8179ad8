"""The demo's SIMULATED model guidance (issue 21): 60 daily runs at the eight city points, each
published 6 h after its start, flagged simulated, and usable as members on the last day."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from ecobasin.demo.guidance import DEMO_RUN_DAYS
from ecobasin.forecast.guidance import daily_guidance, runs_as_known
from ecobasin.store import Store
from ecobasin.store import guidance as store_guidance


def test_demo_guidance_runs(demo_db: Path) -> None:
    with duckdb.connect(str(demo_db), read_only=True) as con:
        runs = con.execute(
            "SELECT issued_at, count(DISTINCT point_id), count(DISTINCT valid_time), "
            "bool_and(simulated), min(issued_at - run_start) FROM ctm_guidance "
            "WHERE scope = 'city' GROUP BY issued_at ORDER BY issued_at"
        ).fetchall()
    assert len(runs) == DEMO_RUN_DAYS
    assert {r[1:4] for r in runs} == {(8, 186, True)}
    assert {r[4] for r in runs} == {pd.Timedelta(hours=6).to_pytimedelta()}


def test_the_last_day_has_guidance_for_a_week(demo_db: Path) -> None:
    with Store(demo_db, read_only=True) as store:
        hourly = store_guidance.city_guidance(store, model="CMAQ")
    last = pd.Timestamp(hourly["issued_at"].max()).tz_convert("Asia/Shanghai").normalize()
    day = last.tz_localize(None)
    members = daily_guidance(runs_as_known(hourly, [day]), range(1, 8))
    assert sorted(members["lead"].unique()) == list(range(1, 8))
    assert members["city"].nunique() == 8
    assert set(members["pollutant"]) == {"PM2.5", "PM10", "O3_8h", "NO2", "SO2", "CO"}


def test_hourly_forecast_reads_the_runs_known_on_the_issue_day(demo_db: Path) -> None:
    """The hourly service turns the stored runs into 72-hour guidance paths: lead 1 is the hour
    ending 01:00 CST of D+1, and no run published after D's issue time is read."""
    from ecobasin.forecast.hourly import LEADS, guidance_paths
    from ecobasin.services import forecast as forecast_service

    with Store(demo_db, read_only=True) as store:
        hourly = store_guidance.city_guidance(store, model="CMAQ")
        last = pd.Timestamp(hourly["issued_at"].max()).tz_convert("Asia/Shanghai").normalize()
        day = last.tz_localize(None)
        known = runs_as_known(hourly, [day])
        paths = guidance_paths(known)
        values, aqi = forecast_service.hourly_forecast(store, day.date(), ["510100"])
    assert max(pd.DatetimeIndex(known["issued_at"])) <= (day + pd.Timedelta(days=1)).tz_localize(
        "Asia/Shanghai"
    )
    pm = paths[("510100", "PM2.5")]
    assert list(pm.columns) == list(range(1, LEADS + 1)) and pm.notna().all(axis=None)
    first_hour = (day + pd.Timedelta(hours=25)).tz_localize("Asia/Shanghai").tz_convert("UTC")
    run = known[(known["city"] == "510100") & (known["pollutant"] == "PM2.5")]
    assert pm.iloc[0, 0] == run.set_index("valid_time").loc[first_hour, "value"]
    assert set(values["pollutant"]) >= {"PM2.5", "PM10", "O3", "NO2", "CO", "SO2", "O3_8h"}
    assert (values.groupby("pollutant")["lead_hour"].nunique() == LEADS).all()
    assert set(aqi["rule_set"]) == {"HJ633-2012", "HJ633-2026"}
