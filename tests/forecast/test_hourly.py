"""Hourly forecasts to 72 hours (issue 21, item 3): floor on real data, consistency with the
daily forecast, O3 8-h maxima and peak hour, hourly AQI of both rule generations."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from ecobasin.forecast import hourly, verify
from ecobasin.standards.air_index import hourly_aqi


def synthetic_hourly(n_days: int = 500) -> pd.DataFrame:
    """One city's six pollutants with a fixed diurnal shape: O3 peaks at local 15:00, PM2.5 at
    night; day-to-day AR(1) levels (seeded)."""
    rng = np.random.default_rng(7)
    start = pd.Timestamp("2014-01-01 00:00")
    local = pd.date_range(start, periods=24 * n_days, freq="h")
    hour = local.hour.to_numpy()
    level = np.repeat(np.cumsum(rng.standard_normal(n_days)) * 0.05 + 1.0, 24).clip(0.3)
    shapes = {
        "PM2.5": 60 * (1 + 0.4 * np.cos(2 * np.pi * (hour - 22) / 24)),
        "PM10": 100 * (1 + 0.3 * np.cos(2 * np.pi * (hour - 21) / 24)),
        "O3": 80 * (1 + 0.8 * np.cos(2 * np.pi * (hour - 15) / 24)),
        "NO2": 40 * (1 + 0.3 * np.cos(2 * np.pi * (hour - 20) / 24)),
        "CO": 1.0 * (1 + 0.2 * np.cos(2 * np.pi * (hour - 21) / 24)),
        "SO2": 10 * (1 + 0.2 * np.cos(2 * np.pi * (hour - 11) / 24)),
    }
    end_utc = (local + pd.Timedelta(hours=1)).tz_localize("Asia/Shanghai").tz_convert("UTC")
    parts = []
    for pollutant, shape in shapes.items():
        noise = 1 + 0.05 * rng.standard_normal(local.size)
        value = np.round(shape * level * noise, 1 if pollutant == "CO" else 0)
        parts.append(
            pd.DataFrame(
                {"city": "510100", "time": end_utc, "pollutant": pollutant, "value": value}
            )
        )
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def synthetic_forecast() -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = synthetic_hourly()
    model = hourly.fit_hourly(frame, train_end=date(2015, 3, 1), validation_days=120)
    days = pd.date_range("2015-03-01", "2015-04-30").date
    return frame, hourly.forecast_hourly(model, frame, list(days))


def test_every_pollutant_has_72_hours_with_ranges(synthetic_forecast: tuple) -> None:
    _, forecast = synthetic_forecast
    plain = forecast[forecast["pollutant"].isin(hourly.HOURLY_POLLUTANTS)]
    counts = plain.groupby(["pollutant", "issue_day"])["lead_hour"].nunique()
    assert set(counts.index.get_level_values(0)) == set(hourly.HOURLY_POLLUTANTS)
    assert (counts == hourly.LEADS).all()
    assert (plain["lower"] <= plain["value"]).all() and (plain["value"] <= plain["upper"]).all()
    first = plain[plain["lead_hour"] == 1]
    assert (first["local_hour"] == 0).all()  # lead 1 = local 00:00–01:00 of D+1
    assert (
        (pd.to_datetime(first["local_day"]) - pd.to_datetime(first["issue_day"]))
        .dt.days.eq(1)
        .all()
    )


def test_o3_peak_hour_and_8h_maximum(synthetic_forecast: tuple) -> None:
    _, forecast = synthetic_forecast
    summary = hourly.daily_summary(forecast)
    o3 = summary[summary["pollutant"] == "O3"]
    assert o3["peak_hour"].between(14, 16).mean() > 0.9  # the O3 peak of the data is at 15:00
    errors = verify.peak_hour_error(summary)
    assert list(errors["lead_day"]) == [1, 2, 3]
    assert (errors["peak_hour_mae"] <= 1.5).all()
    # the 8-h maximum is the largest window ending 08…24 of the day (HJ 663 §4.2), by hand
    one = forecast[(forecast["pollutant"] == "O3") & (forecast["issue_day"] == date(2015, 4, 1))]
    path = one.sort_values("lead_hour")["value"].to_numpy()
    day2 = path[24:48]
    by_hand = max(day2[k : k + 8].mean() for k in range(17))
    row = summary[
        (summary["pollutant"] == "O3_8h")
        & (summary["issue_day"] == date(2015, 4, 1))
        & (summary["lead_day"] == 2)
    ]
    assert row["value"].iloc[0] == pytest.approx(by_hand)


def test_daily_values_from_the_hourly_path_agree_with_the_daily_forecast() -> None:
    frame = synthetic_hourly()
    pm = hourly.hour_matrix(frame, "510100", "PM2.5")
    # a daily forecast that is 30 % high: the hourly path must still stay within the tolerance
    means = np.nanmean(pm.values, axis=1) * 1.3
    table = pd.DataFrame({k: np.roll(means, -k) for k in (1, 2, 3)}, index=pm.days)
    daily = {("510100", "PM2.5"): table}
    model = hourly.fit_hourly(
        frame,
        train_end=date(2015, 3, 1),
        validation_days=120,
        pollutants=["PM2.5"],
        daily_forecasts=daily,
    )
    days = list(pd.date_range("2015-03-01", "2015-04-30").date)
    forecast = hourly.forecast_hourly(model, frame, days, daily_forecasts=daily)
    summary = hourly.daily_summary(forecast)
    summary = summary[summary["pollutant"] == "PM2.5"]
    expected = [table.loc[pd.Timestamp(r.issue_day), r.lead_day] for r in summary.itertuples()]
    gap = summary["value"].to_numpy() / np.asarray(expected) - 1
    assert np.abs(gap).max() <= hourly.DAILY_TOLERANCE + 1e-9
    assert np.abs(gap).max() > hourly.DAILY_TOLERANCE / 2  # the bias was there to correct


def test_hourly_aqi_of_both_generations_through_the_standards_engine(
    synthetic_forecast: tuple,
) -> None:
    _, forecast = synthetic_forecast
    table = hourly.hourly_aqi_table(forecast)
    assert set(table["rule_set"]) == {"HJ633-2012", "HJ633-2026"}
    new = table[table["rule_set"] == "HJ633-2026"]
    assert len(new) == forecast["issue_day"].nunique() * hourly.LEADS
    valid = new.dropna(subset=["aqi", "aqi_lower", "aqi_upper"])
    assert len(valid) == len(new)
    assert (valid["aqi_lower"] <= valid["aqi"]).all() and (valid["aqi"] <= valid["aqi_upper"]).all()
    # one hour recomputed directly from its concentrations (HJ 633-2026 §4.2.3)
    first = forecast[(forecast["issue_day"] == date(2015, 3, 1)) & (forecast["lead_hour"] == 1)]
    conc = first.set_index("pollutant")["value"]
    direct = hourly_aqi(
        pd.DataFrame(
            {
                "time": [first["time"].iloc[0]],
                **{f"{p}_1h": [conc[p]] for p in hourly.HOURLY_POLLUTANTS},
            }
        ),
        rule_set="HJ633-2026",
    )
    ours = new[(new["issue_day"] == date(2015, 3, 1)) & (new["lead_hour"] == 1)]
    assert int(ours["aqi"].iloc[0]) == int(direct["aqi"].iloc[0])
    old = table[table["rule_set"] == "HJ633-2012"]
    assert old["aqi"].notna().all()  # the 24-h moving means are filled by the issue day


@pytest.mark.shared_data
@pytest.mark.slow
def test_pm25_beats_hourly_persistence_from_hour_6_on_real_chengdu(
    chengdu_hourly: pd.DataFrame,
) -> None:
    """The issue-21 floor on a smaller real slice: Chengdu, issue days of 2015 H1."""
    model = hourly.fit_hourly(chengdu_hourly, train_end=date(2015, 1, 1), pollutants=["PM2.5"])
    days = list(pd.date_range("2015-01-01", "2015-06-30").date)
    forecast = hourly.forecast_hourly(model, chengdu_hourly, days)
    scores = verify.hourly_scores(forecast)
    pm = scores[scores["pollutant"] == "PM2.5"].set_index("lead_hour")
    assert len(pm) == hourly.LEADS and (pm["n"] > 150).all()
    late = pm.loc[6:]
    assert (late["rmse"] < late["persistence_rmse"]).all(), late[
        late["rmse"] >= late["persistence_rmse"]
    ]


def test_model_guidance_and_its_mos_enter_the_blend() -> None:
    """Hourly guidance = the truth + 25 µg/m³ bias + 1 µg/m³ noise (simulated): the MOS member removes
    the bias, the blend leans on it and beats the blend without guidance."""
    frame = synthetic_hourly()
    pm = hourly.hour_matrix(frame, "510100", "PM2.5")
    rng = np.random.default_rng(3)
    truth = np.vstack([pm.values[1:], np.full((3, 24), np.nan)])
    following = np.hstack([truth[:-2], truth[1:-1], truth[2:]])[: len(pm.days)]
    runs = following + 25 + rng.standard_normal(following.shape)
    guidance = {("510100", "PM2.5"): pd.DataFrame(runs, index=pm.days)}
    days = list(pd.date_range("2015-03-01", "2015-04-30").date)
    fit = {"train_end": date(2015, 3, 1), "validation_days": 120, "pollutants": ["PM2.5"]}
    plain = hourly.fit_hourly(frame, **fit)
    guided = hourly.fit_hourly(frame, **fit, guidance=guidance)
    assert guided.mos_bias["PM2.5"] == pytest.approx(np.full(72, 25.0), abs=2.0)
    assert np.mean([w.get("mos", 0) for w in guided.weights["PM2.5"]]) > 0.3
    without = verify.hourly_scores(hourly.forecast_hourly(plain, frame, days))
    with_mos = verify.hourly_scores(hourly.forecast_hourly(guided, frame, days, guidance=guidance))
    assert (with_mos["rmse"].to_numpy() < without["rmse"].to_numpy()).all()
