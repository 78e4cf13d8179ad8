"""One forecast issue is stamped with the issue time its caller gives (no clock in the core)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd

from ecobasin.forecast.issue import forecast_frames
from ecobasin.forecast.models import GBMConfig, train_bundle

SMALL = GBMConfig(leads=(1, 2), rounds=20, num_leaves=7, use_met=False)


def test_the_issue_time_is_the_callers(region_data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    daily, _ = region_data
    issue_day = date(2014, 12, 31)
    models, meta = train_bundle(daily, None, train_end=issue_day, config=SMALL)
    issued = datetime(2015, 1, 1, 1, 30, tzinfo=UTC)
    args = (models, meta, daily, None, issue_day, "small", "tester")
    forecasts, _ = forecast_frames(*args, issued_at=issued)
    again, _ = forecast_frames(*args, issued_at=issued)
    assert set(forecasts["issued_at"]) == {issued}
    # the same inputs and issue time give the same rows: nothing depends on when it runs
    pd.testing.assert_frame_equal(forecasts, again)
    assert set(forecasts["lead"]) == {1, 2} and (forecasts["parameter"] == "AQI").any()
