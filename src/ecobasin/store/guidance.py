"""SQL of air-quality model guidance (table ``ctm_guidance``; issue 21).

One row per scope (``site`` or ``city``), point, model, run publication time, valid hour and
pollutant. Every function takes the :class:`~ecobasin.store.Store` or a cursor first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from ecobasin.store import _sql
from ecobasin.store._sql import Connection
from ecobasin.store.database import Store, WriteCounts

__all__ = ["GUIDANCE_TABLE_COLUMNS", "city_guidance", "guidance_runs", "write_guidance"]

GUIDANCE_TABLE_COLUMNS: tuple[str, ...] = (
    "scope",
    "point_id",
    "model",
    "issued_at",
    "run_start",
    "valid_time",
    "pollutant",
    "value",
    "simulated",
    "source",
)
_KEY = "scope, point_id, model, issued_at, valid_time, pollutant"


def write_guidance(store: Store, rows: pd.DataFrame) -> WriteCounts:
    """Upsert guidance rows by their key; a re-import of the same run replaces its values."""
    if rows.empty:
        return WriteCounts()
    batch = rows[list(GUIDANCE_TABLE_COLUMNS)].copy()
    store.con.register("guidance_in", batch)
    try:
        with store.transaction():
            row = store.con.execute(
                "SELECT count(*), count(*) FILTER (WHERE g.value = b.value) "
                f"FROM guidance_in b JOIN ctm_guidance g USING ({_KEY})"
            ).fetchone()
            cols = ", ".join(GUIDANCE_TABLE_COLUMNS)
            store.con.execute(
                f"INSERT INTO ctm_guidance SELECT {cols} FROM guidance_in "
                f"ON CONFLICT ({_KEY}) DO UPDATE SET value = excluded.value, "
                "run_start = excluded.run_start, simulated = excluded.simulated, "
                "source = excluded.source"
            )
    finally:
        store.con.unregister("guidance_in")
    assert row is not None
    existing, unchanged = int(row[0]), int(row[1])
    return WriteCounts(len(batch) - existing, existing - unchanged, unchanged)


def city_guidance(
    where: Connection, *, cities: Sequence[int] | None = None, model: str | None = None
) -> pd.DataFrame:
    """Hourly guidance per city: the mean over the city's national stations where the runs
    were read at stations (as city observations are made, HJ 663), else the city point.

    Returns
    -------
    pandas.DataFrame
        ``city``, ``issued_at``, ``valid_time`` (UTC), ``pollutant``, ``value``, ``model``,
        ``simulated``.
    """
    params: list[Any] = []
    where_model = " AND g.model = ?" if model else ""
    if model:
        params += [model, model]  # once in each branch below
    city_filter = ""
    if cities:
        city_filter = " WHERE city = ANY(?)"
        params.append([str(c) for c in cities])
    sql = f"""
        WITH sites_mean AS (
            SELECT s.city_code::VARCHAR AS city, g.model, g.issued_at, g.valid_time,
                   g.pollutant, avg(g.value) AS value, bool_or(g.simulated) AS simulated
            FROM ctm_guidance g JOIN sites s ON s.site_id = g.point_id
            WHERE g.scope = 'site' AND s.level = 'national'{where_model}
            GROUP BY ALL
        ), points AS (
            SELECT g.point_id AS city, g.model, g.issued_at, g.valid_time, g.pollutant,
                   g.value, g.simulated
            FROM ctm_guidance g WHERE g.scope = 'city'{where_model}
        ), merged AS (
            SELECT * FROM sites_mean
            UNION ALL
            SELECT p.* FROM points p ANTI JOIN sites_mean m
                ON m.city = p.city AND m.model = p.model AND m.issued_at = p.issued_at
        )
        SELECT city, issued_at, valid_time, pollutant, value, model, simulated FROM merged
        {city_filter} ORDER BY city, model, issued_at, valid_time, pollutant
    """
    frame = _sql.frame(_sql.cursor_of(where), sql, params)
    for col in ("issued_at", "valid_time"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


def guidance_runs(where: Connection) -> pd.DataFrame:
    """The stored runs: model, issue time, start, hours, points, simulated, source."""
    sql = (
        "SELECT model, issued_at, min(run_start) AS run_start, count(DISTINCT valid_time) AS "
        "hours, count(DISTINCT point_id) AS points, bool_or(simulated) AS simulated, "
        "min(source) AS source FROM ctm_guidance GROUP BY model, issued_at "
        "ORDER BY issued_at DESC, model"
    )
    return _sql.frame(_sql.cursor_of(where), sql, [])
