"""The lake part of bench/scale_bench.py (issue 20): Dask over the Delta Lake history against
in-process DuckDB (ratios measured in one run, load average printed).

Usage::

    python bench/scale_bench.py --part lake [--stations 1700] [--years 10] [--cities 340]
        [--workers 2] [--worker-memory 1GiB] [--lake DIR]

``--part lake``: a national-size network (default 1,700 stations × 10 years = 87,600 hours, six
pollutants) generated deterministically straight into the Delta Lake history, month by month
(``year``/``month``/``city`` partitions, a progress bar), then the HJ 663 annual assessment of
every city and year computed twice, each in its own process so each high-water mark is its own:

* ``lake_dask``: the city-month kernels (``ecobasin.services.evaluation.run_partition``) on a
  Dask LocalCluster, each worker reading its Delta partition, under ``--worker-memory``;
* ``lake_duckdb``: the baseline, in-process DuckDB: the store's read path (the lake's months
  through ``ecobasin.store.air.air_hourly``) reads one month of the whole network at a time
  and one kernel call (``evaluation.city_days``) computes it, as the AQI refresh chunks it.

Both answers must be identical (the JSON of every year's assessment table is compared); the
times, the ratio and the peak resident memory of each (driver and every worker for Dask) are
printed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from ecobasin import catalog
from ecobasin.services import evaluation
from ecobasin.services.air import assessment_table
from ecobasin.store import Store
from ecobasin.store import air as store_air
from ecobasin.store import lake as store_lake

POLLUTANTS = ("SO2", "NO2", "CO", "O3", "PM10", "PM2.5")
#: Gamma scale of each pollutant [µg/m³] (CO [mg/m³]); shape 2.5.
SCALE = {"SO2": 4.0, "NO2": 12.0, "CO": 0.35, "O3": 28.0, "PM10": 30.0, "PM2.5": 22.0}
FIRST_YEAR = 2015
console = Console()


# -- the simulated network -----------------------------------------------------------------


def lake_stations(n_stations: int, n_cities: int) -> pd.DataFrame:
    """``site_id``, ``city_code`` (real GB/T 2260 prefecture codes, round robin), names and
    the city's label point."""
    cities = catalog.cities().reset_index(drop=True).sort_values("code").head(n_cities)
    cities = cities.reset_index(drop=True)
    pick = cities.iloc[np.arange(n_stations) % len(cities)].reset_index(drop=True)
    return pd.DataFrame(
        {
            "site_id": [f"S{i:05d}" for i in range(n_stations)],
            "kind": "air_station",
            "level": "national",
            "city_code": pick["code"].astype(int).to_numpy(),
            "name_zh": [f"站{i}" for i in range(n_stations)],
            "name_en": [f"Station {i}" for i in range(n_stations)],
            "lon": pick["lon"].to_numpy(),
            "lat": pick["lat"].to_numpy(),
        }
    )


def lake_month(stations: pd.DataFrame, year: int, month: int, seed: int) -> pa.Table:
    """One CST month of hourly values of every station (deterministic in the seed, year and
    month; 3 % missing), as the lake's observations rows."""
    start, end = evaluation.month_bounds(year, month)
    times = pd.date_range(start, end, freq="h", inclusive="both")
    rng = np.random.default_rng([seed, year, month])
    n_sites, n_hours = len(stations), len(times)
    n = n_sites * n_hours
    season = 1.0 + 0.4 * np.cos(2 * np.pi * (month - 1) / 12)
    columns: dict[str, list[Any]] = {k: [] for k in ("site_id", "parameter", "value", "city")}
    sites = np.repeat(stations["site_id"].to_numpy(), n_hours)
    cities = np.repeat(stations["city_code"].astype(str).to_numpy(), n_hours)
    stamp = np.tile(times.as_unit("us").to_numpy(), n_sites)
    parts = []
    for p in POLLUTANTS:
        values = rng.gamma(2.5, SCALE[p] * (season if p != "O3" else 2 - season), n)
        values = np.round(values, 1 if p == "CO" else 0)
        keep = rng.random(n) >= 0.03
        parts.append(
            pa.table(
                {
                    "site_id": sites[keep],
                    "parameter": np.full(int(keep.sum()), p),
                    "period": np.full(int(keep.sum()), "1h"),
                    "time": pa.array(stamp[keep], pa.timestamp("us", tz="UTC")),
                    "value": values[keep],
                    "flag": pa.nulls(int(keep.sum()), pa.string()),
                    "batch_id": pa.array(np.zeros(int(keep.sum()), np.int32)),
                    "city": cities[keep],
                    "year": pa.array(np.full(int(keep.sum()), year, np.int32)),
                    "month": pa.array(np.full(int(keep.sum()), month, np.int32)),
                }
            )
        )
    del columns
    return pa.concat_tables(parts)


