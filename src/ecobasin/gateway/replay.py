"""Rebuild a store from a raw log: ``ecobasin gateway replay RAWLOG``.

The records are decoded, deduplicated and validated exactly as the live gateway does
(:class:`~ecobasin.gateway.writer.StoreWriter`); the store's checkpoint for the log makes a
second run change nothing. The target store needs the devices (and their sites) registered:
the raw log holds frames, not the registry.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ecobasin.gateway.rawlog import ScanReport, log_id_of, read_records
from ecobasin.gateway.writer import AfterWrite, StoreWriter, WriteReport
from ecobasin.store import Store

__all__ = ["count_records", "replay"]


def replay(
    store: Store,
    raw_log: Path,
    *,
    batch: int = 5_000,
    progress: Callable[[int], None] | None = None,
    after_write: AfterWrite | None = None,
    lenient: bool = False,
) -> WriteReport:
    """Write the records of a raw log (a directory or one segment file) into a store.

    Parameters
    ----------
    store : Store
        The target store.
    raw_log : Path
        A raw-log directory or one of its ``seg-*.log`` files.
    batch : int
        Records per transaction.
    progress : callable, optional
        Called with the number of records of each written batch.
    after_write : callable, optional
        As for the gateway.
    lenient : bool
        Accept 17-digit DataTimes, as the gateway did if it ran with ``lenient``.

    Returns
    -------
    WriteReport
        What was written (nothing when the store already holds the whole log), with the
        damaged records the reader skipped (``damaged``).

    Raises
    ------
    RawLogError
        When the path is not a raw log.
    """
    writer = StoreWriter(store, log_id_of(raw_log), after_write=after_write, lenient=lenient)
    report = WriteReport()
    scan = ScanReport()
    pending = []
    for record in read_records(raw_log, after=writer.checkpoint, report=scan):
        pending.append(record)
        if len(pending) >= batch:
            report += writer.write(pending)
            if progress:
                progress(len(pending))
            pending = []
    if pending:
        report += writer.write(pending)
        if progress:
            progress(len(pending))
    report.damaged = scan.damaged
    return report


def count_records(raw_log: Path, after: int = 0) -> int:
    """How many records of a raw log come after ``after`` (for a progress bar's total)."""
    return sum(1 for _ in read_records(raw_log, after=after))
