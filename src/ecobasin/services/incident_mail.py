"""Incident notices by e-mail as well as in-app (issue 22; 环应急〔2020〕5号 "tell each other at
once"): each sent notice goes to every contact address of its recipient city
(``ecobasin incident contacts add CITY EMAIL``) through the SMTP server of the settings
(:mod:`ecobasin.services.notify`).

Notices are written (in-app) in the incident's transaction; mail goes out afterwards, from
``serve``'s schedule every minute (:mod:`ecobasin.web.schedule`) or ``ecobasin incident mail``,
so a slow or failing server never blocks or undoes an incident. Each (notice, address) is
recorded once mailed; a failure is recorded with its error and retried at the next delivery.
Without an SMTP server nothing is sent and nothing recorded.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime

import pandas as pd

from ecobasin.services.notify import mail_enabled, send_mail
from ecobasin.settings import Settings
from ecobasin.store import incident_mail as db
from ecobasin.store.database import Store

__all__ = ["add_contact", "contacts", "deliver_notices", "deliveries", "remove_contact"]

log = logging.getLogger(__name__)

add_contact = db.add_contact
remove_contact = db.remove_contact
contacts = db.contacts
deliveries = db.deliveries


def _message(row: pd.Series) -> tuple[str, str]:
    """(subject, body) of one notice, bilingual, with its deadline in CST."""
    deadline = pd.Timestamp(row["deadline"]).tz_convert("Asia/Shanghai")
    subject = f"突发水污染事件通报 Incident notice {row['incident_id']} → {row['to_org']}"
    body = (
        f"{row['content']}\n\n"
        f"事件 Incident: {row['incident_id']}\n"
        f"通报 Notice: {row['notice_id']} ({row['kind']})\n"
        f"请于 {deadline:%Y-%m-%d %H:%M} (UTC+8) 前在平台确认 "
        f"Acknowledge on the platform by {deadline:%Y-%m-%d %H:%M} CST: "
        f"/incidents/{row['incident_id']}\n"
    )
    return subject, body


def deliver_notices(store: Store, settings: Settings, at: datetime) -> tuple[int, int]:
    """Mail every sent notice not yet mailed to its city's contacts; (sent, failed)."""
    if not mail_enabled(settings):
        return 0, 0
    sent = failed = 0
    for _, row in db.pending_mail(store).iterrows():
        subject, body = _message(row)
        notice, email = int(row["notice_id"]), str(row["email"])
        try:
            send_mail(settings, [email], subject, body)
        except (OSError, smtplib.SMTPException) as error:  # recorded, retried next time
            db.mark_mail(store, notice, email, at, f"{type(error).__name__}: {error}")
            log.warning("incident notice %s not mailed to %s: %s", notice, email, error)
            failed += 1
            continue
        db.mark_mail(store, notice, email, at)
        sent += 1
    return sent, failed
