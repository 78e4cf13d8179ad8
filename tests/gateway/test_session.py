"""The pure session decision the front and ``hj212 decode`` share (gateway/session.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecobasin.gateway.broker import PasswordHash, hash_password
from ecobasin.gateway.datatime import DataTimeWindow, data_time_of
from ecobasin.gateway.session import SLOW, Decision, FastDecider, decide, password_matches
from ecobasin.ingest.hj212.codec import read_head

SEGMENT = b"QN=20240101120000001;ST=22;CN=2011;PW=123456;MN=DEV001;Flag=5;CP=&&DataTime=x&&"
NOW = datetime(2024, 1, 1, 4, tzinfo=UTC)


@dataclass(frozen=True)
class Device:
    password: str = "123456"
    enabled: bool = True


@pytest.mark.parametrize(
    ("device", "code"),
    [(None, "unknown_device"), (Device(enabled=False), "device_disabled"),
     (Device(password="bad"), "wrong_password")],
)  # fmt: skip
def test_refusals_name_the_device_and_are_silent(device: Device | None, code: str) -> None:
    decision = decide(read_head(SEGMENT), device, None, NOW, DataTimeWindow(), peer="p:1")
    assert (decision.code, decision.reply, decision.logged) == (code, None, False)
    assert "DEV001" in decision.reason and "p:1" in decision.reason


def test_accepted_frames_get_the_9014_reply_and_future_ones_silence() -> None:
    head = read_head(SEGMENT)
    accepted = decide(head, Device(), b"20240101120000", NOW, DataTimeWindow())
    assert accepted.code == "accept" and accepted.logged and b"CN=9014" in (accepted.reply or b"")
    future = decide(head, Device(), b"20990101120000", NOW, DataTimeWindow())
    assert (future.code, future.reply, future.logged) == ("implausible_datatime", None, True)
    unchecked = decide(head, None, b"20240101120000", NOW, DataTimeWindow(), check_device=False)
    assert unchecked.reply == accepted.reply


@dataclass(frozen=True)
class BucketDevice:
    """A device as the broker's bucket replicates it: the salted hash of its PW, no PW."""

    password: PasswordHash
    enabled: bool = True


LOCAL = Device(password="123456")  # the local registry holds the PW (表3)
REPLICATED = BucketDevice(PasswordHash(hash_password("123456")))


@pytest.mark.parametrize("device", [LOCAL, REPLICATED], ids=["local", "broker"])
def test_the_right_password_is_accepted_and_a_wrong_one_refused(
    device: Device | BucketDevice,
) -> None:
    right = read_head(SEGMENT)
    assert decide(right, device, b"20240101120000", NOW, DataTimeWindow()).code == "accept"
    for wrong_pw in (b"PW=123457", b"PW=12345", b"PW=1234567", b"PW=", b"PW=\xe5\xaf\x86"):
        wrong = read_head(SEGMENT.replace(b"PW=123456", wrong_pw))
        decision = decide(wrong, device, b"20240101120000", NOW, DataTimeWindow(), peer="p:1")
        assert (decision.code, decision.reply) == ("wrong_password", None), wrong_pw
    assert password_matches("123456", device.password)
    assert not password_matches("123457", device.password)
    assert not password_matches(None, device.password)  # a head without PW


def test_the_hash_is_no_string_a_comparison_could_take_for_the_password() -> None:
    stored = REPLICATED.password
    assert not isinstance(stored, str)  # no reflected != deciding by accident
    assert not password_matches(hash_password("123456"), stored)  # its own form is no PW
    assert not password_matches("123456", PasswordHash("sha256$zz$00"))  # a broken value
    assert not password_matches("123456", PasswordHash(""))  # an entry without a hash


# -- the front's fast path (FastDecider) says exactly what decide() says -----------------------
REGISTRY = {"DEV001": Device(), "DEV002": Device(password="pw-2"), "OFF1": Device(enabled=False)}
#: [µs since 1970] 2024-01-01 12:00:00.25 CST
MICROS = int(datetime(2024, 1, 1, 4, 0, 0, 250_000, tzinfo=UTC).timestamp() * 1_000_000)


def _exact(segment: bytes, micros: int, window: DataTimeWindow) -> Decision:
    head = read_head(segment)
    received = datetime.fromtimestamp(micros / 1e6, UTC)
    device = REGISTRY.get(head.mn or "")
    return decide(head, device, data_time_of(segment), received, window, peer="p:1")


ITEMS = ["ST=22", "ST=32", "ST=2x", "CN=2011", "CN=2051", "CN=1013", "CN=9014", "CN=20l1",
         "PW=123456", "PW=pw-2", "PW=bad", "PW= 123456", "MN=DEV001", "MN=DEV002", "MN=OFF1",
         "MN=NOPE", "Flag=5", "Flag=4", "Flag=1", "Flag=7", "Flag=0", "Flag=300", "PNUM=2",
         "PNO=1", "QN=20240101120000001", "Bad=1", "MN=DEV001", "", " ", "CP=&&x"]  # fmt: skip
