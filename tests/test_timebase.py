"""Time conventions: CST hour-ending labels, UTC instants and the day boundary (HJ 663-2013 §3)."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from ecobasin.timebase import (
    CST,
    day_of_hour_ending,
    local_label,
    local_to_utc,
    period_end_label,
)


def _labels(*texts: str) -> pd.Series:
    return pd.Series(pd.to_datetime(list(texts)))


def test_cst_is_a_fixed_utc_plus_eight() -> None:
    assert CST.utcoffset(None) == timedelta(hours=8)


def test_hour_ending_midnight_is_the_last_hour_of_the_previous_day() -> None:
    # CST 2022-01-01 00:00 hour-ending = the hour 2021-12-31 23:00–24:00 CST,
    # which ends at 2022-01-01 00:00 CST = 2021-12-31 16:00 UTC
    instants = local_to_utc(_labels("2022-01-01 00:00", "2022-01-01 01:00"))
    assert str(instants.dtype) == "datetime64[us, UTC]"
    assert list(instants) == [
        pd.Timestamp("2021-12-31T16:00Z"),
        pd.Timestamp("2021-12-31T17:00Z"),
    ]
    days = day_of_hour_ending(instants)
    assert [d.date() for d in days] == [date(2021, 12, 31), date(2022, 1, 1)]


def test_a_day_is_the_hours_labelled_0100_to_2400() -> None:
    # the 24 hour-ending labels 01:00 … 24:00 of 2022-01-01 are 2021-12-31T17:00Z … 2022-01-01T16:00Z
    instants = pd.Series(pd.date_range("2021-12-31T17:00Z", periods=26, freq="h"))
    days = day_of_hour_ending(instants).dt.date
    assert (days.iloc[:24] == date(2022, 1, 1)).all()
    assert (days.iloc[24:] == date(2022, 1, 2)).all()  # 01:00 and 02:00 of the next day


def test_hour_beginning_labels_move_one_hour_later() -> None:
    # hour-beginning 2013-01-01 00:00 CST = the hour 00:00–01:00, which ends at 01:00 CST
    # = 2012-12-31 17:00 UTC, and belongs to 2013-01-01
    beginning = local_to_utc(_labels("2013-01-01 00:00", "2013-01-01 23:00"), hour_beginning=True)
    assert list(beginning) == [pd.Timestamp("2012-12-31T17:00Z"), pd.Timestamp("2013-01-01T16:00Z")]
    assert [d.date() for d in day_of_hour_ending(beginning)] == [date(2013, 1, 1)] * 2
    ending = local_to_utc(_labels("2013-01-01 00:00"))
    assert ending.iloc[0] == beginning.iloc[0] - pd.Timedelta(hours=1)


def test_other_zones() -> None:
    local = _labels("2022-07-01 12:00")
    assert local_to_utc(local, tz="UTC").iloc[0] == pd.Timestamp("2022-07-01T12:00Z")
    # Asia/Shanghai has had no daylight saving since 1991: same as CST
    assert local_to_utc(local, tz="Asia/Shanghai").iloc[0] == pd.Timestamp("2022-07-01T04:00Z")
    assert local_to_utc(local, tz="+08:00").iloc[0] == pd.Timestamp("2022-07-01T04:00Z")
    # Berlin is UTC+2 in July
    assert local_to_utc(local, tz="Europe/Berlin").iloc[0] == pd.Timestamp("2022-07-01T10:00Z")


def test_local_label_round_trip() -> None:
    local = _labels("2022-01-01 00:00", "2024-02-29 13:00")
    back = local_label(local_to_utc(local))
    assert list(back) == list(local)
    assert back.dt.tz is None


def test_missing_times_stay_missing() -> None:
    instants = local_to_utc(pd.Series([pd.NaT, pd.Timestamp("2022-01-01 05:00")]))
    assert pd.isna(instants.iloc[0])
    assert instants.iloc[1] == pd.Timestamp("2021-12-31T21:00Z")


def test_period_end_label_writes_midnight_as_24_00_except_for_instants() -> None:
    # HJ 663-2013 §3: the hour 23:00–24:00 CST of 2025-01-31 ends at 2025-01-31T16:00Z
    times = pd.Series(
        pd.to_datetime(["2025-01-31T16:00Z", "2025-01-31T16:00Z", "2025-01-31T03:00Z"])
    )
    periods = pd.Series(["1h", "instant", "1h"])
    assert period_end_label(times, periods).tolist() == [
        "2025-01-31 24:00",
        "2025-02-01 00:00",
        "2025-01-31 11:00",
    ]
