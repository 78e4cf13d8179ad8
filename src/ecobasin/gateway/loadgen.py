"""Network side of the simulator: device clients, a load generator and a bare reference server.

- :func:`run_fleet` drives simulated devices (:mod:`ecobasin.gateway.simulator`) over asyncio
  streams, one TCP connection each, the way a data logger (数采仪) talks: send an upload, wait
  for its 9014 data response, resend after the timeout up to ``retries`` times (HJ 212-2017
  §6.2 表1: OverTime, ReCount = 3), count it lost after that, reconnect when the connection
  drops. Statistics: sent, acknowledged, retries, lost, duplicates, ack latency.
- :func:`blast` is the benchmark's load generator: pre-encoded frames over many connections
  per process with a window of frames in flight (closed loop) or at a target rate (open
  loop), acks counted by their CR LF and matched in order (a server answers one connection's
  frames in order).
- :class:`BareServer` is the ceiling a gateway is measured against: it only frames, checks the
  CRC (Appendix A) and acks.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import pandas as pd

from ecobasin.gateway.simulator import Packet, SimDevice
from ecobasin.ingest.hj212 import Frame, Framer, encode_message, read_segment
from ecobasin.ingest.hj212.observations import stored_slot

__all__ = [
    "BareServer",
    "BlastResult",
    "FleetStats",
    "blast",
    "expected_values",
    "lost_values",
    "percentile",
    "run_fleet",
    "start_bare_server",
]

#: Default wait for a 9014 before resending [s] (HJ 212-2017 §6.2 表1: 5 s ADSL, 10 s GPRS).
ACK_TIMEOUT = 5.0
#: Resends after the first send (表1: ReCount default 3).
RETRIES = 3


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0–100) by the nearest-rank method, NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class FleetStats:
    """Counts of a simulated fleet's run.

    Attributes
    ----------
    sent : int
        Frames sent for the first time.
    acked : int
        Frames acknowledged by a 9014.
    retries : int
        Resends after an ack timeout.
    lost : int
        Frames given up after ``retries`` resends (or when the run ended waiting).
    duplicates : int
        Frames deliberately sent a second time (each also counted in ``acked`` when answered).
    reconnects : int
        Connections re-opened after a drop or refusal.
    over_limit : int
        Packets sent inside an over-limit episode.
    flags : dict of str to int
        Packets per data flag (表8: N, D, M).
    latencies : list of float
        Ack latency of each acknowledged send [s].
    delivered : dict
        Uploads whose every frame (every sub-packet) was acknowledged: (MN, CN, DataTime)
        → values carried, what the store must hold (:func:`expected_values`).
    """

    sent: int = 0
    acked: int = 0
    retries: int = 0
    lost: int = 0
    duplicates: int = 0
    reconnects: int = 0
    over_limit: int = 0
    flags: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    delivered: dict[tuple[str, str, datetime], int] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """Counts and ack latency p50 / p99 [ms]."""
        return {
            "sent": self.sent,
            "acked": self.acked,
            "retries": self.retries,
            "lost": self.lost,
            "values_acked": sum(self.delivered.values()),
            "duplicates": self.duplicates,
            "reconnects": self.reconnects,
            "over_limit_packets": self.over_limit,
            "flags": dict(sorted(self.flags.items())),
            "ack_p50_ms": round(percentile(self.latencies, 50) * 1000, 2),
            "ack_p99_ms": round(percentile(self.latencies, 99) * 1000, 2),
        }


class _Link:
    """One device's TCP connection: sends frames, reads 9014 responses through a Framer."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.framer = Framer()
        self.acks: deque[str | None] = deque()

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.framer = Framer()
        self.acks.clear()

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError, ConnectionError):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def send(self, frame: bytes) -> None:
        if self.writer is None:
            raise ConnectionResetError("not connected")
        self.writer.write(frame)
        await self.writer.drain()

    async def wait_ack(self, qn: str | None, timeout: float) -> bool:
        """Wait for the 9014 echoing ``qn`` (any 9014 without QN for a device sending none);
        older responses (to a frame already acknowledged) are skipped. A device without QN
        (HJ/T 212-2005) cannot tell a late ack from the current one, as in the field."""
        if self.reader is None:
            raise ConnectionResetError("not connected")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            while self.acks:
                if self.acks.popleft() == qn:
                    return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            try:
                data = await asyncio.wait_for(self.reader.read(4096), remaining)
            except TimeoutError:
                return False
            if not data:
                raise ConnectionResetError("the server closed the connection")
            for item in self.framer.feed(data):
                if isinstance(item, Frame):
                    message = read_segment(item.segment)
                    if message.cn == "9014":
                        self.acks.append(message.qn)


