"""The HJ 663 city assessment recomputed from hourly observations, partition by partition, in
this process or on a Dask cluster (``ecobasin evaluate --engine inprocess|dask``).

A **partition** is one city's air stations over one China Standard Time month (HJ 663-2013 §3
days; a month is what the lake stores as one ``year``/``month``/``city`` partition). Its kernel,
:func:`city_days`, is a pure function of the partition's hourly concentrations → the city's
daily rows (HJ 663-2013 §5-§6, HJ 633-2012 §5.1.2 / HJ 633-2026 §4.2.2, the same
:func:`ecobasin.standards.air_assessment.compute_chunk` the stored AQI comes from). A city
daily value never depends on another month (every window lies inside its day), so the
partitions are independent and their rows, concatenated, are the stored ``aqi_daily`` city
rows of the period; :func:`ecobasin.services.air.assessment_table` then ranks them.

Where a partition's hours come from: months moved to the lake and deleted from the store are
read by whoever runs the kernel (a Dask worker reads its Delta partition itself, so the
driver never holds the period); the other months are read from the store by this process
(DuckDB, :func:`ecobasin.store.air.air_hourly`) and shipped with the task.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from ecobasin.services.air import assessment_table
from ecobasin.standards import air
from ecobasin.standards.air_assessment import compute_chunk, plan_refresh
from ecobasin.standards.air_assessment.rows import DAILY_COLUMNS
from ecobasin.store import Store
from ecobasin.store import air as store_air
from ecobasin.store import lake as store_lake
from ecobasin.store.lake_read import read_partition

__all__ = [
    "ENGINES",
    "Partition",
    "as_stored",
    "city_days",
    "evaluate",
    "hourly_wide",
    "month_bounds",
    "partitions",
    "peak_rss",
    "run_partition",
]

#: ``store``: the stored city daily AQI (as before); ``inprocess``: the partitions here;
#: ``dask``: the partitions on a Dask cluster.
ENGINES = ("store", "inprocess", "dask")
#: The stations that make a city's values (HJ 663-2013 §5: the city's ambient air stations).
STATION_KIND = "air_station"
#: When the kernels' rows say they were computed (not part of any answer).
_COMPUTED_AT = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Partition:
    """Some cities' stations over one CST month; ``lake`` is the lake folder when the month's
    observations were moved there (and deleted from the store), else None. Several cities a
    task: the kernel's fixed cost (~0.1 s) is paid once for all of them."""

    cities: tuple[str, ...]
    year: int
    month: int
    lake: str | None


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """First and last hour-ending instant [UTC] of a CST month (01:00 of the 1st … 24:00 of
    the last day, HJ 663-2013 §3)."""
    start = datetime(year, month, 1, 1, tzinfo=UTC) - timedelta(hours=8)
    nxt = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC) - timedelta(hours=8)
    return start, nxt


def _months(first: date, last: date) -> list[tuple[int, int]]:
    stamps = pd.period_range(first, last, freq="M")
    return [(int(p.year), int(p.month)) for p in stamps]


#: Cities in one task (a national network of ~340 cities: 9 tasks a month).
CITIES_PER_TASK = 40


def city_groups(cities: list[str], size: int = CITIES_PER_TASK) -> list[tuple[str, ...]]:
    """``cities`` in groups of ``size`` (the last one shorter)."""
    return [tuple(cities[i : i + size]) for i in range(0, len(cities), size)]


def partitions(store: Store, first: date, last: date) -> tuple[list[Partition], pd.DataFrame]:
    """The partitions of the period ``first`` … ``last`` (whole months, :data:`CITIES_PER_TASK`
    cities each) and the stations (``site_id``, ``city_code``) of every city."""
    stations = store.sites(kinds=[STATION_KIND])[["site_id", "city_code"]].reset_index(drop=True)
    in_lake = {
        (int(row["year"]), int(row["month"])): str(row["lake"])
        for row in store_lake.manifest(store)
        if row["table_name"] == "observations" and row["deleted_at"] is not None
    }
    cities = sorted({str(c) for c in stations["city_code"].dropna().astype(int)})
    parts = [
        Partition(group, year, month, in_lake.get((year, month)))
        for year, month in _months(first, last)
        for group in city_groups(cities)
    ]
    return parts, stations


