"""tests/classify.py: the rules that keep the quick subset (``pytest -m "not slow"``) honest."""

from __future__ import annotations

import pandas as pd
import pytest

from classify import CPU_PROPERTY, PROCESS_CALLS, TRAINING_CALLS, _calls, heavy_quick_tests
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


def _report(nodeid: str, when: str, cpu_s: list[float], slow: bool = False) -> pytest.TestReport:
    return pytest.TestReport(
        nodeid,
        (nodeid, None, nodeid),
        {"slow": 1} if slow else {},
        "passed",
        None,
        when,
        user_properties=[(CPU_PROPERTY, cpu) for cpu in cpu_s],
    )


def test_the_summary_names_the_quick_tests_over_their_cpu_budget() -> None:
    stats = {
        "passed": [_report("t.py::heavy", "call", [0.5, 2.0])],
        "": [
            _report("t.py::heavy", "teardown", [0.5, 2.0, 0.1]),  # the three phases: 2.6 s
            _report("t.py::light", "teardown", [0.1, 1.0, 0.1]),
            _report("t.py::heavier", "teardown", [3.0, 1.0, 0.0]),
            _report("t.py::slow_one", "teardown", [9.0, 9.0, 9.0], slow=True),
        ],
    }
    assert heavy_quick_tests(stats, budget_s=2.0) == [(4.0, "t.py::heavier"), (2.6, "t.py::heavy")]
