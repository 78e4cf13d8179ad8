"""One forecast issue is stamped with the issue time its caller gives (no clock in the core)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from ecobasin.forecast.issue import forecast_frames


def test_the_issue_time_is_the_callers(
    region_data: tuple[pd.DataFrame, pd.DataFrame],
    small_region_bundle: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    daily, met = region_data
    issue_day = date(2014, 12, 31)
    # the run's shared fit, trained up to the issue day (tests/forecast/conftest.py)
    models, meta = small_region_bundle
    assert meta["trained_to"] == str(issue_day)
    issued = datetime(2015, 1, 1, 1, 30, tzinfo=UTC)
    args = (models, meta, daily, met, issue_day, "small", "tester")
    forecasts, _ = forecast_frames(*args, issued_at=issued)
    again, _ = forecast_frames(*args, issued_at=issued)
    assert set(forecasts["issued_at"]) == {issued}
    # the same inputs and issue time give the same rows: nothing depends on when it runs
    pd.testing.assert_frame_equal(forecasts, again)
    assert set(forecasts["lead"]) == {1, 2} and (forecasts["parameter"] == "AQI").any()
