"""How fresh and how real the stored data are (issue 15: the freshness badge, the demo banner)."""

from __future__ import annotations

import duckdb

__all__ = ["demo_batches"]


def demo_batches(con: duckdb.DuckDBPyConnection) -> int:
    """Import batches written by ``ecobasin demo`` (kinds ``demo``, ``demo-water``,
    ``demo_noise`` …): more than 0 means the store holds generated data."""
    (count,) = con.execute(
        "SELECT count(*) FROM import_batches WHERE kind LIKE 'demo%'"
    ).fetchone() or (0,)
    return int(count)
