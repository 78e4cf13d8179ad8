"""The gateway over real sockets: acks after the raw log, storage, dedup, sub-packets, devices,
malformed frames (HJ 212-2017 §6.3.1 framing, Appendix A CRC, §6.5 replies)."""

from __future__ import annotations

import pandas as pd
import pytest
from gateway_helpers import Client, Running, add_device, query, rejected, upload

from ecobasin.gateway import read_records
from ecobasin.ingest.hj212 import (
    encode_frame,
    encode_message,
    inspect_packet,
    read_segment,
    reply_for,
)


def ack_for(frame: bytes) -> bytes:
    reply = inspect_packet(frame).response
    assert reply is not None
    return reply


def test_upload_is_logged_acked_and_stored(running: Running, store) -> None:
    frame = upload(cp={"a21026-Rtd": "12.5", "a21026-Flag": "N", "a34004-Rtd": "35"})
    client = Client(running.port)
    client.send(frame)
    # §6.5 表C.14: 9014 echoing QN, PW, MN with ST=91, Flag=4; 21+6+8+10+8+7+7 = 67 bytes
    assert client.replies(1) == [
        b"##0067QN=20240101100000001;ST=91;CN=9014;PW=123456;MN=DEV1;Flag=4;CP=&&&&"
        + ack_for(frame)[-6:]
    ]
    running.flush()
    # the record is in the raw log, byte for byte
    records = list(read_records(running.gateway.config.raw_log))
    assert [r.frame for r in records] == [frame]
    rows = query(
        store,
        "SELECT site_id, parameter, period, time, value, coalesce(flag, '-') AS flag "
        "FROM observations ORDER BY parameter",
    )
    # 2011 DataTime 2024-01-01 10:00:00 CST = 02:00Z, an instant
    assert rows.to_dict("records") == [
        {"site_id": "S_AIR", "parameter": "PM2.5", "period": "instant",
         "time": pd.Timestamp("2024-01-01T02:00", tz="UTC"), "value": 35.0, "flag": "-"},
        {"site_id": "S_AIR", "parameter": "SO2", "period": "instant",
         "time": pd.Timestamp("2024-01-01T02:00", tz="UTC"), "value": 12.5, "flag": "N"},
    ]  # fmt: skip
    stats = running.gateway.stats
    assert (stats.frames, stats.acked, stats.stored, stats.duplicates) == (1, 1, 1, 0)


def test_no_ack_flag_no_reply_but_stored(running: Running, store) -> None:
    client = Client(running.port)
    client.send(upload(flag="4", qn="20240101100000002"))  # Flag=4: no ack asked
    client.send(upload(data_time="20240101100100", qn="20240101100000003"))
    (reply,) = client.replies(1)
    assert b"QN=20240101100000003" in reply  # the first got no reply
    running.flush()
    assert query(store, "SELECT count(*) AS n FROM observations")["n"][0] == 2


def test_same_message_three_times_acked_three_times_stored_once(running: Running, store) -> None:
    frame = upload()
    client = Client(running.port)
    for _ in range(3):
        client.send(frame)
        assert client.replies(1) == [ack_for(frame)]
    running.flush()
    assert query(store, "SELECT count(*) AS n FROM observations")["n"][0] == 1
    dedup = query(store, "SELECT mn, cn, data_time, pno, duplicates FROM gateway_messages")
    assert dedup.to_dict("records") == [
        {"mn": "DEV1", "cn": "2011", "data_time": "20240101100000", "pno": 0, "duplicates": 2}
    ]
    assert running.gateway.stats.duplicates == 2
    assert len(list(read_records(running.gateway.config.raw_log))) == 3  # all received, logged