def lake_months(years: int) -> list[tuple[int, int]]:
    return [(FIRST_YEAR + y, m) for y in range(years) for m in range(1, 13)]


def lake_generate(lake: Path, stations: pd.DataFrame, years: int, seed: int) -> int:
    """Write every month into the lake (one Delta commit each); the rows written."""
    rows = 0
    months = lake_months(years)
    with Progress(console=console) as bar:
        task = bar.add_task("generating the lake 生成数据湖", total=len(months))
        for year, month in months:
            table = lake_month(stations, year, month, seed)
            store_lake.write_month(lake, "observations", year, month, table)
            rows += table.num_rows
            bar.advance(task)
    return rows


# -- the two engines, each in its own process ----------------------------------------------


def lake_answer(days: pd.DataFrame, years: int) -> str:
    """Every year's assessment table as JSON (what the two engines must agree on)."""
    out = {}
    for y in range(FIRST_YEAR, FIRST_YEAR + years):
        chosen = days[days["day"].dt.year == y].reset_index(drop=True)
        table, standard, method = assessment_table(chosen, "year", date(y, 12, 31))
        out[str(y)] = {"standard": standard, "method": method, "rows": table.to_dict("records")}
    return json.dumps(out, ensure_ascii=False, default=str, sort_keys=True)


def _peak_rss() -> int:
    return evaluation.peak_rss()


def lake_dask(args: argparse.Namespace, stations: pd.DataFrame) -> dict[str, Any]:
    cities = sorted({str(c) for c in stations["city_code"]})
    parts = [
        evaluation.Partition(group, y, m, str(args.lake))
        for y, m in lake_months(args.years)
        for group in evaluation.city_groups(cities)
    ]
    frame = stations[["site_id", "city_code"]]
    with evaluation.dask_client(
        None, workers=args.workers, memory_limit=args.worker_memory
    ) as client:
        t0 = time.perf_counter()
        shared = client.scatter(frame, broadcast=True)
        futures = [
            client.submit(evaluation.run_partition, p, shared, None, pure=False) for p in parts
        ]
        days = evaluation.as_stored(
            list(client.gather(futures)),
            date(FIRST_YEAR, 1, 1),
            date(FIRST_YEAR + args.years - 1, 12, 31),
        )
        seconds = time.perf_counter() - t0
        workers = evaluation.worker_peak_rss(client)
    return {
        "seconds": seconds,
        "partitions": len(parts),
        "answer": lake_answer(days, args.years),
        "driver_peak": _peak_rss(),
        "worker_peaks": sorted(workers.values()),
    }


def lake_duckdb(args: argparse.Namespace, stations: pd.DataFrame) -> dict[str, Any]:
    """The store's own read path over the lake: a scratch store knows the stations and, in its
    manifest, that the months live in the lake; DuckDB reads them all, one kernel call."""
    with tempfile.TemporaryDirectory() as scratch, Store(Path(scratch) / "s.duckdb") as store:
        store.sync_catalog(catalog.load_region())
        store.upsert_sites(stations, source="scale bench")
        now = datetime.now(UTC)
        for y, m in lake_months(args.years):
            copy = store_lake.MonthCopy("observations", y, m, 0, "0")
            store_lake.record_month(store, copy, args.lake, verified=True, at=now)
            store_lake.delete_month(store, "observations", y, m, now)
        t0 = time.perf_counter()
        rows = []
        for y, m in lake_months(args.years):
            # one month of the whole network at a time, as the AQI refresh chunks it
            first, last = evaluation.month_bounds(y, m)
            hourly = store_air.air_hourly(store, start=first, end=last)
            rows.append(evaluation.city_days(hourly, stations[["site_id", "city_code"]]))
            del hourly
        days = evaluation.as_stored(
            rows, date(FIRST_YEAR, 1, 1), date(FIRST_YEAR + args.years - 1, 12, 31)
        )
        seconds = time.perf_counter() - t0
    return {"seconds": seconds, "answer": lake_answer(days, args.years), "peak": _peak_rss()}


