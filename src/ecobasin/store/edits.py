"""Edits of stored data made through the write API (SQL): which city a site belongs to, and
marking stored values invalid.

Each function takes the caller's DuckDB connection or cursor first. Values are never deleted
by an invalidation: their flag changes (HJ 212-2017 data flags) and the AQI engine leaves them
out (``ecobasin.store.air.INVALID_FLAGS``); the audit log keeps who did it and why.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ecobasin.store._sql import Cursor

__all__ = ["invalidate_observations", "site_cities"]


def site_cities(con: Cursor, site_ids: Sequence[str]) -> dict[str, tuple[int, str]]:
    """City code and kind of each of ``site_ids`` the store holds."""
    if not site_ids:
        return {}
    rows = con.execute(
        "SELECT site_id, city_code, kind FROM sites WHERE site_id = ANY(?)", [list(site_ids)]
    ).fetchall()
    return {str(site): (int(city), str(kind)) for site, city, kind in rows}


def invalidate_observations(
    con: Cursor,
    site_id: str,
    parameters: Sequence[str],
    period: str,
    start: datetime,
    end: datetime,
    flag: str,
) -> dict[str, Any]:
    """Set ``flag`` on the stored values of one site, its ``parameters`` and ``period`` with
    ``start <= time <= end`` (UTC instants, inclusive), in one transaction.

    Returns
    -------
    dict
        ``updated`` (rows whose flag changed), ``matched`` (rows in the range) and
        ``previous_flags`` (their flags before, ``null`` for none, so the change can be
        undone by hand).
    """
    where = (
        "site_key = (SELECT site_key FROM sites WHERE site_id = $site) "
        "AND parameter_key IN (SELECT parameter_key FROM parameters WHERE parameter = ANY($parameters)) "
        "AND period = $period AND time BETWEEN $start AND $end"
    )
    params = {
        "site": site_id,
        "parameters": list(parameters),
        "period": period,
        "start": start,
        "end": end,
    }
    con.execute("BEGIN TRANSACTION")
    try:
        before = con.execute(
            f"SELECT coalesce(flag, 'null'), count(*) FROM observation_values WHERE {where} "
            "GROUP BY 1 ORDER BY 1",
            params,
        ).fetchall()
        changed = con.execute(
            f"UPDATE observation_values SET flag = $flag WHERE {where} "
            "AND flag IS DISTINCT FROM $flag RETURNING 1",
            {**params, "flag": flag},
        ).fetchall()
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return {
        "updated": len(changed),
        "matched": sum(int(n) for _, n in before),
        "previous_flags": {str(f): int(n) for f, n in before},
    }
