"""Benchmark: the HJ 212 gateway against a bare asyncio server and the codec alone, in one run.

Usage: ``python bench/gateway_bench.py [--quick] [--devices 1000] [--duration 10] [--window 1]``

Processes (the machine's cores are shared by all of them, as in production on one box):

* **codec alone**: in this process, frames from the simulator fed through
  :class:`~ecobasin.ingest.hj212.Framer` in 64 KiB reads (framing + Appendix A CRC), then also
  parsed with :func:`~ecobasin.ingest.hj212.read_segment`: frames per second, one core.
* **bare server** (own process): frames, checks the CRC and acks (:class:`BareServer`), the
  ceiling of any gateway on this machine; driven by 1 and then 2 load-generator processes, so
  the table shows whether the generator or the server is the limit, then on uvloop (the
  gateway front's event loop) with 2; the best of the three is the baseline of the ratios.
* **gateway** (own process, ``ecobasin gateway --fsync batch``, a temp DuckDB file with the
  1,000 simulated devices registered): the same load generator, closed loop (max rate), then
  open loop at 2,000 messages/s for the ack latency; then it is stopped and the store is
  counted (``gateway_messages``: one row per data message, ``observations``). The store rate,
  the backlog and its drain (waited for between the two legs) count raw-log records in the
  store (the status line's ``已入库记录``), one per acknowledged frame. A tree that has
  ``ecobasin gateway --costs-log`` also gets the closed loop's store writes by part: records
  per write, CPU per record and per write of each part, a fixed / per-record fit (issue 12,
  seventh pass; :mod:`ecobasin.gateway.costs`).

Restart (``--restart-gb 1``, issue 12): a raw log of that size (64 MiB segments) whose store
checkpoint is 1,000 records before its end; the time from ``Gateway.start()`` to listening
(torn-tail check, recovery of the 1,000 records, front process up) against the named baseline
"scan the whole log once" (every segment read and every record checked, as the start-up did
before issue 12).

Front alone (``--front-cpu [--baseline-rev main] [--rounds 3]``, issue 12, ninth pass): the
front process's µs CPU per acknowledged frame, this tree against the named baseline (the
``src/`` of a git revision, exported with ``git archive`` and put first on the gateway's
``PYTHONPATH``), closed-loop legs alternating between the two, a fresh store each leg; the
median per tree, the ratio and the load average.

Load generator (:func:`ecobasin.gateway.loadgen.blast`): every simulated device is one TCP
connection with pre-encoded frames (real-time, 10-minute, hourly and daily uploads from
:mod:`ecobasin.gateway.simulator`, every frame a distinct message), ``--window`` frames in flight
(1 = a data logger's stop-and-wait). Results: a rich table on stderr and JSON in bench/out/.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import itertools
import json
import math
import multiprocessing as mp
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from ecobasin import catalog
from ecobasin.gateway.loadgen import blast, percentile, start_bare_server
from ecobasin.gateway.simulator import build_fleet, simulated_fleet
from ecobasin.ingest.hj212 import Frame, Framer, read_segment
from ecobasin.store import _sql

OUT = Path(__file__).resolve().parent / "out"
console = Console(stderr=True, width=150)
CLOCK_TICK = os.sysconf("SC_CLK_TCK")
DAY = 86400.0


# -- helpers -----------------------------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its live child processes (the gateway's
    front), all threads [s] (/proc/PID/stat)."""
    total = 0.0
    for one in [pid, *children(pid)]:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICK
    return total