def test_subpackets_reassembled(running: Running, store) -> None:
    head = {"QN": "20240101110000001", "ST": "31", "CN": "2061", "PW": "123456", "MN": "STACK1"}
    part1 = encode_message(
        {**head, "Flag": "7", "PNUM": "2", "PNO": "1"},
        {"DataTime": "20240101100000", "a21026-Avg": "40.5", "a21026-Flag": "N"},
    )
    part2 = encode_message(
        {**head, "Flag": "7", "PNUM": "2", "PNO": "2"},
        {"DataTime": "20240101100000", "a21002-Avg": "80.1", "a21002-Flag": "N"},
    )
    client = Client(running.port)
    client.send(part1)
    assert client.replies(1) == [ack_for(part1)]
    running.flush()
    assert query(store, "SELECT count(*) AS n FROM observations")["n"][0] == 0  # waiting
    assert query(store, "SELECT count(*) AS n FROM gateway_subpackets")["n"][0] == 1
    client.send(part1)  # a retry of part 1 is a duplicate, acked again
    client.send(part2)
    assert client.replies(2) == [ack_for(part1), ack_for(part2)]
    running.flush()
    rows = query(
        store, "SELECT parameter, period, time, value FROM observations ORDER BY parameter"
    )
    # 2061 DataTime 10:00 CST starts the hour 10:00-11:00 CST, stored at its end 03:00Z
    assert rows.to_dict("records") == [
        {"parameter": "FG_NOx", "period": "1h", "time": pd.Timestamp("2024-01-01T03:00", tz="UTC"), "value": 80.1},
        {"parameter": "FG_SO2", "period": "1h", "time": pd.Timestamp("2024-01-01T03:00", tz="UTC"), "value": 40.5},
    ]  # fmt: skip
    assert query(store, "SELECT count(*) AS n FROM gateway_subpackets")["n"][0] == 0
    assert running.gateway.stats.duplicates == 1


def test_incomplete_subpacket_set_expires_with_reason(store, tmp_path) -> None:
    from datetime import UTC, datetime, timedelta

    from ecobasin.gateway import RawRecord, StoreWriter

    part = encode_message(
        {"QN": "20240101110000009", "ST": "31", "CN": "2061", "PW": "123456", "MN": "STACK1",
         "Flag": "7", "PNUM": "3", "PNO": "1"},
        {"DataTime": "20240101100000", "a21026-Avg": "40.5"},
    )  # fmt: skip
    writer = StoreWriter(store, "log-x", partial_max_age=timedelta(minutes=10))
    t0 = datetime(2024, 1, 1, 3, tzinfo=UTC)
    writer.write([RawRecord(1, t0, "peer:1", part)], now=t0)
    assert len(rejected(store)) == 0
    writer.write([], now=t0 + timedelta(minutes=11))
    reasons = rejected(store)
    assert reasons["reason_code"].tolist() == ["subpacket_incomplete"]
    assert "PNO 1 of PNUM=3" in reasons["reason"][0]
    assert query(store, "SELECT count(*) AS n FROM gateway_subpackets")["n"][0] == 0


@pytest.mark.parametrize(
    ("mn", "pw", "enabled", "code"),
    [
        ("NOBODY", "123456", True, "unknown_device"),
        ("DEV1", "654321", True, "wrong_password"),
        ("OFF1", "123456", False, "device_disabled"),
    ],
)
def test_device_refused_logged_never_stored(running: Running, store, mn, pw, enabled, code) -> None:
    add_device(store, "OFF1", enabled=False)
    running.reload()
    client = Client(running.port)
    client.send(upload(mn=mn, pw=pw, qn="20240101100000005"))
    good = upload(qn="20240101100000006")
    client.send(good)
    assert client.replies(1) == [ack_for(good)]  # refused: silence; the good one acked
    running.flush()
    bad = rejected(store)
    assert bad["reason_code"].tolist() == [code]
    assert f"MN={mn}" in bad["record_ref"][0] and "127.0.0.1:" in bad["record_ref"][0]
    assert query(store, "SELECT count(*) AS n FROM observations")["n"][0] == 1
    assert len(list(read_records(running.gateway.config.raw_log))) == 1
    assert running.gateway.stats.refused == 1


GOOD = upload(qn="20240101100000099", data_time="20240101120000")


