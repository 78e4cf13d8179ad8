"""The lake part of bench/scale_bench.py (issue 20): Dask over the Delta Lake history against
in-process DuckDB (ratios measured in one run, load average printed).

Usage::

    python bench/scale_bench.py --part lake [--stations 1700] [--years 10] [--cities 340]
        [--workers 2] [--worker-memory 1GiB] [--lake DIR] [--generate-only] [--log-costs]
        [--read-costs N]

``--part lake``: a national-size network (default 1,700 stations × 10 years = 87,600 hours, six
pollutants) generated deterministically straight into the Delta Lake history, month by month
(one Delta commit a month, ``year``/``month``/``city`` partitions, one pollutant's record batch
in memory at a time, a progress bar and one log line a month), then the HJ 663 annual
assessment of every city and year computed twice, each in its own process so each high-water
mark is its own:

* ``lake_dask``: the city-month kernels (``ecobasin.services.evaluation.run_partition``) on a
  Dask LocalCluster, each worker reading its Delta partition, under ``--worker-memory``;
* ``lake_duckdb``: the baseline, in-process DuckDB: the store's read path (the lake's months
  through ``ecobasin.store.air.air_hourly``, its period pruning the lake's partitions) reads
  one month of the whole network at a time and one kernel call (``evaluation.city_days``)
  computes it, as the AQI refresh chunks it.

Both answers must be identical (the JSON of every year's assessment table is compared, its
SHA-256 printed); the times, the ratio, the CPU seconds (what the load cannot inflate) and the
peak resident memory (``VmHWM``) of each process are printed.

Resumable with ``--lake DIR``: ``DIR/scale_bench.json`` names the network and seed; a rerun
generates only the months missing from the Delta log (a month is one commit: whole or absent)
and reads back a leg already measured for the same ``--years`` (``DIR/results/``).

``--log-costs`` (with ``--lake``): opening the Delta log whole against from its latest checkpoint,
and the whole table's Arrow dataset the in-process read path builds; then stops.

``--read-costs N`` (with ``--lake``): one month of the whole network read by the in-process
path (``air_hourly``), its period pruning the lake's partitions, against the baseline that
filters the whole table's dataset, over N months (same rows checked); then stops.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import deltalake
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
#: The lake's ``observations`` rows (the store's ``observations`` view and the partitions).
LAKE_SCHEMA = pa.schema(
    [
        ("site_id", pa.string()),
        ("parameter", pa.string()),
        ("period", pa.string()),
        ("time", pa.timestamp("us", tz="UTC")),
        ("value", pa.float64()),
        ("flag", pa.string()),
        ("batch_id", pa.int32()),
        ("city", pa.string()),
        ("year", pa.int32()),
        ("month", pa.int32()),
    ]
)
console = Console(width=None if sys.stdout.isatty() else 160)


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


def lake_month_batches(
    stations: pd.DataFrame, year: int, month: int, seed: int
) -> Iterator[pa.RecordBatch]:
    """One CST month of hourly values of every station (deterministic in the seed, year and
    month; 3 % missing), as the lake's observations rows: one record batch per pollutant,
    generated only when the writer asks for it (a sixth of the month in memory at a time).

    The draws (a gamma [µg/m³] (CO [mg/m³]) then a uniform per station-hour, pollutant by
    pollutant) are those of every earlier version of this bench, so a lake of any size keeps
    its values; the strings are Arrow ``take``s of one array per station, not Python objects."""
    start, end = evaluation.month_bounds(year, month)
    times = pd.date_range(start, end, freq="h", inclusive="both")
    rng = np.random.default_rng([seed, year, month])
    n_sites, n_hours = len(stations), len(times)
    n = n_sites * n_hours
    season = 1.0 + 0.4 * np.cos(2 * np.pi * (month - 1) / 12)
    site_of_row = np.repeat(np.arange(n_sites, dtype=np.int32), n_hours)
    stamp = np.tile(times.as_unit("us").asi8, n_sites)  # [µs since 1970, UTC]
    site_ids = pa.array(stations["site_id"].astype(str).to_numpy(), pa.string())
    cities = pa.array(stations["city_code"].astype(str).to_numpy(), pa.string())
    for p in POLLUTANTS:
        values = rng.gamma(2.5, SCALE[p] * (season if p != "O3" else 2 - season), n)
        values = np.round(values, 1 if p == "CO" else 0)
        keep = rng.random(n) >= 0.03
        rows = site_of_row[keep]
        k = len(rows)
        yield pa.RecordBatch.from_pydict(
            {
                "site_id": site_ids.take(rows),
                "parameter": pa.repeat(p, k),
                "period": pa.repeat("1h", k),
                "time": pa.array(stamp[keep], pa.int64()).cast(pa.timestamp("us", tz="UTC")),
                "value": pa.array(values[keep], pa.float64()),
                "flag": pa.nulls(k, pa.string()),
                "batch_id": pa.array(np.zeros(k, np.int32)),
                "city": cities.take(rows),
                "year": pa.repeat(pa.scalar(year, pa.int32()), k),
                "month": pa.repeat(pa.scalar(month, pa.int32()), k),
            },
            schema=LAKE_SCHEMA,
        )


def lake_months(years: int) -> list[tuple[int, int]]:
    return [(FIRST_YEAR + y, m) for y in range(years) for m in range(1, 13)]


def lake_written(lake: Path) -> dict[tuple[int, int], int]:
    """The months the lake's ``observations`` table holds → their rows, from its Delta log (a
    month is one commit, so a month listed there is whole)."""
    path = lake / "observations"
    if not deltalake.DeltaTable.is_deltatable(str(path)):
        return {}
    adds = pa.table(deltalake.DeltaTable(str(path)).get_add_actions(flatten=True))
    frame = adds.select(["partition.year", "partition.month", "num_records"]).to_pandas()
    rows = frame.groupby(["partition.year", "partition.month"])["num_records"].sum()
    return {(int(y), int(m)): int(n) for (y, m), n in rows.items()}


def lake_claim(lake: Path, args: argparse.Namespace) -> None:
    """Write, or check, the lake's ``scale_bench.json``: a rerun may only resume a lake made
    by the same network and seed (else its months would mix two networks)."""
    wanted = {"stations": args.stations, "cities": args.cities, "seed": args.seed}
    marker = lake / "scale_bench.json"
    if marker.exists():
        held = json.loads(marker.read_text(encoding="utf-8"))
        if held != wanted:
            raise SystemExit(
                f"the lake {lake} holds another network ({held}), not {wanted}: "
                "choose another --lake 请换一个数据湖目录"
            )
        return
    if lake_written(lake):
        raise SystemExit(f"the lake {lake} was not made by this bench: choose another --lake")
    lake.mkdir(mode=0o700, parents=True, exist_ok=True)
    marker.write_text(json.dumps(wanted), encoding="utf-8")


def lake_generate(lake: Path, stations: pd.DataFrame, years: int, seed: int) -> tuple[int, int]:
    """Write every month missing from the lake (one Delta commit each, one pollutant in memory
    at a time); (the rows of the period, the months written now). A rerun after an
    interruption resumes at the first missing month; each month's line goes to the log."""
    months = lake_months(years)
    written = lake_written(lake)
    todo = [ym for ym in months if ym not in written]
    with Progress(console=console) as bar:
        task = bar.add_task(
            "generating the lake 生成数据湖", total=len(months), completed=len(months) - len(todo)
        )
        for year, month in todo:
            t0 = time.perf_counter()
            batches = lake_month_batches(stations, year, month, seed)
            reader = pa.RecordBatchReader.from_batches(LAKE_SCHEMA, batches)
            store_lake.write_month(lake, "observations", year, month, reader)  # type: ignore[arg-type]
            bar.advance(task)
            bar.console.log(
                f"{year}-{month:02d} written 已写入 in {time.perf_counter() - t0:.1f} s, "
                f"peak {_mib(_peak_rss())} MiB, load {os.getloadavg()[0]:.1f}"
            )
    # a lake written before the lake kept checkpoints gets one now (one every 10 commits
    # after); readers then skip replaying the JSON log (docs/architecture.md)
    if store_lake.keep_checkpoints(lake, "observations"):
        console.log("checkpoint written 已写入检查点 (Delta log)")
    written = lake_written(lake)
    return sum(written[ym] for ym in months), len(todo)


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


