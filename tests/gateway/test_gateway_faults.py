"""Issue 12, defect 1: a poison frame never wedges the gateway; stop ends it in every state.

Real sockets, a real DuckDB file, the real ``ecobasin gateway`` process for the signals.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

from gateway_helpers import Client, Running, new_store, query, rejected, upload

from ecobasin.gateway import GatewayConfig, RawLog, replay
from ecobasin.gateway.rawlog import RawRecord, encode_record
from ecobasin.gateway.writer import StoreWriter
from ecobasin.ingest.hj212 import encode_message, inspect_packet
from ecobasin.store import Store

LAUNCH = "import sys; from ecobasin.cli import main; sys.argv[0] = 'ecobasin'; main()"
#: Issue 12: SIGTERM and Ctrl+C end the gateway within this many seconds in every state.
STOP_WITHIN = 10.0
POISON_EPOCH = upload(qn="20240101100000901", data_time="00010101000000")
POISON_LAST_HOUR = upload(qn="20240101100000902", data_time="99991231230000", cn="2061",
                          cp={"a21026-Avg": "3.5", "a21026-Flag": "N"})  # fmt: skip


def _good(n: int) -> bytes:
    return upload(qn=f"2024010110{n:07d}", data_time=f"202401011{n % 10}{n // 10 % 6}000")


def test_implausible_datatime_gets_no_ack_and_is_kept_aside(running: Running, store) -> None:
    client = Client(running.port)
    client.send(POISON_EPOCH)
    client.send(POISON_LAST_HOUR)
    client.send(_good(1))
    # silence for the two refused frames: the only reply is the good frame's 9014
    assert client.replies(1) == [inspect_packet(_good(1)).response]
    running.flush()
    kept = rejected(store)
    refused = kept[kept["reason_code"] == "implausible_datatime"]
    assert len(refused) == 2
    assert refused["reason"].str.contains("00010101000000").any()
    assert running.gateway.stats.stored == 1  # the writer went on
    assert running.gateway.stats.acked == 1
    # the refused frames are in the raw log, marked refused
    records = list(_records(running.gateway.config.raw_log))
    assert sorted(r.refused for r in records) == [
        "",
        "implausible_datatime",
        "implausible_datatime",
    ]


def _records(raw: Path):
    from ecobasin.gateway import read_records

    return read_records(raw)


def _poison_log(directory: Path) -> list[bytes]:
    """A raw log written before the front checked DataTime: two poison records among good ones."""
    raw_log = RawLog.open(directory)
    now = datetime(2024, 1, 1, 2, tzinfo=UTC)
    frames = [_good(1), POISON_EPOCH, _good(2), POISON_LAST_HOUR, _good(3)]
    data = b"".join(encode_record(i + 1, now, "p:1", f) for i, f in enumerate(frames))
    raw_log.write(data, 1, len(frames))
    raw_log.close()
    return frames


def test_replay_of_a_log_with_poison_records_is_complete(tmp_path: Path) -> None:
    _poison_log(tmp_path / "raw")
    store = new_store(tmp_path / "r.duckdb", (("DEV1", "S_AIR"),))
    report = replay(store, tmp_path / "raw")
    assert report.messages == 3
    assert report.rejected["implausible_datatime"] == 2
    assert query(store, "SELECT count(*) AS n FROM observations")["n"][0] == 3
    assert replay(store, tmp_path / "raw").records == 0  # the checkpoint passed them
    store.close()


def test_recovery_at_start_passes_poison_records(tmp_path: Path) -> None:
    _poison_log(tmp_path / "raw")
    store = new_store(tmp_path / "s.duckdb", (("DEV1", "S_AIR"),))
    server = Running(store, GatewayConfig(port=0, raw_log=tmp_path / "raw", write_delay=0.05))
    try:
        assert server.gateway.stats.recovered == 5
        client = Client(server.port)
        client.send(_good(4))
        assert client.replies(1) == [inspect_packet(_good(4)).response]
        server.flush()
        assert query(store, "SELECT count(*) AS n FROM observations")["n"][0] == 4
    finally:
        server.stop()
    store.close()


def test_an_exception_decoding_one_message_rejects_that_message_only(tmp_path: Path) -> None:
    """Without the DataTime window the year-1 instant overflows in the decoder: that message
    goes to ``rejected`` with the exception's text, the others of the batch are stored."""
    _poison_log(tmp_path / "raw")
    store = new_store(tmp_path / "w.duckdb", (("DEV1", "S_AIR"),))
    from ecobasin.gateway import log_id_of, read_records

    writer = StoreWriter(store, log_id_of(tmp_path / "raw"), datatime_window=None)
    report = writer.write(list(read_records(tmp_path / "raw")))
    assert report.messages == 3
    assert report.rejected["decode_error"] >= 1
    kept = rejected(store)
    assert kept[kept["reason_code"] == "decode_error"]["reason"].str.contains("Overflow").any()
    assert query(store, "SELECT count(*) AS n FROM observations")["n"][0] == 3
    store.close()


