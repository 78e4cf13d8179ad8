"""Sign-in bursts (issue 13 item 6): the server's peak memory and the time other requests
take while N sign-ins arrive at once, with the verification gate sized to the machine against
the same server with the gate opened wide (``ECOBASIN_SIGNIN_SLOTS=64``: every sign-in
verifies at once, as before the gate) — the named baseline, measured in the same run.

    python bench/signin_bench.py [--burst 24] [--probes 10]

Each server is a real ``ecobasin serve`` process on a fresh store; each sign-in comes from
its own loopback address with its own unknown user name, so no rate limit applies and every
attempt needs an Argon2id verification (64 MiB). Printed: peak RSS growth (VmHWM) [MiB],
answers by status, and the median latency of ``GET /api/v1/health`` during the burst [ms].
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

ECOBASIN = (sys.executable, "-c", "from ecobasin.cli import main; main()")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start(db: Path, slots: int | None) -> tuple[subprocess.Popen[bytes], str]:
    env = dict(os.environ)
    env.pop("ECOBASIN_SIGNIN_SLOTS", None)
    if slots is not None:
        env["ECOBASIN_SIGNIN_SLOTS"] = str(slots)
    port = _free_port()
    process = subprocess.Popen(
        [*ECOBASIN, "serve", "--port", str(port), "--db", str(db)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=5).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError("ecobasin serve did not start")


def _peak_rss(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) * 1024 if match else 0


def _sign_in(url: str, name: str, address: str) -> int:
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(base_url=url, transport=transport, timeout=300) as client:
        page = client.get("/signin")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        data = {"name": name, "password": "wrong-guess-2025", "csrf_token": token.group(1)}
        return client.post("/signin", data=data, follow_redirects=False).status_code


def _run(db: Path, slots: int | None, burst: int, probes: int) -> dict[str, Any]:
    process, url = _start(db, slots)
    try:
        _sign_in(url, "warm-up", "127.0.9.1")
        before = _peak_rss(process.pid)
        latencies: list[float] = []
        done = threading.Event()

        def probe() -> None:
            with httpx.Client(base_url=url, timeout=300) as client:
                while not done.is_set() and len(latencies) < probes:
                    start = time.perf_counter()
                    client.get("/api/v1/health")
                    latencies.append(time.perf_counter() - start)

        prober = threading.Thread(target=probe)
        with ThreadPoolExecutor(burst) as pool:
            prober.start()
            answers = list(
                pool.map(lambda i: _sign_in(url, f"nobody{i}", f"127.0.8.{i + 1}"), range(burst))
            )
        done.set()
        prober.join()
        return {
            "grown_mib": (_peak_rss(process.pid) - before) / 2**20,
            "answers": dict(Counter(answers)),
            "health_ms": 1000 * statistics.median(latencies) if latencies else float("nan"),
        }
    finally:
        process.terminate()
        process.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=24, help="sign-ins at once")
    parser.add_argument("--probes", type=int, default=10, help="health requests during a burst")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "bench.duckdb"
        subprocess.run([*ECOBASIN, "init", "--db", str(db)], check=True, capture_output=True)
        load = os.getloadavg()
        gated = _run(db, None, args.burst, args.probes)
        wide = _run(db, 64, args.burst, args.probes)
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {os.cpu_count()} cores")
    for name, result in (("gate sized to the machine", gated), ("baseline: 64 slots", wide)):
        print(
            f"{name:28s} peak memory +{result['grown_mib']:7.0f} MiB; answers "
            f"{result['answers']}; health during the burst {result['health_ms']:.0f} ms (median)"
        )
    ratio = wide["grown_mib"] / max(gated["grown_mib"], 1.0)
    print(f"peak memory growth: baseline / gated = {ratio:.1f}x")


if __name__ == "__main__":
    main()
