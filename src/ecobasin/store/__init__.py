"""The store: one DuckDB file, its schema and migrations, and every query ecobasin runs."""

from ecobasin.store._sql import Connection, Cursor
from ecobasin.store.database import (
    TRANSIENT_STORE_ERRORS,
    Store,
    WriteCounts,
    keyed_table,
    observation_table,
    with_batch,
)

__all__ = [
    "TRANSIENT_STORE_ERRORS",
    "Connection",
    "Cursor",
    "Store",
    "WriteCounts",
    "keyed_table",
    "observation_table",
    "with_batch",
]
