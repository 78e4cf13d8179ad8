"""Benchmark: latency of the air API under 50 concurrent clients on loopback (issue 4).

Usage: ``python bench/api_bench.py [--db demo.duckdb] [--clients 50] [--requests 200] [--quick]``

Builds the demo database (``ecobasin demo --no-serve``, a year of 41 stations in 8 cities) unless
``--db`` names one, starts the app with uvicorn in a subprocess on a free loopback port, and
runs, one after the other, ``--clients`` concurrent keep-alive HTTP/1.1 connections that each
send ``--requests`` GETs to:

* a trivial endpoint of the same app (``/api/v1/aqi/levels``: static JSON, no store access) —
  the floor that the framework, the server and this client set;
* ``/api/v1/aqi/latest`` (every station's latest hour);
* ``/api/v1/map?day=…`` (one day's map payload, the day the data end);
* ``/api/v1/map`` (the latest hour's map);
* ``/api/v1/map?hour=…`` with a random stored hour on every request (mostly cache misses: the
  cost of a cold hour, one scan of ``aqi_hourly``);

and, for reference, ``/api/v1/health`` from one client (not a trivial endpoint: it counts the
store's rows).

It prints p50/p99/max latency, requests per second and the ratios against the trivial endpoint
in one table. The client is a small asyncio HTTP/1.1 client (it shares the machine's cores with
the server, as a dashboard's users would not: the numbers are an upper bound). Like a browser it
asks for gzip (``--identity``: not); the cached map answers are kept gzipped. The floor of the
issue: p99 of the day's map payload under 100 ms; the exit status is 1 when it is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import numpy as np
from rich.console import Console
from rich.table import Table

FLOOR_MS = 100.0
#: Requests per client before the measured ones (not counted).
WARM_UP = 5
#: Request header line asking for gzip, as browsers send it (--identity: none).
ENCODING = "Accept-Encoding: gzip, deflate\r\n"
SERVER = (
    "import sys, uvicorn\n"
    "from ecobasin.web import create_app\n"
    "uvicorn.run(create_app(sys.argv[1]), host='127.0.0.1', port=int(sys.argv[2]),\n"
    "            log_level='warning', access_log=False)\n"
)
CLI = "from ecobasin.cli import main; main()"

console = Console(width=150)


@dataclass
class Result:
    name: str
    path: str
    latencies: list[float]
    errors: int
    seconds: float
    first_ms: float
    kb: float

    def ms(self, q: float) -> float:
        return float(np.percentile(np.array(self.latencies) * 1e3, q))

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def build_demo(path: Path) -> None:
    console.print(f"building the demo database {path} (ecobasin demo --no-serve) …")
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", CLI, "demo", "--no-serve", "--db", str(path)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    console.print(f"  built in {time.perf_counter() - t0:.1f} s")


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Status and body of one HTTP/1.1 response (Content-Length or chunked)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            key, value = line.split(":", 1)
            headers[key.strip().lower()] = value.strip()
    if "content-length" in headers:
        return status, await reader.readexactly(int(headers["content-length"]))
    body = bytearray()
    while True:  # chunked
        size = int((await reader.readuntil(b"\r\n")).strip(), 16)
        chunk = await reader.readexactly(size + 2)
        if size == 0:
            return status, bytes(body)
        body += chunk[:-2]


async def get(port: int, path: str) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        return await read_response(reader)
    finally:
        writer.close()
        await writer.wait_closed()


async def one_client(
    port: int, paths: list[str], latencies: list[float], sizes: list[int] | None = None
) -> int:
    """Send ``paths`` one after another on one keep-alive connection; count non-200s."""
    errors = 0
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for path in paths:
            t0 = time.perf_counter()
            writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{ENCODING}\r\n".encode())
            status, body = await read_response(reader)
            latencies.append(time.perf_counter() - t0)
            if sizes is not None:
                sizes.append(len(body))
            errors += status != 200
    finally:
        writer.close()
        await writer.wait_closed()
    return errors


async def scenario(
    port: int, name: str, paths_of: list[list[str]], label: str | None = None
) -> Result:
    """All clients at once. The first request (not counted) shows the cold cost; then each
    client sends a few warm-up requests (not counted: connections opened, threads started)."""
    t0 = time.perf_counter()
    status, _ = await get(port, paths_of[0][0])
    first_ms = (time.perf_counter() - t0) * 1e3
    if status != 200:
        raise SystemExit(f"{name}: {paths_of[0][0]} answered {status}")
    warm: list[float] = []
    await asyncio.gather(*(one_client(port, paths[:WARM_UP], warm) for paths in paths_of))
    latencies: list[float] = []
    sizes: list[int] = []
    t0 = time.perf_counter()
    errors = await asyncio.gather(
        *(one_client(port, paths[WARM_UP:], latencies, sizes) for paths in paths_of)
    )
    seconds = time.perf_counter() - t0
    kb = float(np.mean(sizes)) / 1024
    return Result(name, label or paths_of[0][0], latencies, sum(errors), seconds, first_ms, kb)


async def wait_ready(port: int, server: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped (exit {server.returncode})")
        try:
            status, _ = await get(port, "/api/v1/aqi/levels")
            if status == 200:
                return
        except OSError:
            pass
        await asyncio.sleep(0.2)
    raise SystemExit("the server did not answer within 60 s")


async def run(
    port: int, server: subprocess.Popen[bytes], clients: int, n: int
) -> tuple[list[Result], float]:
    await wait_ready(port, server)
    return await scenarios(port, clients, n), await health_ms(port)


async def scenarios(port: int, clients: int, n: int) -> list[Result]:
    _, body = await get(port, "/api/v1/map")
    first = json.loads(body)
    day = first["latest_day"]
    rng = random.Random(2025)
    first_hour = datetime.fromisoformat(first["first_hour"].replace("Z", "+00:00"))
    latest_hour = datetime.fromisoformat(first["latest_hour"].replace("Z", "+00:00"))
    n_hours = int((latest_hour - first_hour).total_seconds() // 3600) + 1
    hours = [  # every stored hour, as a UTC instant
        (first_hour + timedelta(hours=i)).strftime("%Y-%m-%dT%H:%MZ") for i in range(n_hours)
    ]

    def fixed(path: str) -> list[list[str]]:
        return [[path] * (n + WARM_UP) for _ in range(clients)]

    # the server's first seconds (imports, allocations, threads) are nobody's latency
    mixed = ["/api/v1/aqi/levels", "/api/v1/aqi/latest", "/api/v1/map", f"/api/v1/map?day={day}"]
    await asyncio.gather(*(one_client(port, mixed * 5, []) for _ in range(clients)))

    results = [
        await scenario(port, "trivial (static levels)", fixed("/api/v1/aqi/levels")),
        await scenario(port, "aqi latest (stations)", fixed("/api/v1/aqi/latest")),
        await scenario(port, f"map, one day ({day})", fixed(f"/api/v1/map?day={day}")),
        await scenario(port, "map, latest hour", fixed("/api/v1/map")),
    ]
    random_paths = [
        [f"/api/v1/map?hour={quote(rng.choice(hours))}" for _ in range(n + WARM_UP)]
        for _ in range(clients)
    ]
    distinct = len({path for paths in random_paths for path in paths})
    results.append(
        await scenario(
            port,
            "map, random hour (mostly uncached)",
            random_paths,
            f"/api/v1/map?hour=<{distinct:,} distinct of {len(hours):,}>",
        )
    )
    return results


async def health_ms(port: int, times: int = 5) -> float:
    """Median of a few sequential ``/api/v1/health`` requests (it counts the store's rows)."""
    latencies: list[float] = []
    await one_client(port, ["/api/v1/health"] * times, latencies)
    return float(np.median(latencies) * 1e3)


def report(results: list[Result], clients: int, n: int) -> bool:
    base = results[0]
    table = Table(
        title=f"air API, {clients} concurrent clients × {n} requests (loopback, keep-alive)"
    )
    for column in ("endpoint", "path", "kB", "requests", "first ms", "p50 ms", "p99 ms", "max ms"):
        table.add_column(column, justify="left" if column in ("endpoint", "path") else "right")
    for column in ("req/s", "p50 ×trivial", "p99 ×trivial", "errors"):
        table.add_column(column, justify="right")
    for r in results:
        table.add_row(
            r.name,
            r.path,
            f"{r.kb:.1f}",
            f"{len(r.latencies):,}",
            f"{r.first_ms:.1f}",
            f"{r.ms(50):.1f}",
            f"{r.ms(99):.1f}",
            f"{max(r.latencies) * 1e3:.1f}",
            f"{r.rate:,.0f}",
            f"{r.ms(50) / base.ms(50):.2f}",
            f"{r.ms(99) / base.ms(99):.2f}",
            str(r.errors),
        )
    console.print(table)
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    console.print(f"machine: {os.cpu_count()} cores, load average (1, 5, 15 min) {load}")
    day_map = results[2]
    ok = day_map.ms(99) < FLOOR_MS and not any(r.errors for r in results)
    verdict = "[green]PASS[/]" if ok else "[red]FAIL[/]"
    console.print(
        f"floor: p99 of one day's map payload {day_map.ms(99):.1f} ms < {FLOOR_MS:.0f} ms: {verdict}"
    )
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, help="demo database to reuse (built when omitted)")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (50)")
    parser.add_argument("--requests", type=int, default=200, help="requests per client (200)")
    parser.add_argument("--quick", action="store_true", help="40 requests per client")
    parser.add_argument(
        "--identity", action="store_true", help="do not ask for gzip (browsers do ask)"
    )
    args = parser.parse_args()
    if args.identity:
        global ENCODING
        ENCODING = ""
    n = 40 if args.quick else args.requests
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db
        if db is None:
            db = Path(tmp) / "demo.duckdb"
            build_demo(db)
        elif not db.exists():
            build_demo(db)
        port = free_port()
        server = subprocess.Popen([sys.executable, "-c", SERVER, str(db), str(port)])
        try:
            results, health = asyncio.run(run(port, server, args.clients, n))
        finally:
            server.terminate()
            server.wait(timeout=30)
    console.print(
        f"/api/v1/health (not trivial: it counts the store's rows), one client: {health:.1f} ms"
    )
    if not report(results, args.clients, n):
        sys.exit(1)


if __name__ == "__main__":
    main()
