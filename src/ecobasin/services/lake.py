"""``ecobasin lake export``: closed months of observations and AQI moved to the Delta Lake
history (docs/architecture.md, "History in Delta Lake").

A month is **closed** when its last China Standard Time day ended at least
``lake_closed_after_days`` [days] ago (no late data is expected). Each closed month of each
table (:data:`ecobasin.store.lake.LAKE_TABLES`) is written to the lake partition by partition
(``year``/``month``/``city``, one Delta commit replacing the month: idempotent), read back and
compared with the store (rows and an order-free checksum of every value); the manifest
``lake_months`` records it. With ``delete`` a month leaves the store only once verified, in
one transaction with its manifest row, so nothing is lost: readers then take it from the lake.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from ecobasin.errors import InputError
from ecobasin.store import Store
from ecobasin.store import lake as store_lake

__all__ = ["ExportReport", "MonthResult", "closed_months", "default_lake", "export", "manifest"]

Progress = Callable[[int, int, str], None]


def default_lake(db: Path) -> Path:
    """``<db>.lake/`` beside the database file."""
    return db.with_name(db.name + ".lake")


@dataclass(frozen=True)
class MonthResult:
    """One table-month: its rows, whether the lake's copy matched, rows deleted from the
    store."""

    table: str
    month: str
    rows: int
    verified: bool
    deleted: int


@dataclass
class ExportReport:
    """What an export did, month by month."""

    lake: Path
    months: list[MonthResult] = field(default_factory=list)
    #: (table, month) with rows in the store although the month was already moved to the lake
    #: and deleted: late data, kept in the store (never overwrites the lake's copy).
    late: list[tuple[str, str]] = field(default_factory=list)

    @property
    def failed(self) -> list[MonthResult]:
        """Months whose lake copy did not match the store (kept in the store)."""
        return [m for m in self.months if not m.verified]


def parse_month(text: str) -> tuple[int, int]:
    """``2025-10`` → (2025, 10)."""
    try:
        parsed = datetime.strptime(text.strip(), "%Y-%m")
    except ValueError:
        raise InputError(f"--before {text!r}: give a month as YYYY-MM") from None
    return parsed.year, parsed.month


def _month_end(year: int, month: int) -> date:
    nxt = date(year + month // 12, month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def closed_months(
    months: list[tuple[int, int]],
    *,
    now: datetime,
    closed_after_days: int,
    before: tuple[int, int] | None = None,
) -> list[tuple[int, int]]:
    """The months that are closed at ``now``: their last CST day + ``closed_after_days``
    [days] is past, and they come before ``before`` when given."""
    today = (now.astimezone(UTC) + timedelta(hours=8)).date()
    out = []
    for year, month in months:
        if (_month_end(year, month) + timedelta(days=closed_after_days)) >= today:
            continue
        if before is not None and (year, month) >= before:
            continue
        out.append((year, month))
    return out


def _plan(
    store: Store, *, now: datetime, closed_after_days: int, before: tuple[int, int] | None
) -> tuple[list[tuple[str, int, int]], list[tuple[str, str]]]:
    """The table-months to export, and those holding late data for a month already moved."""
    moved = {
        (r["table_name"], int(r["year"]), int(r["month"]))
        for r in store_lake.manifest(store)
        if r["deleted_at"] is not None
    }
    work, late = [], []
    for table in store_lake.LAKE_TABLES:
        months = store_lake.months_in_store(store, table)
        for year, month in closed_months(
            months, now=now, closed_after_days=closed_after_days, before=before
        ):
            if (table, year, month) in moved:
                late.append((table, f"{year}-{month:02d}"))
            else:
                work.append((table, year, month))
    return work, late


def _export_month(
    store: Store, lake: Path, table: str, year: int, month: int, *, delete: bool, now: datetime
) -> MonthResult:
    """Write, verify, record and (when asked and verified) delete one table-month."""
    rows = store_lake.month_rows(store, table, year, month)
    store_lake.write_month(lake, table, year, month, rows)
    held = store_lake.checksum(store, table, year, month)
    copied = store_lake.lake_checksum(store, lake, table, year, month)
    verified = held == copied
    store_lake.record_month(store, held, lake, verified=verified, at=now)
    deleted = 0
    if delete and verified:
        deleted = store_lake.delete_month(store, table, year, month, now)
        if deleted != held.rows:  # the transaction above already committed: say so loudly
            raise RuntimeError(
                f"{table} {year}-{month:02d}: deleted {deleted} rows, the lake holds {held.rows}"
            )
    return MonthResult(table, f"{year}-{month:02d}", held.rows, verified, deleted)


def export(
    store: Store,
    lake: Path,
    *,
    now: datetime,
    closed_after_days: int,
    before: tuple[int, int] | None = None,
    delete: bool = False,
    progress: Progress | None = None,
) -> ExportReport:
    """Copy every closed month of observations and AQI (hourly, daily) to the lake.

    Parameters
    ----------
    store : Store
        Open for writing (the manifest is written; with ``delete`` the months too).
    lake : Path
        The lake's folder (created 0700).
    now : datetime
        The clock (tz-aware) that decides which months are closed.
    closed_after_days : int
        [days] after a month's last CST day before it is closed.
    before : (year, month), optional
        Only months before this one.
    delete : bool
        Delete each verified month from the store (readers then take it from the lake).
    progress : callable, optional
        ``progress(done, total, label)`` after each table-month.
    """
    work, late = _plan(store, now=now, closed_after_days=closed_after_days, before=before)
    report = ExportReport(lake=lake, late=late)
    if progress:
        progress(0, len(work), "")
    for i, (table, year, month) in enumerate(work, 1):
        result = _export_month(store, lake, table, year, month, delete=delete, now=now)
        report.months.append(result)
        if progress:
            progress(i, len(work), f"{table} {result.month}")
    return report


def manifest(store: Store) -> list[dict[str, Any]]:
    """The manifest rows (``ecobasin lake list``)."""
    return store_lake.manifest(store)
