"""Issue 12, defect 2: a full disk under the raw log never loses an acknowledged message.

The disk "fills" through ``RLIMIT_FSIZE`` (a write past the limit fails with EFBIG, as one on a
full disk fails with ENOSPC), set on the writing process only; "freed" by raising it again.
"""

from __future__ import annotations

import json
import random
import resource
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import pandas as pd
import pytest
from gateway_helpers import PATIENCE, add_device, new_store, upload

from ecobasin.gateway import read_records, replay
from ecobasin.gateway.rawlog import ScanReport
from ecobasin.store import Store, _sql

LAUNCH = "import sys; from ecobasin.cli import main; sys.argv[0] = 'ecobasin'; main()"
DEVICES = 3
PER_DEVICE = 80
#: [s] The simulated devices' reply timeout before they resend (HJ 212 §6.2 OverTime; a
#: protocol parameter of the client, never an assertion about speed).
OVERTIME = 0.5

WRITER = textwrap.dedent(
    """
    import json, resource, signal, sys
    from datetime import UTC, datetime
    from pathlib import Path
    from ecobasin.gateway import rawlog
    from ecobasin.gateway.rawlog import RawLog, encode_record
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    directory, limit, how = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    rawlog._DSYNC_WRITES[0] = how == "durable write"
    raw_log = RawLog.open(directory)
    hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    acked, now, seq = [], datetime(2024, 1, 1, tzinfo=UTC), 0
    for n in range(1, 301):
        if n == 200:  # space freed
            resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
        frame = b"##0010QN=%08d\\r\\n" % n + b"x" * 200
        seq += 1
        try:
            if how == "write, fsync":
                raw_log.write(encode_record(seq, now, "p:1", frame), seq, seq)
                raw_log.sync()
            else:  # one durable write, or (no RWF_DSYNC) its write and fsync
                raw_log.write_durable(encode_record(seq, now, "p:1", frame), seq, seq)
        except OSError:
            continue  # not acknowledged: the device will resend
        acked.append(frame.decode())
    raw_log.close()
    print(json.dumps(acked))
    """
)


@pytest.mark.parametrize("how", ["write, fsync", "durable write", "durable, no RWF_DSYNC"])
def test_raw_log_write_errors_leave_no_torn_record_before_later_ones(
    tmp_path: Path, how: str
) -> None:
    run = subprocess.run(
        [sys.executable, "-c", WRITER, str(tmp_path / "raw"), "20000", how],
        capture_output=True,
        text=True,
        timeout=PATIENCE,
        check=True,
    )
    acked = json.loads(run.stdout)
    assert 50 < len(acked) < 300  # the limit really cut some writes, then space came back
    scan = ScanReport()
    frames = [r.frame.decode() for r in read_records(tmp_path / "raw", report=scan)]
    assert frames == acked  # every acknowledged record, once, in order; nothing else
    assert scan.damaged == 0