def _every(done: int, total: int) -> bool:
    """Log a leg's progress at every tenth of it (and at the end)."""
    return done == total or done % max(1, total // 10) == 0


def lake_dask(args: argparse.Namespace, stations: pd.DataFrame) -> dict[str, Any]:
    """The city-month kernels on a LocalCluster (the product's runner,
    :func:`ecobasin.services.evaluation.on_dask`); each worker reads its own Delta partitions."""
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

        def progress(done: int, total: int) -> None:
            if _every(done, total):
                console.log(f"dask: {done:,}/{total:,} tasks, load {os.getloadavg()[0]:.1f}")

        runner = evaluation.on_dask(client, progress)
        # lake months only: the workers read them, the runner never reads a store
        results = runner(parts, frame, None)  # type: ignore[arg-type]
        days = evaluation.as_stored(
            results, date(FIRST_YEAR, 1, 1), date(FIRST_YEAR + args.years - 1, 12, 31)
        )
        seconds = time.perf_counter() - t0
        workers = evaluation.worker_peak_rss(client)
        worker_cpu: dict[str, float] = client.run(time.process_time)
    return {
        "seconds": seconds,
        "partitions": len(parts),
        "answer": lake_answer(days, args.years),
        "driver_peak": _peak_rss(),
        "worker_peaks": sorted(workers.values()),
        "worker_cpu_seconds": sorted(worker_cpu.values()),
    }


@contextmanager
def lake_store(lake: Path, stations: pd.DataFrame, years: int) -> Iterator[Store]:
    """A scratch store that knows the stations and, in its manifest, that the months of
    ``years`` live in ``lake`` (deleted from the store): its readers take them from the lake."""
    with tempfile.TemporaryDirectory() as scratch, Store(Path(scratch) / "s.duckdb") as store:
        store.sync_catalog(catalog.load_region())
        store.upsert_sites(stations, source="scale bench")
        now = datetime.now(UTC)
        for y, m in lake_months(years):
            copy = store_lake.MonthCopy("observations", y, m, 0, "0")
            store_lake.record_month(store, copy, lake, verified=True, at=now)
            store_lake.delete_month(store, "observations", y, m, now)
        yield store


def lake_duckdb(args: argparse.Namespace, stations: pd.DataFrame) -> dict[str, Any]:
    """The store's own read path over the lake: a scratch store knows the stations and, in its
    manifest, that the months live in the lake; DuckDB reads them, one month at a time."""
    with lake_store(args.lake, stations, args.years) as store:
        t0 = time.perf_counter()
        rows = []
        months = lake_months(args.years)
        for done, (y, m) in enumerate(months, start=1):
            # one month of the whole network at a time, as the AQI refresh chunks it
            first, last = evaluation.month_bounds(y, m)
            hourly = store_air.air_hourly(store, start=first, end=last)
            rows.append(evaluation.city_days(hourly, stations[["site_id", "city_code"]]))
            del hourly
            if _every(done, len(months)):
                console.log(f"duckdb: {done}/{len(months)} months, load {os.getloadavg()[0]:.1f}")
        days = evaluation.as_stored(
            rows, date(FIRST_YEAR, 1, 1), date(FIRST_YEAR + args.years - 1, 12, 31)
        )
        seconds = time.perf_counter() - t0
    return {"seconds": seconds, "answer": lake_answer(days, args.years), "peak": _peak_rss()}


def lake_child(args: argparse.Namespace) -> None:
    stations = lake_stations(args.stations, args.cities)
    args.lake = Path(args.lake)
    load = os.getloadavg()
    result = (lake_dask if args.run == "dask" else lake_duckdb)(args, stations)
    result["load"] = [load, os.getloadavg()]
    # CPU [s] of this process, every thread (DuckDB's too): what the load cannot inflate
    result["cpu_seconds"] = time.process_time()
    result["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    out = Path(args.out)
    partial = out.with_suffix(".partial")
    partial.write_text(json.dumps(result), encoding="utf-8")
    partial.replace(out)  # whole or absent: a rerun trusts any result file it finds


def _run_child(args: argparse.Namespace, engine: str) -> dict[str, Any]:
    """One leg in its own process (its own high-water mark); a leg that finished in an earlier,
    interrupted run of the same lake and size is read back, not run again."""
    out = args.lake / "results" / f"{engine}-{args.years}y.json"
    if out.exists():
        console.log(f"{engine}: reusing the leg measured at {out} 沿用已测结果")
    else:
        out.parent.mkdir(mode=0o700, exist_ok=True)
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


def _answer_digest(answer: str) -> str:
    return hashlib.sha256(answer.encode("utf-8")).hexdigest()[:16]


def _lake_report(
    args: argparse.Namespace, rows: int, generation: str, legs: dict[str, dict[str, Any]]
) -> None:
    dask, duck = legs["dask"], legs["duckdb"]
    hours = sum(
        len(pd.date_range(*evaluation.month_bounds(y, m), freq="h"))
        for y, m in lake_months(args.years)
    )
    tab = Table(
        title=f"{args.stations:,} stations × {hours:,} hours, {args.cities} cities "
        f"({rows:,} values in the lake; {generation})"
    )
    columns = ("leg", "time [s]", "ratio", "values/s", "CPU [s]", "peak memory [MiB]", "load")
    for column in columns:
        tab.add_column(column, justify="right" if column != "leg" else "left")
    tab.add_row(
        "lake_duckdb (in-process DuckDB, baseline)",
        f"{duck['seconds']:.1f}",
        "1.00x",
        f"{rows / duck['seconds']:,.0f}",
        _cpu(duck),
        _mib(duck["peak"]),
        _loads(duck),
    )
    tab.add_row(
        f"lake_dask ({args.workers} workers × 1 thread, limit {args.worker_memory} each)",
        f"{dask['seconds']:.1f}",
        f"{duck['seconds'] / dask['seconds']:.2f}x",
        f"{rows / dask['seconds']:,.0f}",
        _cpu(dask),
        # a LocalCluster's scheduler and nannies run inside the driver process
        f"driver (client, scheduler, nannies) {_mib(dask['driver_peak'])}; workers "
        + ", ".join(_mib(w) for w in dask["worker_peaks"]),
        _loads(dask),
    )
    console.print(tab)
    console.print(
        f"identical answers 结果一致: {'yes' if dask['answer'] == duck['answer'] else 'NO'} "
        f"(sha256 of the evaluation JSON: dask {_answer_digest(dask['answer'])}, "
        f"duckdb {_answer_digest(duck['answer'])}; "
        f"{len(json.loads(duck['answer']))} years × {args.cities} cities); "
        f"partitions {dask['partitions']:,}; cores {evaluation.cpu_count()}"
    )


def _cpu(leg: dict[str, Any]) -> str:
    """CPU [s] of the leg's processes (driver, and each worker for Dask, startup included)."""
    if "cpu_seconds" not in leg:
        return "?"
    workers = leg.get("worker_cpu_seconds", [])
    parts = f" (driver {leg['cpu_seconds']:.0f}; workers " if workers else ""
    parts += ", ".join(f"{w:.0f}" for w in workers) + ")" if workers else ""
    return f"{leg['cpu_seconds'] + sum(workers):.0f}{parts}"


def _loads(leg: dict[str, Any]) -> str:
    """The leg's 1-minute load average at its start → end."""
    if "load" not in leg:
        return "?"
    return f"{leg['load'][0][0]:.1f} → {leg['load'][1][0]:.1f}"


# -- what reading the Delta log costs at the lake's size ----------------------------------


def _timed(action: Any) -> tuple[float, float, Any]:
    """(wall [s], CPU [s] of this process, the answer) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    answer = action()
    return time.perf_counter() - wall, time.process_time() - cpu, answer


def _log_copy(log: Path, into: Path, *, checkpoint: bool) -> str:
    """A copy of a table's ``_delta_log`` (the data files are not needed to open it): every
    JSON commit, and with ``checkpoint`` a checkpoint at its latest version."""
    shutil.copytree(log, into / "_delta_log", ignore=shutil.ignore_patterns("*checkpoint*"))
    if checkpoint:
        deltalake.DeltaTable(str(into)).create_checkpoint()
    return str(into)


def lake_log_costs(lake: Path, repeats: int = 5) -> None:
    """Open the lake's ``observations`` log as a reader does, its whole JSON log (delta-rs's
    default before its 100th commit, the baseline) against a checkpoint at the latest version
    (what :func:`ecobasin.store.lake.write_month` keeps), alternated in one process; then the
    whole table's Arrow dataset that the in-process read path (``lake_read.source``) builds
    once per version and process, its time and the memory it adds."""
    from ecobasin.store import lake_read

    log = lake / "observations" / "_delta_log"
    commits = len(list(log.glob("*.json")))
    size = sum(f.stat().st_size for f in log.glob("*.json"))
    opens: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as scratch:
        tables = {k: _log_copy(log, Path(scratch) / str(k), checkpoint=k) for k in opens}
        for _ in range(repeats):
            for kept, path in tables.items():
                wall, cpu, _ = _timed(lambda path=path: deltalake.DeltaTable(path).version())
                opens[kept].append((wall, cpu))
    tab = Table(
        title=f"opening the Delta log of {commits} commits ({size / 2**20:.0f} MB of JSON), "
        f"median of {repeats}, load {load:.1f} → {os.getloadavg()[0]:.1f}"
    )
    for column in ("log", "wall [s]", "CPU [s]", "ratio (CPU)"):
        tab.add_column(column, justify="left" if column == "log" else "right")
    base = float(np.median([c for _, c in opens[False]]))
    for kept, label in ((False, "every JSON commit (baseline)"), (True, "latest checkpoint")):
        cpu = float(np.median([c for _, c in opens[kept]]))
        wall = float(np.median([w for w, _ in opens[kept]]))
        tab.add_row(label, f"{wall:.3f}", f"{cpu:.3f}", f"{base / cpu:.1f}x")
    console.print(tab)
    before, load = _peak_rss(), os.getloadavg()[0]
    wall, cpu, data = _timed(lambda: lake_read.dataset(str(lake), "observations"))
    files = len(data.files) if data is not None else 0
    console.print(
        f"whole-table Arrow dataset (lake_read.source, once per version and process): "
        f"{files:,} files in {wall:.1f} s wall, {cpu:.1f} CPU-s; peak memory "
        f"{_mib(before)} → {_mib(_peak_rss())} MiB; load {load:.1f} → {os.getloadavg()[0]:.1f}"
    )


def _unpruned_source(cursor: Any, table: str, **_: Any) -> str:
    """``lake_read.source`` with the reader's period and cities withheld: the whole table's
    dataset, filtered per read (the read path before it pruned by partitions; the baseline)."""
    from ecobasin.store import lake_read

    return lake_read.source(cursor, table)


def lake_read_costs(args: argparse.Namespace, stations: pd.DataFrame) -> None:
    """CPU [s] and wall [s] of one month read through the in-process leg's own path
    (``store.air.air_hourly``, one month of the whole network), the period pruning the lake's
    partitions against the baseline that filters the whole table (its dataset built once per
    process first, timed apart), alternated month by month in one process."""
    from ecobasin.store import lake_read

    months = lake_months(args.years)
    picked = [
        months[round(i * (len(months) - 1) / max(1, args.read_costs - 1))]
        for i in range(args.read_costs)
    ]
    pruned_source = store_air.source
    costs: dict[str, list[tuple[float, float]]] = {"whole table": [], "pruned": []}
    load = os.getloadavg()[0]
    with lake_store(args.lake, stations, args.years) as store:
        wall, cpu, _ = _timed(lambda: lake_read.dataset(str(args.lake), "observations"))
        console.log(f"whole-table dataset built in {wall:.1f} s wall, {cpu:.1f} CPU-s (once)")
        for y, m in picked:
            first, last = evaluation.month_bounds(y, m)
            answers = []
            for name, reader in (("whole table", _unpruned_source), ("pruned", pruned_source)):
                store_air.source = reader  # type: ignore[assignment]
                try:
                    wall, cpu, hourly = _timed(
                        lambda first=first, last=last: store_air.air_hourly(
                            store, start=first, end=last
                        )
                    )
                finally:
                    store_air.source = pruned_source
                costs[name].append((wall, cpu))
                answers.append(hourly)
            pd.testing.assert_frame_equal(*answers)  # the same rows, or the bench stops
            console.log(
                f"{y}-{m:02d}: {len(answers[0]):,} rows; whole table "
                f"{costs['whole table'][-1][1]:.2f} CPU-s, pruned {costs['pruned'][-1][1]:.2f}"
            )
    tab = Table(
        title=f"one month of {args.stations:,} stations read (air_hourly), median of "
        f"{len(picked)} months of {len(months)}, load {load:.1f} → {os.getloadavg()[0]:.1f}"
    )
    for column in ("read", "wall [s]", "CPU [s]", "ratio (CPU)"):
        tab.add_column(column, justify="left" if column == "read" else "right")
    base = float(np.median([c for _, c in costs["whole table"]]))
    labels = {"whole table": "whole table filtered (baseline)", "pruned": "period-pruned"}
    for name, label in labels.items():
        cpu = float(np.median([c for _, c in costs[name]]))
        wall = float(np.median([w for w, _ in costs[name]]))
        tab.add_row(label, f"{wall:.2f}", f"{cpu:.2f}", f"{base / cpu:.1f}x")
    console.print(tab)


def lake_part(args: argparse.Namespace) -> None:
    if args.run:
        lake_child(args)
        return
    if args.log_costs:
        lake_log_costs(Path(args.lake))
        return
    if args.read_costs:
        args.lake = Path(args.lake)
        lake_read_costs(args, lake_stations(args.stations, args.cities))
        return
    with tempfile.TemporaryDirectory() as scratch:
        args.lake = Path(args.lake) if args.lake else Path(scratch) / "lake"
        lake_claim(args.lake, args)
        stations = lake_stations(args.stations, args.cities)
        load, t0 = os.getloadavg()[0], time.perf_counter()
        rows, written = lake_generate(args.lake, stations, args.years, args.seed)
        generation = (
            f"{written} months generated in {time.perf_counter() - t0:.1f} s, "
            f"peak {_mib(_peak_rss())} MiB, load {load:.1f} → {os.getloadavg()[0]:.1f}"
        )
        console.log(generation)
        if args.generate_only:
            return
        legs = {engine: _run_child(args, engine) for engine in ("dask", "duckdb")}
    _lake_report(args, rows, generation, legs)
    if legs["dask"]["answer"] != legs["duckdb"]["answer"]:
        raise SystemExit("the two engines disagree")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``--part lake``."""
    lake = parser.add_argument_group("--part lake")
    lake.add_argument("--stations", type=int, default=1700)
    lake.add_argument("--years", type=int, default=10)
    lake.add_argument("--cities", type=int, default=340)
    lake.add_argument("--workers", type=int, default=2)
    lake.add_argument("--worker-memory", default="1GiB")
    lake.add_argument(
        "--lake",
        help="keep the lake in this folder (default: a temporary one); a rerun resumes it: "
        "missing months generated, legs already measured for --years read back",
    )
    lake.add_argument(
        "--generate-only", action="store_true", help="write the lake's missing months and stop"
    )
    lake.add_argument(
        "--log-costs",
        action="store_true",
        help="with --lake: time opening its Delta log whole against from its latest "
        "checkpoint, and building the whole table's Arrow dataset, then stop",
    )
    lake.add_argument(
        "--read-costs",
        type=int,
        metavar="N",
        help="with --lake: CPU of one month read by the in-process path, pruned by its period "
        "against filtering the whole table, over N months spread across --years; then stop",
    )
    lake.add_argument("--run", choices=["dask", "duckdb"], help=argparse.SUPPRESS)
    lake.add_argument("--out", help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> None:
    """``--part lake`` (seed 20 unless given)."""
    args.seed = 20 if args.seed is None else args.seed
    lake_part(args)
