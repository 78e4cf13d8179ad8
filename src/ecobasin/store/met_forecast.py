"""SQL of meteorological forecasts as issued (migration 11, table ``met_forecasts``).

One row per city, issue instant (UTC), valid day (China Standard Time) and variable, in the
registry's unit of the variable. Every function takes the :class:`~ecobasin.store.Store` or a
cursor first.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import duckdb
import pandas as pd

from ecobasin.store.database import Store, WriteCounts
from ecobasin.store.queries import in_list

__all__ = ["MET_FORECAST_TABLE_COLUMNS", "met_forecast_rows", "write_met_forecasts"]

#: Columns a writer hands over (``source`` and ``ingested_at`` are added).
MET_FORECAST_TABLE_COLUMNS: tuple[str, ...] = (
    "city_code",
    "issued_at",
    "day",
    "variable",
    "value",
    "unit",
)
_KEY = "city_code, issued_at, day, variable"


def write_met_forecasts(store: Store, rows: pd.DataFrame, source: str) -> WriteCounts:
    """Upsert met forecasts by (city, issued_at, day, variable); a later import of the same
    key replaces the value. Returns inserted / replaced / unchanged counts."""
    if rows.empty:
        return WriteCounts()
    batch = rows[list(MET_FORECAST_TABLE_COLUMNS)].copy()
    batch["source"] = source
    batch["ingested_at"] = datetime.now(UTC)
    store.con.register("metfc_in", batch)
    try:
        with store.transaction():
            row = store.con.execute(
                "SELECT count(*), count(*) FILTER (WHERE m.value = b.value) "
                f"FROM metfc_in b JOIN met_forecasts m USING ({_KEY})"
            ).fetchone()
            store.con.execute(
                "INSERT INTO met_forecasts SELECT city_code, issued_at, day, variable, value, "
                f"unit, source, ingested_at FROM metfc_in ON CONFLICT ({_KEY}) DO UPDATE SET "
                "value = excluded.value, unit = excluded.unit, source = excluded.source, "
                "ingested_at = excluded.ingested_at"
            )
    finally:
        store.con.unregister("metfc_in")
    assert row is not None
    existing, unchanged = int(row[0]), int(row[1])
    return WriteCounts(len(batch) - existing, existing - unchanged, unchanged)


def met_forecast_rows(
    where: Store | duckdb.DuckDBPyConnection,
    *,
    cities: Sequence[int] | None = None,
    issued_before: datetime | None = None,
) -> pd.DataFrame:
    """Stored met forecasts as :func:`ecobasin.forecast.features.met_as_known` reads them.

    Returns
    -------
    pandas.DataFrame
        ``city`` (str code), ``issued_at`` (UTC), ``day`` (datetime64, CST valid day),
        ``variable``, ``value`` [registry unit], ``unit``; ordered by city, variable, issue, day.
    """
    con = where.con if isinstance(where, Store) else where
    params: list[Any] = []
    sql = (
        "SELECT city_code::VARCHAR AS city, issued_at, day::TIMESTAMP AS day, variable, value, "
        "unit FROM met_forecasts WHERE true" + in_list("city_code", cities, params)
    )
    if issued_before is not None:
        params.append(issued_before)
        sql += " AND issued_at <= ?"
    sql += " ORDER BY city_code, variable, issued_at, day"
    frame: pd.DataFrame = con.sql(sql, params=params).to_arrow_table().to_pandas()
    frame["issued_at"] = pd.to_datetime(frame["issued_at"], utc=True)
    return frame
