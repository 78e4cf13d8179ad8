"""Issue 12, defect 6 (third bullet): raw-log rotation by size and age, retention of stored
segments, dedup keys pruned on a schedule, and a restart that reads from the checkpoint only."""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway_helpers import PATIENCE, Client, Running, new_store, query, upload

from ecobasin.gateway import GatewayConfig, RawLog, read_records, replay
from ecobasin.gateway.rawlog import encode_record, prune_segments

NOW = datetime(2024, 1, 1, tzinfo=UTC)
#: Files opened by this process while ``_OPENS_ON`` holds True (an audit hook, never removed).
_OPENED: list[str] = []
_OPENS_ON = [False]


def _audit(event: str, args: tuple[object, ...]) -> None:
    if _OPENS_ON[0] and event == "open" and isinstance(args[0], str | Path):
        _OPENED.append(str(args[0]))


sys.addaudithook(_audit)


def _frame(n: int) -> bytes:
    return upload(
        qn=f"2024010110{n:07d}",
        data_time=f"2024{1 + n // 600:02d}01{n // 25 % 24:02d}{n % 25:02d}00",
    )


def _log(directory: Path, n: int, segment_bytes: int) -> None:
    raw_log = RawLog.open(directory, segment_bytes)
    for seq in range(1, n + 1):
        raw_log.write(encode_record(seq, NOW, "p:1", _frame(seq)), seq, seq)
    raw_log.close()


def test_segments_rotate_by_size_and_by_age(tmp_path: Path) -> None:
    _log(tmp_path / "size", 40, segment_bytes=2_000)
    sizes = sorted((tmp_path / "size").glob("seg-*.log"))
    assert len(sizes) > 3
    assert [r.seq for r in read_records(tmp_path / "size")] == list(range(1, 41))
    raw_log = RawLog.open(tmp_path / "age", max_age=0.0)  # every segment is already old
    for seq in (1, 2, 3):
        raw_log.write(encode_record(seq, NOW, "p:1", _frame(seq)), seq, seq)
    raw_log.close()
    names = sorted(p.name for p in (tmp_path / "age").glob("seg-*.log"))
    assert names == [f"seg-{n:016d}.log" for n in (1, 2, 3)]
    assert all(os.stat(p).st_mode & 0o077 == 0 for p in (tmp_path / "age").iterdir())  # private


def test_retention_removes_only_stored_old_segments(tmp_path: Path) -> None:
    directory = tmp_path / "raw"
    _log(directory, 40, segment_bytes=2_000)
    files = sorted(directory.glob("seg-*.log"))
    old = time.time() - 40 * 86_400
    for file in files:
        os.utime(file, (old, old))
    stored = int(files[2].stem.removeprefix("seg-")) - 1  # segments 0 and 1 are fully stored
    removed = prune_segments(directory, stored, timedelta(days=30), archive=tmp_path / "arch")
    assert removed == files[:2]
    assert sorted(p.name for p in (tmp_path / "arch").iterdir()) == [f.name for f in files[:2]]
    os.utime(files[2], None)  # recent: kept although stored
    assert prune_segments(directory, 10_000, timedelta(days=30)) == files[3:-1]
    assert sorted(directory.glob("seg-*.log")) == [files[2], files[-1]]  # the newest stays


def test_restart_reads_from_the_checkpoint_segment_only(tmp_path: Path) -> None:
    directory = tmp_path / "raw"
    _log(directory, 60, segment_bytes=2_000)
    store = new_store(tmp_path / "c.duckdb", (("DEV1", "S_AIR"),))
    assert replay(store, directory).records == 60
    raw_log = RawLog.open(directory, 2_000)
    raw_log.write(encode_record(61, NOW, "p:1", _frame(61)), 61, 61)
    raw_log.close()
    files = sorted(directory.glob("seg-*.log"))
    _OPENED.clear()
    _OPENS_ON[0] = True
    try:
        again = replay(store, directory)
    finally:
        _OPENS_ON[0] = False
    assert again.records == 1
    opened = {Path(p).name for p in _OPENED if "seg-" in p}
    assert opened <= {files[0].name, files[-1].name}  # the first one's header names the log
    assert files[-1].name in opened and len(files) > 4
    store.close()


def test_dedup_keys_are_pruned_on_schedule(store, tmp_path: Path) -> None:
    config = GatewayConfig(
        port=0, raw_log=tmp_path / "raw", write_delay=0.01, dedup_window=timedelta(0),
        maintain_every=0.05,
    )  # fmt: skip
    server = Running(store, config)
    try:
        client = Client(server.port)
        client.send(_frame(1))
        client.replies(1)
        server.flush()
        deadline = time.monotonic() + PATIENCE  # a safety net, not a speed test
        count = "SELECT count(*) AS n FROM gateway_messages"
        while query(store, count)["n"][0] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert query(store, count)["n"][0] == 0
        assert query(store, "SELECT count(*) AS n FROM observations")["n"][0] == 1
    finally:
        server.stop()


def test_a_format_1_log_is_read_and_continued_in_a_format_2_segment(tmp_path: Path) -> None:
    import struct
    import zlib

    directory = tmp_path / "raw"
    directory.mkdir()
    body = struct.pack("<QqH", 1, 0, 3) + b"p:1" + _frame(1)
    v1 = b"ECOBASIN-RAWLOG 1 " + b"a" * 32 + b"\n" + struct.pack("<II", len(body), zlib.crc32(body))
    (directory / "seg-0000000000000001.log").write_bytes(v1 + body)
    raw_log = RawLog.open(directory)
    assert raw_log.last_seq == 1
    raw_log.write(encode_record(2, NOW, "p:1", _frame(2)), 2, 2)
    raw_log.close()
    assert [(r.seq, r.frame) for r in read_records(directory)] == [(1, _frame(1)), (2, _frame(2))]
    assert len(list(directory.glob("seg-*.log"))) == 2
