"""Model guidance as forecast members (issue 21 item 2): runs as known, daily values, MOS.

The model of these tests is tests/forecast/test_met_forecast.py: a poisoned input (a run
published one second after the issue time, observations after the issue day) must change
nothing, and each of those tests fails when the rule it guards is removed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecobasin.demo.ctm_sim import simulate_city_guidance
from ecobasin.forecast.features import issue_cutoff
from ecobasin.forecast.guidance import Mos, daily_guidance, runs_as_known


def _run(issued: str, start: str, hours: int, value: float, city: str = "510100") -> pd.DataFrame:
    valid = pd.date_range(
        pd.Timestamp(start, tz="UTC") + pd.Timedelta(hours=1), periods=hours, freq="h"
    )
    return pd.DataFrame(
        {
            "city": city,
            "issued_at": pd.Timestamp(issued, tz="UTC"),
            "valid_time": valid,
            "pollutant": "PM2.5",
            "value": value,
        }
    )


def test_a_run_published_after_the_issue_time_is_never_read() -> None:
    day = pd.Timestamp("2015-03-01")
    cutoff = issue_cutoff(pd.DatetimeIndex([day]))[0]  # 24:00 CST of D = 16:00 UTC
    on_time = _run(str(cutoff.tz_localize(None)), "2015-03-01 00:00", 100, 50.0)
    late = _run(
        str((cutoff + pd.Timedelta(seconds=1)).tz_localize(None)), "2015-03-01 12:00", 100, 9e5
    )
    clean = daily_guidance(runs_as_known(on_time, [day]), [1, 2, 3])
    poisoned = daily_guidance(runs_as_known(pd.concat([on_time, late]), [day]), [1, 2, 3])
    pd.testing.assert_frame_equal(clean, poisoned)
    assert clean["value"].tolist() == [50.0, 50.0, 50.0]
    # and the next day it is the latest known run
    later = daily_guidance(
        runs_as_known(pd.concat([on_time, late]), [day + pd.Timedelta(days=1)]), [1]
    )
    assert later["value"].tolist() == [9e5]


def test_daily_values_follow_the_validity_rules() -> None:
    # a run from 16 UTC on 28 Feb: its hours ending 17 UTC 28 Feb … cover CST 1 March 01:00 onwards
    hourly = _run("2015-02-28 16:00", "2015-02-28 16:00", 24 + 19, 0.0)
    hourly["value"] = np.arange(len(hourly), dtype=float)
    out = daily_guidance(runs_as_known(hourly, [pd.Timestamp("2015-02-28")]), [1, 2])
    # D + 1 = 1 March has its 24 hours (values 0 … 23); 2 March only 19: no daily value
    assert out[["lead", "target_day", "value"]].values.tolist() == [
        [1, pd.Timestamp("2015-03-01"), 11.5]
    ]
    o3 = hourly.assign(pollutant="O3", value=np.where(np.arange(len(hourly)) % 24 < 8, 100.0, 20.0))
    got = daily_guidance(runs_as_known(o3, [pd.Timestamp("2015-02-28")]), [1])
    assert got["pollutant"].tolist() == ["O3_8h"] and got["value"].tolist() == [100.0]


def _synthetic(days: int = 200, bias: float = 1.5) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(3)
    issue = pd.date_range("2015-01-01", periods=days, freq="D")
    truth = np.exp(
        3.5 + 0.5 * np.sin(np.arange(days + 3) / 9) + 0.2 * rng.standard_normal(days + 3)
    )
    rows = []
    for i, d in enumerate(issue):
        for lead in (1, 2):
            value = bias * truth[i + lead] * np.exp(0.05 * rng.standard_normal())
            rows.append(
                {
                    "city": "510100",
                    "issue_day": d,
                    "lead": lead,
                    "target_day": d + pd.Timedelta(days=lead),
                    "pollutant": "PM2.5",
                    "value": value,
                    "lower": value,
                    "upper": value,
                    "model": "guidance",
                }
            )
    observed = pd.DataFrame(
        {"city": "510100", "day": pd.date_range("2015-01-01", periods=days + 3), "PM2.5": truth}
    )
    return pd.DataFrame(rows), observed


def test_mos_removes_a_multiplicative_bias_and_never_reads_the_future() -> None:
    raw, observed = _synthetic()
    mos = Mos().correct(raw, observed)
    pairs = mos.merge(observed.rename(columns={"day": "target_day"}), on="target_day")
    late = pairs[pairs["issue_day"] >= pd.Timestamp("2015-03-01")]
    ratio = (late["value"] / late["PM2.5"]).median()
    assert ratio == pytest.approx(1.0, abs=0.05)  # raw is 1.5× too high
    # poison every observation after 1 May: MOS of issue days up to 1 May must not move
    poisoned = observed.copy()
    poisoned.loc[poisoned["day"] > pd.Timestamp("2015-05-01"), "PM2.5"] = 1e6
    again = Mos().correct(raw, poisoned)
    cut = mos["issue_day"] <= pd.Timestamp("2015-05-01")
    pd.testing.assert_frame_equal(
        mos[cut].reset_index(drop=True), again[cut].reset_index(drop=True)
    )
    assert not mos[~cut].reset_index(drop=True).equals(again[~cut].reset_index(drop=True))
    # ranges bracket the value
    assert (mos["lower"] <= mos["value"]).all() and (mos["value"] <= mos["upper"]).all()


def test_the_mos_range_is_the_quantiles_of_the_windows_residuals() -> None:
    """Each MOS row: the fit on the latest ``window`` known pairs (no prior: least squares in
    log space), its range the centre plus the residuals' 20 % and 80 % quantiles (NumPy's
    linear method), from the residuals in any order."""
    raw, observed = _synthetic(days=90)
    raw = raw[raw["lead"] == 1].reset_index(drop=True)
    mos = Mos(window=30, prior=0.0).correct(raw, observed).set_index("issue_day")
    log_obs = np.log1p(observed.set_index("day")["PM2.5"])
    for issue in pd.date_range("2015-02-15", "2015-03-30", freq="9D"):
        pairs = raw[raw["target_day"] <= issue].tail(30)  # the latest 30 known pairs
        g = np.log1p(pairs["value"].to_numpy())
        y = log_obs.loc[pairs["target_day"]].to_numpy()
        slope, intercept = np.polyfit(g, y, 1)
        residuals = y - (intercept + slope * g)
        x = float(np.log1p(raw.loc[raw["issue_day"] == issue, "value"].iloc[0]))
        centre = intercept + slope * x
        lo, hi = np.quantile(residuals, [0.2, 0.8])
        row = mos.loc[issue]
        assert np.log1p(row["value"]) == pytest.approx(centre, rel=1e-9)
        assert np.log1p(row["lower"]) == pytest.approx(centre + lo, rel=1e-9)
        assert np.log1p(row["upper"]) == pytest.approx(centre + hi, rel=1e-9)


def _chengdu(data: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """City hourly and daily PM2.5 of Chengdu: mean of the two national stations (CST → UTC)."""
    raw = pd.read_csv(data / "chengdu_hourly_pm25_weather_2013_2015.csv.gz")
    local = pd.to_datetime(raw["datetime_local"])
    pm = raw[["PM_Caotangsi", "PM_Shahepu"]].mean(axis=1)
    # the data set labels an hour by its start; observations are stored by the hour's end
    end = (local + pd.Timedelta(hours=1)).dt.tz_localize("Asia/Shanghai").dt.tz_convert("UTC")
    hourly = pd.DataFrame({"city": "510100", "time": end, "pollutant": "PM2.5", "value": pm})
    hourly = hourly.dropna(subset=["value"])
    daily = (
        pd.DataFrame({"day": local.dt.normalize(), "PM2.5": pm})
        .groupby("day")["PM2.5"]
        .agg(["mean", "count"])
    )
    daily = daily[daily["count"] >= 20].rename(columns={"mean": "PM2.5"}).reset_index()
    return hourly, daily[["day", "PM2.5"]].assign(city="510100")


@pytest.mark.slow
def test_mos_beats_the_raw_simulated_guidance_at_every_lead_on_chengdu(shared_data: Path) -> None:
    hourly, daily = _chengdu(shared_data)
    issue_days = pd.date_range("2014-10-01", "2015-06-30", freq="D")
    cities = pd.DataFrame({"city": ["510100"], "lat": [30.66], "lon": [104.06]})
    runs = simulate_city_guidance(hourly, cities, issue_days)
    raw = daily_guidance(runs_as_known(runs, issue_days), range(1, 8))
    mos = Mos().correct(raw, daily)
    scored = pd.concat([raw, mos]).merge(
        daily.rename(columns={"day": "target_day", "PM2.5": "obs"}), on=["city", "target_day"]
    )
    scored = scored[scored["issue_day"] >= pd.Timestamp("2015-01-01")]
    rmse = (
        scored.assign(se=(scored["value"] - scored["obs"]) ** 2)
        .groupby(["lead", "model"])["se"]
        .mean()
        .pow(0.5)
        .unstack()
    )
    assert list(rmse.index) == list(range(1, 8))
    assert (rmse["mos"] < rmse["guidance"]).all(), rmse


def _good_guidance(daily: pd.DataFrame, leads: tuple[int, ...]) -> pd.DataFrame:
    """A model that knows the target day (noise 10 %) but is 40 % too high: raw and MOS."""
    rng = np.random.default_rng(11)
    rows = []
    truth = daily.set_index(["city", "day"])["PM2.5"]
    for (city, day), _ in truth.items():
        for lead in leads:
            target = day + pd.Timedelta(days=lead)
            if (city, target) not in truth.index:
                continue
            value = 1.4 * float(truth[(city, target)]) * float(np.exp(0.1 * rng.standard_normal()))
            rows.append({"city": city, "issue_day": day, "lead": lead, "target_day": target,
                         "pollutant": "PM2.5", "value": value, "lower": value, "upper": value,
                         "model": "guidance"})  # fmt: skip
    raw = pd.DataFrame(rows)
    return pd.concat([raw, Mos().correct(raw, daily)], ignore_index=True)


def test_the_backtest_blends_and_scores_guidance(
    region_data: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    from ecobasin.forecast.backtest import backtest
    from ecobasin.forecast.models import GBMConfig

    daily, _ = region_data
    config = GBMConfig(leads=(1, 2), rounds=60, num_leaves=7, use_met=False)
    # PM2.5 alone, the pollutant the guidance carries and the scores read: a third of the fits
    daily = daily[["city", "day", "PM2.5"]]
    guidance = _good_guidance(daily, config.leads)
    res = backtest(
        daily, None, test_from="2015-01-01", test_to="2015-06-30", config=config, guidance=guidance
    )
    rmse = res.scores.pivot(index="lead", columns="model", values="pm25_rmse")
    assert {"guidance", "mos", "lightgbm", "persistence", "climatology"} <= set(rmse.columns)
    assert (rmse["mos"] < rmse["guidance"]).all()
    # the blend leans on the good member: better than every baseline, close to MOS or better
    assert (rmse["lightgbm"] < rmse[["persistence", "climatology"]].min(axis=1)).all()
    assert (rmse["lightgbm"] <= 1.05 * rmse["mos"]).all(), rmse
    weights = {k: v["weights"] for k, v in res.metadata["scores"].items() if "weights" in v}
    assert any(w.get("mos", 0) > 0.3 for w in weights.values()), weights