async def _deliver(
    link: _Link,
    frame: bytes,
    qn: str | None,
    stats: FleetStats,
    *,
    ack_timeout: float,
    retries: int,
    deadline: float,
) -> bool:
    """Send one frame until acknowledged: resend after each ack timeout up to ``retries``
    times (§6.2); while the connection is down, reconnect and resend (a drop is no attempt)."""
    loop = asyncio.get_running_loop()
    attempt = 0
    while attempt <= retries and loop.time() < deadline:
        try:
            if link.writer is None:
                await link.open()
            if attempt:
                stats.retries += 1
            sent_at = loop.time()
            await link.send(frame)
            if await link.wait_ack(qn, ack_timeout):
                stats.acked += 1
                stats.latencies.append(loop.time() - sent_at)
                return True
            attempt += 1
        except (ConnectionError, OSError):
            await link.close()
            stats.reconnects += 1
            await asyncio.sleep(min(ack_timeout, 0.2))
    stats.lost += 1
    return False


async def run_device(
    device: SimDevice,
    host: str,
    port: int,
    stats: FleetStats,
    *,
    sim_start: float,
    speedup: float,
    duration: float,
    ack_timeout: float = ACK_TIMEOUT,
    retries: int = RETRIES,
    grace: float | None = None,
) -> None:
    """Run one device: send its packets when due (simulated time runs ``speedup`` times real
    time from ``sim_start``), one frame at a time, each until acknowledged or lost.

    Parameters
    ----------
    device : SimDevice
        The device.
    host, port : str, int
        The gateway.
    stats : FleetStats
        Updated in place.
    sim_start : float
        Simulated time at the start [s since the epoch].
    speedup : float
        Simulated seconds per real second.
    duration : float
        Real seconds to run; a frame in flight at the end may take ``grace`` more.
    ack_timeout : float
        Wait for a 9014 before resending [s].
    retries : int
        Resends before a frame counts as lost.
    grace : float, optional
        Extra real time to finish the frame in flight [s] (default: one full retry cycle).
    """
    loop = asyncio.get_running_loop()
    real_start = loop.time()
    stop = real_start + duration
    deadline = stop + (ack_timeout * (retries + 1) if grace is None else grace)
    link = _Link(host, port)
    packets = device.packets(sim_start)
    try:
        while True:
            packet: Packet = next(packets)
            due = real_start + (packet.time - sim_start) / speedup
            if due >= stop:
                return
            if due > loop.time():
                await asyncio.sleep(due - loop.time())
            stats.flags[packet.flag] = stats.flags.get(packet.flag, 0) + 1
            stats.over_limit += packet.over_limit
            sends = 2 if packet.duplicate else 1
            delivered = True
            for repeat in range(sends):
                for frame, qn in zip(packet.frames, packet.qns, strict=True):
                    stats.sent += repeat == 0
                    stats.duplicates += repeat == 1
                    acked = await _deliver(
                        link,
                        frame,
                        qn,
                        stats,
                        ack_timeout=ack_timeout,
                        retries=retries,
                        deadline=deadline,
                    )
                    delivered = delivered and (acked or repeat == 1)
            if delivered:  # every part acknowledged: the store owes us these values
                stats.delivered[(device.mn, packet.cn, packet.data_time)] = packet.values
    finally:
        await link.close()


