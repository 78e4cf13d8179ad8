"""Keep the stored surface-water results up to date: sections, rivers, basins, cities, money.

Orchestration only: observations of water sections are read through :mod:`ecobasin.store.water`,
assessed by the pure kernels :func:`ecobasin.standards.water_assessment.compute_year`, and
written back (migration 6). For every CST year that received data it recomputes, per month and
for the year:

* **period means** per section and item (环办〔2011〕22号 §一(二), ``period_means``): manual samples
  (period ``sample``) and automatic-station values (``4h``/``1h``, validity thresholds of
  ``evaluation.toml``); an item with a valid automatic mean uses it, otherwise the manual mean
  (ecobasin's reading of the national practice since 2021 that automatic data are assessed
  where a station measures the item [assume]); non-detects (flag ``L``) enter as ½ DL;
* **section results**: class by the single-factor method, status and colour, determining items,
  main pollutants, CWQI, TLI(Σ) for lakes and reservoirs, TN and fecal-coliform classes,
  whether the target class is met;
* **rivers, basins, the region**: mean method below 5 sections, class shares from 5
  (``river_record``), plus the shares of Class I–II and of sections meeting their target;
* **cities**: shares and the city CWQI of all the city's sections (rivers M, lakes N) with the
  ranking (环办监测〔2017〕51号);
* **compensation**: every boundary section (``upstream_city`` and ``downstream_city``) per month
  by the agreement (default ``ecobasin-default``), and the settlements per month and year.

Idempotent: a year is always recomputed whole and replaced in one transaction.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from ecobasin.standards import water
from ecobasin.standards.water_assessment import compute_year
from ecobasin.store import Store
from ecobasin.store import water as store_water

__all__ = ["refresh_water_quality", "years_touched"]

Progress = Callable[[int, int], None]


def years_touched(touched: pd.DataFrame | None, water_sites: Iterable[str]) -> set[int] | None:
    """CST years a set of touched (site, day) pairs makes stale; None = every year."""
    if touched is None:
        return None
    sites = set(water_sites)
    rows = touched[touched["site_id"].astype(str).isin(sites)]
    days = pd.to_datetime(rows["day"])
    # a value at 00:00 CST closes the day before (hour-ending days): take the next day too
    return {int(y) for y in days.dt.year} | {int(y) for y in (days + pd.Timedelta(days=1)).dt.year}


def refresh_water_quality(
    store: Store,
    touched: pd.DataFrame | None = None,
    *,
    region_id: str = "region",
    agreement: water.Agreement | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Recompute the water results of the years an import touched (all years by default).

    Parameters
    ----------
    store : Store
    touched : pandas.DataFrame, optional
        ``site_id`` and ``day`` (:meth:`ImportReport.touched_frame`); None recomputes every
        year holding water observations.
    region_id : str
        ``scope_id`` of the region row.
    agreement : Agreement, optional
        Compensation rule set stored (default ``ecobasin-default``).

    Returns
    -------
    dict
        ``years``, ``sections``, ``section_rows``, ``group_rows``, ``compensation_rows``,
        ``settlement_rows``, ``skipped`` (compensation months without a factor), ``seconds``.
    """
    started = _time.perf_counter()
    sections = store_water.water_sections(store)
    years = years_touched(touched, sections["site_id"])
    if years is None:
        years = set(store_water.water_years(store))
    counts = dict.fromkeys(
        ("section_rows", "group_rows", "compensation_rows", "settlement_rows"), 0
    )
    skipped: list[str] = []
    for done, year in enumerate(sorted(years), 1):
        start = datetime(year - 1, 12, 31, 16, 0, tzinfo=UTC)  # 00:00 CST on 1 January
        end = datetime(year, 12, 31, 15, 59, 59, tzinfo=UTC)
        obs = store_water.water_observations(store, start=start, end=end)
        results, lost = compute_year(obs, sections, region_id, agreement)
        store_water.replace_year(store, year, results)
        skipped += lost
        for key, table in zip(counts, store_water.RESULT_TABLES, strict=True):
            counts[key] += len(results.get(table, ()))
        if progress:
            progress(done, len(years))
    return {
        "years": sorted(years),
        "sections": len(sections),
        **counts,
        "skipped": skipped,
        "seconds": _time.perf_counter() - started,
    }