def hourly_wide(long: pd.DataFrame, sites: list[str]) -> pd.DataFrame:
    """Tidy observations (``site_id``, ``parameter``, ``period``, ``time``, ``value``,
    ``flag``) → one row per site and hour, one column per pollutant [µg/m³] (CO [mg/m³]), as
    :func:`ecobasin.store.air.air_hourly` answers from the store: 1-h values of the six
    pollutants (the largest of duplicates), invalid flags left out, every (site, hour) of the
    sites and hours present, ordered by site and time."""
    keep = (
        long["site_id"].isin(sites)
        & (long["period"] == "1h")
        & long["parameter"].isin(store_air.AIR_PARAMETERS)
        & ~long["flag"].isin(store_air.INVALID_FLAGS)
    )
    rows = long.loc[keep, ["site_id", "time", "parameter", "value"]]
    # codes and one NaN grid instead of pivot_table (its sorts and groupby were ~1/4 of a task)
    site_code, site_ids = pd.factorize(rows["site_id"], sort=True)
    time_code, times = pd.factorize(rows["time"], sort=True)
    param_code, params = pd.factorize(rows["parameter"])
    column = pd.Index(list(store_air.AIR_PARAMETERS)).get_indexer(params)[param_code]
    grid = np.full((len(site_ids) * len(times), len(store_air.AIR_PARAMETERS)), np.nan)
    values = rows["value"].to_numpy(dtype=np.float64, na_value=np.nan)
    np.fmax.at(grid, (site_code * len(times) + time_code, column), values)  # max, NaN-blind
    wide = pd.DataFrame(
        {
            "site_id": np.repeat(np.asarray(site_ids), len(times)),
            "time": pd.to_datetime(
                times.take(np.tile(np.arange(len(times)), len(site_ids))), utc=True
            ),
        }
    )
    for i, p in enumerate(store_air.AIR_PARAMETERS):
        wide[p] = grid[:, i]
    return wide


def city_days(hourly: pd.DataFrame, stations: pd.DataFrame) -> pd.DataFrame:
    """The kernel: city daily rows (``aqi_daily`` columns, scope ``city``) of one partition's
    hourly concentrations (pure; HJ 663-2013 §5-§6)."""
    if hourly.empty:
        return pd.DataFrame(columns=list(DAILY_COLUMNS))
    touched = pd.DataFrame(
        {"site_id": hourly["site_id"].to_numpy(), "day": air.local_day(hourly["time"])}
    ).drop_duplicates()
    plan = plan_refresh(touched, stations)
    keys = {
        "hourly_site": plan["hourly_site"].iloc[0:0],
        "hourly_city": plan["hourly_city"].iloc[0:0],
        "daily_site": plan["daily_site"].iloc[0:0],
        "daily_city": plan["daily_city"],
    }
    _, daily = compute_chunk(hourly, stations, keys, _COMPUTED_AT)
    return daily[daily["scope"] == "city"].reset_index(drop=True)


def run_partition(
    part: Partition, stations: pd.DataFrame, hourly: pd.DataFrame | None = None
) -> pd.DataFrame:
    """A partition's city daily rows; its hours read from the lake when ``hourly`` is None."""
    sites = _sites(stations, part)
    if hourly is None:
        if part.lake is None:
            raise ValueError(f"partition {part} has neither data nor a lake")
        table = read_partition(part.lake, "observations", part.year, part.month, part.cities)
        hourly = hourly_wide(table.to_pandas(), sites) if table.num_rows else pd.DataFrame()
    return city_days(hourly, stations)


def _sites(stations: pd.DataFrame, part: Partition) -> list[str]:
    chosen = stations["city_code"].astype(str).isin(part.cities)
    return list(stations.loc[chosen, "site_id"])


def _store_hours(store: Store, part: Partition, stations: pd.DataFrame) -> pd.DataFrame:
    sites = _sites(stations, part)
    start, end = month_bounds(part.year, part.month)
    # the partition's own lake partitions, as a Dask worker reads them (read_partition)
    return store_air.air_hourly(store, sites=sites, start=start, end=end, cities=part.cities)


Runner = Callable[[list[Partition], pd.DataFrame, Store], list[pd.DataFrame]]


def _inprocess(parts: list[Partition], stations: pd.DataFrame, store: Store) -> list[pd.DataFrame]:
    # every hour through the store's read path (DuckDB over the live store and the lake)
    return [run_partition(p, stations, _store_hours(store, p, stations)) for p in parts]