def _stop_gateway(proc: subprocess.Popen[Any]) -> None:
    """Stop a gateway as an operator would (SIGTERM: it flushes and exits), killed only if it
    has not ended within 120 s."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def own_cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process, all its threads, without its children [s]: the
    gateway's own process is the store writer (its thread, DuckDB's threads, the status
    line), the front is its child."""
    with contextlib.suppress(OSError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICK
    return 0.0


def children(pid: int) -> list[int]:
    """Child processes of ``pid`` (all its threads' children)."""
    out: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            out += [int(c) for c in (task / "children").read_text().split()]
    return out


class StoreProgress:
    """Tails the gateway's status lines (``--status-every``): (time, raw-log records in the
    store). Records, not messages: one acknowledged frame is one record, whereas the parts of
    a sub-packet set are one stored message (comparing messages with acked frames made the
    store look behind by the parts)."""

    PATTERN = re.compile(r"已入库记录 ([\d,]+)")

    def __init__(self, path: Path) -> None:
        self.path = path
        self.points: list[tuple[float, int]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        with self.path.open(encoding="utf-8", errors="replace") as handle:
            while not self.stop.is_set():
                line = handle.readline()
                if not line:
                    time.sleep(0.05)
                    continue
                found = self.PATTERN.search(line)
                if found:
                    self.points.append((time.perf_counter(), int(found[1].replace(",", ""))))

    def at(self, moment: float) -> int:
        """Messages stored by ``moment`` (the last status line before it)."""
        before = [n for t, n in self.points if t <= moment]
        return before[-1] if before else 0

    def reached(self, target: int, timeout: float) -> float:
        """The first moment (``perf_counter``) a status line showed ``target`` messages stored,
        waiting up to ``timeout`` [s]; NaN if it never did."""
        deadline = time.perf_counter() + timeout
        while True:
            done = [t for t, n in self.points if n >= target]
            if done:
                return done[0]
            if time.perf_counter() > deadline:
                return math.nan
            time.sleep(0.1)

    def rate(self, start: float, end: float) -> float:
        """Messages stored per second between two moments (status lines inside them)."""
        inside = [(t, n) for t, n in self.points if start <= t <= end]
        if len(inside) < 2:
            return math.nan
        (t0, n0), (t1, n1) = inside[0], inside[-1]
        return (n1 - n0) / (t1 - t0)


class CostProgress:
    """Tails the gateway's ``--costs-log`` (JSON lines, one per status line): (time, the
    writer's cost counters: writes, records, CPU by part; :mod:`ecobasin.gateway.costs`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.points: list[tuple[float, dict[str, Any]]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.path.exists() and not self.stop.is_set():
            time.sleep(0.05)
        if self.stop.is_set():
            return
        with self.path.open(encoding="utf-8") as handle:
            pending = ""
            while not self.stop.is_set():
                pending += handle.readline()
                if not pending.endswith("\n"):
                    time.sleep(0.05)
                    continue
                self.points.append((time.perf_counter(), json.loads(pending)))
                pending = ""

    def window(self, start: float, end: float) -> dict[str, Any] | None:
        """The costs of the writes between two moments (the difference of the snapshots
        nearest inside them), per write and per record, with the last fit."""
        inside = [(t, c) for t, c in self.points if start <= t <= end]
        if len(inside) < 2:
            return None
        (t0, first), (t1, last) = inside[0], inside[-1]
        writes = last["writes"] - first["writes"]
        records = last["records"] - first["records"]
        if not writes or not records:
            return None

        def delta(kind: str) -> dict[str, float]:
            return {
                name: cpu - first[kind].get(name, 0.0)
                for name, cpu in last[kind].items()
                if cpu - first[kind].get(name, 0.0) > 0
            }

        sizes = {k: n - first["sizes"].get(k, 0) for k, n in last["sizes"].items()}
        return {
            "seconds": t1 - t0,
            "writes": writes,
            "records": records,
            "records_per_write": records / writes,
            "compared_writes": last["compared"] - first["compared"],
            "sizes": {k: n for k, n in sizes.items() if n},
            "thread_cpu_s": delta("thread_cpu"),
            "process_cpu_s": delta("process_cpu"),
            "fit": last["fit"],
        }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(
    port: int, timeout: float = 60.0, proc: subprocess.Popen[Any] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


def device_frames(
    seed: int, first: int, last: int, per_device: int, sim_start: float
) -> list[list[bytes]]:
    """Pre-encoded frames of devices ``first``..``last`` of the fleet, each a distinct message."""
    fleet = build_fleet(last, seed)[first:last]
    out = []
    for device in fleet:
        frames = itertools.chain.from_iterable(p.frames for p in device.packets(sim_start))
        out.append(list(itertools.islice(frames, per_device)))
    return out


# -- child processes ---------------------------------------------------------------------------
def _bare_server_main(conn: Connection, loop: str) -> None:
    """The bare server on ``loop`` (``asyncio`` or ``uvloop``: the gateway's front runs on
    uvloop, so the ceiling is measured on both and the best is the baseline)."""

    async def serve() -> None:
        server = await start_bare_server("127.0.0.1", 0)
        conn.send(server.sockets[0].getsockname()[1])
        await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        if loop == "uvloop":
            import uvloop

            uvloop.run(serve())
        else:
            asyncio.run(serve())


def _generator_main(conn: Connection, job: dict[str, Any]) -> None:
    frames = device_frames(
        job["seed"], job["first"], job["last"], job["per_device"], job["sim_start"]
    )
    conn.send("ready")
    conn.recv()  # go
    result = asyncio.run(
        blast(
            "127.0.0.1",
            job["port"],
            frames,
            duration=job["duration"],
            warmup=job["warmup"],
            window=job["window"],
            rate=job["rate"],
        )
    )
    conn.send(
        {
            "acked": result.acked,
            "sent": result.sent,
            "seconds": result.seconds,
            "latencies": result.latencies,
            "cpu_seconds": result.cpu_seconds,
            "connections": result.connections,
            "exhausted": result.exhausted,
            "acked_total": result.acked_total,
        }
    )


def drive(
    server_pid: int,
    port: int,
    *,
    generators: int,
    devices: int,
    seed: int,
    per_device: int,
    sim_start: float,
    duration: float,
    warmup: float,
    window: int,
    rate: float | None = None,
    on_window: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Run ``generators`` load-generator processes against a server; merge their results.
    ``on_window`` is called when the measured window starts (after the frames are encoded and
    the warm-up is over: a profiler started then samples the load, not the set-up)."""
    ctx = mp.get_context("spawn")
    bounds = [round(devices * i / generators) for i in range(generators + 1)]
    pipes, procs = [], []
    for i in range(generators):
        parent, child = ctx.Pipe()
        job = {
            "port": port,
            "seed": seed,
            "first": bounds[i],
            "last": bounds[i + 1],
            "per_device": per_device,
            "sim_start": sim_start,
            "duration": duration,
            "warmup": warmup,
            "window": window,
            "rate": None if rate is None else rate / generators,
        }
        proc = ctx.Process(target=_generator_main, args=(child, job), daemon=True)
        proc.start()
        pipes.append(parent)
        procs.append(proc)
    for pipe in pipes:
        if pipe.recv() != "ready":
            raise RuntimeError("a load generator failed to start")
    for pipe in pipes:
        pipe.send("go")
    time.sleep(warmup)
    if on_window is not None:
        on_window()
    cpu_from, wall_from = cpu_seconds(server_pid), time.perf_counter()
    own_from = own_cpu_seconds(server_pid)
    time.sleep(duration)
    wall_to = time.perf_counter()
    server_cpu = (cpu_seconds(server_pid) - cpu_from) / (wall_to - wall_from)
    own_cpu = (own_cpu_seconds(server_pid) - own_from) / (wall_to - wall_from)
    results = [pipe.recv() for pipe in pipes]
    for proc in procs:
        proc.join(timeout=30)
    latencies = [x for r in results for x in r["latencies"]]
    return {
        "generators": generators,
        "window": window,
        "target_rate": rate,
        "rate": sum(r["acked"] / r["seconds"] for r in results),
        "acked_in_window": sum(r["acked"] for r in results),
        "acked_total": sum(r["acked_total"] for r in results),
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "generator_cpu": [r["cpu_seconds"] / r["seconds"] for r in results],
        "server_cpu": server_cpu,
        "server_own_cpu": own_cpu,
        "connections": sum(r["connections"] for r in results),
        "exhausted": sum(r["exhausted"] for r in results),
        "window_s": (wall_from, wall_to),
    }


# -- the parts ---------------------------------------------------------------------------------
def codec_alone(seed: int, n_devices: int = 200, per_device: int = 100) -> dict[str, float]:
    """Frames per second through the framer (+CRC), and framer + parse, one process."""
    frames = [
        f
        for fs in device_frames(seed, 0, n_devices, per_device, time.time() - 90 * DAY)
        for f in fs
    ]
    stream = b"".join(frames)
    chunks = [stream[i : i + 65536] for i in range(0, len(stream), 65536)]

    def frame_only() -> int:
        framer = Framer()
        return sum(isinstance(x, Frame) for chunk in chunks for x in framer.feed(chunk))

    def frame_and_parse() -> int:
        framer = Framer()
        n = 0
        for chunk in chunks:
            for item in framer.feed(chunk):
                if isinstance(item, Frame):
                    read_segment(item.segment)
                    n += 1
        return n

    out = {"frames": float(len(frames)), "mean_bytes": len(stream) / len(frames)}
    for name, fn in (("framer_crc_per_s", frame_only), ("framer_crc_parse_per_s", frame_and_parse)):
        best = math.inf
        for _ in range(3):
            t0 = time.perf_counter()
            assert fn() == len(frames)
            best = min(best, time.perf_counter() - t0)
        out[name] = len(frames) / best
    return out


def bare_runs(args: argparse.Namespace, per_device: int) -> list[dict[str, Any]]:
    """The bare server on asyncio's loop with 1 and 2 generators, then on uvloop (the
    front's loop) with 2: the best of them is the baseline of the ratios."""
    runs = []
    for loop, generators in (("asyncio", 1), ("asyncio", 2), ("uvloop", 2)):
        runs.append(bare_run(args, per_device, loop, generators))
    return runs


def bare_run(
    args: argparse.Namespace, per_device: int, loop: str, generators: int
) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=_bare_server_main, args=(child, loop), daemon=True)
    server.start()
    port = parent.recv()
    assert server.pid is not None
    try:
        console.print(f"bare server ({loop}), {generators} generator process(es) …")
        run = drive(
            server.pid,
            port,
            generators=generators,
            devices=args.devices,
            seed=args.seed,
            per_device=min(per_device, 60),  # the bare server may see a frame twice
            sim_start=time.time() - 200 * DAY,
            duration=args.duration,
            warmup=args.warmup,
            window=args.window,
        )
    finally:
        server.terminate()
        server.join()
    return {**run, "loop": loop}


def gateway_runs(args: argparse.Namespace, per_device: int, work: Path) -> dict[str, Any]:
    from ecobasin.gateway import register_devices
    from ecobasin.store import Store

    db, raw_log = work / "bench.duckdb", work / "rawlog"
    region = catalog.load_region("chengdu_plain")
    sites, devices = simulated_fleet(args.devices, args.seed, region)
    with Store(db) as store:
        store.sync_catalog(region)
        store.upsert_sites(sites, source="simulator")
        register_devices(store, devices)
    port = free_port()
    exe = shutil.which("ecobasin", path=str(Path(sys.executable).parent)) or "ecobasin"
    command = [
        exe,
        "gateway",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--db",
        str(db),
        "--raw-log",
        str(raw_log),
        "--fsync",
        "batch",
        "--status-every",
        "0.5",
    ]
    costs = None
    if importlib.util.find_spec("ecobasin.gateway.costs") is not None:  # trees before: none
        command += ["--costs-log", str(work / "costs.jsonl")]
        costs = CostProgress(work / "costs.jsonl")
    log = (work / "gateway.log").open("w")
    proc = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "COLUMNS": "300"}
    )
    progress = StoreProgress(work / "gateway.log")
    out: dict[str, Any] = {"command": " ".join(command[1:])}
    try:
        wait_for_port(port, proc=proc)
        spies: list[tuple[subprocess.Popen[bytes], Path]] = []

        def start_spy() -> None:
            spies.append(start_py_spy(proc.pid, args.duration, work))

        console.print("gateway, closed loop (max rate) …")
        out["max"] = drive(
            proc.pid,
            port,
            generators=args.gateway_generators,
            devices=args.devices,
            seed=args.seed,
            per_device=per_device,
            sim_start=time.time() - 100 * DAY,
            duration=args.duration,
            warmup=args.warmup,
            window=args.window,
            on_window=start_spy if args.py_spy else None,
        )
        if spies:
            out["profile"] = finish_py_spy(*spies[0])
        # issue 12: the backlog left at the end of the closed loop drains within 5 s (waited
        # for here, before the paced leg adds frames of its own)
        end = out["max"]["window_s"][1]
        out["max"]["stored_at_end"] = progress.at(end)
        out["max"]["drain_s"] = progress.reached(out["max"]["acked_total"], 120) - end
        console.print(f"gateway, open loop at {args.latency_rate:,.0f} msg/s …")
        paced = math.ceil(args.latency_rate * (args.duration + args.warmup) / args.devices) + 5
        out["paced"] = drive(
            proc.pid,
            port,
            generators=1,
            devices=args.devices,
            seed=args.seed,
            per_device=paced,
            sim_start=time.time() - 50 * DAY,
            duration=args.duration,
            warmup=args.warmup,
            window=args.window,
            rate=args.latency_rate,
        )
        for run in (out["max"], out["paced"]):
            run["store_rate"] = progress.rate(*run["window_s"])
            run["costs"] = None if costs is None else costs.window(*run["window_s"])
    finally:
        _stop_gateway(proc)
        log.close()
        progress.stop.set()
        if costs is not None:
            costs.stop.set()
    out["gateway_exit"] = proc.returncode
    from ecobasin.gateway import replay

    with Store(db) as store:
        # A stop is bounded (--stop patience): records the writer had not stored stay in the
        # raw log and the next start writes them. Do what that start does, and count them.
        out["stored_at_stop"] = int(
            _sql.frame(store, "SELECT count(*) AS n FROM gateway_messages")["n"][0]
        )
        out["written_at_next_start"] = replay(store, raw_log).messages
    with Store(db, read_only=True) as store:
        out["stored_messages"] = int(
            _sql.frame(store, "SELECT count(*) AS n FROM gateway_messages")["n"][0]
        )
        out["stored_duplicates"] = int(
            _sql.frame(store, "SELECT coalesce(sum(duplicates), 0) AS n FROM gateway_messages")[
                "n"
            ][0]
        )
        out["observations"] = store.count_observations()
        out["rejected"] = int(_sql.frame(store, "SELECT count(*) AS n FROM rejected")["n"][0])
    out["acked_total"] = out["max"]["acked_total"] + out["paced"]["acked_total"]
    return out


