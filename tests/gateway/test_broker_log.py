"""While the broker is away the client retries every 0.5 s: its connection errors are logged
once, then once per interval with the count of those not shown (not two lines a second)."""

from __future__ import annotations

import logging

import pytest

from ecobasin.gateway.broker import ConnectionErrorLog


def test_a_broker_away_for_a_minute_writes_two_lines_not_a_hundred_and_twenty(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    log_error = ConnectionErrorLog(every=30.0, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="ecobasin.gateway.broker"):
        for step in range(120):  # a retry every 0.5 s for 60 s
            now[0] = step * 0.5
            log_error(ConnectionRefusedError(111, "Connect call failed"))
        now[0] = 100.0  # back, then away again: the first error of the new outage at once
        log_error(TimeoutError("timed out"))
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3, lines  # at 0 s and 30 s of the first outage, then at 100 s
    assert "ConnectionRefusedError" in lines[0] and "not shown" not in lines[0]
    assert "(59 more like it not shown)" in lines[1]  # 0.5 … 29.5 s
    assert "TimeoutError" in lines[2] and "(59 more" in lines[2]  # 30.5 … 59.5 s
