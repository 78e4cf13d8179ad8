"""Verification scores on hand-computed examples (DB32/T 4678-2024 §6; TS/POD/FAR)."""

from __future__ import annotations

import math

import pytest

from ecobasin.forecast.verify import (
    continuous_scores,
    event_scores,
    level_accuracy,
    primary_accuracy,
    range_hit_rate,
    skill_scores,
    within_one_level,
)


def test_level_accuracy_and_within_one_level() -> None:
    forecast, observed = [1, 2, 3, 4], [1, 3, 3, 6]
    assert level_accuracy(forecast, observed) == 0.5  # days 1 and 3
    assert within_one_level(forecast, observed) == 0.75  # 4 vs 6 is two levels off


def test_missing_levels_are_left_out() -> None:
    assert level_accuracy([1, 0, 2], [1, 2, float("nan")]) == 1.0


def test_range_hit_rate_includes_bounds() -> None:
    assert range_hit_rate([50, 80, 120], [40, 81, 100], [60, 90, 120]) == pytest.approx(2 / 3)


def test_primary_accuracy_counts_days_above_50_and_ties() -> None:
    forecast = ["PM2.5", "PM10", "", "O3_8h"]
    observed = ["PM2.5", "PM2.5,PM10", "PM2.5", ""]
    # day 4 (AQI 40) has no primary pollutant and is not scored; day 3's empty forecast misses
    assert primary_accuracy(forecast, observed, [120, 80, 70, 40]) == pytest.approx(2 / 3)


def test_continuous_scores() -> None:
    s = continuous_scores([1, 2, 3, float("nan")], [1, 1, 1, 5])
    assert s["rmse"] == pytest.approx(math.sqrt(5 / 3))
    assert s["mae"] == 1.0
    assert s["bias"] == 1.0
    assert s["n"] == 3


def test_event_scores_pod_far_ts() -> None:
    forecast = [120, 90, 150, 80, 110]
    observed = [130, 105, 90, 70, 101]
    e = event_scores(forecast, observed, 100)
    assert (e["hits"], e["misses"], e["false_alarms"]) == (2, 1, 1)
    assert e["pod"] == pytest.approx(2 / 3)
    assert e["far"] == pytest.approx(1 / 3)
    assert e["ts"] == 0.5


def test_event_threshold_is_strict_and_undefined_scores_are_nan() -> None:
    e = event_scores([100, 100], [100, 50], 100)
    assert (e["hits"], e["misses"], e["false_alarms"]) == (0, 0, 0)
    assert math.isnan(e["pod"]) and math.isnan(e["far"]) and math.isnan(e["ts"])


def test_skill_scores_compare_each_lead_with_the_reference_of_that_lead() -> None:
    import pandas as pd

    scores = pd.DataFrame(
        {
            "model": ["lightgbm", "persistence", "climatology"] * 2,
            "lead": [1, 1, 1, 2, 2, 2],
            "pm25_rmse": [10.0, 20.0, 40.0, 30.0, 30.0, 20.0],
        }
    )
    got = skill_scores(scores).set_index(["model", "lead"])
    assert got.loc[("lightgbm", 1), "skill_pm25_persistence"] == pytest.approx(0.75)
    assert got.loc[("lightgbm", 1), "skill_pm25_climatology"] == pytest.approx(1 - 1 / 16)
    assert got.loc[("lightgbm", 2), "skill_pm25_persistence"] == pytest.approx(0.0)
    assert got.loc[("lightgbm", 2), "skill_pm25_climatology"] == pytest.approx(1 - 9 / 4)
    assert got.loc[("persistence", 2), "skill_pm25_persistence"] == pytest.approx(0.0)
