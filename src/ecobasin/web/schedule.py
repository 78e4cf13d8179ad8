"""Periodic work of ``ecobasin serve`` (issues 18 and 22): one asyncio task in the app's
lifespan.

Every tick (``every_s`` [s], 60 by default, ``ECOBASIN_SCHEDULE_EVERY_S``):

* :func:`ecobasin.services.incidents.escalate_overdue` escalates the cross-boundary incident
  notices not acknowledged within their deadline (the rules' ``cross_boundary_notice``);
* :func:`ecobasin.services.incident_mail.deliver_notices` mails the sent notices to their
  cities' contact addresses (when ``settings`` name an SMTP server), retrying failures;
* once per China Standard Time day (the first tick of the day, and the first after start-up),
  :func:`ecobasin.services.cases.sweep_overdue` records the rectification cases whose clock
  tripped (what ``ecobasin cases sweep`` does by hand);
* :func:`ecobasin.services.case_mail.send_reminders` mails the responsible units' contacts the
  reminders of cases due within ``case_reminder_wd`` working days or overdue (when ``settings``
  name an SMTP server): once per case, deadline and address, a failure retried next tick.
* once per CST day, when ``settings.reports_scheduled``,
  :func:`ecobasin.services.report_schedule.run_due` writes the bulletins of the month, quarter
  and year just ended (on or after ``reports_day`` of the month) whose numbers changed since they
  were last written, and mails the subscribers (issue 19).

The work runs in a worker thread over a store view with its own cursor, so requests go on while
it runs; a failing tick is logged and the next one tries again (it never stops the server).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone

from ecobasin import catalog
from ecobasin.services import case_mail, incident_mail, report_schedule
from ecobasin.services import cases as case_service
from ecobasin.services import incidents as incident_service
from ecobasin.settings import Settings
from ecobasin.web.deps import Store  # the type the app hands (the web never imports the store)

__all__ = ["DEFAULT_EVERY_S", "Schedule", "every_s_from_env"]

log = logging.getLogger(__name__)
CST = timezone(timedelta(hours=8))
#: [s] Between two ticks: incident notices are due within hours, a minute late is in time.
DEFAULT_EVERY_S = 60.0


def every_s_from_env() -> float:
    """The tick interval [s] from ``ECOBASIN_SCHEDULE_EVERY_S`` (default 60; at least 0.1)."""
    raw = os.environ.get("ECOBASIN_SCHEDULE_EVERY_S", "")
    try:
        return max(float(raw), 0.1) if raw else DEFAULT_EVERY_S
    except ValueError:
        log.warning("ECOBASIN_SCHEDULE_EVERY_S=%r is no number: every %s s", raw, DEFAULT_EVERY_S)
        return DEFAULT_EVERY_S


@dataclass
class Schedule:
    """The periodic jobs over ``store``; :meth:`start` in the lifespan, :meth:`stop` after."""

    store: Store
    every_s: float = DEFAULT_EVERY_S
    settings: Settings | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    swept_day: date | None = None
    reported_day: date | None = None
    ticks: int = 0
    _task: asyncio.Task[None] | None = None
    _busy: threading.Lock = field(default_factory=threading.Lock)

    def tick(self) -> dict[str, list[str]]:
        """One round: overdue notices escalated, and (once a CST day) overdue cases recorded."""
        with self._busy:
            return self._round()

    def _round(self) -> dict[str, list[str]]:
        now = self.clock()
        view = self.store.reader()
        try:
            done: dict[str, list[str]] = {}
            today = now.astimezone(CST).date()
            if self.swept_day != today:
                done["swept"] = case_service.sweep_overdue(view, now)
                self.swept_day = today
            done["escalated"] = [str(n) for n in incident_service.escalate_overdue(view, now)]
            if self.settings is not None:
                sent, failed = incident_mail.deliver_notices(view, self.settings, now)
                done["mailed"] = [f"{sent} sent", f"{failed} failed"] if sent or failed else []
                sent, failed = case_mail.send_reminders(view, self.settings, now)
                done["reminded"] = [f"{sent} sent", f"{failed} failed"] if sent or failed else []
            reports_due = self.settings is not None and self.settings.reports_scheduled
            if reports_due and self.settings is not None and self.reported_day != today:
                done["reports"] = self._reports(view, self.settings, today, now)
                self.reported_day = today
        finally:
            view.con.close()
        self.ticks += 1
        if any(done.values()):
            log.info("scheduled work: %s", done)
        return done

    @staticmethod
    def _reports(view: Store, settings: Settings, today: date, now: datetime) -> list[str]:
        """The bulletins due today (CST) whose numbers changed since last written."""
        region = catalog.load_region(settings.region)
        return report_schedule.run_due(view, settings, region, today, now)

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.tick)
            except Exception:  # a failed round must not stop the server; the next one retries
                log.exception("scheduled work failed; retrying in %s s", self.every_s)
            await asyncio.sleep(self.every_s)

    def start(self) -> None:
        """Start ticking now (the first tick runs at once)."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="ecobasin-schedule")

    async def stop(self) -> None:
        """Cancel the task; a round already in its thread finishes before the store closes."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await asyncio.to_thread(self._busy.acquire)
        self._busy.release()