def test_reader_skips_damage_only_when_a_later_record_proves_resync(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from ecobasin.gateway import RawLog
    from ecobasin.gateway.rawlog import encode_record

    raw_log = RawLog.open(tmp_path / "raw")
    now = datetime(2024, 1, 1, tzinfo=UTC)
    records = [encode_record(n, now, "p:1", upload(qn=f"2024010110{n:07d}")) for n in (1, 2, 3)]
    raw_log.write(b"".join(records), 1, 3)
    raw_log.close()
    segment = next((tmp_path / "raw").glob("seg-*.log"))
    data = bytearray(segment.read_bytes())
    middle = len(data) - len(records[2]) - len(records[1]) // 2
    data[middle] ^= 0xFF  # damage record 2
    segment.write_bytes(bytes(data))
    scan = ScanReport()
    assert [r.seq for r in read_records(tmp_path / "raw", report=scan)] == [1, 3]
    assert scan.damaged == 1
    store = new_store(tmp_path / "r.duckdb", (("DEV1", "S_AIR"),))
    replayed = replay(store, tmp_path / "raw")  # the replay says what it skipped
    store.close()
    assert (replayed.records, replayed.damaged) == (2, 1)
    # damage in the last record has no later record to prove resync: a torn tail, not skipped
    data = bytearray(segment.read_bytes())
    data[middle] ^= 0xFF
    data[-5] ^= 0xFF
    segment.write_bytes(bytes(data))
    scan = ScanReport()
    assert [r.seq for r in read_records(tmp_path / "raw", report=scan)] == [1, 2]
    assert scan.damaged == 0


# -- over a real socket: the disk fills mid-run, is freed, kill -9 at random moments -----------
class Gateway:
    """``ecobasin gateway`` as a process on a fixed port, its status lines collected."""

    def __init__(self, db: Path, port: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", LAUNCH, "gateway", "--db", str(db), "--port", str(port),
             "--status-every", "0.1", "--segment-mib", "1"],
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        self.lines: list[str] = []
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)
            if "listening on" in line:
                break
        else:
            raise AssertionError(f"gateway did not start: {self.lines}")
        threading.Thread(target=self._drain, args=(self.process.stderr,), daemon=True).start()

    def _drain(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.append(line)
        stream.close()

    def front_pid(self) -> int:
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return int(children[0])

    def alarmed(self) -> bool:
        return any("raw_log_unwritable" in line for line in list(self.lines))


def _device(port: int, frames: list[bytes], acked: list[bytes], done: threading.Event) -> None:
    """Send each frame until its 9014 comes (resend after OVERTIME; reconnect when cut)."""
    pending = list(frames)
    sock: socket.socket | None = None
    buffer = b""
    while pending and not done.is_set():
        frame = pending[0]
        qn = frame.split(b"QN=")[1].split(b";")[0]
        try:
            if sock is None:
                sock = socket.create_connection(("127.0.0.1", port), timeout=OVERTIME)
                buffer = b""
            sock.sendall(frame)
            deadline = time.monotonic() + OVERTIME
            while time.monotonic() < deadline:
                if b"\r\n" in buffer:
                    reply, _, buffer = buffer.partition(b"\r\n")
                    if b"QN=" + qn + b";" in reply:
                        acked.append(pending.pop(0))
                        break
                    continue
                chunk = sock.recv(4096)
                if not chunk:
                    raise ConnectionError("closed")
                buffer += chunk
        except TimeoutError:  # no reply in time: resend on the same connection
            continue
        except OSError:  # refused, reset, closed: reconnect
            if sock is not None:
                sock.close()
                sock = None
            time.sleep(0.05)
    if sock is not None:
        sock.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` until it holds; each wait has its own safety net against a hang (one
    deadline for the whole run ran out on a loaded machine: gateway starts took most of it)."""
    deadline = time.monotonic() + PATIENCE * 4
    while not condition():
        assert time.monotonic() < deadline, f"no {what} in {PATIENCE * 4:.0f} s"
        time.sleep(0.02)


def _newest_segment_size(raw: Path) -> int:
    return max(raw.glob("seg-*.log")).stat().st_size


def test_disk_full_mid_run_then_freed_with_kill_9_stores_every_ack_once(tmp_path: Path) -> None:
    rng = random.Random(212)
    db = tmp_path / "full.duckdb"
    raw = tmp_path / "full.duckdb.rawlog"
    store = new_store(db)
    store.upsert_sites(
        pd.DataFrame(
            {"site_id": [f"F{d}" for d in range(DEVICES)], "kind": "air_station",
             "level": "enterprise", "city_code": 510100, "name_zh": None, "name_en": None,
             "lon": None, "lat": None}
        ),
        source="test",
    )  # fmt: skip
    for d in range(DEVICES):
        add_device(store, f"FULL{d}", site=f"F{d}")
    store.close()
    frames = {
        d: [
            upload(mn=f"FULL{d}", qn=f"2024010100{i:04d}{d:02d}0",
                   data_time=f"202401{1 + i // 24:02d}{i % 24:02d}0000",
                   cp={"a21026-Rtd": f"{i}.5"})
            for i in range(PER_DEVICE)
        ]
        for d in range(DEVICES)
    }  # fmt: skip
    acked: list[list[bytes]] = [[] for _ in range(DEVICES)]
    port = _free_port()
    gateway = Gateway(db, port)
    done = threading.Event()
    devices = [
        threading.Thread(target=_device, args=(port, frames[d], acked[d], done))
        for d in range(DEVICES)
    ]
    for thread in devices:
        thread.start()
    total = DEVICES * PER_DEVICE
    try:
        for round_ in range(4):
            target = total * (round_ + 1) // 6
            _wait_for(lambda n=target: sum(map(len, acked)) >= n, f"acks up to {target}")
            # the disk fills: a few hundred bytes more fit in the raw log's segment
            limit = _newest_segment_size(raw) + rng.randrange(0, 600)
            resource.prlimit(gateway.front_pid(), resource.RLIMIT_FSIZE, (limit, -1))
            _wait_for(gateway.alarmed, f"the raw_log_unwritable alarm of round {round_ + 1}")
            assert gateway.process.poll() is None, "the gateway died when the disk filled"
            if rng.random() < 0.5:  # killed while full, at a random moment
                time.sleep(rng.uniform(0.0, 0.3))
                gateway.process.send_signal(signal.SIGKILL)
                gateway.process.wait(PATIENCE)
                gateway = Gateway(db, port)  # a new front: the space is there again
            else:  # freed while running; killed a little later
                resource.prlimit(gateway.front_pid(), resource.RLIMIT_FSIZE, (-1, -1))
                time.sleep(rng.uniform(0.0, 0.3))
                gateway.process.send_signal(signal.SIGKILL)
                gateway.process.wait(PATIENCE)
                gateway = Gateway(db, port)
        for thread in devices:
            thread.join(PATIENCE * 4)
        assert sum(map(len, acked)) == total  # every message was acknowledged in the end
        gateway.process.send_signal(signal.SIGTERM)
        assert gateway.process.wait(PATIENCE) == 0
    finally:
        done.set()
        if gateway.process.poll() is None:
            gateway.process.kill()
            gateway.process.wait()
    store = Store(db)
    counts = _sql.frame(
        store, "SELECT site_id, time, count(*) AS n FROM observations GROUP BY site_id, time"
    )
    store.close()
    assert len(counts) == total  # every acknowledged message is in the store ...
    assert (counts["n"] == 1).all()  # ... exactly once


def test_live_status_shows_the_raw_log_alarm_while_the_disk_is_full(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from ecobasin import catalog
    from ecobasin.jobs.live_feed import LiveFeed, register_fleet
    from ecobasin.web.app import create_app
    from ecobasin.web.security import accounts

    region = catalog.load_region()
    db = tmp_path / "alarm.duckdb"
    feed = LiveFeed(gateway_port=0, enterprises=2, seed=5, refresh_every=0.5, speedup=120.0)
    with Store(db) as store:
        store.sync_catalog(region)
        register_fleet(store, feed, region)
        accounts.create_user(store.con, "viewer", "viewer", None, "password-viewer-1")
        token = accounts.create_token(store.con, "viewer", "tests")[1]
    headers = {"Authorization": f"Bearer {token}"}

    def status(client: TestClient) -> dict[str, object]:
        body: dict[str, object] = client.get("/api/v1/gateway/status", headers=headers).json()
        return body

    with TestClient(create_app(db, region, live=feed)) as client:
        gateway = client.app.state.live.gateway  # type: ignore[attr-defined]
        deadline = time.monotonic() + PATIENCE * 4  # a safety net, not a speed test
        while gateway.stats.logged == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert status(client)["alarms"] == []
        front = gateway._process.pid
        limit = _newest_segment_size(tmp_path / "alarm.duckdb.rawlog")
        resource.prlimit(front, resource.RLIMIT_FSIZE, (limit, -1))  # the disk is full
        while not status(client)["alarms"] and time.monotonic() < deadline:
            time.sleep(0.1)
        full = status(client)
        resource.prlimit(front, resource.RLIMIT_FSIZE, (-1, -1))  # freed
        acked = int(full["acked"])  # type: ignore[call-overload]
        while status(client)["acked"] == acked and time.monotonic() < deadline:
            time.sleep(0.1)
        freed = status(client)
    assert full["alarms"] == ["raw_log_unwritable"]
    assert int(full["raw_log_errors"]) >= 1  # type: ignore[call-overload]
    assert freed["alarms"] == [] and int(freed["acked"]) > acked  # type: ignore[call-overload]


def test_a_group_whose_write_fails_part_way_acks_none_of_it(tmp_path: Path) -> None:
    """Group commit (issue 12, Speed): the frames of one read form one group, written with one
    write and one fsync; the disk fills in the middle of that write, so the group's first
    record is on disk and the rest is not. None of the group is acknowledged, the torn part
    is cut, and once space is back the resent group is logged and stored exactly once."""
    from gateway_helpers import Client, Running

    from ecobasin.gateway import GatewayConfig

    store = new_store(tmp_path / "g.duckdb")
    add_device(store, "GRP1")
    frames = [
        upload(mn="GRP1", qn=f"2024010110{n:07d}", data_time=f"20240101{n // 60:02d}{n % 60:02d}00")
        for n in range(20)
    ]
    raw = tmp_path / "raw"
    server = Running(store, GatewayConfig(port=0, raw_log=raw, write_delay=0.05))
    try:
        assert server.gateway._process is not None
        front = server.gateway._process.pid
        record = 200  # [bytes] about one record of these frames (header, peer, ≈ 130-byte frame)
        resource.prlimit(front, resource.RLIMIT_FSIZE, (_newest_segment_size(raw) + record, -1))
        device = Client(server.port)
        device.send(b"".join(frames))  # one read, one group
        deadline = time.monotonic() + PATIENCE  # a safety net against a hang, not a speed test
        while not server.gateway.stats.raw_log_unwritable and time.monotonic() < deadline:
            server.flush()
        assert server.gateway.stats.raw_log_unwritable
        device.sock.setblocking(False)
        try:
            early = device.sock.recv(65536)
        except BlockingIOError:
            early = b""
        assert early == b""  # no reply for any frame of the failed group
        device.sock.setblocking(True)
        assert server.gateway.stats.acked == 0 and server.gateway.stats.logged == 20
        resource.prlimit(front, resource.RLIMIT_FSIZE, (-1, -1))  # space again
        device.send(b"".join(frames))  # the data logger resends (§6.2)
        assert len(device.replies(20)) == 20
        server.flush()
        assert server.gateway.stats.stored == 20
    finally:
        server.stop()
    scan = ScanReport()
    logged = [r.frame for r in read_records(raw, report=scan)]
    assert logged == frames and scan.damaged == 0  # the torn part was cut: each frame once
    messages = _sql.frame(store, "SELECT count(*) AS n FROM gateway_messages")["n"][0]
    store.close()
    assert messages == 20
