"""Operating limits over real sockets: per-connection budgets against hostile streams, sampled
rejects per peer address, and the open-file limit of a real gateway process (issue 12)."""

from __future__ import annotations

import os
import re
import resource
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from gateway_helpers import PATIENCE, Client, Running, new_store, rejected, upload

from ecobasin.gateway import GatewayConfig
from ecobasin.ingest.hj212 import inspect_packet, read_segment

LAUNCH = "import sys; from ecobasin.cli import main; sys.argv[0] = 'ecobasin'; main()"
#: What hostile peers stream (hj212 brief §2.1 worst cases): valid-looking maximal lengths that
#: never end, a header that never starts, and noise.
HOSTILE = {
    "lengths": b"##1024" * 10_000,
    "hashes": b"#" * 60_000,
    "noise": os.urandom(60_000).replace(b"#", b"x"),
}


class Hostile(threading.Thread):
    """Streams one pattern at full speed; reconnects whenever the gateway closes it."""

    def __init__(self, port: int, pattern: bytes) -> None:
        super().__init__(daemon=True)
        self.port, self.pattern = port, pattern
        self.stop = threading.Event()
        self.connections = 0
        self.sent = 0

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=PATIENCE) as s:
                    self.connections += 1
                    while not self.stop.is_set():
                        s.sendall(self.pattern)
                        self.sent += len(self.pattern)
            except OSError:
                continue


def test_hostile_streams_are_closed_at_their_budget_and_a_device_keeps_its_acks(
    store, tmp_path
) -> None:
    config = GatewayConfig(
        port=0, raw_log=tmp_path / "raw", write_delay=0.05, reject_samples=20, reject_window=3600
    )
    server = Running(store, config)
    hostile = [Hostile(server.port, pattern) for pattern in HOSTILE.values()]
    try:
        for thread in hostile:
            thread.start()
        device = Client(server.port)
        frames = [
            upload(qn=f"20240101100{i:06d}", data_time=f"2024010{1 + i // 60 % 9}{i % 24:02d}"
                   f"{i % 60:02d}00")
            for i in range(300)
        ]  # fmt: skip
        qns = []
        for frame in frames:  # one at a time, as a data logger does (§6.2)
            device.send(frame)
            (reply,) = device.replies(1)
            qns.append(read_segment(reply[6:-6]).qn)
        # every ack came, in order, while the three streamed
        assert qns == [read_segment(f[6:-6]).qn for f in frames]
        assert all(thread.is_alive() for thread in hostile)
    finally:
        for thread in hostile:
            thread.stop.set()
        for thread in hostile:
            thread.join(PATIENCE)
    server.flush()
    stats = server.gateway.stats
    assert stats.stored == 300
    # each hostile peer was cut off at its budget and came back (it streams at full speed)
    assert all(thread.connections >= 2 for thread in hostile), [t.connections for t in hostile]
    assert stats.budget_closed >= sum(thread.connections for thread in hostile) - 3
    server.stop()
    kept = rejected(store)
    detailed = kept[kept["reason_code"] != "too_many_problems"]
    assert len(detailed) == 20  # one address: a sample, not the flood
    summary = kept[kept["reason_code"] == "too_many_problems"]
    assert len(summary) == 1 and "127.0.0.1" in summary["reason"].iloc[0]
    assert stats.rejected > 20 + stats.budget_closed  # all counted


def test_refused_frames_of_a_reconnecting_unknown_peer_are_counted_and_sampled(
    store, tmp_path
) -> None:
    config = GatewayConfig(
        port=0, raw_log=tmp_path / "raw", write_delay=0.05, reject_samples=10, reject_window=3600
    )
    server = Running(store, config)
    try:
        for connection in range(40):  # a new port each time: per-connection limits miss it
            client = Client(server.port)
            for i in range(25):
                client.send(upload(mn="NOBODY", qn=f"202401011{connection:03d}{i:05d}"))
            good = upload(qn=f"20240101200{connection:06d}", data_time="20240101120000")
            client.send(good)  # refused frames get silence; the good one its ack
            assert client.replies(1) == [inspect_packet(good).response]
            client.close()
        server.flush()
        assert server.gateway.stats.refused == 1000
        assert server.gateway.stats.reasons["unknown_device"] == 1000
    finally:
        server.stop()
    kept = rejected(store)
    assert (kept["reason_code"] == "unknown_device").sum() == 10
    (summary,) = kept.loc[kept["reason_code"] == "too_many_problems", "reason"]
    assert "unknown_device ×990" in summary


# -- the open-file limit, with a real gateway process -----------------------------------------
def _limit(n: int) -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))


def test_at_the_open_file_limit_connections_are_refused_cleanly(tmp_path: Path) -> None:
    db = tmp_path / "gw.duckdb"
    store = new_store(db, (("DEV1", "S_AIR"),))
    store.close()
    hard = 128
    process = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, "gateway", "--db", str(db), "--port", "0",
         "--max-connections", "1000", "--status-every", "3600"],
        stderr=subprocess.PIPE,
        preexec_fn=lambda: _limit(hard),
        env={**os.environ, "COLUMNS": "240"},  # one line per message, whatever the terminal
    )  # fmt: skip
    assert process.stderr is not None
    lines: list[str] = []
    try:
        while not (line := process.stderr.readline().decode()).startswith("HJ 212 gateway"):
            assert line, "".join(lines)
            lines.append(line)
        lines.append(line)
        port = int(re.search(r":(\d+);", line).group(1))  # type: ignore[union-attr]
        for _ in range(4):  # the limit's line follows (a warning may come first)
            lines.append(process.stderr.readline().decode())
            if "open-file limit" in lines[-1]:
                break
        assert f"open-file limit 文件句柄上限 (RLIMIT_NOFILE) {hard}" in lines[-1], "".join(lines)
        device = Client(port)
        device.send(upload(qn="20240101100000001"))
        device.replies(1)
        for round_ in range(2):  # twice: a connection made right after the others closed
            flood = []
            for _ in range(2 * hard):  # past the limit: each one accepted or closed, never a hang
                flood.append(Client(port))
            refused = sum(client.closed_by_server() for client in flood[hard:])
            assert refused == hard  # every one past the limit saw the close
            frame = upload(qn=f"2024010110000{round_}002", data_time=f"2024010110{round_}100")
            device.send(frame)  # the open connection is still served
            assert device.replies(1) == [inspect_packet(frame).response]
            for client in flood:
                client.close()
            # the sessions of the closed clients may not have released their descriptors yet
            # when this one arrives: it is served once they have, not refused
            again = Client(port)
            third = upload(qn=f"2024010110000{round_}003", data_time=f"2024010110{round_}200")
            again.send(third)
            assert again.replies(1) == [inspect_packet(third).response]
            again.close()
    finally:
        process.send_signal(signal.SIGINT)
        _, rest = process.communicate(timeout=PATIENCE)
    log = "".join(lines) + rest.decode()
    assert process.returncode == 0, log
    assert f"open-file limit {hard} is below --max-connections 1000" in log
    assert "Traceback" not in log
    refusals = [line for line in log.splitlines() if "refused" in line and "connection" in line]
    assert 1 <= len(refusals) <= 2, refusals  # one line per 10 s, not one per connection


@pytest.fixture(autouse=True)
def _enough_descriptors() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1024 <= hard or hard == resource.RLIM_INFINITY:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard) if hard > 0 else 4096, hard))
