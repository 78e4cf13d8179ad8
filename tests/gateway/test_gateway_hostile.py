"""Peer samples over a real socket, hostile clients, replay, and the raw log under damage."""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path

import pytest
from gateway_helpers import Client, Running, add_device, new_store, query, rejected, upload
from hypothesis import given, settings
from hypothesis import strategies as st

from ecobasin.gateway import GatewayConfig, RawLog, read_records, replay
from ecobasin.gateway.rawlog import encode_record
from ecobasin.ingest.hj212 import inspect_packet

GOOD = upload(qn="20240101100000099", data_time="20240101120000")


@pytest.mark.shared_data
def test_every_peer_sample_gets_its_reply_and_rejects_are_kept(
    running: Running, store, shared_testdata: Path
) -> None:
    lines = (shared_testdata / "hj212" / "peer_samples.jsonl").read_text("utf-8").splitlines()
    assert len(lines) == 22
    for number, line in enumerate(lines):
        sample = json.loads(line)
        packet = sample["packet"].encode("utf-8")
        expect = sample["expect"]
        site = "S_WATER" if expect.get("ST") in ("21", "32") else "S_AIR"
        add_device(store, expect["MN"], expect["PW"], site)
        running.reload()
        before = len(rejected(store))
        duplicates = running.gateway.stats.duplicates
        client = Client(running.port)
        client.send(packet)
        good = upload(qn=f"2024010110{number:07d}", data_time=f"202402{number + 1:02d}120000")
        client.send(good)
        verdict = inspect_packet(packet)
        expected = [r for r in (verdict.response, inspect_packet(good).response) if r]
        assert client.replies(len(expected)) == expected, sample["source"]
        running.flush()
        new = rejected(store).iloc[before:]
        if not verdict.valid:  # kept aside with its reason (or an earlier copy was)
            repeated = running.gateway.stats.duplicates > duplicates
            assert len(new) >= 1 or repeated, (number, verdict.reason)
            assert (new["reason"].str.len() > 0).all()
        client.close()


def test_oversized_length_then_slow_bytes_is_closed(store, tmp_path) -> None:
    server = Running(
        store, GatewayConfig(port=0, raw_log=tmp_path / "raw", idle_timeout=0.5, write_delay=0.05)
    )
    try:
        slow = Client(server.port)
        slow.send(b"##9999##0900")  # oversized, then the start of a frame never finished
        closed = False
        for _ in range(600):  # one byte at a time, never a frame (a few errors: no budget hit)
            try:
                slow.send(b"A")
            except OSError:
                closed = True
                break
            time.sleep(0.01)
        closed = closed or slow.closed_by_server()
        assert closed
        good = Client(server.port)
        good.send(GOOD)
        assert good.replies(1) == [inspect_packet(GOOD).response]
        server.flush()
        codes = set(rejected(store)["reason_code"])
        assert {"oversized_frame", "idle_timeout"} <= codes
        assert server.gateway.stats.idle_closed >= 1  # counted by the flush above
    finally:
        server.stop()


def test_idle_connection_closed_after_timeout(store, tmp_path) -> None:
    server = Running(
        store, GatewayConfig(port=0, raw_log=tmp_path / "raw", idle_timeout=0.3, write_delay=0.05)
    )
    try:
        idle = Client(server.port)
        assert idle.closed_by_server()
        server.flush()  # the front process's counters come with the flush
        assert server.gateway.stats.idle_closed == 1
    finally:
        server.stop()


def test_connections_over_the_cap_are_refused(store, tmp_path) -> None:
    server = Running(
        store, GatewayConfig(port=0, raw_log=tmp_path / "raw", max_connections=3, write_delay=0.05)
    )
    try:
        clients = []
        for i in range(3):
            client = Client(server.port)
            frame = upload(qn=f"2024010110000000{i}", data_time=f"2024010110{i:02d}00")
            client.send(frame)
            assert client.replies(1) == [inspect_packet(frame).response]
            clients.append(client)
        extra = Client(server.port)
        assert extra.closed_by_server()
        server.flush()  # the front process's counters come with the flush
        assert server.gateway.stats.refused_connections == 1
        clients[0].close()
        for _ in range(1000):  # until the server has seen the close
            if server.gateway.stats.connections < 3:
                break
            time.sleep(0.01)
        again = Client(server.port)
        again.send(GOOD)
        assert again.replies(1) == [inspect_packet(GOOD).response]
    finally:
        server.stop()