# -- profile -----------------------------------------------------------------------------------
def start_py_spy(pid: int, seconds: float, work: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """Sample the gateway (its process and the front child) with py-spy for ``seconds``
    [s] at 100 Hz; idle threads are not sampled, so the counts are CPU time."""
    exe = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
    out = work / "py-spy.txt"
    command = [exe, "record", "--subprocesses", "--format", "raw", "--rate", "100"]
    command += ["--duration", str(math.ceil(seconds)), "--pid", str(pid), "--output", str(out)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), out


def finish_py_spy(spy: subprocess.Popen[bytes], path: Path, top: int = 18) -> dict[str, Any]:
    """Wait for py-spy; per process (front, writer), the share of samples by leaf function
    (self time) and by ecobasin function (inclusive), printed and returned."""
    spy.wait(timeout=120)
    if not path.exists():
        console.print("[red]py-spy wrote nothing (is ptrace allowed?)")
        return {}
    selfs: dict[str, dict[str, int]] = {"front": {}, "writer": {}}
    inclusive: dict[str, dict[str, int]] = {"front": {}, "writer": {}}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [f for f in stack.split(";") if not f.startswith("process ")]
        if not frames or not count.isdigit():
            continue
        part = "front" if "gateway.front" in stack.split(";<module>")[0] else "writer"
        n = int(count)
        leaf = frames[-1]
        selfs[part][leaf] = selfs[part].get(leaf, 0) + n
        for name in {f.split(" (")[0] + " (" + f.split(" (")[1].split(":")[0] + ")" for f in
                     frames if "ecobasin/" in f}:  # fmt: skip
            inclusive[part][name] = inclusive[part].get(name, 0) + n
    result: dict[str, Any] = {}
    for part in ("front", "writer"):
        total = sum(selfs[part].values()) or 1
        table = Table(
            title=f"py-spy: {part} ({total:,} samples at 100 Hz = {total / 100:.1f} CPU s)"
        )
        table.add_column("self time (leaf)")
        table.add_column("share", justify="right")
        table.add_column("inclusive (ecobasin)")
        table.add_column("share", justify="right")
        leaves = sorted(selfs[part].items(), key=lambda kv: -kv[1])[:top]
        ours = sorted(inclusive[part].items(), key=lambda kv: -kv[1])[:top]
        for i in range(max(len(leaves), len(ours))):
            leaf = leaves[i] if i < len(leaves) else ("", 0)
            own = ours[i] if i < len(ours) else ("", 0)
            table.add_row(
                leaf[0][:90], f"{leaf[1] / total:.1%}" if leaf[0] else "",
                own[0][:70], f"{own[1] / total:.1%}" if own[0] else "",
            )  # fmt: skip
        console.print(table)
        result[part] = {
            "samples": total,
            "self": {k: v / total for k, v in leaves},
            "inclusive": {k: v / total for k, v in ours},
        }
    return result


# -- report ------------------------------------------------------------------------------------
def report(results: dict[str, Any]) -> None:
    codec, bare, gw = results["codec"], results["bare"], results.get("gateway")
    best_bare = max(r["rate"] for r in bare)
    view = Table(title="HJ 212 gateway bench 网关性能 (one machine, loopback)")
    columns = (
        "what",
        "msg/s",
        "ratio",
        "p50 ms",
        "p99 ms",
        "server CPU",
        "generator CPU",
        "server µs/msg",
        "generator µs/msg",
    )
    for column in columns:
        view.add_column(column, justify="left" if column == "what" else "right")
    blank = [""] * (len(columns) - 2)
    view.add_row("codec: framer + CRC (1 process)", f"{codec['framer_crc_per_s']:,.0f}", *blank)
    view.add_row("codec: framer + CRC + parse", f"{codec['framer_crc_parse_per_s']:,.0f}", *blank)

    def row(name: str, run: dict[str, Any], ratio: str = "") -> None:
        view.add_row(
            name,
            f"{run['rate']:,.0f}",
            ratio,
            f"{run['p50_ms']:.1f}",
            f"{run['p99_ms']:.1f}",
            f"{run['server_cpu']:.0%}",
            " + ".join(f"{c:.0%}" for c in run["generator_cpu"]),
            f"{run['server_cpu'] / run['rate'] * 1e6:.0f}",
            f"{sum(run['generator_cpu']) / run['rate'] * 1e6:.0f}",
        )

    for run in bare:
        name = f"bare server ({run.get('loop', 'asyncio')}), {run['generators']} generator(s)"
        row(name, run, f"{run['rate'] / best_bare:.0%}")
    if gw is not None:
        row(
            "gateway, fsync=batch, acked (max)",
            gw["max"],
            f"{gw['max']['rate'] / best_bare:.0%} of bare",
        )
        view.add_row(
            "gateway: stored in DuckDB 入库 (max; frames/s)",
            f"{gw['max']['store_rate']:,.0f}",
            f"{gw['max']['store_rate'] / best_bare:.0%} of bare",
            *blank,
        )
        row(f"gateway at {gw['paced']['target_rate']:,.0f} msg/s", gw["paced"])
        view.add_row(
            f"gateway at {gw['paced']['target_rate']:,.0f} msg/s: stored 入库",
            f"{gw['paced']['store_rate']:,.0f}",
            *[""] * (len(columns) - 2),
        )
    console.print(view)
    one = bare[0]
    capacity = one["rate"] / sum(one["generator_cpu"])  # msg/s one generator core can drive
    results["generator_capacity_per_core"] = capacity
    console.print(
        f"load generator 压测端: {sum(one['generator_cpu']) / one['rate'] * 1e6:.0f} µs CPU per "
        f"message → ≈ {capacity:,.0f} msg/s per core, {capacity / best_bare:.1f}× the bare "
        f"server's best rate; 2 generator processes: {bare[1]['rate'] / one['rate']:.0%} of 1"
    )
    if gw is not None:
        console.print(
            f"acked 已确认 {gw['acked_total']:,} frames; stored 入库 {gw['stored_messages']:,} "
            f"messages (+{gw['stored_duplicates']:,} duplicates), {gw['observations']:,} "
            f"observations, {gw['rejected']:,} rejected; gateway exit {gw['gateway_exit']}; "
            f"{gw['written_at_next_start']:,} of them left in the raw log at the (bounded) stop "
            "and written as the next start does"
        )
        console.print(
            f"store/ack 入库/确认 {gw['max']['store_rate'] / gw['max']['rate']:.0%}; backlog "
            f"{gw['max']['acked_total'] - gw['max']['stored_at_end']:,} frames at the end of the "
            f"closed loop, drained 积压清空 in {gw['max']['drain_s']:.1f} s"
        )
        closed = gw["max"]
        writer_cpu = closed["server_own_cpu"]  # [CPU s per s] of the writer's process
        console.print(
            f"writer 写库 (the gateway's own process: writer thread, DuckDB, status line): "
            f"{writer_cpu:.0%} of a core, {writer_cpu / closed['store_rate'] * 1e6:.0f} µs CPU "
            f"per stored frame = {closed['store_rate'] / writer_cpu:,.0f} frames per CPU "
            f"second; front 前端 {(closed['server_cpu'] - writer_cpu) / closed['rate'] * 1e6:.0f}"
            " µs CPU per acked frame"
        )
        if closed.get("costs"):
            cost_report(closed["costs"], writer_cpu)
        console.print(
            f"load average 负载 before {results['load_before'][0]:.1f}, after "
            f"{results['load_after'][0]:.1f} on {results['cpus']} CPUs (other work shares them)"
        )
        floors = {
            "≥ 5,000 msg/s acked after the durable raw log": gw["max"]["rate"] >= 5000,
            "≥ 5,000 msg/s committed to DuckDB": gw["max"]["store_rate"] >= 5000,
            "≥ 40 % of the bare server (acked)": gw["max"]["rate"] >= 0.4 * best_bare,
            "≥ 40 % of the bare server (stored)": gw["max"]["store_rate"] >= 0.4 * best_bare,
            "issue 12: ≥ 50 % of the bare server (acked)": gw["max"]["rate"] >= 0.5 * best_bare,
            "issue 12: ≥ 45 % of the bare server (stored)": gw["max"]["store_rate"]
            >= 0.45 * best_bare,
            "issue 12: stored rate within 10 % of the ack rate": abs(
                gw["max"]["store_rate"] / gw["max"]["rate"] - 1
            )
            <= 0.10,
            "issue 12: backlog drained within 5 s": gw["max"]["drain_s"] <= 5.0,
            "p99 < 100 ms at 2,000 msg/s": gw["paced"]["p99_ms"] < 100,
            "every acked frame stored (distinct frames)": gw["max"]["exhausted"] == 0
            and gw["paced"]["exhausted"] == 0
            and gw["stored_messages"] >= gw["acked_total"],
        }
        for name, ok in floors.items():
            console.print(f"  {'[green]PASS' if ok else '[red]FAIL'}[/] {name}")
        results["floors"] = floors


def cost_report(costs: dict[str, Any], writer_cpu: float) -> None:
    """The closed loop's store writes by part (``--costs-log``): where the writer process's
    CPU per stored frame goes (issue 12, Speed, seventh pass)."""
    records, writes = costs["records"], costs["writes"]
    sizes = ", ".join(f"{k}: {n}" for k, n in costs["sizes"].items())
    console.print(
        f"store writes 入库写入 in the closed loop: {writes:,} writes of "
        f"{costs['records_per_write']:,.0f} records on average ({sizes}); "
        f"{costs['compared_writes']:,} took the store's compare path"
    )
    view = Table(title="writer process CPU by part 写库进程CPU (closed loop)")
    columns = (
        "part",
        "thread µs/record",
        "process µs/record",
        "process ms/write",
        "fit: ms/write + µs/record",
    )
    for column in columns:
        view.add_column(column, justify="left" if column == "part" else "right")
    thread, process, fit = costs["thread_cpu_s"], costs["process_cpu_s"], costs["fit"]
    for name in sorted(process, key=lambda n: -process[n]):
        line = fit.get(name)
        view.add_row(
            name,
            f"{thread.get(name, 0.0) / records * 1e6:.1f}",
            f"{process[name] / records * 1e6:.1f}",
            f"{process[name] / writes * 1e3:.1f}",
            f"{line['fixed_ms']:.1f} + {line['per_record_us']:.1f}" if line else "",
        )
    whole = writer_cpu * costs["seconds"]  # [CPU s] of the process in the same span
    view.add_row(
        "whole process (/proc)", "", f"{whole / records * 1e6:.1f}", f"{whole / writes * 1e3:.1f}"
    )
    console.print(view)


def restart_run(size_gb: float, work: Path) -> dict[str, Any]:
    """Time a gateway start on a raw log of ``size_gb`` GiB against reading the whole log."""
    import pandas as pd

    from ecobasin import catalog
    from ecobasin.gateway import Gateway, GatewayConfig, RawLog, rawlog, register_devices
    from ecobasin.gateway.rawlog import encode_record
    from ecobasin.ingest.hj212 import encode_message
    from ecobasin.store import Store
    from ecobasin.store import gateway as gateway_sql

    raw = work / "restart.rawlog"
    now = datetime(2024, 1, 1, tzinfo=UTC)
    items = {f"a{n:05d}-Rtd": f"{n}.5" for n in range(30)}
    template = encode_message(
        {"QN": "20240101000000000", "ST": "22", "CN": "2011", "PW": "123456", "MN": "RESTART1",
         "Flag": "5"},
        {"DataTime": "20240101000000", **items},
    )  # fmt: skip
    chunk = 20_000
    record_bytes = len(encode_record(1, now, "127.0.0.1:50000", template))
    total = int(size_gb * 2**30 / record_bytes)
    console.print(f"writing a {size_gb:g} GiB raw log ({total:,} records) …")
    raw_log = RawLog.open(raw)
    for first in range(1, total + 1, chunk):
        last = min(total, first + chunk - 1)
        data = b"".join(
            encode_record(seq, now, "127.0.0.1:50000", template) for seq in range(first, last + 1)
        )
        raw_log.write(data, first, last)
    raw_log.close()
    db = work / "restart.duckdb"
    store = Store(db)
    store.sync_catalog(catalog.load_region())
    store.upsert_sites(
        pd.DataFrame({"site_id": ["R1"], "kind": "air_station", "level": "enterprise",
                      "city_code": 510100, "name_zh": None, "name_en": None, "lon": None,
                      "lat": None}),
        source="bench",
    )  # fmt: skip
    register_devices(store, pd.DataFrame([{"mn": "RESTART1", "password": "123456",
                                           "site_id": "R1"}]))  # fmt: skip
    gateway_sql.set_checkpoint(store, RawLog.open(raw).log_id, total - 1_000)
    log_bytes = sum(f.stat().st_size for f in raw.glob("seg-*.log"))

    subprocess.run(["sync"], check=True)  # the same page-cache state for both timings
    started = time.perf_counter()
    read = scanned = 0
    for segment in sorted(raw.glob("seg-*.log")):  # the start-up before issue 12: every record
        data = segment.read_bytes()
        read += len(data)
        scanned += sum(1 for _ in rawlog._scan(data, rawlog._HEADER_LEN, 2))
    baseline = time.perf_counter() - started

    async def start_stop() -> tuple[float, int]:
        gateway = Gateway(store, GatewayConfig(port=0, raw_log=raw))
        began = time.perf_counter()
        await gateway.start()
        took = time.perf_counter() - began
        recovered = gateway.stats.recovered
        await gateway.stop()
        return took, recovered

    took, recovered = asyncio.run(start_stop())
    store.close()
    return {
        "log_bytes": log_bytes,
        "segments": len(list(raw.glob("seg-*.log"))),
        "records": total,
        "recovered": recovered,
        "start_s": took,
        "baseline_scan_whole_log_s": baseline,
        "baseline_bytes": read,
        "baseline_records": scanned,
        "ratio_start_to_baseline": took / baseline if baseline else None,
    }


def profile_writer(seed: int, devices: int = 200, per_device: int = 150, rounds: int = 3) -> None:
    """:meth:`StoreWriter.write` on 5,000-record batches of the simulator's frames (realistic:
    ~7.5 values each), in this process on temp stores: CPU time per record (the process's,
    DuckDB's threads included: on a shared machine wall time measures the others' load) of the fast path
    (``read_upload_items``: checked strings straight to float columns) against the named
    baseline "exact decode" (the same writer with the fast path off: a ``Message`` with one
    ``CpItem`` and one ``Decimal`` per value), best of ``rounds``, interleaved, with the load
    average; then cProfile of the fast path (top functions on stdout)."""
    import cProfile
    import pstats

    from ecobasin.gateway import register_devices
    from ecobasin.gateway import writer as writer_module
    from ecobasin.gateway.rawlog import RawRecord
    from ecobasin.gateway.writer import StoreWriter
    from ecobasin.store import Store

    region = catalog.load_region("chengdu_plain")
    sites, registry = simulated_fleet(devices, seed, region)
    frames = [f for dev in device_frames(seed, 0, devices, per_device, time.time()) for f in dev]
    now = datetime.now(UTC)
    records = [RawRecord(i + 1, now, "127.0.0.1:1", f) for i, f in enumerate(frames)]
    batches = [records[i : i + 5_000] for i in range(0, len(records), 5_000)]
    fast_path = writer_module.read_upload_items

    def run(tmp: Path, name: str, profile: cProfile.Profile | None = None) -> float:
        """Seconds to write every batch but the first (which warms caches) on a new store."""
        writer_module.read_upload_items = fast_path if name == "fast" else (lambda _: None)
        store = Store(tmp / f"{name}-{time.perf_counter_ns()}.duckdb")
        try:
            store.sync_catalog(region)
            store.upsert_sites(sites, source="simulator")
            register_devices(store, registry)
            writer = StoreWriter(store, "profile")
            writer.write(batches[0])
            started = time.process_time()
            if profile is not None:
                profile.enable()
            for batch in batches[1:]:
                writer.write(batch)
            if profile is not None:
                profile.disable()
            return time.process_time() - started
        finally:
            store.close()
            writer_module.read_upload_items = fast_path

    written = len(records) - len(batches[0])
    best = {"exact": math.inf, "fast": math.inf}
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="gwprofile-") as tmp:
        for _ in range(rounds):
            for name in ("exact", "fast"):
                best[name] = min(best[name], run(Path(tmp), name))
        after = os.getloadavg()
        profile = cProfile.Profile()
        took = run(Path(tmp), "fast", profile)
    console.print(
        f"writer 写库 {written:,} records ({len(batches) - 1} batches of 5,000), best of "
        f"{rounds}: baseline exact decode {best['exact'] / written * 1e6:,.0f} µs/record, fast "
        f"path {best['fast'] / written * 1e6:,.0f} µs/record = "
        f"{best['fast'] / best['exact']:.0%} of the baseline; load average {load[0]:.1f} → "
        f"{after[0]:.1f}; under cProfile {took / written * 1e6:,.0f} µs/record"
    )
    pstats.Stats(profile).sort_stats("tottime").print_stats(25)
    compare_decoders(frames)


