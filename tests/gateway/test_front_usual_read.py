"""The front's one-frame read (issue 12, tenth pass): a read that is one usual frame is
handled without the general path's items and join, and ends exactly as the general path
ends it — the same raw-log records, accepted frames and replies for the group commit, the
same counters, rejects and budgets (HJ 212-2017 §6.3.1, §6.5)."""

from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import asdict
from datetime import datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ecobasin.gateway.commit import Group, GroupCommit
from ecobasin.gateway.datatime import CST
from ecobasin.gateway.front import _Front, _Session, send_message
from ecobasin.gateway.rawlog import decode_records
from ecobasin.ingest.hj212.crc import CrcMode, crc_hex

PEER = "127.0.0.1:40001"
DEVICES = {
    "DEV1": ("123456", True, "hj212"),
    "OFF1": ("123456", False, "hj212"),
    "MOD1": ("123456", True, "modbus"),
}


class _Transport:
    """asyncio's transport as far as a session uses it; records the aborts."""

    def __init__(self) -> None:
        self.aborted = 0

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...

    def is_closing(self) -> bool:
        return False

    def write(self, data: bytes) -> None: ...

    def abort(self) -> None:
        self.aborted += 1


class _NeverRun:
    """The group commit is not run here: only the open group is compared."""

    def __init__(self) -> None:
        self.persisted = 0

    async def persist(self, group: Group) -> None:
        raise AssertionError("not run in this test")


def _setup() -> dict[str, Any]:
    return {
        "idle_timeout": 30.0, "max_connections": 10, "max_queued": 10**6, "max_lag": 5.0,
        "lenient": False, "datatime_earliest": "2000-01-01T00:00:00",
        "datatime_ahead": 600.0, "max_frame_errors": 4, "max_unframed_bytes": 4096,
        "reject_samples": 10**6, "reject_window": 60.0, "devices": DEVICES, "written_seq": 0,
    }  # fmt: skip


def _frame(segment: bytes, crc: str | None = None) -> bytes:
    crc = crc_hex(segment) if crc is None else crc
    return b"##%04d" % len(segment) + segment + crc.encode("ascii") + b"\r\n"


def _segment(qn: int, mn: bytes, pw: bytes = b"123456", when: bytes | None = None) -> bytes:
    recent = (datetime.now(CST) - timedelta(minutes=10)).strftime("%Y%m%d%H%M%S").encode()
    data_time = recent if when is None else when
    head = b"QN=%017d;ST=22;CN=2011;PW=%s;MN=%s;Flag=5;" % (qn, pw, mn)
    return head + b"CP=&&DataTime=%s;a01001-Rtd=1.5,a01001-Flag=N&&" % data_time


def _pieces(qn: int) -> list[bytes]:
    """Every kind of read: the usual frame, refused and odd ones, garbage, parts."""
    usual = _frame(_segment(qn, b"DEV1"))
    modbus = _segment(qn, b"MOD1")
    return [
        usual,
        usual,  # a resend: the same QN again
        _frame(_segment(qn, b"DEV1")).replace(b"CN=2011", b"CN=2051"),  # CRC now wrong
        _frame(_segment(qn, b"NOPE")),  # unknown device
        _frame(_segment(qn, b"OFF1")),  # disabled
        _frame(_segment(qn, b"DEV1", pw=b"999999")),  # wrong password
        _frame(_segment(qn, b"DEV1", when=b"20990101000000")),  # implausible DataTime
        _frame(_segment(qn, b"DEV1", when=b"x")),  # not a time: accepted, the writer rejects
        _frame(_segment(qn, b"DEV1"), crc_hex(_segment(qn, b"DEV1")).lower()),
        _frame(modbus, crc_hex(modbus, CrcMode.MODBUS)),  # the device's Modbus CRC
        _frame(_segment(qn, b"DEV1")[3:]),  # no QN (HJ/T 212-2005)
        _frame(b"QN=1;ST=22;CN=2011;PW=123456;MN=DEV1;Flag=5;CP=&&&&"),  # QN too short
        usual + usual,  # two frames in one read
        usual[:30],
        usual[30:],
        b"garbage",
        b"##9999",
    ]


