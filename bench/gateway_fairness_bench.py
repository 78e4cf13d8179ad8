"""Benchmark: a good device's ack latency while hostile connections stream at full speed.

Usage: ``python bench/gateway_fairness_bench.py [--frames 500] [--hostile 3]``

One run, one real gateway process (``ecobasin gateway --fsync batch``, a temp DuckDB file, one
registered device). The device sends ``--frames`` uploads stop-and-wait (one in flight, as a
data logger does, HJ 212-2017 §6.2) twice:

* **quiet** (the baseline): nothing else connected;
* **hostile**: ``--hostile`` processes stream at full speed, each reconnecting whenever the
  gateway closes it: ``##1024##1024…`` (maximal lengths that never end), ``####…`` (a header
  that never starts) and random bytes, in turn.

Prints p50 / p99 ack latency of both phases, the ratio hostile / quiet, the hostile bytes sent
per second, the connections the gateway closed at their budget, and the load average (1 min)
before and after. The issue's target: p99 < 100 ms under hostile load.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from ecobasin import catalog
from ecobasin.gateway import register_devices
from ecobasin.gateway.loadgen import percentile
from ecobasin.ingest.hj212 import encode_message
from ecobasin.store import Store

LAUNCH = "import sys; from ecobasin.cli import main; sys.argv[0] = 'ecobasin'; main()"
PATTERNS = (b"##1024" * 10_000, b"#" * 60_000, os.urandom(60_000).replace(b"#", b"x"))


def hostile(
    port: int, pattern: bytes, stop: mp.synchronize.Event, sent: mp.sharedctypes.Synchronized
) -> None:  # type: ignore[name-defined]
    """Stream ``pattern`` at full speed; reconnect whenever the gateway closes the connection."""
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                while not stop.is_set():
                    sock.sendall(pattern)
                    with sent.get_lock():
                        sent.value += len(pattern)
        except OSError:
            continue


def device_latencies(port: int, frames: int, offset: int) -> list[float]:
    """Send ``frames`` uploads one at a time; the ack latency of each [s]."""
    latencies = []
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        buffer = b""
        for i in range(offset, offset + frames):
            minute = i % 60
            hour = i // 60 % 24
            day = 1 + i // 1440
            head = {"QN": f"2024010{day}{hour:02d}{minute:02d}00{i % 1000:03d}", "ST": "22",
                    "CN": "2011", "PW": "123456", "MN": "BENCH1", "Flag": "5"}  # fmt: skip
            frame = encode_message(
                head, {"DataTime": f"2024010{day}{hour:02d}{minute:02d}00", "a34004-Rtd": "35"}
            )
            began = time.perf_counter()
            sock.sendall(frame)
            while b"\r\n" not in buffer:
                chunk = sock.recv(4096)
                if not chunk:
                    raise ConnectionError("the gateway closed the device's connection")
                buffer += chunk
            buffer = buffer.split(b"\r\n", 1)[1]
            latencies.append(time.perf_counter() - began)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=500)
    parser.add_argument("--hostile", type=int, default=3)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "bench.duckdb"
        store = Store(db)
        store.sync_catalog(catalog.load_region())
        store.upsert_sites(
            pd.DataFrame([{"site_id": "B1", "kind": "air_station", "level": "city",
                           "city_code": 510100, "name_zh": None, "name_en": None,
                           "lon": None, "lat": None}]),
            source="bench",
        )  # fmt: skip
        register_devices(store, pd.DataFrame([{"mn": "BENCH1", "password": "123456",
                                               "site_id": "B1"}]))  # fmt: skip
        store.close()
        gateway = subprocess.Popen(
            [sys.executable, "-c", LAUNCH, "gateway", "--db", str(db), "--port", "0",
             "--status-every", "3600", "--reject-samples", "20"],
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert gateway.stderr is not None
        port = 0
        for line in gateway.stderr:
            if "listening on" in line:
                port = int(line.split("listening on")[1].split(";")[0].split(":")[-1])
                break
        try:
            quiet = device_latencies(port, args.frames, 0)
            stop = mp.Event()
            sent = mp.Value("q", 0)
            workers = [
                mp.Process(target=hostile, args=(port, PATTERNS[i % 3], stop, sent), daemon=True)
                for i in range(args.hostile)
            ]
            for worker in workers:
                worker.start()
            time.sleep(1.0)  # let them reach full speed
            began, sent_before = time.perf_counter(), sent.value
            loud = device_latencies(port, args.frames, args.frames)
            elapsed = time.perf_counter() - began
            hostile_rate = (sent.value - sent_before) / elapsed
            stop.set()
            for worker in workers:
                worker.join(10)
        finally:
            gateway.send_signal(signal.SIGINT)
            tail = gateway.communicate(timeout=60)[1]
    load_after = os.getloadavg()[0]
    q50, q99 = percentile(quiet, 50) * 1e3, percentile(quiet, 99) * 1e3
    h50, h99 = percentile(loud, 50) * 1e3, percentile(loud, 99) * 1e3
    print(f"frames per phase {args.frames}, hostile connections {args.hostile}")
    print(f"quiet   (baseline): ack p50 {q50:7.2f} ms  p99 {q99:7.2f} ms")
    print(f"hostile           : ack p50 {h50:7.2f} ms  p99 {h99:7.2f} ms")
    print(f"ratio hostile/quiet: p50 {h50 / q50:5.2f}x  p99 {h99 / q99:5.2f}x")
    print(f"hostile bytes sent: {hostile_rate / 1e6:.2f} MB/s in total")
    print(f"p99 under hostile load < 100 ms: {'yes' if h99 < 100 else 'NO'}")
    print(f"load average (1 min): {load_before:.2f} before, {load_after:.2f} after")
    print(f"gateway's last words: {tail.strip().splitlines()[-1] if tail.strip() else '-'}")


if __name__ == "__main__":
    main()