def writer_cpu(
    seed: int,
    dedup_rows: int = 0,
    write_batch: int = 5_000,
    devices: int = 200,
    per_device: int = 150,
    rounds: int = 5,
) -> None:
    """The writer alone as the gateway runs it (fast path on, the gateway's dedup cache when
    the tree has one): CPU seconds of this process (DuckDB's threads included) per record and
    records per CPU second, best of ``rounds``, with the load average. ``dedup_rows``: that
    many older message keys (other devices) in ``gateway_messages`` first, as a dedup window
    of hours holds (1,400 msg/s × 7 days ≈ 850 M). ``write_batch``: records per write (the
    gateway's writer writes 5,000, and up to 10,000 when behind since issue 12's sixth pass).
    The devices' frames are interleaved as the gateway receives them (each write holds
    uploads of every device).

    A tree with the ninth pass runs, alternating round by round in one process, the writer as
    the gateway now runs it ("ninth pass": rows validated and stored as arrays, the heap
    settled by ``writer.settle_heap``) against the named baseline "eighth pass" (the same
    writer with ``array_rows=False``, the heap not frozen) and "one by one"
    (``batch_decode=False`` too), and prints the ratios; a tree with only the batch decode
    runs "eighth pass" against "one by one". CPU time is what the other sessions' load
    inflates least."""
    import gc
    import inspect

    from ecobasin.gateway import GatewayConfig, register_devices
    from ecobasin.gateway import writer as writer_module
    from ecobasin.gateway.rawlog import RawRecord
    from ecobasin.gateway.writer import StoreWriter
    from ecobasin.store import Store

    region = catalog.load_region("chengdu_plain")
    sites, registry = simulated_fleet(devices, seed, region)
    streams = device_frames(seed, 0, devices, per_device, time.time())
    frames = [f for row in itertools.zip_longest(*streams) for f in row if f is not None]
    now = datetime.now(UTC)
    records = [RawRecord(i + 1, now, "127.0.0.1:1", f) for i, f in enumerate(frames)]
    batches = [records[i : i + write_batch] for i in range(0, len(records), write_batch)]
    written = len(records) - len(batches[0])
    load = os.getloadavg()
    parameters = inspect.signature(StoreWriter).parameters
    cache = {"recent_keys": GatewayConfig().recent_keys} if "recent_keys" in parameters else {}
    settle = getattr(writer_module, "settle_heap", None)
    # the named baselines the tree has: (writer options, settle the heap first)
    modes: dict[str, tuple[dict[str, bool], bool]] = {"": ({}, False)}
    if "array_rows" in parameters:
        modes = {
            "ninth pass": ({}, True),
            "eighth pass": ({"array_rows": False}, False),
            "one by one": ({"array_rows": False, "batch_decode": False}, False),
        }
    elif "batch_decode" in parameters:
        modes = {"eighth pass": ({}, False), "one by one": ({"batch_decode": False}, False)}
    best = dict.fromkeys(modes, math.inf)
    with tempfile.TemporaryDirectory(prefix="gwcpu-") as tmp:
        for round_ in range(rounds):
            for mode, (option, settled) in modes.items():
                with Store(Path(tmp) / f"w{round_}{mode}.duckdb") as store:
                    store.sync_catalog(region)
                    store.upsert_sites(sites, source="simulator")
                    register_devices(store, registry)
                    if dedup_rows:
                        store.con.execute(
                            "INSERT INTO gateway_messages (mn, cn, data_time, pno, log_id, "
                            "first_seq, received_at) SELECT 'OLD' || (i % 40000), '2011', "
                            "strftime(TIMESTAMP '2026-01-01' + INTERVAL (i // 40000) MINUTE, "
                            "'%Y%m%d%H%M%S'), 0, 'old', i, now() FROM range(?) t(i)",
                            [dedup_rows],
                        )
                    writer = StoreWriter(store, "cpu", **cache, **option)
                    writer.write(batches[0])  # warms the caches
                    if settled and settle is not None:
                        settle()  # as the gateway does once its writer is ready
                    started = time.process_time()
                    for batch in batches[1:]:
                        writer.write(batch)
                    best[mode] = min(best[mode], time.process_time() - started)
                    gc.unfreeze()
    source = Path(sys.modules["ecobasin"].__file__ or "?").parent.parent
    for mode, seconds in best.items():
        ratios = "".join(
            f" = {seconds / best[base]:.0%} of {base}"
            for base in ("eighth pass", "one by one")
            if base in best and base != mode and list(best).index(base) > list(best).index(mode)
        )
        console.print(
            f"writer 写库 CPU ({source}{'; ' + mode if mode else ''}; dedup cache "
            f"{'on' if cache else 'none'}; {dedup_rows:,} older keys): "
            f"{seconds / written * 1e6:.1f} µs/record{ratios}, {written / seconds:,.0f} records "
            f"per CPU second (best of {rounds}, {written:,} records in {write_batch:,}-record "
            f"batches); load average {load[0]:.1f} → {os.getloadavg()[0]:.1f}"
        )


