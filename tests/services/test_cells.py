"""The one JSON-cell converter and the one language picker the CLI, the API and the services
share: cells of DuckDB/pandas frames become plain JSON values."""

from __future__ import annotations

import json
from decimal import Decimal

import numpy as np
import pandas as pd

from ecobasin.services.cells import json_cell, json_rows, pick


def test_missing_values_of_every_kind_become_null() -> None:
    for missing in (None, float("nan"), np.float64("nan"), pd.NA, pd.NaT):
        assert json_cell(missing) is None


def test_numpy_scalars_become_python_numbers() -> None:
    cells = [json_cell(v) for v in (np.int16(7), np.float32(0.5), np.bool_(True))]
    assert cells == [7, 0.5, True]
    assert [type(c) for c in cells] == [int, float, bool]


def test_decimals_are_numbers_or_their_exact_text() -> None:
    amount = Decimal("0.1000000000000000055511151231257827")
    assert json_cell(amount) == float(amount)
    assert json_cell(amount, exact_decimals=True) == str(amount)


def test_json_text_is_parsed_only_when_asked() -> None:
    text = '{"factor_id": "grid.national.2022.avg", "value": 0.5366}'
    assert json_cell(text) == text
    assert json_cell(text, parse_text=True) == {
        "factor_id": "grid.national.2022.avg",
        "value": 0.5366,
    }
    assert json_cell("[not json", parse_text=True) == "[not json"


def test_nested_cells_and_frames_serialise_without_nan() -> None:
    frame = pd.DataFrame(
        {"site": ["A", "B"], "means": [{"TP": np.float64(0.1), "TN": np.nan}, None],
         "when": pd.to_datetime(["2025-01-01T16:00Z", None], utc=True)}
    )  # fmt: skip
    rows = json_rows(frame)
    # allow_nan=False raises on any NaN left behind
    text = json.dumps(rows, allow_nan=False)
    assert rows[0]["means"] == {"TP": 0.1, "TN": None}
    assert rows[0]["when"] == "2025-01-01T16:00:00+00:00" and rows[1]["when"] is None
    assert json.loads(text)[1] == {"site": "B", "means": None, "when": None}
    assert json_rows(None) == []


def test_pick_falls_back_to_the_other_language() -> None:
    assert pick("zh", "成都", "Chengdu") == "成都"
    assert pick("en", "成都", "Chengdu") == "Chengdu"
    assert pick("en", "青羊微站", None) == "青羊微站"
    assert pick("zh", None, None) is None
