"""The helpers every store module shares: where a query runs, and how its answer comes back.

``Connection`` is the one name for "where a read runs": the :class:`~ecobasin.store.Store` (its
own connection) or a DuckDB cursor of it (one per thread in the web server). ``Cursor`` is a
bare DuckDB connection or cursor, for the modules that are always handed one.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd

from ecobasin.store.database import Store

#: a DuckDB connection or one of its cursors
Cursor = duckdb.DuckDBPyConnection
#: where a read runs: the Store or a cursor of it
Connection = Store | Cursor

__all__ = ["Connection", "Cursor", "cursor_of", "frame", "rows"]


def cursor_of(where: Connection) -> Cursor:
    """The DuckDB connection behind ``where`` (the Store's own, or the cursor itself)."""
    return where.con if isinstance(where, Store) else where


def frame(
    where: Connection, sql: str, params: list[Any] | dict[str, Any] | None = None
) -> pd.DataFrame:
    """Run a read query and return its rows as a DataFrame."""
    relation = cursor_of(where).sql(sql, params=params or None)
    # through Arrow: TIMESTAMPTZ arrives tz-aware without pandas' deprecation warning
    answer: pd.DataFrame = relation.to_arrow_table().to_pandas()
    return answer


def rows(
    where: Connection, sql: str, params: list[Any] | dict[str, Any] | None = None
) -> list[tuple[Any, ...]]:
    """Run a query and return its rows as tuples."""
    return cursor_of(where).execute(sql, params or []).fetchall()
