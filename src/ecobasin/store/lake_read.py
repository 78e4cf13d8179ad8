"""The read side of the lake (docs/architecture.md, "History in Delta Lake"): the relation a
store reader scans for a table, the live table united with the months the manifest
``lake_months`` says were moved to the lake and deleted from the store.

Kept apart from :mod:`ecobasin.store.lake` (the export) so that :mod:`ecobasin.store.queries`
can use it without an import cycle through :mod:`ecobasin.store.database`.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

if TYPE_CHECKING:  # imported by the first lake read: a store without a lake never needs them
    import deltalake
    import pyarrow.dataset as pads

__all__ = ["Period", "dataset", "months_of", "read_partition", "source"]

#: Inclusive bounds a reader puts on the table's time column (None: unbounded): hour-ending
#: instants [UTC] for ``observations`` and ``aqi_hourly``, days for ``aqi_daily``.
Period = tuple[date | datetime | None, date | datetime | None]
#: An hour-ending instant belongs to the CST day of the instant one hour before it
#: (HJ 663-2013 §3): UTC + 8 h - 1 h, the rule the lake's ``year``/``month`` partitions follow.
_TO_CST_DAY = timedelta(hours=7)

#: The latest version opened of each Delta table: (version, its Arrow dataset).
_DATASETS: dict[str, tuple[int, pads.Dataset]] = {}
#: Each Delta table opened, kept to follow new commits without re-reading its whole log.
_TABLES: dict[str, deltalake.DeltaTable] = {}
_DATASETS_LOCK = threading.Lock()


def dataset(lake: str, table: str) -> pads.Dataset | None:
    """The Delta table's current version as an Arrow dataset (cached per version)."""
    path = str(Path(lake) / table)
    if not (Path(path) / "_delta_log").is_dir():
        return None
    with _DATASETS_LOCK:
        delta = _table(path)
        version = delta.version()
        held = _DATASETS.get(path)
        if held is None or held[0] != version:
            held = (version, delta.to_pyarrow_dataset())
            _DATASETS[path] = held
        return held[1]


def _table(path: str) -> deltalake.DeltaTable:
    """The Delta table at ``path`` at its latest version (caller holds the lock)."""
    delta = _TABLES.get(path)
    if delta is None or not _commit_exists(path, delta.version()):
        import deltalake

        # first use, or the table was made anew in its folder: read its whole log
        delta = _TABLES[path] = deltalake.DeltaTable(path)
    else:
        # only the commits after the held version: a full open parses the whole JSON log
        # (0.2 CPU-s at 48 month commits of a national network), once per task otherwise
        delta.update_incremental()
    return delta


def _commit_exists(path: str, version: int) -> bool:
    """Whether the Delta log still holds the commit file of ``version`` (Delta protocol,
    "Delta Log Entries": ``_delta_log/<version, 20 digits>.json``)."""
    return (Path(path) / "_delta_log" / f"{version:020d}.json").exists()


def months_of(moment: date | datetime) -> int:
    """``year * 100 + month`` of the CST month a value at ``moment`` is partitioned in: an
    hour-ending instant [UTC; naive taken as UTC] by its CST day (HJ 663-2013 §3), a day as is."""
    if isinstance(moment, datetime):
        aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
        moment = aware.astimezone(UTC) + _TO_CST_DAY
    return moment.year * 100 + moment.month


def _in_period(month: int, period: Period | None) -> bool:
    if period is None:
        return True
    first, last = period
    return (first is None or month >= months_of(first)) and (
        last is None or month <= months_of(last)
    )


def source(
    cursor: Any,
    table: str,
    *,
    period: Period | None = None,
    cities: Collection[str] | None = None,
) -> str:
    """The relation a reader puts after ``FROM`` for ``table``: the table itself, or, when
    months of it were deleted from the store after their export, the table united with those
    months of the lake (registered on ``cursor`` as an Arrow dataset that DuckDB scans).

    ``period`` (the reader's own inclusive bounds on the time column) and ``cities`` (GB/T 2260
    codes as text, ``none`` for sites without a city) prune the lake by its partitions: only
    the files of the lake months inside the period, of those cities, make the dataset, so a
    month's read touches that month only. Without them the whole table's dataset is scanned
    (built once per version and process: 40,800 files, 17 CPU-s at ten national years). The
    reader must still filter its rows: the pruning only drops files that cannot match."""
    rows = cursor.execute(
        "SELECT lake, list(year * 100 + month) FROM lake_months "
        "WHERE table_name = ? AND deleted_at IS NOT NULL GROUP BY lake",
        [table],
    ).fetchall()
    parts = [f"SELECT * FROM {table}"]
    for i, (lake, months) in enumerate(rows):
        wanted = sorted(int(m) for m in months if _in_period(int(m), period))
        if not wanted or (cities is not None and not cities):
            continue  # none of this lake's months (or cities) is asked for
        if period is None and cities is None:
            data = dataset(str(lake), table)
        else:
            data = _months_dataset(str(lake), table, wanted, cities)
        if data is None:
            raise FileNotFoundError(
                f"the lake {lake} has no table {table}, yet the manifest "
                "lists months of it deleted from the store"
            )
        name = f"lake_{table}_{i}"
        cursor.register(name, data)
        listed = ", ".join(str(m) for m in wanted)
        parts.append(
            f"SELECT * EXCLUDE (city, year, month) FROM {name} "
            f"WHERE year * 100 + month IN ({listed})"
        )
    if len(parts) == 1:
        return table
    return "(" + " UNION ALL BY NAME ".join(parts) + ")"


def _months_dataset(
    lake: str, table: str, months: list[int], cities: Collection[str] | None
) -> pads.Dataset | None:
    """An Arrow dataset of the lake table's files of ``months`` (``year * 100 + month``) and,
    when given, ``cities`` only: one OR of (year AND month [AND city]) partition filters
    (Delta protocol, "Partition Columns"; delta-rs ``file_pruning_predicate`` in DNF)."""
    path = str(Path(lake) / table)
    if not (Path(path) / "_delta_log").is_dir():
        return None
    wanted = [
        [("year", "=", str(m // 100)), ("month", "=", str(m % 100))]
        + ([("city", "in", sorted(str(c) for c in cities))] if cities is not None else [])
        for m in months
    ]
    with _DATASETS_LOCK:
        delta = _table(path)
        return delta.to_pyarrow_dataset(file_pruning_predicate=wanted)


def read_partition(
    lake: str, table: str, year: int, month: int, cities: tuple[str, ...]
) -> pa.Table:
    """The ``year``/``month`` partitions of ``cities`` of a lake table; empty when the lake has
    none. Only those partitions' files make the dataset (the whole table's, built first, grew
    with the lake: a Dask worker under 768 MiB was killed at 48 months of 1,700 stations)."""
    path = str(Path(lake) / table)
    if not (Path(path) / "_delta_log").is_dir():
        return pa.table({})
    with _DATASETS_LOCK:
        delta = _table(path)
        wanted = [
            ("year", "=", str(int(year))),
            ("month", "=", str(int(month))),
            ("city", "in", [str(c) for c in cities]),
        ]
        data = delta.to_pyarrow_dataset(file_pruning_predicate=wanted)
    return data.to_table()
