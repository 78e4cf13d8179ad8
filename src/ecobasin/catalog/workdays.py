"""Chinese working days (工作日) with the official make-up days (调休), for case deadlines.

The calendar is the State Council's yearly notice (国务院办公厅关于YYYY年部分节假日安排的通知) as
packaged by PyPI ``chinese-calendar`` (its ``holidays`` and ``workdays`` tables): a weekday inside
a holiday block is a day off, a weekend day named in the notice (调休上班) is a working day. Never
from the weekday alone (consultation_and_cases.md §2.2 "Timers"). A year the installed package
does not cover yet (the notice is published each November) is computed from weekdays and marked
**provisional** so the people reading a deadline know it may move; upgrading the package
(``pip install -U chinese-calendar``) makes it final (docs/supervision.md).

Pure: no clock, no I/O; the tables come from the package (data) or from the caller.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import chinese_calendar

__all__ = ["Deadline", "WorkCalendar", "custom_calendar", "package_calendar"]


@dataclass(frozen=True)
class Deadline:
    """A due date [CST calendar day] and whether it rests on a year the calendar lacks."""

    day: date
    provisional: bool


@dataclass(frozen=True)
class WorkCalendar:
    """Days off and make-up working days of the covered years.

    Attributes
    ----------
    holidays : frozenset of date
        Days of the official holiday blocks (weekdays and the weekends joined to them).
    makeup_workdays : frozenset of date
        Weekend days declared working days (调休上班).
    first_year, last_year : int
        The years the tables cover; outside them only weekends are days off (provisional).
    source : str
        Where the tables come from (package and version).
    """

    holidays: frozenset[date]
    makeup_workdays: frozenset[date]
    first_year: int
    last_year: int
    source: str

    def covers(self, day: date) -> bool:
        """Whether ``day``'s year is in the published tables."""
        return self.first_year <= day.year <= self.last_year

    def is_workday(self, day: date) -> bool:
        """A working day: a make-up day, or a weekday outside the holiday blocks."""
        if day in self.makeup_workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def add(self, start: date, working_days: int) -> Deadline:
        """The day ``working_days`` [WD] working days after ``start`` (start itself not counted).

        ``add(d, 0)`` is ``d`` itself. The result is provisional when any day counted lies in a
        year the tables do not cover.
        """
        if working_days < 0:
            raise ValueError(f"working days must be >= 0, got {working_days}")
        day, left, provisional = start, working_days, not self.covers(start)
        while left > 0:
            day += timedelta(days=1)
            provisional = provisional or not self.covers(day)
            if self.is_workday(day):
                left -= 1
        return Deadline(day, provisional)

    def holiday_block_days(self) -> frozenset[date]:
        """Days of the holiday blocks with the weekends joined to them (放假调休 as announced).

        A block is a run of consecutive days off holding at least one official holiday day.
        """
        days: set[date] = set()
        for day in self.holidays:
            for step in (-1, 1):
                probe = day + timedelta(days=step)
                while not self.is_workday(probe) and probe not in self.holidays:
                    days.add(probe)
                    probe += timedelta(days=step)
        return frozenset(days | self.holidays)

    def between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end`` [WD]; negative if end < start."""
        if end < start:
            return -self.between(end, start)
        return sum(
            self.is_workday(start + timedelta(days=i)) for i in range(1, (end - start).days + 1)
        )


@functools.cache
def package_calendar() -> WorkCalendar:
    """The calendar of the installed ``chinese-calendar`` package."""
    holidays = frozenset(chinese_calendar.constants.holidays)
    workdays = frozenset(chinese_calendar.constants.workdays)
    years = [d.year for d in holidays]
    return WorkCalendar(
        holidays=holidays,
        makeup_workdays=workdays,
        first_year=min(years),
        last_year=max(years),
        source=f"chinese-calendar {getattr(chinese_calendar, '__version__', '?')}",
    )


def custom_calendar(
    holidays: Iterable[date], makeup: Iterable[date], first: int, last: int
) -> WorkCalendar:
    """A calendar from explicit tables (a region's own, or a test's)."""
    return WorkCalendar(frozenset(holidays), frozenset(makeup), first, last, "custom")
