"""Reminders of due rectification cases by e-mail (issue 18): ``ecobasin serve``'s schedule
mails the responsible unit's contacts N working days before a deadline (``case_reminder_wd``,
working days with 调休 as the board counts them) and again once the case is overdue, through
:mod:`ecobasin.services.notify`. Each reminder goes once per case, kind, deadline and address,
recorded in the store (so a restart sends nothing twice); a failed one keeps its error and is
tried again on the next round, at most :data:`MAX_ATTEMPTS` times.
"""

from __future__ import annotations

import re
import smtplib
from datetime import date, datetime
from typing import Any

from ecobasin.errors import InputError
from ecobasin.services import cases as case_service
from ecobasin.services.notify import mail_enabled, send_mail
from ecobasin.settings import Settings
from ecobasin.store import case_mail as db
from ecobasin.store.database import Store
from ecobasin.timebase import CST

__all__ = ["MAX_ATTEMPTS", "add_contact", "due_reminders", "send_reminders"]

#: failed attempts after which a reminder is given up (its error stays on record)
MAX_ATTEMPTS = 5
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def add_contact(store: Store, unit: str, email: str, name: str, by: str, at: datetime) -> None:
    """Add an address of a responsible unit (the 牵头单位 as cases name it); InputError when
    the unit is empty or the address is not one."""
    if not unit.strip():
        raise InputError("unit is empty 单位为空")
    if not _EMAIL.match(email.strip()):
        raise InputError(f"{email!r} is not an e-mail address 邮箱地址无效")
    db.add_contact(store, unit.strip(), email.strip(), name.strip(), by, at)


def due_reminders(
    store: Store, settings: Settings, at: datetime
) -> list[tuple[tuple[str, str, date, str], dict[str, Any]]]:
    """The reminders owed at ``at``: ((case, kind, due day, address), board row) for every open
    case overdue, or due within ``case_reminder_wd`` working days, whose unit has contacts and
    which was not mailed yet (nor given up)."""
    contacts: dict[str, list[str]] = {}
    for contact in db.contacts(store).to_dict("records"):
        contacts.setdefault(str(contact["unit"]), []).append(str(contact["email"]))
    held: dict[tuple[str, str, date, str], tuple[bool, int]] = {}
    for r in db.reminders(store).to_dict("records"):
        day = r["due_day"].date() if hasattr(r["due_day"], "date") else r["due_day"]
        mailed = r["mailed_at"] is not None and str(r["mailed_at"]) not in ("NaT", "nan")
        held[(str(r["case_id"]), str(r["kind"]), day, str(r["email"]))] = (
            mailed,
            int(r["attempts"]),
        )
    owed = []
    for row in case_service.board(store, at.astimezone(CST).date()):
        if row["due"] is None or row["lead_unit"] not in contacts:
            continue
        if row["overdue"]:
            kind = "overdue"
        elif row["working_days_left"] is not None and (
            row["working_days_left"] <= settings.case_reminder_wd
        ):
            kind = "due_soon"
        else:
            continue
        due = date.fromisoformat(row["due"])
        for email in contacts[row["lead_unit"]]:
            key = (row["case_id"], kind, due, email)
            mailed, attempts = held.get(key, (False, 0))
            if mailed or attempts >= MAX_ATTEMPTS:
                continue
            owed.append((key, row))
    return owed


def _message(row: dict[str, Any], kind: str, settings: Settings) -> tuple[str, str]:
    """Subject and body (Chinese, then English) of a reminder, with the case's link."""
    link = f"{settings.public_url.rstrip('/')}/supervision/case/{row['case_id']}"
    left = row["working_days_left"]
    if kind == "overdue":
        subject = f"【整改逾期】{row['case_id']} {row['title']} · Overdue rectification case"
        zh = f"整改案件 {row['case_id']}「{row['title']}」已于 {row['due']} 到期，尚未完成。"
        en = f'Rectification case {row["case_id"]} "{row["title"]}" was due on {row["due"]}.'
    else:
        subject = f"【整改临期】{row['case_id']} {row['title']} · Rectification case due soon"
        zh = f"整改案件 {row['case_id']}「{row['title']}」将于 {row['due']} 到期（剩余 {left} 个工作日）。"
        en = (
            f'Rectification case {row["case_id"]} "{row["title"]}" is due on {row["due"]} '
            f"({left} working days left)."
        )
    body = (
        f"{zh}\n状态：{row['state']}；牵头单位：{row['lead_unit']}\n查看与办理：{link}\n\n"
        f"{en}\nState: {row['state']}; lead unit: {row['lead_unit']}\nOpen it: {link}\n"
    )
    return subject, body


def send_reminders(store: Store, settings: Settings, at: datetime) -> tuple[int, int]:
    """Mail every owed reminder (:func:`due_reminders`); returns (sent, failed). Without an SMTP
    server nothing is sent nor recorded."""
    if not mail_enabled(settings):
        return 0, 0
    sent = failed = 0
    for key, row in due_reminders(store, settings, at):
        subject, body = _message(row, key[1], settings)
        try:
            send_mail(settings, [key[3]], subject, body)
        except (OSError, smtplib.SMTPException) as error:
            db.record(store, key, at, f"{type(error).__name__}: {error}"[:500])
            failed += 1
            continue
        db.record(store, key, at, None)
        sent += 1
    return sent, failed
