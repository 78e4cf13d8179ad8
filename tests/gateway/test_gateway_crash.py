"""Crash: SIGKILL the gateway process mid-stream, restart it, let the devices retry; every
acknowledged message is in the store exactly once (the raw log + checkpoint proof)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

import pandas as pd
from gateway_helpers import PATIENCE, add_device, new_store, upload

from ecobasin.store import Store, _sql

DEVICES = 4
PER_DEVICE = 800
LAUNCH = "import sys; from ecobasin.cli import main; sys.argv[0] = 'ecobasin'; main()"


def _start(db: Path) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, "gateway", "--db", str(db), "--port", "0",
         "--status-every", "3600"],
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert process.stderr is not None
    for line in process.stderr:
        if "listening on" in line:
            port = int(line.split("listening on")[1].split(";")[0].split(":")[-1])
            threading.Thread(target=_drain, args=(process.stderr,), daemon=True).start()
            return process, port
    raise AssertionError(f"gateway did not start (exit {process.wait()})")


def _drain(stream: IO[str]) -> None:
    """Read the gateway's status lines until it exits, then close the pipe."""
    stream.read()
    stream.close()


def _messages(device: int) -> list[bytes]:
    out = []
    for i in range(PER_DEVICE):
        minute = i % 60
        hour = i // 60
        out.append(
            upload(
                mn=f"CRASH{device}",
                qn=f"20240101{hour:02d}{minute:02d}00{device:03d}",
                data_time=f"20240101{hour:02d}{minute:02d}00",
                cp={"a21026-Rtd": f"{i % 97}.5"},
            )
        )
    return out


def _send(port: int, frames: list[bytes], acked: set[bytes], stop: threading.Event) -> None:
    """One device: send each frame, wait for its 9014; stop at the first broken connection."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=PATIENCE) as sock:
            buffer = b""
            for frame in frames:
                if stop.is_set():
                    return
                sock.sendall(frame)
                while b"\r\n" not in buffer:
                    chunk = sock.recv(4096)
                    if not chunk:
                        return
                    buffer += chunk
                _, _, buffer = buffer.partition(b"\r\n")
                acked.add(frame)
    except OSError:
        return


def test_sigkill_mid_stream_loses_no_acknowledged_message(tmp_path: Path) -> None:
    db = tmp_path / "crash.duckdb"
    store = new_store(db)
    store.upsert_sites(
        pd.DataFrame(
            {"site_id": [f"C{d}" for d in range(DEVICES)], "kind": "air_station",
             "level": "enterprise", "city_code": 510100, "name_zh": None, "name_en": None,
             "lon": None, "lat": None}
        ),
        source="test",
    )  # fmt: skip
    for d in range(DEVICES):
        add_device(store, f"CRASH{d}", site=f"C{d}")
    store.close()
    frames = {d: _messages(d) for d in range(DEVICES)}
    acked: list[set[bytes]] = [set() for _ in range(DEVICES)]

    process, port = _start(db)
    stop = threading.Event()
    threads = [
        threading.Thread(target=_send, args=(port, frames[d], acked[d], stop))
        for d in range(DEVICES)
    ]
    for thread in threads:
        thread.start()
    total = DEVICES * PER_DEVICE
    while sum(len(a) for a in acked) < total // 3 and any(t.is_alive() for t in threads):
        threads[0].join(0.01)
    process.send_signal(signal.SIGKILL)  # mid-stream: devices are still sending
    process.wait(PATIENCE)
    for thread in threads:
        thread.join(PATIENCE)
    acked_before = [set(a) for a in acked]
    assert 0 < sum(map(len, acked_before)) < total  # it really died mid-stream

    process, port = _start(db)
    retry = [[f for f in frames[d] if f not in acked[d]] for d in range(DEVICES)]
    threads = [
        threading.Thread(target=_send, args=(port, retry[d], acked[d], threading.Event()))
        for d in range(DEVICES)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(PATIENCE * 4)
    assert sum(map(len, acked)) == total  # after retrying, everything was acknowledged
    process.send_signal(signal.SIGTERM)
    assert process.wait(PATIENCE) == 0

    store = Store(db)
    counts = _sql.frame(
        store, "SELECT site_id, time, count(*) AS n FROM observations GROUP BY site_id, time"
    )
    store.close()
    assert len(counts) == total  # one observation per message (one value each) ...
    assert (counts["n"] == 1).all()  # ... exactly once, acknowledged before the crash or after
