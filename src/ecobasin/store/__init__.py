"""The store: one DuckDB file, its schema and migrations, and every query ecobasin runs."""

from ecobasin.store.database import (
    Store,
    WriteCounts,
    keyed_table,
    observation_table,
    with_batch,
)

__all__ = [
    "Store",
    "WriteCounts",
    "keyed_table",
    "observation_table",
    "with_batch",
]
