"""Models on small synthetic data: training, skill over persistence, save/load by payload."""

from __future__ import annotations

import copy
import json
from dataclasses import asdict, replace

import numpy as np
import pandas as pd
import pytest

from ecobasin.forecast.backtest import backtest
from ecobasin.forecast.blend import quantile_columns
from ecobasin.forecast.features import complete_grid
from ecobasin.forecast.models import (
    GBMConfig,
    bundle_from_payload,
    bundle_payload,
    from_target,
    linear_quantiles,
    to_target,
    train_bundle,
)

SMALL = GBMConfig(leads=(1, 2), rounds=60, num_leaves=7)


@pytest.fixture(scope="module")
def trained(small_region_bundle: tuple[dict, dict]) -> tuple[dict, dict]:
    """``train_bundle(daily, met, train_end="2014-12-31", config=SMALL)`` on the synthetic
    region (tests/forecast/conftest.py, shared with test_blend.py's tests of the same fit)."""
    models, meta = small_region_bundle
    assert meta["config"] == asdict(SMALL)  # the fit these tests mean
    return models, meta


def test_metadata_records_span_features_and_config(trained: tuple[dict, dict]) -> None:
    _, meta = trained
    assert meta["trained_from"] == "2013-01-01" and meta["trained_to"] == "2014-12-31"
    assert meta["cities"] == ["510100", "510600"]
    assert meta["pollutants"] == ["PM2.5", "PM10", "O3_8h"]
    assert meta["with_meteorology"] is True
    assert {"wind_speed_t", "humidity_t", "PM2.5_lag0", "t_holiday"} <= set(
        meta["features"]["PM2.5"]
    )
    assert meta["config"]["threads"] == 1
    held_out = meta["scores"]["PM2.5|1"]
    assert held_out["n"] > 50 and held_out["rmse_model"] < held_out["rmse_persistence"]


