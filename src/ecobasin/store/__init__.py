"""The store: one DuckDB file, its schema and migrations, and every query ecobasin runs."""

from ecobasin.store.database import Store, StoreBusyError, WriteCounts

__all__ = ["Store", "StoreBusyError", "WriteCounts"]
