"""The store: one DuckDB file, its schema and migrations, and every query ecobasin runs."""

from ecobasin.store.database import (
    Store,
    StoreBusyError,
    WriteCounts,
    keyed_table,
    observation_table,
    with_batch,
)

__all__ = [
    "Store",
    "StoreBusyError",
    "WriteCounts",
    "keyed_table",
    "observation_table",
    "with_batch",
]