def test_garbage_flood_closed_at_its_byte_budget_and_good_client_still_acked(
    store, tmp_path
) -> None:
    config = GatewayConfig(
        port=0, raw_log=tmp_path / "raw", write_delay=0.05, max_unframed_bytes=64 * 1024
    )
    server = Running(store, config)
    try:
        flood = Client(server.port)
        chunk = os.urandom(64 * 1024).replace(b"#", b"x")
        with contextlib.suppress(OSError):  # the kernel may take it all before the close
            for _ in range(40):  # 2.5 MiB
                flood.send(chunk + b"##12")  # half headers too
        assert flood.closed_by_server()  # closed at 64 KiB without a frame
        other = Client(server.port)
        second = upload(qn="20240101100000097", data_time="20240101140000")
        other.send(second)
        assert other.replies(1) == [inspect_packet(second).response]
        server.flush()
        stats = server.gateway.stats
        assert stats.budget_closed == 1
        kept = rejected(store)
        assert "connection_budget" in set(kept["reason_code"])
        assert stats.rejected >= len(kept)
    finally:
        server.stop()


def test_store_rebuilt_from_raw_log_equals_live_store(store, config, tmp_path) -> None:
    server = Running(store, config)
    client = Client(server.port)
    frames = [
        upload(qn=f"2024010110000001{i}", data_time=f"202401011{i}0000",
               cp={"a21026-Rtd": f"{10 + i}.5", "a21026-Flag": "N", "a34004-Rtd": str(30 + i)})
        for i in range(5)
    ]  # fmt: skip
    frames += [
        frames[0],
        upload(qn="20240101100000020", data_time="20240101200000", cp={"a21026-Rtd": "3O.5"}),
    ]
    for frame in frames:
        client.send(frame)
        client.replies(1)
    server.stop()
    columns = "site_id, parameter, period, time, value, coalesce(flag, '') AS flag"
    order = "ORDER BY site_id, parameter, period, time"
    live = query(store, f"SELECT {columns} FROM observations {order}")
    assert len(live) == 10

    rebuilt = new_store(tmp_path / "rebuilt.duckdb", (("DEV1", "S_AIR"),))
    report = replay(rebuilt, config.raw_log)
    assert (report.records, report.messages, report.duplicates) == (7, 6, 1)
    assert query(rebuilt, f"SELECT {columns} FROM observations {order}").equals(live)
    assert report.rejected["invalid_value"] == 1
    again = replay(rebuilt, config.raw_log)  # idempotent: the checkpoint covers everything
    assert again.records == 0
    assert query(rebuilt, f"SELECT {columns} FROM observations {order}").equals(live)
    rebuilt.close()


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 12), st.integers(0, 4000), st.binary(max_size=40))
def test_raw_log_torn_tail_truncated_to_whole_records(n: int, cut: int, junk: bytes) -> None:
    import tempfile
    from datetime import UTC, datetime

    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        raw_log = RawLog.open(directory)
        now = datetime(2024, 1, 1, tzinfo=UTC)
        frames = [upload(qn=f"20240101100000{i:03d}") for i in range(1, n + 1)]
        data = b"".join(encode_record(i + 1, now, "p:1", f) for i, f in enumerate(frames))
        raw_log.write(data, 1, n)
        raw_log.close()
        segment = next(directory.glob("seg-*.log"))
        whole = segment.read_bytes()
        header = len(whole) - len(data)
        segment.write_bytes(whole[: header + min(cut, len(data))] + junk)
        reopened = RawLog.open(directory)
        records = list(read_records(directory))
        assert [r.frame for r in records] == frames[: len(records)]
        assert reopened.last_seq == len(records)
        reopened.write(
            encode_record(len(records) + 1, now, "p:2", GOOD), len(records) + 1, len(records) + 1
        )
        reopened.close()
        assert [r.frame for r in read_records(directory)][-1] == GOOD