async def run_fleet(
    fleet: Sequence[SimDevice],
    host: str,
    port: int,
    *,
    duration: float,
    speedup: float = 1.0,
    sim_start: float | None = None,
    ack_timeout: float = ACK_TIMEOUT,
    retries: int = RETRIES,
    grace: float | None = None,
    on_tick: Callable[[FleetStats, float], None] | None = None,
    tick: float = 0.5,
    stats: FleetStats | None = None,
) -> FleetStats:
    """Run a fleet of simulated devices against a gateway, each on its own connection.

    Parameters
    ----------
    fleet : sequence of SimDevice
        The devices (:func:`ecobasin.gateway.simulator.build_fleet`).
    host, port : str, int
        The gateway.
    duration : float
        Real seconds to run.
    speedup : float
        Simulated seconds per real second (60: an hour of data a minute).
    sim_start : float, optional
        Simulated start [s since the epoch]; default: so that the run ends now.
    ack_timeout, retries, grace
        See :func:`run_device`.
    on_tick : callable, optional
        Called with the stats and the elapsed seconds every ``tick`` seconds (progress).
    stats : FleetStats, optional
        Counters to update (to read them after an interruption); default: new ones.

    Returns
    -------
    FleetStats
    """
    if speedup <= 0 or duration < 0:
        raise ValueError("speedup must be positive and duration not negative")
    if sim_start is None:
        sim_start = time.time() - duration * speedup
    stats = FleetStats() if stats is None else stats
    loop = asyncio.get_running_loop()
    began = loop.time()
    tasks = [
        asyncio.create_task(
            run_device(
                device,
                host,
                port,
                stats,
                sim_start=sim_start,
                speedup=speedup,
                duration=duration,
                ack_timeout=ack_timeout,
                retries=retries,
                grace=grace,
            )
        )
        for device in fleet
    ]
    done = asyncio.gather(*tasks)
    # when the fleet is cancelled (Ctrl+C on serve/demo) the gathering ends with the devices'
    # CancelledError: retrieve it, or asyncio logs "exception was never retrieved" at exit
    done.add_done_callback(lambda f: None if f.cancelled() else f.exception())
    try:
        while not done.done():
            await asyncio.wait([done], timeout=tick)
            if on_tick is not None:
                on_tick(stats, loop.time() - began)
        await done
    finally:
        for task in tasks:
            task.cancel()
    return stats


def expected_values(fleet: Sequence[SimDevice], delivered: dict[Any, int]) -> pd.DataFrame:
    """The observations the store must hold for the delivered uploads, per stored slot.

    Returns
    -------
    pandas.DataFrame
        site_id, period, time (UTC, where the store keeps the period: its end) and values.
    """
    sites = {device.mn: device.site_id for device in fleet}
    rows = []
    for (mn, cn, data_time), values in delivered.items():
        period, time_utc = stored_slot(cn, data_time)
        rows.append((sites[mn], period, pd.Timestamp(time_utc), values))
    frame = pd.DataFrame(rows, columns=["site_id", "period", "time", "values"])
    return frame.groupby(["site_id", "period", "time"], as_index=False).agg(
        values=("values", "sum")
    )


def lost_values(expected: pd.DataFrame, stored: pd.DataFrame) -> int:
    """Values acknowledged but not in the store: per slot, expected minus stored (at least 0).

    ``stored`` has one row per observation (site_id, period, time).
    """
    if expected.empty:
        return 0
    counts = stored.groupby(["site_id", "period", "time"]).size().rename("stored")
    joined = expected.join(counts, on=["site_id", "period", "time"])
    missing = joined["values"] - joined["stored"].fillna(0)
    return int(missing.clip(lower=0).sum())