def test_stop_returns_while_the_writer_is_stuck(tmp_path: Path) -> None:
    """A writer stuck in a store call or a hook does not hold the stop: the records stay in the
    raw log and the next start writes them."""
    store = new_store(tmp_path / "stuck.duckdb", (("DEV1", "S_AIR"),))
    release = threading.Event()

    def stuck_hook(*_: object) -> None:
        release.wait()

    config = GatewayConfig(port=0, raw_log=tmp_path / "raw", write_delay=0.01, stop_patience=2.0)
    server = Running(store, config, after_write=stuck_hook)
    client = Client(server.port)
    for n in range(1, 4):
        client.send(_good(n))
        client.replies(1)  # acked: durable in the raw log, the writer is stuck after the first
    server.call(server.gateway.stop())  # within PATIENCE: returns although the writer is stuck
    release.set()
    server.loop.call_soon_threadsafe(server.loop.stop)
    server.thread.join()
    server.loop.close()
    store.close()

    store = Store(tmp_path / "stuck.duckdb")
    again = Running(store, GatewayConfig(port=0, raw_log=tmp_path / "raw", write_delay=0.01))
    again.flush()
    assert query(store, "SELECT count(*) AS n FROM observations")["n"][0] == 3
    again.stop()
    store.close()


def _start_cli(args: list[str]) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, *args], stderr=subprocess.PIPE, text=True
    )
    assert process.stderr is not None
    for line in process.stderr:
        if "listening on" in line:
            return process, int(line.split("listening on")[1].split(";")[0].split(":")[-1])
    raise AssertionError(f"gateway did not start (exit {process.wait()})")


def test_sigterm_after_a_poison_frame_ends_the_gateway_without_traceback(tmp_path: Path) -> None:
    db = tmp_path / "term.duckdb"
    store = new_store(db, (("DEV1", "S_AIR"),))
    store.close()
    for signum in (signal.SIGTERM, signal.SIGINT):
        process, port = _start_cli(["gateway", "--db", str(db), "--port", "0",
                                    "--status-every", "3600"])  # fmt: skip
        client = Client(port)
        client.send(POISON_EPOCH)
        client.send(_good(signum))
        client.replies(1)
        client.close()
        process.send_signal(signum)
        try:
            code = process.wait(STOP_WITHIN)
        finally:
            process.kill()
        assert process.stderr is not None
        err = process.stderr.read()
        process.stderr.close()
        assert code == 0, err
        assert "Traceback" not in err
        assert "stopped" in err
    store = Store(db)
    assert query(store, "SELECT count(*) AS n FROM observations")["n"][0] == 2
    assert (rejected(store)["reason_code"] == "implausible_datatime").sum() == 2
    store.close()


def test_writer_settings_window_is_configurable(tmp_path: Path) -> None:
    """``ECOBASIN_GATEWAY_DATATIME_EARLIEST`` moves the window's start (settings)."""
    from ecobasin.settings import load_settings

    assert load_settings().gateway_datatime_earliest == datetime(2000, 1, 1)
    assert load_settings().gateway_datatime_ahead_s == 86_400
    del tmp_path


