"""Keep the stored alarms up to date after writes (over-limit, persistent flags, silence).

Shell around the pure engine :mod:`ecobasin.alarms`: inputs are read and results written
through :mod:`ecobasin.store.alarms`.

Incremental rule
----------------
A write of sites ``S`` covering ``[start, end]`` recomputes, for ``S`` only, every episode that
is open or ends at or after ``since`` = ``start`` − margin, moved back to the start of any stored
episode straddling it (:func:`ecobasin.store.alarms.recompute_since`). Observations are read
from ``since`` − margin on. The margin (a day and an hour, or the longest flag duration or
silence threshold when longer) covers a daily basis period, and every run or gap that can just
have become an alarm. Recomputed episodes replace the stored ones in one transaction; ids are
stable, so refreshing the same window twice changes nothing, and an open episode is extended or
closed in place.

Silence of a site that sends nothing is found by a refresh that does not follow a write:
``ecobasin alarms refresh`` (or a scheduled call of :func:`refresh_alarms` for all sites).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ecobasin import alarms
from ecobasin.catalog.emission import AlarmRules, alarm_rules
from ecobasin.store import Store
from ecobasin.store import alarms as store_alarms

__all__ = ["AlarmRefresh", "margin", "recompute_alarms", "refresh_alarms"]

#: Sites per engine call (bounds memory on a full rebuild).
CHUNK_SITES = 200


@dataclass
class AlarmRefresh:
    """What one refresh did."""

    sites: int = 0
    observations: int = 0
    counts: dict[str, int] = field(
        default_factory=lambda: {"inserted": 0, "updated": 0, "unchanged": 0, "removed": 0}
    )

    def as_dict(self) -> dict[str, int]:
        return {"sites": self.sites, "observations": self.observations, **self.counts}


def margin(rules: AlarmRules) -> timedelta:
    """How far before a written window episodes can change (see the module docstring)."""
    longest_flag = max(rules.flag_hours.values(), default=0.0)
    longest_interval = max(rules.silent_interval_s.values(), default=3600.0)
    silence = rules.silent_multiple * longest_interval
    return max(timedelta(days=1, hours=1), timedelta(hours=longest_flag + 1),
               timedelta(seconds=silence + 3600))  # fmt: skip


def refresh_alarms(
    store: Store,
    site_ids: Iterable[str],
    start: datetime,
    end: datetime,
    *,
    now: datetime | None = None,
    rules: AlarmRules | None = None,
) -> None:
    """The gateway's ``after_write(store_view, site_ids, start, end)`` hook: recompute the
    alarms of the written sites (:func:`recompute_alarms`, evaluated at the clock's time)."""
    recompute_alarms(store, site_ids, start, end, now=now, rules=rules)


def recompute_alarms(
    store: Store,
    site_ids: Iterable[str],
    start: datetime,
    end: datetime,
    *,
    now: datetime | None = None,
    rules: AlarmRules | None = None,
) -> AlarmRefresh:
    """Recompute the alarms of ``site_ids`` after observations in ``[start, end]`` were written.

    ``end`` is only reported: episodes after the window can merge with it, so everything from
    ``since`` on is recomputed (see the module docstring).

    Parameters
    ----------
    store : Store
        The store (or a thread's view of it, ``store.reader()``); written in one transaction
        per chunk of sites.
    site_ids : iterable of str
        Sites whose observations changed (unknown ids are skipped).
    start, end : datetime
        The written data's time span (tz-aware).
    now : datetime, optional
        Time of evaluation, for open silence (default: the clock, UTC).
    rules : AlarmRules, optional
        Default the bundled ``alarm_rules.toml``.
    """
    del end  # documented above: the recompute runs to the latest data
    rules = rules or alarm_rules()
    now = now or datetime.now(UTC)
    report = AlarmRefresh()
    ids = sorted(set(site_ids))
    for first in range(0, len(ids), CHUNK_SITES):
        chunk = ids[first : first + CHUNK_SITES]
        since = store_alarms.recompute_since(store, chunk, start - margin(rules))
        observations, sites = store_alarms.alarm_inputs(store, chunk, since - margin(rules))
        if sites.empty:
            continue
        found = alarms.evaluate(
            observations,
            sites,
            now=now,
            permits=store_alarms.permit_limits(store, list(sites["site_id"])),
            device_intervals=store_alarms.device_intervals(store, chunk),
            rules=rules,
        )
        stamp = datetime.now(UTC)  # created_at / updated_at: when we learnt it
        counts = store_alarms.replace_alarms(store, list(sites["site_id"]), since, found, stamp)
        report.sites += len(sites)
        report.observations += len(observations)
        for key, value in counts.items():
            report.counts[key] += value
    return report
