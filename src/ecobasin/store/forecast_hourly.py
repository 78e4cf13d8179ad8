"""SQL of the stored hourly forecasts (table ``forecast_hourly``, issue 21).

One row per (city, pollutant, issue time, valid hour): the concentrations of the six pollutants
and their moving means with the 5–95 % range, and the hourly AQI of both rule generations as the
pollutants ``AQI:HJ633-2012`` and ``AQI:HJ633-2026`` (with level and primary pollutant). Writing
an issue's rows replaces those of the same keys in one transaction, so a rerun is idempotent.

Every function takes the :class:`~ecobasin.store.Store` or a cursor first; instants are UTC,
days China Standard Time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import pandas as pd

from ecobasin.store import _sql
from ecobasin.store._sql import Connection
from ecobasin.store.queries import as_utc

__all__ = [
    "HOURLY_COLUMNS",
    "hourly_issue_days",
    "hourly_rows",
    "latest_hourly_issue_day",
    "stored_cities",
    "write_hourly",
]

#: Columns of ``forecast_hourly`` in table order.
HOURLY_COLUMNS: tuple[str, ...] = (
    "city",
    "pollutant",
    "issued_at",
    "valid_time",
    "issue_day",
    "lead_hour",
    "local_day",
    "local_hour",
    "value",
    "low",
    "high",
    "level",
    "primary_pollutant",
    "model_version",
    "created_at",
)
#: Instant columns (read back as naive UTC, then made tz-aware).
_INSTANTS = ("issued_at", "valid_time", "created_at")


def write_hourly(where: Connection, frame: pd.DataFrame) -> int:
    """Write hourly forecast rows (:data:`HOURLY_COLUMNS`), replacing the rows of the same
    (city, pollutant, issued_at, valid_time); the number written."""
    if frame.empty:
        return 0
    rows = frame.reindex(columns=list(HOURLY_COLUMNS)).copy()
    for column in _INSTANTS:
        rows[column] = pd.to_datetime(rows[column], utc=True)
    keys = {c: f"r.{c}" for c in ("city", "pollutant", "issued_at", "valid_time")}
    return _sql.replace_rows(where, "forecast_hourly", rows, keys, dates=("issue_day", "local_day"))


def hourly_rows(
    where: Connection,
    *,
    issue_day: date | None = None,
    cities: Sequence[str] | None = None,
    start: date | None = None,
    end: date | None = None,
    pollutants: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Stored hourly rows of one issue day (or of issue days ``start`` … ``end``), ordered by
    city, issue, pollutant and lead hour; instants tz-aware UTC."""
    params: list[Any] = []
    columns = ", ".join(f"{c}::TIMESTAMP AS {c}" if c in _INSTANTS else c for c in HOURLY_COLUMNS)
    sql = f"SELECT {columns} FROM forecast_hourly WHERE true"
    for value, clause in (
        (issue_day, " AND issue_day = ?"),
        (start, " AND issue_day >= ?"),
        (end, " AND issue_day <= ?"),
    ):
        if value is not None:
            params.append(value)
            sql += clause
    for values, column in ((cities, "city"), (pollutants, "pollutant")):
        if values is not None:
            params.append([str(v) for v in values])
            sql += f" AND {column} = ANY(?)"
    sql += " ORDER BY city, issued_at, pollutant, lead_hour"
    frame = _sql.frame(_sql.cursor_of(where), sql, params)
    return as_utc(frame, *_INSTANTS)


def latest_hourly_issue_day(where: Connection) -> date | None:
    """The latest issue day with stored hourly forecasts (None when there is none)."""
    rows = _sql.cursor_of(where).execute("SELECT max(issue_day) FROM forecast_hourly").fetchall()
    value = rows[0][0] if rows else None
    return value if isinstance(value, date) else None


def hourly_issue_days(where: Connection, city: str, start: date, end: date) -> list[date]:
    """Issue days of ``city`` from ``start`` to ``end`` with stored hourly forecasts."""
    rows = (
        _sql.cursor_of(where)
        .execute(
            "SELECT DISTINCT issue_day FROM forecast_hourly WHERE city = ? AND issue_day "
            "BETWEEN ? AND ? ORDER BY issue_day",
            [city, start, end],
        )
        .fetchall()
    )
    return [r[0] for r in rows]


def stored_cities(where: Connection, issue_day: date) -> set[str]:
    """Cities with stored hourly forecasts of ``issue_day``."""
    rows = (
        _sql.cursor_of(where)
        .execute("SELECT DISTINCT city FROM forecast_hourly WHERE issue_day = ?", [issue_day])
        .fetchall()
    )
    return {str(r[0]) for r in rows}