ACCEPTED = [
    ["ST=22", "CN=2011", "PW=123456", "MN=DEV001", "Flag=5"],
    ["ST=32", "CN=2051", "PW=pw-2", "MN=DEV002", "Flag=4"],
    ["MN=DEV001", "PW=123456", "CN=1013", "ST=22", "Flag=5"],
    ["ST=22", "CN=2061", "PW=123456", "MN=DEV001"],
]
#: Heads the registry accepts, the same with one item changed, and anything.
heads = st.one_of(
    st.sampled_from(ACCEPTED),
    st.tuples(st.sampled_from(ACCEPTED), st.integers(0, 4), st.sampled_from(ITEMS)).map(
        lambda t: [*t[0][: t[1]], t[2], *t[0][t[1] + 1 :]]
    ),
    st.lists(st.sampled_from(ITEMS), max_size=8),
)
data_times = st.one_of(
    st.none(),
    st.sampled_from(
        ["20240101120000", "20240102120000", "20240102120001", "20240102115959",
         "20000101000000", "19991231235959", "00010101000000", "99991231230000",
         "20241399000000", "2024010112000", "20240101120000123", "2024010112000x", ""]
    ),
    st.text("0123456789", min_size=14, max_size=14),
)  # fmt: skip
qns = st.one_of(
    st.text("0123456789", min_size=17, max_size=17),
    st.sampled_from(["", "", "2024010112000000", "2024010112000000a", "202401011200000012"]),
)


def _segment(qn: str, head: list[str], data_time: str | None, tail: str) -> bytes:
    cp = "" if data_time is None else f"DataTime={data_time};"
    first = f"QN={qn};" if qn else ""  # no QN: as many HJ/T 212-2005 uploads
    return f"{first}{';'.join(head)};CP=&&{cp}a21026-Rtd=1.5{tail}".encode()


@given(
    head=heads,
    first=st.tuples(qns, data_times),
    second=st.tuples(qns, data_times),
    tail=st.sampled_from(["&&", "&&", "&& ", "&", "&&\u00e9", "&&;CP=&&x&&"]),
    micros=st.sampled_from([MICROS, MICROS + 999_000, MICROS - 250_000]),
    ahead=st.sampled_from([timedelta(days=1), timedelta(hours=1, microseconds=300)]),
)
@settings(max_examples=400, deadline=None)
def test_fast_decider_equals_decide(
    head: list[str], first: tuple[str, str | None], second: tuple[str, str | None], tail: str,
    micros: int, ahead: timedelta,
) -> None:  # fmt: skip
    window = DataTimeWindow(datetime(2000, 1, 1, 0, 0, 0, 500), ahead)
    fast = FastDecider(window)
    one = _segment(first[0], head, first[1], tail)
    two = _segment(second[0], head, second[1], tail)
    assert fast.reply(one, micros) is SLOW  # nothing learned yet
    fast.learn(one, _exact(one, micros, window))
    answer = fast.reply(two, micros)
    if answer is not SLOW:  # whenever the fast path answers, it answers as decide() does
        exact = _exact(two, micros, window)
        assert (exact.code, exact.reply) == ("accept", answer)


def test_fast_decider_takes_the_usual_frame_and_only_after_an_accept() -> None:
    window = DataTimeWindow()
    fast = FastDecider(window)
    usual = [_segment(f"2024010112000{n:04d}", ["ST=22", "CN=2011", "PW=123456", "MN=DEV001",
                      "Flag=5"], f"202401011{n % 10}0000", "&&") for n in range(20)]  # fmt: skip
    fast.learn(usual[0], _exact(usual[0], MICROS, window))
    for segment in usual[1:]:  # the fast path answers every one, exactly as decide()
        assert fast.reply(segment, MICROS) == _exact(segment, MICROS, window).reply is not None
    wrong = usual[1].replace(b"PW=123456", b"PW=bad")
    fast.learn(wrong, _exact(wrong, MICROS, window))  # refused: not remembered
    assert fast.reply(wrong, MICROS) is SLOW
    old = [_segment("", ["ST=31", "CN=2011", "PW=123456", "MN=DEV001", "Flag=1"],
                    f"202401011{n}0000", "&&") for n in range(3)]  # fmt: skip
    fast.learn(old[0], _exact(old[0], MICROS, window))  # HJ/T 212-2005: no QN
    assert fast.reply(old[2], MICROS) == _exact(old[2], MICROS, window).reply is not None
    fast.clear()  # the registry changed
    assert fast.reply(usual[1], MICROS) is SLOW
    assert fast.reply(old[1], MICROS) is SLOW