def test_saved_payload_loads_and_predicts_the_same(
    trained: tuple[dict, dict], region_data: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    models, meta = trained
    payload = json.loads(json.dumps(bundle_payload(models, meta)))  # as stored: text only
    loaded, meta2 = bundle_from_payload(payload)
    assert meta2 == json.loads(json.dumps(meta))
    grid = complete_grid(*region_data)
    days = pd.date_range("2015-03-01", periods=5)
    for name in ("lightgbm", "persistence", "climatology"):
        a = models[name].predict(grid, days, [1, 2])
        b = loaded[name].predict(grid, days, [1, 2])
        assert a[["city", "issue_day", "lead", "pollutant"]].equals(
            b[["city", "issue_day", "lead", "pollutant"]]
        )
        np.testing.assert_allclose(a[["value", "lower", "upper"]], b[["value", "lower", "upper"]])
        assert (a["lower"] <= a["value"]).all() and (a["value"] <= a["upper"]).all()


def test_the_level_gates_choice_is_saved_and_issued_after_loading(
    trained: tuple[dict, dict], region_data: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    """Persistence's level (the gate's default) and a distribution's, per pollutant and lead,
    survive the stored payload: the loaded model issues the same quantile columns (levels)."""
    models, meta = trained
    gbm = copy.deepcopy(models["lightgbm"])
    gbm.level_source[("PM2.5", 1)] = ("persistence", [0.0] * 19)
    payload = json.loads(json.dumps(bundle_payload({**models, "lightgbm": gbm}, meta)))
    loaded = bundle_from_payload(payload)[0]["lightgbm"]
    assert loaded.level_source == gbm.level_source
    assert {m for m, _ in loaded.level_source.values()} >= {"persistence", "blend"}
    grid = complete_grid(*region_data)
    days = pd.date_range("2015-03-01", periods=5)
    a, b = gbm.predict(grid, days, [1, 2]), loaded.predict(grid, days, [1, 2])
    np.testing.assert_allclose(a[quantile_columns()], b[quantile_columns()])
    pm = a[(a["pollutant"] == "PM2.5") & (a["lead"] == 1)]
    assert (pm["q05"] == pm["q95"]).all()  # persistence's level: no spread


def test_a_payload_of_another_format_is_refused(trained: tuple[dict, dict]) -> None:
    payload = bundle_payload(*trained)
    meta = json.loads(payload["metadata.json"])
    payload["metadata.json"] = json.dumps({**meta, "format": 99})
    with pytest.raises(ValueError, match="format 99"):
        bundle_from_payload(payload)


def test_target_transforms_invert() -> None:
    y, anchor = np.array([0.0, 10.0, 250.0]), np.array([5.0, 10.0, 100.0])
    for kind in ("level", "delta", "log_ratio"):
        np.testing.assert_allclose(from_target(kind, to_target(kind, y, anchor), anchor), y)
    with pytest.raises(ValueError, match="unknown target"):
        to_target("ratio", y, anchor)


def test_linear_quantiles_are_numpys_bit_for_bit() -> None:
    """The climatology's quantiles of its day-of-year windows: exactly ``np.quantile``'s (sizes
    from the smallest window kept, rounded values with ties, both interpolation branches, the
    ends)."""
    rng = np.random.default_rng(9)
    for n in [5, 6, 7, 31, 62, 93, 186, 1000]:
        for decimals in (0, 1, 3):
            ordered = np.sort(rng.gamma(2.0, 40.0, n).round(decimals))
            for qs in [(0.2, 0.8), (0.1, 0.9), (0.005, 0.995), (0.0, 1.0), (0.37, 0.5)]:
                expected = [float(v) for v in np.quantile(ordered, qs)]
                assert linear_quantiles(ordered, qs) == expected, (n, decimals, qs)


def test_backtest_with_weather_beats_persistence_and_scores_every_model(
    region_data: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    daily, met = region_data
    # PM2.5 alone, the pollutant whose scores are read: a third of the fits
    pm25 = daily[["city", "day", "PM2.5"]]
    result = backtest(pm25, met, test_from="2015-01-01", test_to="2015-05-31", config=SMALL)
    s = result.scores.set_index(["model", "lead"])
    assert set(s.index.get_level_values("model")) == {"lightgbm", "persistence", "climatology"}
    # the synthetic PM2.5 depends on the target day's wind: known weather must help clearly
    assert s.loc[("lightgbm", 1), "pm25_rmse"] < 0.9 * s.loc[("persistence", 1), "pm25_rmse"]
    assert s.loc[("lightgbm", 1), "n"] == 2 * 151  # two cities, every day of the window
    assert result.metadata["with_meteorology"] is True


def test_backtest_runs_without_weather_and_says_so(
    region_data: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    daily, _ = region_data
    # PM2.5 alone, the pollutant whose features are read: a third of the fits
    result = backtest(
        daily[["city", "day", "PM2.5"]],
        None,
        test_from="2015-01-01",
        test_to="2015-02-28",
        config=replace(SMALL),
    )
    assert result.metadata["with_meteorology"] is False
    assert not any(c.endswith("_t") for c in result.metadata["features"]["PM2.5"])
    assert result.forecasts["target_day"].min() == pd.Timestamp("2015-01-01")


def test_training_data_never_reaches_into_the_test_window(
    region_data: tuple[pd.DataFrame, pd.DataFrame], trained: tuple[dict, dict]
) -> None:
    """Poisoning the test window must not change the model trained before it (``trained``:
    the same training on the clean data)."""
    daily, met = region_data
    poisoned = daily.copy()
    poisoned.loc[poisoned["day"] >= "2015-01-01", "PM2.5"] = 5000.0
    a, _ = trained
    b, _ = train_bundle(poisoned, met, train_end="2014-12-31", config=SMALL)
    assert a["lightgbm"].texts() == b["lightgbm"].texts()


def test_rolling_origin_refits_per_block_without_gaps(
    region_data: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    daily, met = region_data
    # PM2.5 alone, the pollutant whose forecasts are read: a third of the fits
    result = backtest(
        daily[["city", "day", "PM2.5"]],
        met,
        test_from="2015-01-01",
        test_to="2015-02-19",
        config=SMALL,
        refit_every=25,
    )
    gbm = result.forecasts[result.forecasts["model"] == "lightgbm"]
    days = pd.date_range("2015-01-01", "2015-02-19")
    for lead in (1, 2):
        got = gbm[(gbm["lead"] == lead) & (gbm["pollutant"] == "PM2.5")]
        assert sorted(got["target_day"].unique()) == list(days)  # each day once per city
        assert len(got) == 2 * len(days)
    # the second block was trained on targets up to the day before it
    assert result.metadata["trained_to"] == "2015-01-25"
    assert result.metadata["refit_every"] == 25
