"""The store's reference tables as the API and the CLI read them: cities (GB/T 2260 codes),
monitoring sites, the parameter registry (HJ 212-2017 codes), the store's summary and the
records kept aside at import.

Reads only; the SQL stays in :mod:`ecobasin.store.queries`. The routes of ``/api/v1/cities``,
``/sites``, ``/parameters``, ``/health`` and the pages ask here instead of the store.
"""

from __future__ import annotations

from ecobasin.store.freshness import demo_batches
from ecobasin.store.queries import (
    ObservationFilter,
    cities,
    count_observations,
    iter_observations,
    known_site_ids,
    parameter_ids,
    parameters,
    rejected,
    sites,
    summary,
)

__all__ = [
    "ObservationFilter",
    "cities",
    "count_observations",
    "demo_batches",
    "iter_observations",
    "known_site_ids",
    "parameter_ids",
    "parameters",
    "rejected",
    "sites",
    "summary",
]