# -- bare reference server ---------------------------------------------------------------------
class BareServer(asyncio.Protocol):
    """Frames, checks the CRC (Appendix A) and answers 9014 to uploads asking for one (Flag.A):
    no registry, no raw log, no store. The ceiling of a gateway on this machine."""

    frames = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass of it
        self.framer = Framer()

    def data_received(self, data: bytes) -> None:
        replies = []
        for item in self.framer.feed(data):
            if not isinstance(item, Frame):
                continue
            BareServer.frames += 1
            head = item.segment.partition(b"CP=&&")[0]
            fields = dict(part.split(b"=", 1) for part in head.split(b";") if b"=" in part)
            flag = fields.get(b"Flag", b"")
            if not flag.isdigit() or not int(flag) & 1:
                continue
            reply = {"QN": fields[b"QN"].decode()} if b"QN" in fields else {}
            reply.update(
                ST="91",
                CN="9014",
                PW=fields.get(b"PW", b"").decode(),
                MN=fields.get(b"MN", b"").decode(),
                Flag=str(int(flag) >> 2 << 2),
            )
            replies.append(encode_message(reply))
        if replies:
            self.transport.write(b"".join(replies))


async def start_bare_server(host: str = "127.0.0.1", port: int = 0) -> asyncio.Server:
    """Start a :class:`BareServer` listener (``port`` 0: a free port)."""
    loop = asyncio.get_running_loop()
    return await loop.create_server(BareServer, host, port, backlog=2048)


# -- load generator ----------------------------------------------------------------------------
@dataclass
class BlastResult:
    """What one load-generator process measured in its window.

    Attributes
    ----------
    acked : int
        Acks received inside the measurement window.
    sent : int
        Frames sent in the window.
    seconds : float
        Length of the window [s].
    latencies : list of float
        Ack latency of each frame acknowledged in the window [s].
    cpu_seconds : float
        CPU time of this process over the window [s].
    connections : int
        Connections that were open.
    exhausted : int
        Connections that ran out of pre-encoded frames before the end (then they wrap around).
    acked_total : int
        Acks received over the whole run, warm-up included.
    """

    acked: int
    sent: int
    seconds: float
    latencies: list[float]
    cpu_seconds: float
    connections: int
    exhausted: int
    acked_total: int = 0

    @property
    def rate(self) -> float:
        """Acknowledged frames per second [1/s]."""
        return self.acked / self.seconds if self.seconds else math.nan


class _Counters:
    def __init__(self) -> None:
        self.measuring = False
        self.total = 0
        self.acked = 0
        self.sent = 0
        self.latencies: list[float] = []


class _BlastConnection(asyncio.Protocol):
    """A pipelining client: keeps up to ``window`` frames in flight; acks come in order."""

    def __init__(
        self, frames: Sequence[bytes], window: int, closed_loop: bool, counters: _Counters
    ):
        self.frames, self.window, self.closed_loop = frames, window, closed_loop
        self.counters = counters
        self.next = 0
        self.sent_at: deque[float] = deque()
        self.exhausted = False
        self.transport: asyncio.Transport | None = None
        self.lost = asyncio.get_running_loop().create_future()  # done when the socket is closed

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass of it

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if not self.lost.done():
            self.lost.set_result(None)

    def data_received(self, data: bytes) -> None:
        acks = data.count(b"\n")  # one CR LF per reply; a data segment holds none
        now = time.perf_counter()
        counters = self.counters
        counters.total += acks
        for _ in range(min(acks, len(self.sent_at))):
            sent = self.sent_at.popleft()
            if counters.measuring:
                counters.acked += 1
                counters.latencies.append(now - sent)
        if self.closed_loop:
            self.fill(now)

    def send(self, n: int, now: float) -> int:
        """Send up to ``n`` frames within the window; return how many went."""
        if self.transport is None:
            return 0
        n = min(n, self.window - len(self.sent_at))
        if n <= 0:
            return 0
        batch = []
        for _ in range(n):
            if self.next >= len(self.frames):
                self.exhausted, self.next = True, 0
            batch.append(self.frames[self.next])
            self.next += 1
            self.sent_at.append(now)
        self.transport.write(b"".join(batch))
        if self.counters.measuring:
            self.counters.sent += n
        return n

    def fill(self, now: float) -> None:
        self.send(self.window, now)


