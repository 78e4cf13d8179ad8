"""Rectification case reminders by e-mail in DuckDB (issue 18): unit contacts and the record of
every reminder sent or failed, so each goes once per case, deadline and address. SQL only."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd

from ecobasin.store import _sql
from ecobasin.store.database import Store

__all__ = ["add_contact", "contacts", "record", "reminders"]


def add_contact(store: Store, unit: str, email: str, name: str, by: str, at: datetime) -> None:
    """Add (or rename) an address of a responsible unit."""
    store.con.execute(
        "INSERT OR REPLACE INTO case_contacts VALUES (?, ?, ?, ?, ?)", [unit, email, name, by, at]
    )


def contacts(where: _sql.Connection) -> pd.DataFrame:
    """Every unit's addresses."""
    return _sql.frame(where, "SELECT * FROM case_contacts ORDER BY unit, email")


def reminders(where: _sql.Connection) -> pd.DataFrame:
    """Every reminder sent or tried (case_id, kind, due_day, email, mailed_at, error, attempts)."""
    return _sql.frame(where, "SELECT * FROM case_reminders ORDER BY last_try, case_id, email")


def record(
    store: Store,
    key: tuple[str, str, date, str],
    at: datetime,
    error: str | None,
) -> None:
    """Record a reminder sent (``error`` None) or a failed attempt."""
    case_id, kind, due_day, email = key
    store.con.execute(
        "INSERT INTO case_reminders VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (case_id, kind, due_day, email) DO UPDATE SET "
        "mailed_at = excluded.mailed_at, error = excluded.error, "
        "attempts = case_reminders.attempts + excluded.attempts, last_try = excluded.last_try",
        [case_id, kind, due_day, email, at if error is None else None, error,
         0 if error is None else 1, at],
    )  # fmt: skip