def _run(reads: list[bytes], general_only: bool) -> dict[str, Any]:
    """Feed ``reads`` to one session of a front; ``general_only``: every read through the
    general path (the session's read handler before this pass)."""
    left, right = socket.socketpair()
    listener = socket.socket()
    control = Connection(left.detach())
    try:
        front = _Front(_setup(), listener, control)
        commit = GroupCommit(_NeverRun(), 0, lambda _: None, lambda _: None, lambda _: None)
        front.commit = commit
        session = _Session(front, PEER)
        transport = _Transport()
        session.connection_made(transport)  # type: ignore[arg-type]
        handle = session._frames_of if general_only else session.data_received
        for read in reads:
            handle(read)
        session.connection_lost(None)
    finally:
        control.close()
        right.close()
        listener.close()
    group = commit.group
    rejects = []
    while not front.outbound.empty():
        message = front.outbound.get()
        assert message is not None and message[0] == "rejects"
        rejects += [(code, reason, raw) for _, code, reason, raw in message[1]]
    return {
        "records": [
            (r.seq, r.peer, r.frame, r.refused) for r in decode_records(bytes(group.records))
        ],
        "accepted": [(peer, frame) for peer, frame, _ in group.accepted],
        "acks": [(replies, count) for _, replies, count in group.acks],
        "stats": asdict(front.stats),
        "session": (session.frames, session.problems, session.errors, session.unframed),
        "aborted": transport.aborted,
        "rejects": rejects,
    }


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 16), st.integers(0, 10**6)), max_size=14))
def test_the_one_frame_read_ends_as_the_general_path(picks: list[tuple[int, int]]) -> None:
    reads = [_pieces(qn)[kind] for kind, qn in picks]

    async def both() -> tuple[dict[str, Any], dict[str, Any]]:
        return _run(reads, general_only=False), _run(reads, general_only=True)

    usual, general = asyncio.run(both())
    assert usual == general


def test_the_usual_frame_is_logged_and_answered_once_per_read() -> None:
    """The fast path's result itself: after the first frame of a head (decided in full),
    each usual read is one record and one 9014 echoing its QN (§6.5, 表C.14)."""
    reads = [_frame(_segment(qn, b"DEV1")) for qn in range(1, 6)]

    async def run() -> dict[str, Any]:
        return _run(reads, general_only=False)

    seen = asyncio.run(run())
    assert [seq for seq, *_ in seen["records"]] == [1, 2, 3, 4, 5]
    assert [count for _, count in seen["acks"]] == [1] * 5
    for qn, (reply, _) in enumerate(seen["acks"], start=1):
        assert b"QN=%017d;" % qn in reply and b"CN=9014" in reply
        assert reply[-6:-2] == crc_hex(reply[6:-6]).encode()
    assert seen["stats"]["frames"] == seen["stats"]["logged"] == 5


@settings(max_examples=15, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("records"), st.binary(max_size=40_000), st.none()),
            st.tuples(st.just("echo"), st.integers(), st.dictionaries(st.text(), st.integers())),
        ),
        max_size=6,
    )
)
def test_a_message_sent_in_one_writev_is_what_connection_send_sends(
    messages: list[tuple[Any, ...]],
) -> None:
    """The sender's messages read back by the parent's ``Connection.recv`` as sent, in order
    — small, over 16 kB and of 1 MB (more than the socket holds: partial writes)."""
    messages = [*messages, ("records", bytes(range(256)) * 4096, {"acked": 1})]
    ours, theirs = (Connection(s.detach()) for s in socket.socketpair())
    received: list[Any] = []
    reader = threading.Thread(target=lambda: received.extend(theirs.recv() for _ in messages))
    reader.start()
    try:
        for message in messages:
            send_message(ours, message)
        reader.join()
    finally:
        ours.close()
        theirs.close()
    assert received == messages
