"""Time conventions of Chinese environmental data, in one place.

The store keeps UTC instants. People read China Standard Time (UTC+8, no daylight saving since
1991) and hour-ending labels: the value labelled 10:00 averages 09:00–10:00, and a day is the
hours labelled 01:00 … 24:00 (CNEMC release notes: "16时的小时均值为15:00-16:00的算术平均值";
HJ 663-2013 §3). An hourly value is therefore stored at the UTC instant its hour *ends*.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pandas as pd

__all__ = [
    "CST",
    "day_of_hour_ending",
    "local_label",
    "local_to_utc",
    "parse_instant",
    "period_end_label",
]

#: China Standard Time: a fixed UTC+8 offset, as the standards use it.
CST = timezone(timedelta(hours=8), "CST")


def local_to_utc(local: pd.Series, *, hour_beginning: bool = False, tz: str = "CST") -> pd.Series:
    """Convert naive local hour labels to UTC hour-ending instants.

    Parameters
    ----------
    local : pandas.Series of datetime64
        Naive local times as written in a file.
    hour_beginning : bool, default False
        True when the label is the start of the averaging hour (09:00 for 09:00–10:00); the
        instant is then moved one hour later, to the hour's end.
    tz : str, default "CST"
        ``"CST"`` (UTC+8) or any IANA zone name, or ``"UTC"``.

    Returns
    -------
    pandas.Series of datetime64[us, UTC]
    """
    zone = CST if tz.upper() in {"CST", "UTC+8", "+08:00"} else tz
    instants = pd.to_datetime(local).dt.tz_localize(zone).dt.tz_convert("UTC")
    if hour_beginning:
        instants = instants + pd.Timedelta(hours=1)
    return instants.astype("datetime64[us, UTC]")


def local_label(instants: pd.Series) -> pd.Series:
    """Naive China Standard Time labels of UTC instants (for display and CSV export)."""
    return pd.to_datetime(instants, utc=True).dt.tz_convert(CST).dt.tz_localize(None)


def period_end_label(instants: pd.Series, periods: pd.Series | None = None) -> pd.Series:
    """China Standard Time labels ``YYYY-MM-DD HH:MM`` of period ends, midnight as ``24:00``
    of the day it closes (HJ 663-2013 §3: a day is the hours 01:00 … 24:00).

    Rows whose period is ``instant`` (a sampling time, not a period end) keep ``00:00``.
    """
    local = local_label(instants)
    midnight = (local.dt.hour == 0) & (local.dt.minute == 0)
    if periods is not None:
        midnight &= periods.to_numpy() != "instant"
    labels = local.dt.strftime("%Y-%m-%d %H:%M")
    closing = (local[midnight] - pd.Timedelta(days=1)).dt.strftime("%Y-%m-%d") + " 24:00"
    labelled: pd.Series = labels.mask(midnight, closing)
    return labelled


def day_of_hour_ending(instants: pd.Series) -> pd.Series:
    """Local calendar day (CST) that an hour-ending UTC instant belongs to.

    The hour labelled 24:00 (00:00 of the next day) closes the day before, so the day is the
    local date of ``instant − 1 h`` (HJ 663-2013 §3: a day is hours 01:00 … 24:00).
    """
    local = local_label(instants) - pd.Timedelta(hours=1)
    return local.dt.normalize()


def parse_instant(text: str) -> datetime:
    """A UTC instant from ISO 8601 text; a time without an offset is a CST label.

    The hour-ending label ``24:00`` is accepted and closes its day (``2025-01-31T24:00`` is
    ``2025-02-01T00:00`` CST), as Chinese hourly data writes it (HJ 663-2013 §3).

    Raises
    ------
    ValueError
        When the text is not a time.
    """
    match = re.fullmatch(r"(\d{4}-\d{2}-\d{2})[T ]24:00(?::00)?", text.strip())
    stamp = pd.Timestamp(match.group(1)) + pd.Timedelta(days=1) if match else pd.Timestamp(text)
    if pd.isna(stamp):
        raise ValueError(f"cannot read time {text!r}")
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(CST)
    return stamp.tz_convert("UTC").to_pydatetime()
