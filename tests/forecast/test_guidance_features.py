"""Guidance as features of the learned model (issue 21 item 2), and the damped-anomaly
climatology member (item 1): the learned model reads the guidance of the target day as it was
known on the issue day, and a run published after the issue time changes nothing issued before
it (the rule of tests/forecast/test_met_forecast.py)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from ecobasin.forecast.backtest import backtest
from ecobasin.forecast.features import complete_grid, issue_cutoff
from ecobasin.forecast.guidance import blend_members, guidance_forecasts
from ecobasin.forecast.models import GBMConfig, apply_anomaly, fit_anomaly_betas, train_bundle

SMALL = GBMConfig(leads=(1, 2), rounds=60, num_leaves=7, use_met=False)


def _hourly_runs(daily: pd.DataFrame, issued_hour_utc: int = 6) -> pd.DataFrame:
    """One SIMULATED run a day per city, published at ``issued_hour_utc`` UTC of day D, whose
    hours of the CST days D + 1 and D + 2 carry the observed daily value × 1.3 with noise (one
    draw per run and target day, in the order of the days, then the leads)."""
    rng = np.random.default_rng(17)
    truth = daily.set_index(["city", "day"])["PM2.5"]
    leads = np.tile([1, 2], len(truth))
    city = np.repeat(truth.index.get_level_values("city").to_numpy(), 2)
    day = pd.DatetimeIndex(np.repeat(truth.index.get_level_values("day").to_numpy(), 2))
    target = day + pd.to_timedelta(leads, unit="D")
    key = pd.MultiIndex.from_arrays([city, target])
    known = key.isin(truth.index)  # a target day without an observation has no run hours
    city, day, target = city[known], day[known], target[known]
    noise = np.exp(0.1 * rng.standard_normal(int(known.sum())))
    value = 1.3 * truth.reindex(key[known]).to_numpy(dtype=np.float64) * noise
    # CST day T: hour-ending 01:00 … 24:00 CST = 17:00 UTC of T − 1 … 16:00 UTC of T
    first = target.tz_localize("UTC") - pd.Timedelta(hours=7)
    issued = day.tz_localize("UTC") + pd.Timedelta(hours=issued_hour_utc)
    return pd.DataFrame(
        {
            "city": np.repeat(city, 24),
            "issued_at": np.repeat(issued, 24),
            "valid_time": np.repeat(first, 24)
            + pd.to_timedelta(np.tile(np.arange(24), len(first)), unit="h"),
            "pollutant": "PM2.5",
            "value": np.repeat(value, 24),
        }
    )


@pytest.fixture(scope="module")
def runs(region_data: tuple[pd.DataFrame, pd.DataFrame]) -> pd.DataFrame:
    daily, _ = region_data
    return _hourly_runs(daily[daily["day"] <= "2015-03-31"])


def _members(runs: pd.DataFrame, daily: pd.DataFrame) -> pd.DataFrame | None:
    issue_days = list(pd.date_range("2013-06-01", "2015-03-29", freq="D"))
    return blend_members(guidance_forecasts(runs, daily, issue_days, SMALL.leads))


def test_poisoning_guidance_published_after_the_issue_time_changes_nothing_before_it(
    region_data: tuple[pd.DataFrame, pd.DataFrame], runs: pd.DataFrame
) -> None:
    """Every run published after D's issue time replaced by nonsense: the model trained up to D
    (weights, features, boosters) and every forecast issued up to D stay the same; forecasts
    issued after D move (the test bites)."""
    daily, _ = region_data
    daily = daily[daily["day"] <= "2015-03-31"]
    d = pd.Timestamp("2014-12-31")
    poisoned = runs.copy()
    late = poisoned["issued_at"] > issue_cutoff(pd.DatetimeIndex([d]))[0]
    poisoned.loc[late, "value"] = 5e4
    clean_g, poisoned_g = _members(runs, daily), _members(poisoned, daily)
    # PM2.5, the pollutant the runs carry: the models of the others read no guidance
    fit = {"train_end": d, "config": SMALL, "pollutants": ["PM2.5"]}
    a, meta_a = train_bundle(daily, None, **fit, guidance=clean_g)
    b, _ = train_bundle(daily, None, **fit, guidance=poisoned_g)
    assert any(c.startswith("g_mos_") for c in meta_a["features"]["PM2.5"])
    assert a["lightgbm"].texts() == b["lightgbm"].texts()
    assert a["lightgbm"].calibration() == b["lightgbm"].calibration()
    grid = complete_grid(daily, None)
    before = list(pd.date_range("2014-12-01", d, freq="D"))
    after = list(pd.date_range(d + pd.Timedelta(days=1), "2015-01-31", freq="D"))
    fa = a["lightgbm"].predict(grid, before, [1, 2], guidance=clean_g)
    fb = b["lightgbm"].predict(grid, before, [1, 2], guidance=poisoned_g)
    pd.testing.assert_frame_equal(fa, fb)
    ga = a["lightgbm"].member_forecasts(grid, after, [1, 2], guidance=clean_g)
    gb = b["lightgbm"].member_forecasts(grid, after, [1, 2], guidance=poisoned_g)
    assert not ga["value"].equals(gb["value"])  # the poison reaches later issue days


def test_the_learned_model_with_guidance_features_beats_it_without(
    region_data: tuple[pd.DataFrame, pd.DataFrame], runs: pd.DataFrame
) -> None:
    """A guidance that knows the target day (biased 30 %, noise 10 %): as features the learned
    model reads it and its own RMSE falls; the backtest scores the learned model beside."""
    daily, _ = region_data
    # PM2.5 alone, the pollutant the runs carry and the assertion reads
    daily = daily.loc[daily["day"] <= "2015-03-31", ["city", "day", "PM2.5"]]
    guidance = guidance_forecasts(
        runs, daily, list(pd.date_range("2013-06-01", "2015-03-29", freq="D")), SMALL.leads
    )
    rmse = {}
    for features in (False, True):
        res = backtest(
            daily,
            None,
            test_from="2015-01-01",
            test_to="2015-03-31",
            config=replace(SMALL, guidance_features=features),
            guidance=guidance,
            learned_member="learned",
        )
        rmse[features] = res.scores.pivot(index="lead", columns="model", values="pm25_rmse")
    assert {"learned", "lightgbm", "mos", "guidance"} <= set(rmse[True].columns)
    assert (rmse[True]["learned"] < 0.8 * rmse[False]["learned"]).all(), rmse


def test_the_anomaly_member_is_climatology_without_skill_and_damps_a_lasting_anomaly() -> None:
    """Damped persistence of the anomaly: a year 40 % cleaner than the climatology is carried
    over (β near 1 for the slow anomaly); a pure-noise anomaly gets β = 0, i.e. climatology."""
    rng = np.random.default_rng(2)
    clim = np.full(400, 80.0)
    observed = 0.6 * clim * np.exp(0.2 * rng.standard_normal(400))
    slow = np.full(400, np.log1p(48.0) - np.log1p(80.0))  # the trailing mean's anomaly
    noise = rng.standard_normal(400)
    beta = fit_anomaly_betas(np.column_stack([noise, slow]), observed, clim)
    assert beta[0] == pytest.approx(0.0, abs=0.05) and beta[1] == pytest.approx(1.0, abs=0.1)
    fc = apply_anomaly(clim, np.column_stack([noise, slow]), beta)
    assert np.sqrt(np.mean((fc - observed) ** 2)) < 0.5 * np.sqrt(np.mean((clim - observed) ** 2))
    np.testing.assert_allclose(apply_anomaly(clim, np.column_stack([noise, slow]), (0, 0)), clim)
