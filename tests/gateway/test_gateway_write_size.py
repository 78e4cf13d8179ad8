"""The writer thread's write-size policy (``server.write_due``): a writer that keeps up writes a
batch as soon as nothing more is waiting; a writer behind gathers up to twice the batch (or
until ``write_delay``), so a write's fixed cost is shared by more frames exactly when the
writer sets the pace; a write never holds more than twice the batch."""

from __future__ import annotations

import pytest

from ecobasin.gateway.server import write_due

BATCH = 5_000


@pytest.mark.parametrize("behind", [False, True])
@pytest.mark.parametrize("due", [False, True])
@pytest.mark.parametrize("waiting", [False, True])
def test_twice_the_batch_is_always_written(behind: bool, due: bool, waiting: bool) -> None:
    assert write_due(2 * BATCH, BATCH, due=due, waiting=waiting, behind=behind)


@pytest.mark.parametrize("behind", [False, True])
def test_a_short_batch_waits_for_write_delay_and_an_empty_pipe(behind: bool) -> None:
    assert not write_due(BATCH - 1, BATCH, due=False, waiting=False, behind=behind)
    assert not write_due(BATCH - 1, BATCH, due=True, waiting=True, behind=behind)
    assert write_due(BATCH - 1, BATCH, due=True, waiting=False, behind=behind)


def test_a_writer_keeping_up_writes_a_full_batch_once_nothing_more_waits() -> None:
    assert write_due(BATCH, BATCH, due=False, waiting=False, behind=False)
    assert not write_due(BATCH, BATCH, due=False, waiting=True, behind=False)


def test_a_writer_behind_gathers_up_to_twice_the_batch_until_write_delay() -> None:
    # the case the policy adds: a full batch, nothing waiting at this instant, but the
    # writer was behind after its last write: it waits (the rule before wrote here)
    for size in (BATCH, BATCH + 1, 2 * BATCH - 1):
        assert not write_due(size, BATCH, due=False, waiting=False, behind=True)
        assert not write_due(size, BATCH, due=True, waiting=True, behind=True)
        assert write_due(size, BATCH, due=True, waiting=False, behind=True)
