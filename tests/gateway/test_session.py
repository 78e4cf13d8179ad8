"""The pure session decision the front and ``hj212 decode`` share (gateway/session.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from ecobasin.gateway.datatime import DataTimeWindow
from ecobasin.gateway.session import decide
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
