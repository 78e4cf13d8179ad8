"""Benchmark: the cost of capping the request head (issue 13): uvicorn on h11 with
``h11_max_incomplete_event_size`` (what ``ecobasin serve`` runs) against httptools (uvicorn's
default when installed, which has no head cap), same app, same store.

Usage: ``python bench/http_limits_bench.py [--requests 2000] [--rounds 3]``

Starts both servers on free loopback ports over a fresh catalogue-only store each, then in
alternating rounds sends ``--requests`` keep-alive GETs of ``/api/v1/aqi/levels`` (static JSON:
the server and framework floor, where the parser's share is largest) from one client, and
prints requests per second per server, the ratio h11 / httptools (the baseline) and the load
average. The client shares the machine with the servers: compare the ratio, not the rates.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ecobasin import catalog
from ecobasin.store import Store

SERVER = (
    "import sys, uvicorn\n"
    "from ecobasin.web import create_app\n"
    "kwargs = {'h11_max_incomplete_event_size': 16384} if sys.argv[3] == 'h11' else {}\n"
    "uvicorn.run(create_app(sys.argv[1]), host='127.0.0.1', port=int(sys.argv[2]),\n"
    "            http=sys.argv[3], log_level='warning', **kwargs)\n"
)
REQUEST = b"GET /api/v1/aqi/levels HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(http: str, folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    db = folder / f"{http}.duckdb"
    with Store(db) as store:
        store.sync_catalog(catalog.load_region())
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", SERVER, str(db), str(port), http])
    for _ in range(600):
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            return process, port
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{http} server did not start")


def read_answer(sock: socket.socket, pending: bytes) -> bytes:
    """Read one answer with a Content-Length body; returns what follows it."""
    while b"\r\n\r\n" not in pending:
        pending += sock.recv(65536)
    head, _, rest = pending.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    while len(rest) < length:
        rest += sock.recv(65536)
    return rest[length:]


def rate(port: int, requests: int) -> float:
    """Sequential keep-alive requests per second."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        pending = b""
        started = time.perf_counter()
        for _ in range(requests):
            sock.sendall(REQUEST)
            pending = read_answer(sock, pending)
        return requests / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        servers = {http: start(http, Path(tmp)) for http in ("httptools", "h11")}
        try:
            for _, port in servers.values():
                rate(port, 200)  # warm up
            rates: dict[str, list[float]] = {http: [] for http in servers}
            for _ in range(args.rounds):
                for http, (_, port) in servers.items():
                    rates[http].append(rate(port, args.requests))
        finally:
            for process, _ in servers.values():
                process.terminate()
                process.wait()
    best = {http: max(values) for http, values in rates.items()}
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for http, value in best.items():
        print(
            f"{http:10s} {value:8.0f} requests/s (best of {args.rounds} rounds of {args.requests})"
        )
    print(f"h11 (head capped) / httptools (baseline): {best['h11'] / best['httptools']:.2f}")


if __name__ == "__main__":
    main()