def test_sigterm_and_ctrl_c_end_serve_with_its_gateway_without_traceback(tmp_path: Path) -> None:
    import socket
    import time

    db = tmp_path / "serve.duckdb"
    store = new_store(db, (("DEV1", "S_AIR"),))
    store.close()
    for n, signum in enumerate((signal.SIGTERM, signal.SIGINT)):
        ports = []
        for _ in range(2):
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                ports.append(probe.getsockname()[1])
        process = subprocess.Popen(
            [sys.executable, "-c", LAUNCH, "serve", "--db", str(db), "--port", str(ports[0]),
             "--gateway", "--gateway-port", str(ports[1])],
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 120  # a safety net for the start, not a speed test
            while True:
                try:
                    socket.create_connection(("127.0.0.1", ports[1]), timeout=1).close()
                    break
                except OSError:
                    assert time.monotonic() < deadline and process.poll() is None
                    time.sleep(0.2)
            client = Client(ports[1])
            client.send(POISON_EPOCH)
            client.send(_good(7 + n))
            assert client.replies(1) == [inspect_packet(_good(7 + n)).response]
            process.send_signal(signum)
            code = process.wait(STOP_WITHIN)
        finally:
            process.kill()
            assert process.stderr is not None
            err = process.stderr.read()
            process.stderr.close()
        assert "Traceback" not in err, err
        assert code in (0, -signum), err  # uvicorn re-raises the signal once it has stopped


#: A rule the store enforces that one real upload breaks: the dedup key's DataTime must be a
#: 14-digit time (a site may add such a CHECK). A 2011 without DataTime (HJ/T 212-2005 loggers
#: omit it) is keyed by its QN instead, so its gateway_messages row fails the check — at the
#: store stage, after decoding went well.
_STRICT_MESSAGES = """
    CREATE OR REPLACE TABLE gateway_messages (
        mn VARCHAR NOT NULL, cn VARCHAR NOT NULL,
        data_time VARCHAR NOT NULL CHECK (regexp_full_match(data_time, '[0-9]{14}')),
        pno INTEGER NOT NULL, log_id VARCHAR NOT NULL, first_seq BIGINT NOT NULL,
        received_at TIMESTAMPTZ NOT NULL, duplicates INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (mn, cn, data_time, pno))
"""
NO_DATATIME = encode_message(
    {"QN": "20240101100000777", "ST": "22", "CN": "2011", "PW": "123456", "MN": "DEV1",
     "Flag": "5"},
    {"a21026-Rtd": "9.5"},
)  # fmt: skip


def test_a_store_failure_of_one_message_splits_the_batch_and_quarantines_it(
    tmp_path: Path, caplog
) -> None:
    store = new_store(tmp_path / "s.duckdb", (("DEV1", "S_AIR"),))
    store.con.execute(_STRICT_MESSAGES)
    now = datetime(2024, 1, 1, 2, tzinfo=UTC)
    frames = [_good(1), _good(2), NO_DATATIME, _good(3), _good(4), _good(5)]
    records = [RawRecord(i + 1, now, "p:1", frame) for i, frame in enumerate(frames)]
    writer = StoreWriter(store, "split-test")
    report = writer.write(records)
    assert report.messages == 5 and report.rejected["store_error"] == 1
    assert report.last_seq == 6 and writer.checkpoint == 6
    assert "splitting" in caplog.text  # the batch was split, not retried as a whole ...
    assert "retrying" not in caplog.text  # ... and a constraint is not taken for a hiccup
    kept = rejected(store)
    (poison,) = kept[kept["reason_code"] == "store_error"].itertuples()
    assert poison.record_ref.startswith("raw 3 ") and "Constraint" in poison.reason
    assert poison.raw == NO_DATATIME.decode().rstrip("\r\n")
    stored = query(store, "SELECT data_time FROM gateway_messages ORDER BY data_time")
    assert len(stored) == 5 and "QN:20240101100000777" not in set(stored["data_time"])
    store.close()


def test_the_live_gateway_quarantines_a_store_failure_and_stores_the_rest(
    tmp_path: Path, config: GatewayConfig
) -> None:
    store = new_store(tmp_path / "live.duckdb", (("DEV1", "S_AIR"),))
    store.con.execute(_STRICT_MESSAGES)
    running = Running(store, config)
    try:
        client = Client(running.port)
        frames = [_good(1), NO_DATATIME, _good(2), _good(3)]
        for frame in frames:
            client.send(frame)
        assert len(client.replies(len(frames))) == len(frames)  # all acked: durable in the log
        running.flush()
        stats = running.gateway.stats
        assert stats.stored == 3 and stats.reasons.get("store_error") == 1
        assert stats.write_errors == 1
    finally:
        running.stop()
    kept = rejected(store)
    assert (kept["reason_code"] == "store_error").sum() == 1
    assert len(query(store, "SELECT * FROM gateway_messages")) == 3
    store.close()