#: [s] Wait for the frames still in the send buffers at the end of a run before a connection is
#: aborted (a server that stopped reading never takes them).
CLOSE_PATIENCE = 2.0


async def _close_all(
    connections: Sequence[_BlastConnection], patience: float = CLOSE_PATIENCE
) -> None:
    """Close every connection and wait until its socket is: a close waits for the unsent frames,
    so a connection whose server stopped reading is aborted after ``patience`` [s]. Returning
    earlier left the sockets open when the caller's event loop ended, for the garbage collector
    to close later in whatever ran then, with a ResourceWarning."""
    for connection in connections:
        if connection.transport is not None:
            connection.transport.close()
    if not connections:
        return
    await asyncio.wait([c.lost for c in connections], timeout=patience)
    for connection in connections:
        if connection.transport is not None:
            connection.transport.abort()  # its socket is closed on the loop's next turn
    await asyncio.wait([c.lost for c in connections], timeout=patience)


async def blast(
    host: str,
    port: int,
    frames: Sequence[Sequence[bytes]],
    *,
    duration: float,
    warmup: float = 1.0,
    window: int = 4,
    rate: float | None = None,
) -> BlastResult:
    """Drive a server with pre-encoded frames, one connection per frame list.

    Parameters
    ----------
    host, port : str, int
        The server.
    frames : sequence of sequences of bytes
        Per connection, the frames it sends in order (wrapping around when used up).
    duration : float
        Measurement window [s], after ``warmup`` seconds.
    window : int
        Frames in flight per connection.
    rate : float, optional
        Open loop: frames per second from this process, spread over the connections; None:
        closed loop, every connection keeps ``window`` frames in flight.

    Returns
    -------
    BlastResult
    """
    loop = asyncio.get_running_loop()
    counters = _Counters()
    closed_loop = rate is None
    connections: list[_BlastConnection] = []
    gate = asyncio.Semaphore(64)  # do not overrun the listen backlog

    async def connect(lists: Sequence[bytes]) -> None:
        async with gate:
            _, protocol = await loop.create_connection(
                lambda: _BlastConnection(lists, window, closed_loop, counters), host, port
            )
        connections.append(protocol)

    await asyncio.gather(*(connect(lists) for lists in frames))
    began = time.perf_counter()
    if closed_loop:
        for connection in connections:
            connection.fill(began)
    measure_from, measure_to = began + warmup, began + warmup + duration
    cpu_from = 0.0
    sent_total, turn = 0, 0
    while True:
        now = time.perf_counter()
        if not counters.measuring and now >= measure_from:
            counters.measuring, cpu_from = True, time.process_time()
        if now >= measure_to:
            break
        if rate is not None:
            due = int(rate * (now - began)) - sent_total
            tries = 0
            while due > 0 and tries < len(connections):
                sent = connections[turn].send(1, now)
                turn = (turn + 1) % len(connections)
                sent_total += sent
                due -= sent
                tries = 0 if sent else tries + 1
        await asyncio.sleep(0.002 if rate is not None else 0.05)
    counters.measuring = False
    cpu = time.process_time() - cpu_from
    seconds = time.perf_counter() - measure_from
    await _close_all(connections)
    return BlastResult(
        acked=counters.acked,
        sent=counters.sent,
        seconds=seconds,
        latencies=counters.latencies,
        cpu_seconds=cpu,
        connections=len(connections),
        exhausted=sum(c.exhausted for c in connections),
        acked_total=counters.total,
    )
