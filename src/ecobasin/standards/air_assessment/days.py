"""CST days of hour-ending air data and the switch between the HJ 633 rule sets (no I/O).

A CST day is the hours labelled 01:00 … 24:00 (HJ 663-2013 §3); days before
``DEFAULT_SWITCH_DATE`` (2026-03-01) are under HJ 633-2012, later ones under HJ 633-2026.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ecobasin.standards.air_tables import DEFAULT_SWITCH_DATE

__all__ = ["SWITCH_DAY", "cst_days", "day_start_utc"]

_HOUR = pd.Timedelta(hours=1)
_CST = pd.Timedelta(hours=8)
#: First CST day under HJ 633-2026.
SWITCH_DAY = np.datetime64(DEFAULT_SWITCH_DATE, "D")


def day_start_utc(days: npt.NDArray[Any]) -> pd.DatetimeIndex:
    """First hour-ending instant (01:00 CST) of CST days, as UTC."""
    idx = pd.DatetimeIndex(days.astype("datetime64[ns]")).tz_localize("UTC")
    return idx - _CST + _HOUR


def cst_days(values: Any) -> npt.NDArray[Any]:
    """CST calendar days (``datetime64[D]``) of dates, timestamps or day labels."""
    return np.asarray(pd.to_datetime(pd.Series(values)).to_numpy().astype("datetime64[D]"))