def _bad_crc() -> bytes:
    frame = bytearray(upload())
    frame[-6:-2] = b"0000" if frame[-6:-2] != b"0000" else b"1111"
    return bytes(frame)


MALFORMED = {
    "crc_mismatch": _bad_crc(),
    "bad_crc_field": upload()[:-6] + b"ZZZZ\r\n",
    "bad_terminator": upload()[:-2] + b"\n",  # LF only: found when the next frame arrives
    "wrong_length": b"##0050" + upload()[6:],
    "oversized": b"##9999" + upload()[6:],
    "garbage": b"\x00\xffGARBAGE!!",
    "not_a_number": upload(cp={"a21026-Rtd": "3O.5"}),
    "unknown_code": upload(cp={"z99999-Rtd": "1.0"}),
    "missing_field": encode_frame("QN=20240101100000001;CN=2011;PW=123456;MN=DEV1;Flag=5;CP=&&&&"),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_frame_rejected_connection_keeps_working(running: Running, store, name) -> None:
    bad = MALFORMED[name]
    client = Client(running.port)
    client.send(bad)
    client.send(GOOD)
    expected = [ack_for(GOOD)]
    verdict = inspect_packet(bad)
    if verdict.response is not None:  # a bad value is still acked (the frame is fine)
        expected.insert(0, verdict.response)
    assert client.replies(len(expected)) == expected
    running.flush()
    reasons = rejected(store)
    assert len(reasons) >= 1, name
    assert all(reasons["reason"].str.len() > 0)
    codes = set(reasons["reason_code"])
    want = {
        "crc_mismatch": {"crc_mismatch"},
        "bad_crc_field": {"bad_crc_field"},
        "bad_terminator": {"bad_terminator"},
        "wrong_length": {"bad_terminator"},
        "oversized": {"oversized_frame"},
        "garbage": {"garbage_skipped"},
        "not_a_number": {"invalid_value"},
        "unknown_code": {"unknown_code"},
        "missing_field": {"missing_field"},
    }[name]
    assert want <= codes, (name, reasons[["reason_code", "reason"]].to_dict("records"))
    # the value 3O.5 is never stored as a number; the good frame is
    assert query(store, "SELECT count(*) AS n FROM observations")["n"][0] == 1
    # a second connection is served too
    other = Client(running.port)
    again = upload(qn="20240101100000098", data_time="20240101130000")
    other.send(again)
    assert other.replies(1) == [ack_for(again)]


def test_truncated_frame_at_close_is_rejected(running: Running, store) -> None:
    client = Client(running.port)
    client.send(upload()[:40])
    client.close()
    probe = Client(running.port)
    probe.send(GOOD)
    probe.replies(1)
    for _ in range(100):
        running.flush()
        if "truncated_frame" in set(rejected(store)["reason_code"]):
            break
    assert "truncated_frame" in set(rejected(store)["reason_code"])


def test_modbus_crc_device_accepted_only_when_configured(running: Running, store) -> None:
    from ecobasin.ingest.hj212 import CrcMode, build_segment

    add_device(store, "MODBUS1", crc_mode="modbus")
    running.reload()
    head = {"QN": "20240101100000011", "ST": "22", "CN": "2011", "PW": "123456", "Flag": "5"}
    cp = {"DataTime": "20240101100000", "a21026-Rtd": "1"}
    modbus_frame = encode_frame(build_segment({**head, "MN": "MODBUS1"}, cp), CrcMode.MODBUS)
    hj_device_modbus = encode_frame(build_segment({**head, "MN": "DEV1"}, cp), CrcMode.MODBUS)
    client = Client(running.port)
    client.send(hj_device_modbus)  # DEV1 is hj212: rejected, silence
    client.send(modbus_frame)
    reply = client.replies(1)[0]
    assert b"MN=MODBUS1" in reply and reply == reply_for(read_segment(modbus_frame[6:-6]))
    running.flush()  # the front process's counters come with the flush
    assert running.gateway.stats.nonstandard_crc == 1
