"""What follows a gateway write: the AQI of the air-station days and the alarms of the sites
that received data, batched so a busy gateway does not recompute after every store write."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import datetime

import pandas as pd

from ecobasin.jobs.air_quality import refresh_air_quality
from ecobasin.jobs.alarms import refresh_alarms
from ecobasin.jobs.noise_quality import refresh_noise_products
from ecobasin.store import Store
from ecobasin.timebase import day_of_hour_ending

__all__ = ["LiveRefresh"]

log = logging.getLogger(__name__)


class LiveRefresh:
    """The gateway's ``after_write(store_view, site_ids, start, end)`` hook.

    Touched sites and the span of their times accumulate; at most every ``every`` [s] the
    AQI tables are recomputed for the air stations' touched CST days
    (:func:`ecobasin.jobs.air_quality.refresh_air_quality` ignores other sites) and the alarms
    for all touched sites (:func:`ecobasin.jobs.alarms.refresh_alarms`). :meth:`flush` runs
    what is pending (the gateway's stop, or a test).
    """

    def __init__(self, every: float = 30.0) -> None:
        self.every = every
        self._sites: set[str] = set()
        self._start: datetime | None = None
        self._end: datetime | None = None
        self._last = float("-inf")
        self.runs = 0

    def __call__(
        self, store: Store, site_ids: Iterable[str], start: datetime, end: datetime
    ) -> None:
        self._sites.update(site_ids)
        self._start = start if self._start is None else min(self._start, start)
        self._end = end if self._end is None else max(self._end, end)
        if time.monotonic() - self._last >= self.every:
            self.flush(store)

    def flush(self, store: Store) -> None:
        """Recompute what the writes since the last run touched."""
        if not self._sites or self._start is None or self._end is None:
            return
        sites, start, end = sorted(self._sites), self._start, self._end
        self._sites, self._start, self._end = set(), None, None
        self._last = time.monotonic()
        days = day_of_hour_ending(pd.Series(pd.to_datetime([start, end], utc=True)))
        span = pd.date_range(days.iloc[0], days.iloc[1], freq="D")
        touched = pd.DataFrame(
            [(site, day) for site in sites for day in span.date], columns=["site_id", "day"]
        )
        try:
            refresh_air_quality(store, touched)
            # before the alarms: they judge the hourly noise values computed from minutes
            refresh_noise_products(store, sites, start, end)  # ignores non-noise sites
            refresh_alarms(store, sites, start, end)
        except Exception:  # a failed refresh must not stop the gateway; the next one retries
            log.exception("refresh after a gateway write failed (sites %s)", ", ".join(sites))
            self._sites.update(sites)
            self._start, self._end = start, end
        else:
            self.runs += 1