@contextmanager
def dask_client(scheduler: str | None, *, workers: int, memory_limit: str) -> Iterator[Any]:
    """A client of the scheduler at ``scheduler``, or of a LocalCluster of ``workers``
    processes (one thread each, ``memory_limit`` each) that it stops afterwards."""
    from dask.distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as client:  # type: ignore[no-untyped-call]
            yield client
        return
    with (
        LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            memory_limit=memory_limit,
            dashboard_address=":0",  # the HTTP endpoint on any free port, never 8787
        ) as cluster,
        Client(cluster) as client,  # type: ignore[no-untyped-call]
    ):
        yield client


def on_dask(client: Any, progress: Callable[[int, int], None] | None = None) -> Runner:
    """A runner of the partitions on the Dask cluster of ``client``; ``progress(done, total)``
    after each partition.

    Each result is fetched as its task finishes and its future dropped, so the workers keep
    none: one gather at the end held every result on the workers (1,080 at ten national years)
    until both passed 95 % of 768 MiB, their nannies restarted them and every result was lost.
    """

    def run(parts: list[Partition], stations: pd.DataFrame, store: Store) -> list[pd.DataFrame]:
        from dask.distributed import as_completed

        shared = client.scatter(stations, broadcast=True)
        futures = []
        for p in parts:
            # months still in the store travel with the task; lake months are read by workers
            hours = None if p.lake else _store_hours(store, p, stations)
            futures.append(client.submit(run_partition, p, shared, hours, pure=False))
        order = {future.key: i for i, future in enumerate(futures)}
        results = [pd.DataFrame()] * len(futures)
        finished = as_completed(futures, with_results=True)  # type: ignore[no-untyped-call]
        del futures
        for done, (future, result) in enumerate(finished, start=1):
            results[order[future.key]] = result
            del future
            if progress is not None:
                progress(done, len(results))
        return results

    return run


def as_stored(rows: list[pd.DataFrame], first: date, last: date) -> pd.DataFrame:
    """The partitions' rows in the shape :func:`ecobasin.store.air.aqi_daily` answers."""
    frames = [r for r in rows if len(r)]
    if not frames:
        return pd.DataFrame(columns=list(DAILY_COLUMNS))
    days = pd.concat(frames, ignore_index=True)
    days["day"] = pd.to_datetime(days["day"])
    days = days[(days["day"] >= pd.Timestamp(first)) & (days["day"] <= pd.Timestamp(last))]
    days = days.rename(columns={"primary_pollutant": "primary"})
    days["scope_id"] = days["scope_id"].astype(str)
    return days.sort_values(["scope_id", "day"]).reset_index(drop=True)


def evaluate(
    store: Store,
    kind: str,
    first: date,
    last: date,
    *,
    engine: str = "inprocess",
    client: Any = None,
) -> tuple[pd.DataFrame, str, str] | None:
    """The period assessment and ranking recomputed from hourly observations (the same
    answer as :func:`ecobasin.services.air.city_assessment` over up-to-date stored AQI).

    ``engine`` is ``inprocess`` or ``dask`` (then ``client`` is a Dask client,
    :func:`dask_client`). None when no city day has data in the period.
    """
    parts, stations = partitions(store, first, last)
    if engine == "dask":
        if client is None:
            raise ValueError("the dask engine needs a client")
        runner = on_dask(client)
    elif engine == "inprocess":
        runner = _inprocess
    else:
        raise ValueError(f"unknown engine {engine!r}: {', '.join(ENGINES)}")
    days = as_stored(runner(parts, stations, store), first, last)
    if days.empty:
        return None
    days["aqi"] = days["aqi"].to_numpy(dtype=float, na_value=np.nan)
    return assessment_table(days, kind, last)


def peak_rss() -> int:
    """This process's peak resident memory [bytes]: ``VmHWM`` of /proc/self/status (Linux).
    Not ``ru_maxrss``: Linux keeps that across ``exec``, so a child would report its parent's
    peak at the fork."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # kB
    return 0


def worker_peak_rss(client: Any) -> dict[str, int]:
    """The peak resident memory [bytes] of each worker process (:func:`peak_rss`)."""
    answer: dict[str, int] = client.run(peak_rss)
    return answer


def cpu_count() -> int:
    """Cores this process may use."""
    return len(os.sched_getaffinity(0))