def lake_child(args: argparse.Namespace) -> None:
    stations = lake_stations(args.stations, args.cities)
    args.lake = Path(args.lake)
    result = (lake_dask if args.run == "dask" else lake_duckdb)(args, stations)
    Path(args.out).write_text(json.dumps(result), encoding="utf-8")


def _run_child(args: argparse.Namespace, engine: str, out: Path) -> dict[str, Any]:
    command = [
        sys.executable,
        str(Path(__file__).with_name("scale_bench.py")),
        "--part",
        "lake",
        "--run",
        engine,
        "--out",
        str(out),
        "--lake",
        str(args.lake),
        "--stations",
        str(args.stations),
        "--years",
        str(args.years),
        "--cities",
        str(args.cities),
        "--workers",
        str(args.workers),
        "--worker-memory",
        args.worker_memory,
    ]
    subprocess.run(command, check=True)
    answer: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return answer


def _mib(n: int) -> str:
    return f"{n / 2**20:,.0f}"


def lake_part(args: argparse.Namespace) -> None:
    if args.run:
        lake_child(args)
        return
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as scratch:
        args.lake = Path(args.lake) if args.lake else Path(scratch) / "lake"
        stations = lake_stations(args.stations, args.cities)
        t0 = time.perf_counter()
        rows = lake_generate(args.lake, stations, args.years, args.seed)
        generated = time.perf_counter() - t0
        dask = _run_child(args, "dask", Path(scratch) / "dask.json")
        duck = _run_child(args, "duckdb", Path(scratch) / "duckdb.json")
    same = dask["answer"] == duck["answer"]
    hours = len(lake_months(args.years)) and sum(
        len(pd.date_range(*evaluation.month_bounds(y, m), freq="h"))
        for y, m in lake_months(args.years)
    )
    tab = Table(
        title=f"{args.stations:,} stations × {hours:,} hours, {args.cities} cities "
        f"({rows:,} values in the lake, generated in {generated:.1f} s)"
    )
    for column in ("leg", "time [s]", "ratio", "values/s", "peak memory [MiB]"):
        tab.add_column(column, justify="right" if column != "leg" else "left")
    tab.add_row(
        "lake_duckdb (in-process DuckDB, baseline)",
        f"{duck['seconds']:.1f}",
        "1.00x",
        f"{rows / duck['seconds']:,.0f}",
        _mib(duck["peak"]),
    )
    tab.add_row(
        f"lake_dask ({args.workers} workers × 1 thread, limit {args.worker_memory} each)",
        f"{dask['seconds']:.1f}",
        f"{duck['seconds'] / dask['seconds']:.2f}x",
        f"{rows / dask['seconds']:,.0f}",
        f"driver {_mib(dask['driver_peak'])}, workers "
        + ", ".join(_mib(w) for w in dask["worker_peaks"]),
    )
    console.print(tab)
    console.print(
        f"identical answers 结果一致: {'yes' if same else 'NO'} "
        f"({len(json.loads(duck['answer']))} years × {args.cities} cities); "
        f"partitions {dask['partitions']:,}; cores {evaluation.cpu_count()}; "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (start), "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} (end)"
    )
    if not same:
        raise SystemExit("the two engines disagree")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``--part lake``."""
    lake = parser.add_argument_group("--part lake")
    lake.add_argument("--stations", type=int, default=1700)
    lake.add_argument("--years", type=int, default=10)
    lake.add_argument("--cities", type=int, default=340)
    lake.add_argument("--workers", type=int, default=2)
    lake.add_argument("--worker-memory", default="1GiB")
    lake.add_argument("--lake", help="keep the lake in this folder (default: a temporary one)")
    lake.add_argument("--run", choices=["dask", "duckdb"], help=argparse.SUPPRESS)
    lake.add_argument("--out", help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> None:
    """``--part lake`` (seed 20 unless given)."""
    args.seed = 20 if args.seed is None else args.seed
    lake_part(args)
