"""Incident notices by e-mail (issue 22): the cities' contact addresses and each notice's
delivery to each address (written only here).

``incident_contacts`` holds the duty addresses of a city (its GB/T 2260 code as text, as the
notices name their recipient city; an external recipient such as a Chongqing district has a code
too). ``incident_notice_mail`` records one row per notice and address: when it was mailed, or the
last error and how many attempts failed, so a failing server is retried and never mails twice.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from ecobasin.store._sql import Connection, cursor_of, frame
from ecobasin.store.database import Store

__all__ = ["add_contact", "contacts", "deliveries", "mark_mail", "pending_mail", "remove_contact"]


def add_contact(store: Store, city: str, email: str, name: str, by: str, at: datetime) -> None:
    """Add (or rename) a city's contact address."""
    store.con.execute(
        "INSERT OR REPLACE INTO incident_contacts (city_code, email, name, added_by, added_at) "
        "VALUES (?, ?, ?, ?, ?)",
        [city, email, name, by, at],
    )


def remove_contact(store: Store, city: str, email: str) -> bool:
    """Remove a contact address; whether there was one."""
    found = store.con.execute(
        "DELETE FROM incident_contacts WHERE city_code = ? AND email = ? RETURNING email",
        [city, email],
    ).fetchall()
    return bool(found)


def contacts(where: Connection, city: str | None = None) -> pd.DataFrame:
    """Contact addresses, of one city or all, by city and address."""
    if city is None:
        return frame(where, "SELECT * FROM incident_contacts ORDER BY city_code, email")
    return frame(
        where, "SELECT * FROM incident_contacts WHERE city_code = ? ORDER BY email", [city]
    )


def pending_mail(where: Connection) -> pd.DataFrame:
    """(notice, address) pairs still to mail: sent notices of open incidents × the recipient
    city's contacts, without a successful delivery."""
    return frame(
        where,
        "SELECT n.notice_id, n.incident_id, n.kind, n.to_org, n.to_city, n.deadline, n.content, "
        "c.email, coalesce(m.attempts, 0) AS attempts "
        "FROM incident_notices n JOIN incidents i USING (incident_id) "
        "JOIN incident_contacts c ON c.city_code = n.to_city "
        "LEFT JOIN incident_notice_mail m ON m.notice_id = n.notice_id AND m.email = c.email "
        "WHERE n.sent_at IS NOT NULL AND i.status != 'closed' AND m.mailed_at IS NULL "
        "ORDER BY n.notice_id, c.email",
    )


def mark_mail(
    store: Store, notice_id: int, email: str, at: datetime, error: str | None = None
) -> None:
    """Record a delivery (``error`` None) or a failed attempt of one notice to one address."""
    cursor_of(store).execute(
        "INSERT INTO incident_notice_mail (notice_id, email, mailed_at, error, attempts, "
        "last_try) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (notice_id, email) DO UPDATE SET "
        "mailed_at = excluded.mailed_at, error = excluded.error, "
        "attempts = incident_notice_mail.attempts + excluded.attempts, last_try = excluded.last_try",
        [notice_id, email, None if error else at, error, 1 if error else 0, at],
    )


def deliveries(where: Connection, incident_id: str) -> pd.DataFrame:
    """The e-mail deliveries of an incident's notices (address, when, last error, attempts)."""
    return frame(
        where,
        "SELECT m.* FROM incident_notice_mail m JOIN incident_notices n USING (notice_id) "
        "WHERE n.incident_id = ? ORDER BY m.notice_id, m.email",
        [incident_id],
    )
