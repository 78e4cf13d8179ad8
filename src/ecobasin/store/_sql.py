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

__all__ = ["Connection", "Cursor", "cursor_of", "frame", "replace_rows", "rows"]


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


def replace_rows(
    where: Connection,
    table: str,
    rows: pd.DataFrame,
    keys: dict[str, str],
    dates: tuple[str, ...] = (),
) -> int:
    """Write ``rows`` into ``table`` in one transaction, first deleting the stored rows of the
    same keys (``keys``: column -> the SQL that reads it from the incoming rows ``r``); the
    ``dates`` columns are cast to DATE. Returns the number of rows written."""
    con = cursor_of(where)
    name = f"_in_{table}"
    con.register(name, rows)
    try:
        con.execute("BEGIN")
        match = " AND ".join(f"t.{c} = k.{c}" for c in keys)
        picked = ", ".join(f"{sql} AS {c}" for c, sql in keys.items())
        con.execute(
            f"DELETE FROM {table} t USING (SELECT DISTINCT {picked} FROM {name} r) k WHERE {match}"
        )
        cols = ", ".join(rows.columns)
        select = ", ".join(f"{c}::DATE" if c in dates else c for c in rows.columns)
        con.execute(f"INSERT INTO {table} ({cols}) SELECT {select} FROM {name}")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister(name)
    return len(rows)
