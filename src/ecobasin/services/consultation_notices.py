"""Notifications of the consultation: in-app items per participant and, when an SMTP server is
configured, the same by e-mail (:mod:`ecobasin.services.notify`).

Who hears what (brief §1.2 roles; the chair is the approver of the rota's chair city):

========================  =================================================================
``opened``                forecasters and approvers of the participating cities
``late``                  the chair and the province coordinators
``divergences``           the chair, the province, the forecasters of the cities concerned
``concluded``/``issued``  everyone with a consultation role (participating cities, province,
                          experts, observers)
``recommended``           approvers of the cities with a recommended level, the province
========================  =================================================================

Notifications are written in the step's transaction; e-mail goes out afterwards
(:func:`deliver_mail`), so a slow or failing mail server never blocks or undoes a step: a failure
is recorded on the item and retried at the next delivery.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterable
from datetime import datetime

from ecobasin.services.notify import mail_enabled, send_mail
from ecobasin.settings import Settings
from ecobasin.store import consultation as store_consultation
from ecobasin.store.database import Store
from ecobasin.workflow.consultation import Session

__all__ = ["KINDS", "after_step", "deliver_mail", "notify"]

log = logging.getLogger(__name__)

#: Kind → (Chinese, English) title; ``{s}`` is the session id.
KINDS: dict[str, tuple[str, str]] = {
    "opened": ("会商 {s} 开始收集各市预报", "Consultation {s} is collecting forecasts"),
    "late": ("会商 {s} 有城市逾期提交", "A late submission in consultation {s}"),
    "divergences": ("会商 {s} 有待处理的分歧", "Divergences to resolve in consultation {s}"),
    "concluded": ("会商 {s} 已形成结论", "Consultation {s} concluded"),
    "issued": ("会商 {s} 意见已签发", "The opinion of consultation {s} is issued"),
    "recommended": ("会商 {s} 预警建议已下达", "Warning recommended after consultation {s}"),
}


def _recipients(store: Store, session: Session, kind: str, cities: Iterable[int] = ()) -> list[str]:
    holders = store_consultation.role_holders(store)
    concerned = set(cities)
    chair = {u for u, r, c in holders if r == "city_approver" and c == session.chair_city}
    province = {u for u, r, _ in holders if r == "province_coordinator"}
    if kind == "opened":
        users = {u for u, r, c in holders if r.startswith("city_") and c in session.participants}
    elif kind == "late":
        users = chair | province
    elif kind == "divergences":
        users = (
            chair
            | province
            | {u for u, r, c in holders if r == "city_forecaster" and c in concerned}
        )
    elif kind == "recommended":
        users = province | {u for u, r, c in holders if r == "city_approver" and c in concerned}
    else:  # concluded, issued: every participant
        users = {u for u, _, c in holders if c is None or c in session.participants}
    return sorted(users)


def notify(
    store: Store, session: Session, kind: str, at: datetime, cities: Iterable[int] = ()
) -> int:
    """Write the in-app notification of ``kind`` for its recipients; how many."""
    zh, en = KINDS[kind]
    users = _recipients(store, session, kind, cities)
    titles = (zh.format(s=session.session_id), en.format(s=session.session_id))
    return store_consultation.add_notices(store, users, session.session_id, kind, titles, at)


def after_step(store: Store, before: Session, after: Session, event: str, at: datetime) -> None:
    """The notifications a stored step calls for (see the module's table)."""
    if event == "open_submissions":
        notify(store, after, "opened", at)
    elif event == "submit" and _first_late(before, after):
        notify(store, after, "late", at)
    elif event == "close_submissions" and after.divergences:
        notify(store, after, "divergences", at, {d.city for d in after.divergences})
    elif event == "conclude":
        notify(store, after, "concluded", at)
    elif event == "sign":
        notify(store, after, "issued", at)


def _first_late(before: Session, after: Session) -> bool:
    """Whether this submission is its city's first late one in the session (one notice a city)."""
    late = {c for (c, _), sub in after.submissions.items() if sub.late}
    was = {c for (c, _), sub in before.submissions.items() if sub.late}
    return bool(late - was)


def deliver_mail(store: Store, settings: Settings, at: datetime) -> tuple[int, int]:
    """Mail the pending notifications of users with an address; (sent, failed). Without an SMTP
    server nothing is sent and nothing marked."""
    if not mail_enabled(settings):
        return 0, 0
    sent = failed = 0
    for item in store_consultation.pending_mail(store):
        body = f"{item['title_zh']}\n{item['title_en']}\n\n会商 Session: {item['session_id']}\n"
        try:
            send_mail(settings, [item["email"]], f"{item['title_zh']} / {item['title_en']}", body)
        except (OSError, smtplib.SMTPException) as error:  # kept pending, retried next time
            store_consultation.mark_mailed(
                store, item["notice_id"], None, f"{type(error).__name__}: {error}"
            )
            log.warning("notification %s not mailed: %s", item["notice_id"], error)
            failed += 1
            continue
        store_consultation.mark_mailed(store, item["notice_id"], at)
        sent += 1
    return sent, failed
