"""SQL of the live picture of enterprise outlets: their latest readings, their recent
observations (for the basis means) and their registered devices.

Every function takes the :class:`~ecobasin.store.Store` or a cursor (``Store.cursor()``, one per
thread) first; times are tz-aware UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb
import pandas as pd

from ecobasin.store.database import Store

__all__ = ["PERIOD_ORDER", "devices", "latest_readings", "recent_observations"]

Connection = Store | duckdb.DuckDBPyConnection
#: Finest period first: of two readings at the same time, the finer one is the latest.
PERIOD_ORDER = {"instant": 0, "1min": 1, "10min": 2, "1h": 3, "1d": 4}


def _frame(where: Connection, sql: str, params: list[Any]) -> pd.DataFrame:
    # through Arrow: TIMESTAMPTZ arrives tz-aware without pandas' deprecation warning
    cursor = where.cursor() if isinstance(where, Store) else where
    frame: pd.DataFrame = cursor.sql(sql, params=params).to_arrow_table().to_pandas()
    return frame


def latest_readings(where: Connection, ids: Sequence[str]) -> pd.DataFrame:
    """The latest stored value of each (site, parameter): latest time, finest period first.

    Columns: site_id, parameter, name_zh, name_en, unit, period, time, value [unit], flag.
    """
    order = " ".join(f"WHEN '{p}' THEN {rank}" for p, rank in PERIOD_ORDER.items())
    return _frame(
        where,
        "SELECT o.site_id, o.parameter, p.name_zh, p.name_en, p.unit, o.period, o.time, "
        "o.value, o.flag FROM observations o LEFT JOIN parameters p USING (parameter) "
        "WHERE o.site_id = ANY(?) QUALIFY row_number() OVER (PARTITION BY o.site_id, "
        f"o.parameter ORDER BY o.time DESC, CASE o.period {order} ELSE 9 END) = 1 "
        "ORDER BY o.site_id, o.parameter",
        [list(ids)],
    )


def recent_observations(where: Connection, ids: Sequence[str], hours: int) -> pd.DataFrame:
    """Each site's observations of the last ``hours`` [h] before its own last reading."""
    return _frame(
        where,
        "WITH last AS (SELECT site_id, max(time) AS t FROM observations "
        "WHERE site_id = ANY(?) GROUP BY site_id) "
        "SELECT o.site_id, o.parameter, o.period, o.time, o.value, o.flag "
        "FROM observations o JOIN last USING (site_id) "
        f"WHERE o.time > last.t - INTERVAL {int(hours)} HOUR",
        [list(ids)],
    )


def devices(where: Connection, ids: Sequence[str]) -> dict[str, list[str]]:
    """MN of the devices registered for each site, in MN order."""
    cursor = where.cursor() if isinstance(where, Store) else where
    rows = cursor.execute(
        "SELECT site_id, mn FROM devices WHERE site_id = ANY(?) ORDER BY mn", [list(ids)]
    ).fetchall()
    found: dict[str, list[str]] = {}
    for site, mn in rows:
        found.setdefault(str(site), []).append(str(mn))
    return found
