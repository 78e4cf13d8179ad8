"""tests/classify.py: the rules that keep the quick subset (``pytest -m "not slow"``) honest."""

from __future__ import annotations

import pandas as pd

from classify import PROCESS_CALLS, TRAINING_CALLS, _calls
from ecobasin.forecast.blend import fit_weights
from ecobasin.forecast.models import train_bundle


def _fits_the_bundle(daily: pd.DataFrame) -> None:
    train_bundle(daily, None, train_end="2014-12-31")


def _asks_a_helper_that_fits(daily: pd.DataFrame) -> None:
    _fits_the_bundle(daily)


def _weighs_given_members(members: pd.DataFrame, truth: pd.Series) -> None:
    fit_weights(members, truth)


def test_training_the_forecast_models_is_found_in_the_code_and_through_helpers() -> None:
    assert _calls(_fits_the_bundle, TRAINING_CALLS)
    assert _calls(_asks_a_helper_that_fits, TRAINING_CALLS)
    # the blend's weights are a least-squares fit of given forecasts, no model training
    assert not _calls(_weighs_given_members, TRAINING_CALLS)
    assert not _calls(_fits_the_bundle, PROCESS_CALLS)