def _prepare_front_db(db: Path, devices: int, seed: int) -> None:
    """A store with the simulated fleet registered (run in the tree under test: its schema)."""
    from ecobasin.gateway import register_devices
    from ecobasin.store import Store

    region = catalog.load_region("chengdu_plain")
    sites, registry = simulated_fleet(devices, seed, region)
    with Store(db) as store:
        store.sync_catalog(region)
        store.upsert_sites(sites, source="simulator")
        register_devices(store, registry)


def _export_tree(rev: str, into: Path) -> tuple[Path, str]:
    """``src/`` of git revision ``rev`` of this repository, exported into ``into``: the named
    baseline's source tree (put first on the gateway's ``PYTHONPATH``) and its commit."""
    repo = Path(__file__).resolve().parent.parent
    commit = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--short", rev],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", commit, "src"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src", commit


def front_leg(args: argparse.Namespace, src: Path, work: Path, sim_start: float) -> dict[str, Any]:
    """One closed-loop leg against ``ecobasin gateway`` running the sources in ``src``: the
    front process's CPU per acknowledged frame (the gateway's CPU, children included, less
    its own process: the writer) and the writer's CPU per stored frame."""
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(src), "COLUMNS": "300"}
    db = work / "front.duckdb"
    subprocess.run(
        [sys.executable, __file__, "--prepare-db", str(db), "--devices", str(args.devices)],
        check=True, env=env,
    )  # fmt: skip
    port = free_port()
    exe = shutil.which("ecobasin", path=str(Path(sys.executable).parent)) or "ecobasin"
    command = [exe, "gateway", "--host", "127.0.0.1", "--port", str(port), "--db", str(db)]
    command += ["--raw-log", str(work / "rawlog"), "--fsync", "batch", "--status-every", "0.5"]
    with (work / "gateway.log").open("w") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            wait_for_port(port, proc=proc)
            run = drive(
                proc.pid,
                port,
                generators=args.gateway_generators,
                devices=args.devices,
                seed=args.seed,
                per_device=math.ceil(args.max_rate * (args.duration + args.warmup) / args.devices)
                + 5,
                sim_start=sim_start,
                duration=args.duration,
                warmup=args.warmup,
                window=args.window,
            )
        finally:
            _stop_gateway(proc)
    front = run["server_cpu"] - run["server_own_cpu"]  # [CPU s per s]
    return {
        "rate": run["rate"],
        "front_cpu": front,
        "front_us_per_ack": front / run["rate"] * 1e6,
        "writer_cpu": run["server_own_cpu"],
        "generator_us_per_ack": sum(run["generator_cpu"]) / run["rate"] * 1e6,
        "p99_ms": run["p99_ms"],
    }


