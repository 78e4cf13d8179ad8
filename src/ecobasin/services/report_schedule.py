"""Bulletins written on a schedule inside ``ecobasin serve`` (issue 19).

On or after day ``reports_day`` (settings, default 5) of a month, the bulletins of the periods
that just ended are written from the store, exactly as ``ecobasin report …`` writes them
(:mod:`ecobasin.services.reports`):

- every month: the air bulletin of the month before, for the region and for each of its cities,
  and the region's water bulletin;
- after March, June, September and December: the air bulletins of the quarter (``2025Q3``; the
  water evaluation has months and years only);
- in January: the same for the year before, and each city's annual green low-carbon report.

A report without data for its period is skipped. **Idempotent across restarts**: each writing is
recorded with the SHA-256 of the report's numbers (its canonical JSON); a report whose numbers
did not change since it was last written is not written again (its files are immutable, stored
by hash), and one whose data changed (late data, corrections) is written again beside the old
files. Subscribers (``reports_subscribers``) are mailed through :mod:`ecobasin.services.notify`
when a bulletin is written; a failed mail is recorded with the run, never stops the others.
"""

from __future__ import annotations

import hashlib
import json
import logging
import smtplib
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

from ecobasin import catalog
from ecobasin.services import notify
from ecobasin.services import reports as reports_service
from ecobasin.settings import Settings
from ecobasin.store import Store
from ecobasin.store import reports as store_reports

__all__ = ["data_digest", "due_periods", "run_due"]

log = logging.getLogger(__name__)
_TITLES = {
    "air": ("环境空气质量公报", "air quality bulletin"),
    "water": ("地表水环境质量公报", "surface water bulletin"),
    "lowcarbon": ("绿色低碳发展报告", "green low-carbon report"),
}


def due_periods(today: date, day: int) -> list[tuple[str, str]]:
    """(cadence, period) of the periods whose bulletins are due on ``today`` (CST): none before
    day ``day`` of the month; then the month before, and the quarter or year it closes."""
    if today.day < day:
        return []
    ended = today.replace(day=1) - timedelta(days=1)
    due = [("month", f"{ended:%Y-%m}")]
    if ended.month % 3 == 0:
        due.append(("quarter", f"{ended.year}Q{ended.month // 3}"))
    if ended.month == 12:
        due.append(("year", str(ended.year)))
    return due


Builder = Callable[[], reports_service.Report]


def _planned(
    store: Store, region: catalog.Region, cadence: str, period: str
) -> Iterator[tuple[tuple[str, str, str], Builder]]:
    """(kind, scope, period) and the builder of every report due for ``period``."""
    yield ("air", "region", period), lambda: reports_service.air_bulletin(store, period)
    for city in region.cities:
        yield (
            ("air", str(city), period),
            lambda city=city: reports_service.air_bulletin(store, period, int(city)),  # type: ignore[misc]
        )
    if cadence != "quarter":  # the water evaluation has months and years (环办〔2011〕22号)
        yield ("water", "region", period), lambda: reports_service.water_bulletin(store, period)
    if cadence == "year":
        for city in region.cities:
            yield (
                ("lowcarbon", str(city), period),
                lambda city=city: reports_service.lowcarbon_report(store, int(city), int(period)),  # type: ignore[misc]
            )


def data_digest(report: reports_service.Report) -> str:
    """SHA-256 [hex] of the report's numbers as canonical JSON (sorted keys)."""
    text = json.dumps(report.data, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _mail(
    settings: Settings, report: reports_service.Report, files: list[dict[str, Any]]
) -> tuple[int, str | None]:
    """Mail the subscribers that ``report`` was written: (addresses mailed, error or None)."""
    to = list(settings.reports_subscribers)
    if not to or not notify.mail_enabled(settings):
        return 0, None
    zh, en = _TITLES[report.kind]
    subject = f"【公报 Bulletin】{report.scope} {zh} {en} {report.period}"
    lines = [f"{zh} {en} · {report.scope} · {report.period}", "",
             "文件 Files (GET /api/v1/reports/{sha256}):"]  # fmt: skip
    lines += [f"  {f['lang']} {f['media_type']}: {f['sha256']}" for f in files]
    try:
        notify.send_mail(settings, to, subject, "\n".join(lines) + "\n")
    except (OSError, smtplib.SMTPException, ValueError) as error:
        log.warning(
            "bulletin %s %s %s not mailed: %s", report.kind, report.scope, report.period, error
        )
        return 0, str(error)
    return len(to), None


def _write_one(
    store: Store, settings: Settings, region: catalog.Region, build: Builder, now: datetime
) -> str | None:
    """Write one report if it has data and its numbers changed; what was done, or None."""
    try:
        report = build()
    except LookupError:  # no data for the period: nothing to write
        return None
    digest = data_digest(report)
    key = (report.kind, report.scope, report.period)
    if store_reports.last_report_run(store, *key) == digest:
        return None
    files = reports_service.issue(store, report, now, settings.reports_langs, region)
    mail = _mail(settings, report, files)
    store_reports.record_report_run(store, key, digest, files, mail, now)
    return f"{report.kind} {report.scope} {report.period}"


def run_due(
    store: Store, settings: Settings, region: catalog.Region, today: date, now: datetime
) -> list[str]:
    """Write the bulletins due on ``today`` (CST) whose numbers changed since they were last
    written; returns "kind scope period" of each written."""
    written = []
    for cadence, period in due_periods(today, settings.reports_day):
        for _key, build in _planned(store, region, cadence, period):
            done = _write_one(store, settings, region, build, now)
            if done is not None:
                written.append(done)
    return written
