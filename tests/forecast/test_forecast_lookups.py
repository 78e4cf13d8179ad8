"""The forecast models' lookups: guidance members aligned as a left merge aligns them, and the
climatology's means following a new fit."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ecobasin.forecast.models import Climatology, guidance_members


def _guidance() -> pd.DataFrame:
    """Two members of PM2.5 at lead 1 for two cities, one key given twice (the last counts)."""
    return pd.DataFrame(
        {
            "city": ["510100", "510100", "510600", "510100", "510600"],
            "issue_day": pd.to_datetime(
                ["2025-03-01", "2025-03-02", "2025-03-01", "2025-03-01", "2025-03-02"]
            ),
            "lead": 1,
            "pollutant": "PM2.5",
            "member": ["cmaq_raw", "cmaq_raw", "cmaq_raw", "cmaq_mos", "cmaq_raw"],
            "value": [40.0, 42.0, 55.0, 38.0, 57.0],
        }
    )


def test_guidance_members_align_with_the_keys_and_leave_the_rest_missing() -> None:
    guidance = pd.concat([_guidance(), _guidance().iloc[[0]].assign(value=41.0)], ignore_index=True)
    keys = pd.DataFrame(
        {
            "city": [510600, 510100, 511100, 510100],
            "issue_day": pd.to_datetime(["2025-03-02", "2025-03-01", "2025-03-01", "2025-03-03"]),
        }
    )
    members = guidance_members(guidance, keys, "PM2.5", 1)
    assert list(members) == ["cmaq_mos", "cmaq_raw"]
    np.testing.assert_array_equal(members["cmaq_raw"], [57.0, 41.0, np.nan, np.nan])
    np.testing.assert_array_equal(members["cmaq_mos"], [np.nan, 38.0, np.nan, np.nan])
    assert guidance_members(guidance, keys, "PM2.5", 2) == {}


def test_the_climatology_answers_from_its_latest_fit() -> None:
    index = pd.MultiIndex.from_product(
        [["510100"], pd.date_range("2025-01-01", periods=60)], names=["city", "day"]
    )
    grid = pd.DataFrame({"PM2.5": np.full(len(index), 50.0)}, index=index)
    climatology = Climatology().fit(grid, "2025-03-01", [1], ["PM2.5"])
    cities, days = pd.Series(["510100", "511100"]), pd.Series(pd.to_datetime(["2025-01-20"] * 2))
    np.testing.assert_array_equal(climatology.values("PM2.5", cities, days), [50.0, 50.0])
    climatology.fit(grid.assign(**{"PM2.5": 80.0}), "2025-03-01", [1], ["PM2.5"])
    np.testing.assert_array_equal(climatology.values("PM2.5", cities, days), [80.0, 80.0])
    assert np.isnan(climatology.values("O3", cities, days)).all()
