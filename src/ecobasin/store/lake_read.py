"""The read side of the lake (docs/architecture.md, "History in Delta Lake"): the relation a
store reader scans for a table, the live table united with the months the manifest
``lake_months`` says were moved to the lake and deleted from the store.

Kept apart from :mod:`ecobasin.store.lake` (the export) so that :mod:`ecobasin.store.queries`
can use it without an import cycle through :mod:`ecobasin.store.database`.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import deltalake
import pyarrow as pa
import pyarrow.dataset as pads

__all__ = ["dataset", "read_partition", "source"]

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


def source(cursor: Any, table: str) -> str:
    """The relation a reader puts after ``FROM`` for ``table``: the table itself, or, when
    months of it were deleted from the store after their export, the table united with those
    months of the lake (registered on ``cursor`` as an Arrow dataset that DuckDB scans)."""
    rows = cursor.execute(
        "SELECT lake, list(year * 100 + month) FROM lake_months "
        "WHERE table_name = ? AND deleted_at IS NOT NULL GROUP BY lake",
        [table],
    ).fetchall()
    if not rows:
        return table
    parts = [f"SELECT * FROM {table}"]
    for i, (lake, months) in enumerate(rows):
        data = dataset(str(lake), table)
        if data is None:
            raise FileNotFoundError(
                f"the lake {lake} has no table {table}, yet the manifest "
                "lists months of it deleted from the store"
            )
        name = f"lake_{table}_{i}"
        cursor.register(name, data)
        wanted = ", ".join(str(int(m)) for m in months)
        parts.append(
            f"SELECT * EXCLUDE (city, year, month) FROM {name} "
            f"WHERE year * 100 + month IN ({wanted})"
        )
    return "(" + " UNION ALL BY NAME ".join(parts) + ")"


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
