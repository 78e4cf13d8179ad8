"""suspect_rows (issue 12, Speed, ninth pass): the rows it does not flag pass every check of
validate_observations unchanged, so validating the flagged rows alone gives the same rejected
records, counts and missing cells as validating all of them, and the same good rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecobasin import catalog
from ecobasin.ingest.validate import (
    CANDIDATE_COLUMNS,
    TimeWindow,
    suspect_rows,
    validate_observations,
)

REGISTRY = catalog.parameters()
KNOWN = {"1431A", "1432A"}
T0 = pd.Timestamp("2021-12-31T16:00Z")
WINDOW = TimeWindow(now=datetime(2022, 1, 2, tzinfo=UTC), max_ahead=timedelta(hours=3))

_ROW = st.fixed_dictionaries(
    {
        "site_id": st.sampled_from(["1431A", "1431A", "1432A", "9999X", None]),
        "parameter": st.sampled_from(["PM2.5", "PM2.5", "CO", "SO2", "NOPE"]),
        "period": st.sampled_from(["1h", "1h", "instant"]),
        "time": st.one_of(
            st.integers(0, 5).map(lambda h: T0 + pd.Timedelta(hours=h)),
            st.sampled_from([pd.Timestamp("1990-01-01T00:00Z"), pd.Timestamp("2022-01-03T00:00Z")]),
        ),
        "value": st.sampled_from([35.0, 0.0, 12.5, -1.0, -0.0, 1e9, np.nan, np.inf, 2000.0]),
        "raw_value": st.sampled_from([None, "", "abc", "12,5", " NA "]),
        "unit": st.sampled_from([None, None, None, None, "mg/m³", "µg/m³", "furlong"]),
        "flag": st.sampled_from([None, "N", "D"]),
    }
)


def _frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    records = [{**row, "line": i + 2, "field": f"item {i}"} for i, row in enumerate(rows)]
    frame = pd.DataFrame(records, columns=list(CANDIDATE_COLUMNS))
    frame["time"] = pd.to_datetime(frame["time"], utc=True).astype("datetime64[us, UTC]")
    frame["value"] = frame["value"].astype("float64")
    return frame


def _arrays(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    return {
        "site_id": frame["site_id"].to_numpy(object),
        "parameter": frame["parameter"].to_numpy(object),
        "period": frame["period"].to_numpy(object),
        "micros": pd.DatetimeIndex(frame["time"]).as_unit("us").asi8,
        "value": frame["value"].to_numpy(np.float64),
        "unit": frame["unit"].astype(object).where(frame["unit"].notna(), None).to_numpy(object),
    }


def _sorted(good: pd.DataFrame) -> pd.DataFrame:
    good = good.astype({"site_id": object, "parameter": object, "period": object, "flag": object})
    good["flag"] = good["flag"].where(good["flag"].notna(), None)
    return good.sort_values(list(good.columns), ignore_index=True, na_position="first")


def _same_both_ways(rows: list[dict[str, object]]) -> np.ndarray:
    frame = _frame(rows)
    whole = validate_observations(frame, KNOWN, REGISTRY, time_window=WINDOW)
    suspect = suspect_rows(_arrays(frame), KNOWN, REGISTRY, time_window=WINDOW)
    part = validate_observations(
        frame[suspect].reset_index(drop=True), KNOWN, REGISTRY, time_window=WINDOW
    )
    pd.testing.assert_frame_equal(part.rejected, whole.rejected)
    assert (part.counts, part.missing) == (whole.counts, whole.missing)
    columns = list(whole.good.columns)
    clean = frame.loc[~suspect, columns]
    pd.testing.assert_frame_equal(
        _sorted(pd.concat([clean, part.good], ignore_index=True)), _sorted(whole.good)
    )
    return suspect


@pytest.mark.slow  # ≈ 10 s of CPU
@settings(max_examples=150, deadline=None)
@given(rows=st.lists(_ROW, min_size=1, max_size=40))
def test_validating_the_suspect_rows_alone_is_validating_all(rows) -> None:
    _same_both_ways(rows)


def test_every_kind_of_check_makes_a_row_suspect() -> None:
    good = {"site_id": "1431A", "parameter": "PM2.5", "period": "1h", "value": 35.0}
    good |= {"raw_value": None, "unit": None, "flag": None}
    hour = [T0 + pd.Timedelta(hours=h) for h in range(12)]
    rows = [
        {**good, "time": hour[0]},
        {**good, "time": hour[1], "value": np.nan, "raw_value": ""},
        {**good, "time": hour[2], "value": np.inf},
        {**good, "time": hour[3], "unit": "µg/m³"},
        {**good, "time": pd.Timestamp("1990-01-01T00:00Z")},
        {**good, "time": hour[4], "site_id": "9999X"},
        {**good, "time": hour[5], "parameter": "NOPE"},
        {**good, "time": hour[6], "value": -1.0},
        {**good, "time": hour[7], "value": 2000.5},
        {**good, "time": hour[8]},
        {**good, "time": hour[8], "value": 36.0},  # the same key again
        {**good, "time": hour[9], "value": 2000.0},  # the range's edge
    ]
    suspect = _same_both_ways(rows)
    assert suspect.tolist() == [False] + [True] * 10 + [False]


def test_no_rows() -> None:
    assert len(suspect_rows(_arrays(_frame([])), KNOWN, REGISTRY, time_window=WINDOW)) == 0
