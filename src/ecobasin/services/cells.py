"""Table cells as JSON values and names in the reader's language: the one converter and the one
language picker every service, command and route uses (no I/O)."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any, Literal

import numpy as np
import pandas as pd

__all__ = ["Lang", "json_cell", "json_rows", "pick"]

Lang = Literal["zh", "en"]


def pick(lang: str, zh: str | None, en: str | None) -> str | None:
    """The name in ``lang`` (``zh`` or ``en``), or the other language's when that one is missing.

    >>> pick("en", "成都", None)
    '成都'
    """
    first, second = (zh, en) if lang == "zh" else (en, zh)
    return first if first else second


def _text(value: str, parse_text: bool) -> Any:
    if parse_text and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def json_cell(value: Any, *, exact_decimals: bool = False, parse_text: bool = False) -> Any:
    """A table cell (or a dict/list of cells) as a JSON value.

    SQL NULL, NaN, NA and NaT become ``None``; numpy scalars become Python numbers; timestamps
    ISO 8601 text. ``exact_decimals`` keeps a :class:`~decimal.Decimal` as its exact text (the
    ledger's and the factor library's amounts) instead of a float; ``parse_text`` parses cells
    holding JSON object or array text (columns stored as JSON).

    >>> json_cell({"a": np.int64(2), "b": float("nan"), "c": [Decimal("1.5")]})
    {'a': 2, 'b': None, 'c': [1.5]}
    """
    if isinstance(value, dict):
        return {str(k): json_cell(v, exact_decimals=exact_decimals, parse_text=parse_text)
                for k, v in value.items()}  # fmt: skip
    if isinstance(value, list | tuple | np.ndarray):
        return [json_cell(v, exact_decimals=exact_decimals, parse_text=parse_text) for v in value]
    if isinstance(value, str):
        return _text(value, parse_text)
    if isinstance(value, Decimal):
        return str(value) if exact_decimals else float(value)
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value.item() if isinstance(value, np.generic) else value


def json_rows(
    frame: pd.DataFrame | None, *, exact_decimals: bool = False, parse_text: bool = False
) -> list[dict[str, Any]]:
    """The rows of a frame as JSON objects (cells through :func:`json_cell`); none for None."""
    if frame is None:
        return []
    return [
        {str(k): json_cell(v, exact_decimals=exact_decimals, parse_text=parse_text)
         for k, v in row.items()}
        for row in frame.to_dict("records")
    ]  # fmt: skip
