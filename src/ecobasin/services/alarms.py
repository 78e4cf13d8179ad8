"""What ``ecobasin alarms|limits`` and ``/api/v1/alarms|limits`` both answer: a page of alarms
with its total, the standards' emission limits and the limit rules applying to sites.

The decisions are the pure engine's (:mod:`ecobasin.alarms`: a permit's limit first, else the
source category's standard, ``catalog/data/emission/limits.csv``); the rows are read through
:mod:`ecobasin.store.alarms`.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ecobasin.alarms import applicable_limits
from ecobasin.catalog import emission
from ecobasin.store import Connection, Cursor, Store, WriteCounts, queries
from ecobasin.store import alarms as store_alarms
from ecobasin.store.alarms import AlarmFilter, alarm

__all__ = [
    "AlarmFilter",
    "alarm",
    "alarm_page",
    "import_permit_limits",
    "observed_sites",
    "site_limits",
    "standard_limits",
]


def alarm_page(
    where: Connection,
    filters: store_alarms.AlarmFilter,
    limit: int,
    offset: int = 0,
) -> tuple[int, pd.DataFrame]:
    """How many alarms match ``filters``, and the page of them (newest start first)."""
    total = store_alarms.count_alarms(where, filters)
    return total, store_alarms.alarms(where, filters, limit=limit, offset=offset)


def standard_limits(category: str | None = None) -> pd.DataFrame:
    """The standards' emission limits [unit] per source category and parameter (of
    ``category`` when given), with clause, basis, reference O2 and ``valid_from`` as text."""
    frame = emission.emission_limits(category)
    frame["valid_from"] = frame["valid_from"].astype(str)
    return frame


def site_limits(where: Cursor, site_ids: Sequence[str]) -> pd.DataFrame:
    """The limit rules applying to sites: their permits' (imported or in the site's
    attributes) first, else their source category's standard; ``valid_from`` as
    ``YYYY-MM-DD`` text (NaN where the rule has none).

    Raises
    ------
    LookupError
        Naming the site ids that are not registered.
    """
    sites = queries.sites(where, site_ids=list(site_ids))
    missing = sorted(set(site_ids) - set(sites["site_id"]))
    if missing:
        raise LookupError(f"unknown site {missing} (ecobasin sites lists them)")
    rules = applicable_limits(sites, store_alarms.permit_limits(where, list(site_ids)))
    rules["valid_from"] = rules["valid_from"].dt.strftime("%Y-%m-%d")
    return rules


def observed_sites(where: Connection, site_ids: Sequence[str] | None = None) -> list[str]:
    """The sites with observations (of ``site_ids`` when given): those alarms are computed for."""
    return store_alarms.observed_sites(where, site_ids=site_ids)


def import_permit_limits(
    store: Store, frame: pd.DataFrame, source: str
) -> tuple[WriteCounts, pd.DataFrame]:
    """Check a permit-limit table (site_id, parameter, limit, …) and store its good rows,
    replacing those of the same site and parameter; bad rows are kept in ``rejected`` with
    their reason. Returns the counts and the bad rows."""
    good, bad = emission.check_permit_limits(frame, set(store.sites()["site_id"]), source=source)
    counts = store_alarms.replace_permit_limits(store, good, source)
    store.reject(bad)
    return counts, bad
