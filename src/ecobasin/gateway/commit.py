"""Group commit of the gateway's front: "make these accepted frames durable, then ack them".

HJ 212-2017 §6.5: the 9014 tells the data logger the platform has the upload, so the logger
may drop it; the gateway therefore replies only once the frame is durable. One fsync per frame
is what a disk cannot sustain (a few hundred to a few thousand per second), so the frames
accepted while one fsync runs form the next **group**: one write and one fsync for the group,
then the replies of the whole group. A failed write or fsync acknowledges none of the group
(issue 12, defect 2); the devices resend.

The seam is :class:`Persister`: ``await persist(group)`` must return only once every record of
the group is durable, and raise :class:`OSError` when it could not make them so. The default,
:class:`RawLogPersister`, appends the group to the local raw log and fsyncs it (policy
``batch``); a broker mode (docs/gateway-scaling.md, "The persist seam") publishes the group's
accepted frames and waits for the broker's acks in its own ``persist``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from ecobasin.gateway.rawlog import RawLog, encode_raw

__all__ = [
    "RAW_LOG_RETRY",
    "AckTarget",
    "BrokerDown",
    "BrokerPersister",
    "Group",
    "GroupCommit",
    "Persister",
    "RawLogPersister",
]

log = logging.getLogger(__name__)

#: [s] Pause after a failed persist before the next attempt (disk full: no busy loop).
RAW_LOG_RETRY = 0.2


class AckTarget(Protocol):
    """Where a group's replies go (a device session)."""

    def deliver(self, replies: bytes, count: int) -> None:
        """Write ``count`` reply frames (``replies``, concatenated) to the device."""


@dataclass(slots=True)
class Group:
    """The frames accepted in one event-loop turn (or while the previous group's fsync ran).

    Attributes
    ----------
    records : bytearray
        The raw-log records of the group, encoded (rawlog module docstring), in sequence order.
    first, last : int
        Their sequence numbers (``first`` > ``last``: empty).
    accepted : list of (bytes, bytes, int)
        The frames that will be acknowledged, as (peer, frame ``##`` … CR LF as received,
        received [µs since the epoch]); frames logged refused (``implausible_datatime``) are in
        ``records`` only.
    acks : list of (AckTarget, bytes, int)
        The replies to send once the group is durable: session, frames, how many.
    """

    first: int
    last: int
    records: bytearray = field(default_factory=bytearray)
    accepted: list[tuple[bytes, bytes, int]] = field(default_factory=list)
    acks: list[tuple[AckTarget, bytes, int]] = field(default_factory=list)


class Persister(Protocol):
    """The durability step of the front (the seam for a broker mode)."""

    async def persist(self, group: Group) -> None:
        """Return once every record of ``group`` is durable.

        Raises
        ------
        OSError
            When they could not be made durable: none of the group is acknowledged.
        """


class RawLogPersister:
    """The default :class:`Persister`: one write and (policy ``batch``) one fsync per group to
    the local raw log, in a thread of its own (the event loop keeps framing meanwhile).

    Parameters
    ----------
    raw_log : RawLog
        The open raw log.
    policy : str
        ``batch`` (fsync every group), ``interval`` (fsync every ``interval`` [s]) or ``off``.
    interval : float
        [s] The fsync period under ``interval``.
    """

    def __init__(self, raw_log: RawLog, policy: str, interval: float) -> None:
        self.raw_log, self.policy, self.interval = raw_log, policy, interval
        self.last_sync = time.monotonic()
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="raw-log")

    async def persist(self, group: Group) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(
            self.executor, self._write, bytes(group.records), group.first, group.last
        )

    def _write(self, data: bytes, first: int, last: int) -> None:
        """Append and (by policy) make durable: under ``batch`` in one durable write
        (:meth:`RawLog.write_durable`; a failed one keeps nothing, so nothing unacknowledged
        and torn stays before the next records); under ``interval`` fsync when due."""
        if self.policy == "batch":
            self.raw_log.write_durable(data, first, last)
            return
        self.raw_log.write(data, first, last)
        now = time.monotonic()
        if self.policy == "interval" and now - self.last_sync >= self.interval:
            self.raw_log.sync()
            self.last_sync = now

    def close(self) -> None:
        self.executor.shutdown(wait=True)
        self.raw_log.close()


