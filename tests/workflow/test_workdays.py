"""Working days with 调休 from the packaged State Council calendar (chinese-calendar)."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecobasin.catalog.workdays import custom_calendar, package_calendar


def test_makeup_saturday_counts_and_spring_festival_does_not() -> None:
    cal = package_calendar()
    # 2026 notice: Spring Festival off 15–23 Feb; Saturdays 14 and 28 Feb are working days
    assert cal.is_workday(date(2026, 2, 14))  # Saturday, 调休上班
    assert not cal.is_workday(date(2026, 2, 16))  # Monday in the holiday block
    assert cal.add(date(2026, 2, 13), 1).day == date(2026, 2, 14)
    assert cal.add(date(2026, 2, 13), 2).day == date(2026, 2, 24)


def test_ten_working_days_across_the_spring_festival() -> None:
    # by hand: 13 Fri, 14 Sat (调休), 24, 25, 26, 27, 28 Sat (调休), 2 Mar, 3, 4 → 4 March
    deadline = package_calendar().add(date(2026, 2, 12), 10)
    assert deadline.day == date(2026, 3, 4)
    assert not deadline.provisional
    # weekdays alone would say 26 February
    weekdays_only = custom_calendar((), (), 2000, 2100)
    assert weekdays_only.add(date(2026, 2, 12), 10).day == date(2026, 2, 26)


def test_between_is_the_inverse_of_add() -> None:
    cal = package_calendar()
    start = date(2025, 9, 26)
    for n in (0, 1, 5, 30):
        assert cal.between(start, cal.add(start, n).day) == n
    assert cal.between(date(2026, 3, 4), date(2026, 2, 12)) == -10


def test_uncovered_year_is_provisional() -> None:
    cal = package_calendar()
    assert cal.last_year == 2026
    deadline = cal.add(date(2026, 12, 20), 30)
    assert deadline.provisional
    assert deadline.day.year == 2027


def test_negative_days_refused() -> None:
    with pytest.raises(ValueError, match="working days"):
        package_calendar().add(date(2026, 1, 5), -1)


@settings(max_examples=300, deadline=None)
@given(
    st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 10, 31)),  # n ≤ 40 stays in 2026
    st.integers(min_value=0, max_value=40),
)
def test_adding_working_days_agrees_with_the_package_day_by_day(start: date, n: int) -> None:
    """Against chinese_calendar.is_workday as the oracle, across every Spring Festival and 调休
    Saturday of 2024–2026: the due day is a working day, exactly n working days follow start."""
    due = package_calendar().add(start, n)
    days = [start + timedelta(days=i) for i in range(1, (due.day - start).days + 1)]
    assert sum(chinese_calendar.is_workday(d) for d in days) == n
    assert n == 0 or chinese_calendar.is_workday(due.day)
    assert not due.provisional
