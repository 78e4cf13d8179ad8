"""What ``ecobasin carbon …`` and ``/api/v1/carbon/…`` both answer: inventories, emissions by
sector, scope, line or year, the factor library, peak tracking and sinks.

One function per question over the stored inventories (:mod:`ecobasin.store.carbon`) and the
pure :mod:`ecobasin.carbon` core, so the command line and the API give the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import pandas as pd

from ecobasin.carbon import factors as fx
from ecobasin.carbon import peak as carbon_peak
from ecobasin.carbon.activity import ActivityTable
from ecobasin.carbon.inventory import InventorySettings
from ecobasin.store import Connection, Store
from ecobasin.store import carbon as store_carbon

__all__ = [
    "BY",
    "By",
    "add_factors",
    "choose",
    "compute",
    "emissions",
    "factor_rows",
    "import_activity",
    "inventories",
    "library",
    "peak_reports",
    "sinks",
]

By = Literal["sector", "scope", "line", "year"]
BY: tuple[str, ...] = ("sector", "scope", "line", "year")


def inventories(
    where: Connection, cities: Sequence[int] | None, years: Sequence[int] | None
) -> pd.DataFrame:
    """Inventories by city and year with their recorded choices (GWP set, factor sets, the
    electricity factor and why)."""
    return store_carbon.inventories(where, cities, years)


def emissions(
    where: Connection, cities: Sequence[int] | None, years: Sequence[int] | None, by: str
) -> pd.DataFrame:
    """Emissions [t CO2e] by ``sector`` (and scope), ``scope``, every ``line`` or ``year``.

    ``basic_t`` is the part in the GPC BASIC total (GPC 2014 §6).
    """
    if by not in BY:
        raise ValueError(f"by: {by!r} is not sector, scope, line or year")
    if by == "line":
        return store_carbon.emissions(where, cities, years)
    if by == "year":
        frame = store_carbon.yearly_totals(where, cities)
        return frame[frame["year"].isin(years)] if years else frame
    frame = store_carbon.sector_totals(where, cities, years)
    if by == "scope":
        frame = frame.groupby(["city_code", "year", "scope"], as_index=False)[
            ["co2e_t", "basic_t"]
        ].sum()
    return frame


def factor_rows(
    library: fx.FactorLibrary,
    activity: str | None = None,
    kind: str | None = None,
    factor_set: str | None = None,
) -> list[dict[str, Any]]:
    """Factors of the library matching a fuel or activity (a fuel's zh/en name or id; other
    text is matched as the activity id), a kind and a factor set."""
    wanted = activity
    if activity:
        try:
            wanted = fx.fuel(activity).id
        except fx.FactorError:
            wanted = activity
    return [
        f.as_row()
        for f in library.all()
        if (wanted is None or f.activity == wanted)
        and (kind is None or f.kind == kind)
        and (factor_set is None or f.factor_set == factor_set)
    ]


def peak_reports(
    where: Connection, cities: Sequence[int] | None, base_year: int | None
) -> list[dict[str, Any]]:
    """Peak tracking per city: energy CO2 [t], GDP [10⁴ CNY], intensity [t/10⁴ CNY], change
    against ``base_year`` [%], LMDI effects [t], peak status with its rule, targets."""
    return [
        carbon_peak.city_report(code, co2, gdp, base_year)
        for code, (co2, gdp) in store_carbon.peak_series(where, cities).items()
    ]


def sinks(
    where: Connection, cities: Sequence[int] | None, years: Sequence[int] | None
) -> pd.DataFrame:
    """Sink estimates [t CO2/a removed] by city, year and sink, with method and inputs."""
    return store_carbon.sinks(where, cities, years)


def library(where: Connection) -> fx.FactorLibrary:
    """The factor library in force: the shipped factors plus the users' ones."""
    return store_carbon.library(where)


def add_factors(store: Store, factors: Sequence[fx.Factor], added_by: str) -> int:
    """Add (or replace) user factors; how many were written.

    Raises
    ------
    ecobasin.carbon.factors.FactorError
        A factor contradicts the library (the store says which).
    """
    return store_carbon.add_factors(store, factors, added_by=added_by)


def import_activity(
    store: Store,
    table: ActivityTable,
    source: str,
    defaults: InventorySettings,
    gdp_price_base: int | None,
    **choices: str | None,
) -> dict[str, int]:
    """Store an activity table (inventories created with ``defaults``, lines replaced, GDP set;
    rejected rows kept aside) and record the ``choices`` given for its inventories (None
    leaves a choice). Returns counts: inventories, lines, gdp, rejected."""
    counts = store_carbon.save_activity(
        store, table, source, defaults=defaults, gdp_price_base=gdp_price_base
    )
    store_carbon.set_choices(store, sorted(table.inventories), **choices)
    return counts


def choose(store: Store, inventory_ids: Sequence[str], **choices: str | None) -> None:
    """Record new choices (gwp_set, factor_set, grid_factor_id, grid_kind) of inventories."""
    store_carbon.set_choices(store, inventory_ids, **choices)


def compute(store: Store, inventory_ids: Sequence[str]) -> dict[str, Any]:
    """Compute inventories from their lines and choices and store their emission lines
    [t CO2e]; failing lines are rejected with their reason.

    Raises
    ------
    ecobasin.carbon.factors.FactorError
        A choice names a factor the library does not hold.
    """
    return store_carbon.recompute(store, inventory_ids)