class BrokerDown(OSError):
    """The broker did not acknowledge a group (its counters and alarm are the broker's)."""


class BrokerPersister:
    """The broker mode's :class:`Persister` (issue 20): the group goes to the local raw log
    (the forensic copy) and then to the broker; it is durable once the broker acknowledged
    every accepted frame of it (past one machine the broker's ack is the durability point).

    Parameters
    ----------
    raw_log : RawLogPersister
    broker : object with ``async publish(frames)`` raising ``BrokerUnavailable``
        (:class:`ecobasin.gateway.broker.FrontBroker`).
    """

    def __init__(self, raw_log: RawLogPersister, broker: Any) -> None:
        self.raw_log, self.broker = raw_log, broker

    async def persist(self, group: Group) -> None:
        from ecobasin.gateway.broker import BrokerUnavailable

        await self.raw_log.persist(group)
        if not group.accepted:
            return
        try:
            await self.broker.publish(group.accepted)
        except BrokerUnavailable as error:  # no ack: the devices keep and resend their data
            raise BrokerDown(str(error)) from error

    def close(self) -> None:
        self.raw_log.close()


class GroupCommit:
    """Collects accepted frames into groups and runs them through the :class:`Persister` one
    group at a time, in order; then hands the records on (``durable``) and sends the replies.

    Parameters
    ----------
    persister : Persister
        Makes a group durable.
    last_seq : int
        The raw log's last sequence number.
    durable : callable
        ``durable(records)``, called with each durable group's encoded records before any of
        its replies is sent (the store writer's feed).
    failed : callable
        ``failed(error)`` when a group could not be made durable (alarm and counters).
    recovered : callable
        ``recovered(first_seq)`` when a group is durable again after a failure.
    """

    def __init__(
        self,
        persister: Persister,
        last_seq: int,
        durable: Callable[[bytes], None],
        failed: Callable[[OSError], None],
        recovered: Callable[[int], None],
    ) -> None:
        self.persister = persister
        self.durable, self.failed, self.recovered = durable, failed, recovered
        self.seq = last_seq
        self.durable_seq = last_seq
        self.group = Group(last_seq + 1, last_seq)
        self.unhealthy = False
        self.closing = False
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def append(self, peer: bytes, frame: bytes, micros: int, refused: str = "") -> None:
        """Add one frame to the open group (``refused``: logged without a reply)."""
        self.seq += 1
        group = self.group
        group.records += encode_raw(self.seq, micros, peer, frame, refused)
        group.last = self.seq
        if not refused:
            group.accepted.append((peer, frame, micros))
        self.wake.set()

    def ack(self, target: AckTarget, replies: bytes, count: int) -> None:
        """Send ``replies`` to ``target`` once the open group (holding their frames) is
        durable; never if it cannot be made durable."""
        self.group.acks.append((target, replies, count))

    async def run(self) -> None:
        """Persist the groups one after the other until :meth:`close`."""
        while True:
            await self.wake.wait()
            self.wake.clear()
            group = self.group
            if group.last < group.first:
                if self.closing:
                    return
                continue
            self.group = Group(self.seq + 1, self.seq)
            try:
                await self.persister.persist(group)
            except OSError as error:  # disk full, I/O error: nothing of it is acknowledged
                self.unhealthy = True
                self.failed(error)
                await asyncio.sleep(RAW_LOG_RETRY)  # the devices resend; no busy loop meanwhile
                self.wake.set()
                continue
            if self.unhealthy:
                self.unhealthy = False
                self.recovered(group.first)
            self.durable_seq = group.last
            self.durable(bytes(group.records))  # queued for the writer before any ack
            for target, replies, count in group.acks:
                target.deliver(replies, count)
            if self.group.last >= self.group.first:
                self.wake.set()

    async def close(self) -> None:
        """Persist what is collected, then end :meth:`run`."""
        self.closing = True
        self.wake.set()
        if self.task is not None:
            await self.task