def front_cpu(args: argparse.Namespace) -> dict[str, Any]:
    """The front alone (issue 12, ninth pass): µs of the front process's CPU per acknowledged
    frame for this tree and for the named baseline ``--baseline-rev`` (its ``src/`` exported
    with ``git archive``), the two gateways alternating leg by leg in one run (closed loop,
    the bench's load generator, a fresh store each leg), median of ``--rounds``, with the
    load average. CPU per ack is what the other sessions' load inflates least."""
    this_src = Path(__file__).resolve().parent.parent / "src"
    load_before = os.getloadavg()
    legs: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="gwfront-") as tmp:
        base_src, commit = _export_tree(args.baseline_rev, Path(tmp))
        trees = {f"baseline {args.baseline_rev} ({commit})": base_src, "this tree": this_src}
        for round_ in range(args.rounds):
            for number, (name, src) in enumerate(trees.items()):
                console.print(f"front CPU, round {round_ + 1}: {name} …")
                leg = front_leg(
                    args, src, Path(tmp) / f"leg{round_}{number}", time.time() - 100 * DAY
                )
                legs.setdefault(name, []).append(leg)
    load_after = os.getloadavg()

    def median(name: str, key: str) -> float:
        values = sorted(leg[key] for leg in legs[name])
        return values[len(values) // 2]

    view = Table(title="front alone 前端 CPU per ack (closed loop, legs alternating)")
    for column in ("tree", "legs: µs CPU per ack", "median", "ratio", "acked msg/s", "writer"):
        view.add_column(column, justify="left" if column == "tree" else "right")
    base_name = next(iter(trees))
    base = median(base_name, "front_us_per_ack")
    for name in trees:
        view.add_row(
            name,
            ", ".join(f"{leg['front_us_per_ack']:.1f}" for leg in legs[name]),
            f"{median(name, 'front_us_per_ack'):.1f}",
            f"{median(name, 'front_us_per_ack') / base:.0%}",
            f"{median(name, 'rate'):,.0f}",
            f"{median(name, 'writer_cpu'):.0%} of a core",
        )
    console.print(view)
    console.print(
        f"load average 负载 {load_before[0]:.1f} → {load_after[0]:.1f} on {os.cpu_count()} CPUs; "
        f"{args.devices} devices, {args.gateway_generators} generator process(es), "
        f"{args.duration:g} s per leg"
    )
    return {"legs": legs, "load_before": load_before, "load_after": load_after}


def compare_decoders(frames: list[bytes], rounds: int = 3) -> None:
    """The writer's decode step in one run: the fast path (``read_upload_items``, falling
    back to ``read_segment``) against the named baseline "full parse" (``read_segment`` of
    every frame); CPU time, best of ``rounds`` each, interleaved, with the load average."""
    from ecobasin.ingest.hj212.codec import read_upload_items

    segments = [f[6:-6] for f in frames]

    def full() -> None:
        for segment in segments:
            read_segment(segment)

    def fast() -> None:
        for segment in segments:
            read_upload_items(segment) or read_segment(segment)

    best = {"full": math.inf, "fast": math.inf}
    load = os.getloadavg()
    for _ in range(rounds):
        for name, run in (("full", full), ("fast", fast)):
            started = time.process_time()
            run()
            best[name] = min(best[name], time.process_time() - started)
    taken = sum(read_upload_items(s) is not None for s in segments)
    n = len(segments)
    console.print(
        f"decode 解码 {n:,} frames ({taken / n:.0%} on the fast path): baseline full parse "
        f"{best['full'] / n * 1e6:.1f} µs/frame, fast path {best['fast'] / n * 1e6:.1f} µs/frame "
        f"= {best['fast'] / best['full']:.0%} of the baseline; load average {load[0]:.1f} → "
        f"{os.getloadavg()[0]:.1f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="short run (3 s windows)")
    ap.add_argument("--devices", type=int, default=1000, help="simulated devices (connections)")
    ap.add_argument("--duration", type=float, default=10.0, help="measurement window [s]")
    ap.add_argument("--warmup", type=float, default=2.0, help="warm-up before each window [s]")
    ap.add_argument("--window", type=int, default=1, help="frames in flight per connection")
    ap.add_argument("--gateway-generators", type=int, default=1, help="generator processes")
    ap.add_argument("--latency-rate", type=float, default=2000.0, help="open-loop rate [msg/s]")
    ap.add_argument(
        "--max-rate",
        type=float,
        default=25000.0,
        help="highest rate to pre-encode distinct frames for [msg/s]",
    )
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--no-gateway", action="store_true", help="codec and bare server only")
    ap.add_argument(
        "--restart-gb", type=float, default=None, help="only time a restart on a log this big"
    )
    ap.add_argument("--profile-writer", action="store_true", help="only profile the writer")
    ap.add_argument(
        "--writer-cpu",
        action="store_true",
        help="only the writer's CPU per record: the tree's writer against its named baselines "
        "(eighth pass, one by one) alternating in one run; or two trees with PYTHONPATH",
    )
    ap.add_argument(
        "--dedup-rows",
        type=int,
        default=0,
        help="with --writer-cpu: older message keys in the dedup table first",
    )
    ap.add_argument(
        "--write-batch", type=int, default=5_000, help="with --writer-cpu: records per write"
    )
    ap.add_argument(
        "--front-cpu",
        action="store_true",
        help="only the front's CPU per ack, this tree against --baseline-rev, alternating",
    )
    ap.add_argument(
        "--baseline-rev",
        default="main",
        help="with --front-cpu: the git revision whose src/ is the named baseline",
    )
    ap.add_argument("--rounds", type=int, default=3, help="with --front-cpu: legs per tree")
    ap.add_argument("--prepare-db", type=Path, help=argparse.SUPPRESS)
    ap.add_argument(
        "--py-spy",
        action="store_true",
        help="sample the gateway (front and writer) with py-spy during the closed loop",
    )
    args = ap.parse_args()
    if args.profile_writer:
        profile_writer(args.seed)
        return
    if args.writer_cpu:
        writer_cpu(args.seed, args.dedup_rows, args.write_batch)
        return
    if args.prepare_db is not None:
        _prepare_front_db(args.prepare_db, args.devices, args.seed)
        return
    if args.front_cpu:
        results = {"args": vars(args), **front_cpu(args)}
        OUT.mkdir(exist_ok=True)
        path = OUT / f"gateway_front_{time.strftime('%Y%m%dT%H%M%S')}.json"
        path.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str))
        console.print(f"results → {path}")
        return
    if args.restart_gb is not None:
        load_before = os.getloadavg()
        with tempfile.TemporaryDirectory(prefix="gwrestart-") as tmp:
            restart = restart_run(args.restart_gb, Path(tmp))
        restart["load_before"], restart["load_after"] = load_before, os.getloadavg()
        console.print_json(data=restart)
        OUT.mkdir(exist_ok=True)
        path = OUT / f"gateway_restart_{time.strftime('%Y%m%dT%H%M%S')}.json"
        path.write_text(json.dumps(restart, indent=2))
        console.print(f"results → {path}")
        return
    if args.quick:
        args.duration, args.warmup = 3.0, 1.0
    per_device = math.ceil(args.max_rate * (args.duration + args.warmup) / args.devices) + 5
    results: dict[str, Any] = {
        "args": vars(args),
        "cpus": os.cpu_count(),
        "load_before": os.getloadavg(),
    }
    console.print("codec alone …")
    results["codec"] = codec_alone(args.seed)
    results["bare"] = bare_runs(args, per_device)
    if not args.no_gateway:
        with tempfile.TemporaryDirectory(prefix="gwbench-") as tmp:
            results["gateway"] = gateway_runs(args, per_device, Path(tmp))
    results["load_after"] = os.getloadavg()
    report(results)
    OUT.mkdir(exist_ok=True)
    path = OUT / f"gateway_bench_{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str))
    console.print(f"results → {path}")


if __name__ == "__main__":
    main()
