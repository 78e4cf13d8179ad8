"""The writer's text check of the DataTime window answers as :func:`implausible_reason`
(issue 12, Speed: the fast path of the writer's window check)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from ecobasin.gateway.datatime import DataTimeWindow, TextWindow, implausible_reason

#: DataTimes as the fast path hands them on: 14 digits that are a calendar instant.
data_times = st.datetimes(datetime(1000, 1, 1), datetime(9999, 12, 31, 23, 59, 59)).map(
    lambda moment: f"{moment:%Y%m%d%H%M%S}"
)
#: Receive times around now, and far off (a wrong host clock).
received = st.one_of(
    st.datetimes(datetime(2020, 1, 1), datetime(2030, 1, 1), timezones=st.just(UTC)),
    st.datetimes(datetime(1001, 1, 1), datetime(9998, 1, 1), timezones=st.just(UTC)),
)
windows = st.builds(
    DataTimeWindow,
    earliest=st.one_of(
        st.just(datetime(2000, 1, 1)),
        st.datetimes(datetime(1000, 1, 1), datetime(9999, 1, 1)),
    ),
    ahead=st.one_of(
        st.just(timedelta(days=1)),
        st.timedeltas(timedelta(0), timedelta(days=800)),
        st.integers(0, 10**7).map(lambda s: timedelta(seconds=s)),
    ),
)


@settings(max_examples=600, deadline=None)
@given(data_time=data_times, at=received, window=windows)
def test_the_text_check_never_accepts_what_the_window_refuses(
    data_time: str, at: datetime, window: DataTimeWindow
) -> None:
    inside = TextWindow(window).inside(data_time, at)
    plausible = implausible_reason(data_time, at, window) is None
    assert not inside or plausible  # sound: never lets through a refusal
    whole = window.ahead.microseconds == 0 and window.earliest.microsecond == 0
    if whole:  # and complete when the window's ends have whole seconds (the settings do)
        assert inside == plausible


def test_the_edges_of_the_default_window() -> None:
    text = TextWindow(DataTimeWindow())
    at = datetime(2024, 1, 1, 2, 0, 0, 999_999, tzinfo=UTC)  # 10:00:00.999999 CST
    assert text.inside("20000101000000", at)  # the earliest end itself
    assert not text.inside("19991231235959", at)
    assert text.inside("20240102100000", at)  # one day ahead, to the second
    assert not text.inside("20240102100001", at)
