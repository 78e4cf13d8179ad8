"""The gateway's front process: device connections, framing, CRC, raw log, fsync, acks.

:class:`~ecobasin.gateway.server.Gateway` starts this module as a child process
(``python -m ecobasin.gateway.front LISTEN_FD CONTROL_FD PARENT_PID``) so that the socket side
has a core of its own and its ack latency does not wait on the store writer (one Python
process runs one thread at a time). Per frame it does the minimum the reply depends on:
framer and CRC (HJ 212-2017 §6.3.1, Appendix A), the head fields (表3, :func:`read_head`), the
device check (MN registered and enabled, PW right), the append to the raw log, then — once the
group commit has made the record durable — the 9014 / 9013 reply (§6.5). The CP area is read
only by the writer in the parent.

Each connection is an :class:`asyncio.Protocol` (``data_received`` → frames → head decision →
raw-log append; the replies wait in the open group of :mod:`ecobasin.gateway.commit` and go
out once its one write and fsync are done): no coroutine, future or timeout per read or per
frame. The usual frame's head is decided on its bytes (:class:`FastDecider`).

Protocol with the parent over ``CONTROL_FD`` (a socketpair; pickled tuples,
:class:`multiprocessing.connection.Connection` framing), one ordered stream each way:

parent → front
    ``("setup", dict)`` first; ``("devices", token, table)``; ``("echo", payload)``;
    ``("written", seq)`` (the store holds every record up to ``seq``); ``("stop",)``.
front → parent
    ``("ready", port)`` or ``("error", text)``; ``("records", bytes, stats)`` — durable
    raw-log records, encoded as in the segment files, always before the acks they allow
    (``stats`` None when counters went less than 0.25 s ago);
    ``("rejects", [(ref, code, reason, raw), …])``; ``("stats", dict)``;
    ``("echo", payload, stats)`` after everything sent before it; ``("stopped", stats)``.

The front dies with its parent (``PR_SET_PDEATHSIG`` on Linux, and on the control socket's
end of file), so a killed gateway never leaves a process holding its port.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ctypes
import errno
import logging
import math
import os
import queue
import re
import resource
import signal
import socket
import struct
import sys
import threading
import time
from collections.abc import Coroutine
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from multiprocessing.reduction import ForkingPickler
from pathlib import Path
from typing import Any, cast

from ecobasin.gateway.broker import FrontBroker, PasswordHash, device_entry
from ecobasin.gateway.commit import BrokerDown, BrokerPersister, GroupCommit, RawLogPersister
from ecobasin.gateway.datatime import DataTimeWindow, data_time_of
from ecobasin.gateway.rawlog import RawLog
from ecobasin.gateway.session import FastDecider, Slow, decide
from ecobasin.ingest.hj212.codec import Message, read_head, read_segment
from ecobasin.ingest.hj212.crc import CrcMode
from ecobasin.ingest.hj212.errors import CrcMismatch, FrameError
from ecobasin.ingest.hj212.framer import Frame, Framer, check_crc

__all__ = [
    "FD_MARGIN",
    "READ_SIZE",
    "REJECT_SAMPLES",
    "REJECT_WINDOW",
    "FrontDevice",
    "GatewayStats",
    "QueueBound",
    "raise_open_file_limit",
    "reason_code",
    "send_message",
]

log = logging.getLogger(__name__)

#: Detailed rejected records per peer address (host, any port) and window; past it, problems
#: are only counted (a flood of garbage or of refused frames must not flood the store), and one
#: summary record per address says how many were left out when the window ends.
REJECT_SAMPLES = 20
#: [s] The window of :data:`REJECT_SAMPLES`.
REJECT_WINDOW = 60.0
#: Addresses whose samples are tracked at most (the oldest are summarised and forgotten).
REJECT_ADDRESSES = 10_000
#: File descriptors the front needs besides its connections (listener, control socket, raw-log
#: segments, event loop, worker threads, the reserve descriptor, standard streams).
FD_MARGIN = 64
#: [s] Pause before refusing at the open-file limit: the sessions that read their peer's end
#: of file in the same event-loop turn close their sockets meanwhile, freeing descriptors.
FD_LIMIT_GRACE = 0.05
#: [s] At most one log line per this period about connections refused at a limit.
REFUSAL_LOG_EVERY = 10.0
#: Connections accepted per wake-up of the listener at most (others wait for the next turn).
ACCEPTS_PER_TURN = 64
READ_SIZE = 64 * 1024
#: Event-loop turns (0.01 s each) the stop waits for the aborted sessions to be gone at most.
STOP_TURNS = 100
#: [s] How often changed counters are sent to the parent between records.
STATS_EVERY = 0.25
#: The length before each message on the control socket (multiprocessing's framing).
_LENGTH = struct.Struct("!i")
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")
_PR_SET_PDEATHSIG = 1


def reason_code(error: FrameError) -> str:
    """The ``rejected.reason_code`` of a codec error: ``CrcMismatch`` → ``crc_mismatch``."""
    return _CAMEL.sub("_", type(error).__name__).lower()


@dataclass
class GatewayStats:
    """Counters since start (the front's are copied into the parent's with each message)."""

    connections: int = 0  # open now
    connections_total: int = 0
    refused_connections: int = 0  # over the connection cap or the open-file limit
    idle_closed: int = 0
    budget_closed: int = 0  # closed for too many framing errors or bytes without a frame
    unsampled: int = 0  # problems counted but not written one by one (sampling per address)
    frames: int = 0  # well-framed frames received
    acked: int = 0  # replies sent (9014 / 9013)
    logged: int = 0  # frames appended to the raw log
    stored: int = 0  # data messages stored (first sends; a set of sub-packets is one)
    written: int = 0  # raw-log records in the store (the writer's checkpoint; acked frames)
    observations: int = 0  # observation rows written
    duplicates: int = 0
    rejected: int = 0  # rejected records (bad frames, values, devices)
    refused: int = 0  # frames of unknown / disabled devices or with a wrong password
    nonstandard_crc: int = 0  # frames accepted under a device's Modbus CRC mode
    write_errors: int = 0
    recovered: int = 0  # raw-log records written to the store at start
    raw_log_errors: int = 0  # raw-log writes or fsyncs that failed (nothing acked for them)
    raw_log_unwritable: bool = False  # alarm: the last raw-log write failed (no acks now)
    published: int = 0  # frames acknowledged by the broker (--broker)
    broker_errors: int = 0  # publishes or connects that failed (nothing acked for them)
    broker_unreachable: bool = False  # alarm: the broker does not acknowledge (no acks now)
    broker_permission_denied: bool = False  # alarm: the broker refused this gateway's user
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def alarms(self) -> list[str]:
        """Alarms raised now (``raw_log_unwritable``: disk full or I/O error under the raw log;
        ``broker_unreachable``: the broker does not acknowledge; either way the devices get no
        acks and resend)."""
        flags = {"raw_log_unwritable": self.raw_log_unwritable}
        flags["broker_unreachable"] = self.broker_unreachable
        flags["broker_permission_denied"] = self.broker_permission_denied
        return [name for name, raised in flags.items() if raised]

    def count(self, code: str, n: int = 1) -> None:
        self.reasons[code] = self.reasons.get(code, 0) + n
        self.rejected += n


@dataclass(frozen=True, slots=True)
class FrontDevice:
    """What the front needs of a registered device (表3 MN, PW; Appendix A or Modbus CRC)."""

    password: str | PasswordHash  # in clear (local registry) or hashed (broker's bucket)
    enabled: bool
    crc_mode: CrcMode


class RejectSampler:
    """Which problems are written to ``rejected`` one by one: the first ``samples`` per peer
    address (host) in each ``window`` [s]; the rest are counted and summarised per address.

    A client reconnecting at full speed gets a new port each time, so the address, not the
    connection, is what is limited.
    """

    def __init__(self, samples: int, window: float) -> None:
        self.samples, self.window = samples, window
        #: host → [window start (monotonic s), written, left out by reason code]
        self.hosts: dict[str, tuple[float, list[int], dict[str, int]]] = {}

    def admit(self, host: str, code: str, now: float) -> bool:
        """Whether this problem of ``host`` is written; otherwise it is counted for a summary."""
        entry = self.hosts.get(host)
        if entry is None:
            if len(self.hosts) >= REJECT_ADDRESSES:
                return False  # counted by the caller; a full table only loses the summary
            entry = self.hosts[host] = (now, [0], {})
        written, left_out = entry[1], entry[2]
        if written[0] < self.samples:
            written[0] += 1
            return True
        left_out[code] = left_out.get(code, 0) + 1
        return False

    def due(self, now: float) -> list[tuple[str, dict[str, int]]]:
        """Addresses whose window ended: (host, problems left out) for those with any; the
        window starts again for all of them."""
        out = []
        for host, (start, _, left_out) in list(self.hosts.items()):
            if now - start >= self.window:
                del self.hosts[host]
                if left_out:
                    out.append((host, left_out))
        return out


def raise_open_file_limit(max_connections: int) -> tuple[int, bool]:
    """Raise the soft ``RLIMIT_NOFILE`` to the hard limit (each connection holds a descriptor).

    Returns
    -------
    limit : int
        The soft limit now [descriptors].
    enough : bool
        Whether it covers ``max_connections`` + :data:`FD_MARGIN`; if not, connections past the
        limit are refused (closed at once, one log line per 10 s).
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    return soft, soft >= max_connections + FD_MARGIN


class QueueBound:
    """How many durable frames may wait for the store: ``lag`` seconds of the store's write
    rate measured over the last :attr:`SPAN` seconds, within ``[least, most]``.

    Why: a fixed count is seconds of backlog on a fast store and minutes on a slow (or busy)
    one; bounding the store's lag in time keeps every acknowledged frame at most a few seconds
    from the store, and the backlog left when the devices stop drains within that time
    (issue 12, Speed). ``least`` (two write batches) lets the front fill the next batch while
    the writer commits the current one.

    Parameters
    ----------
    lag : float
        [s] The store's lag allowed.
    least, most : int
        [frames] The bound's floor and ceiling.
    """

    SPAN = 5.0  # [s] of the writer's progress the rate is measured over

    def __init__(self, lag: float, least: int, most: int) -> None:
        self.lag, self.least, self.most = lag, min(least, most), most
        self.points: collections.deque[tuple[float, int]] = collections.deque()
        self.frames = self.least

    def progress(self, written_seq: int, now: float) -> None:
        """The store holds every record up to ``written_seq`` at ``now`` [s, monotonic]."""
        points = self.points
        points.append((now, written_seq))
        while len(points) > 2 and now - points[0][0] > self.SPAN:
            points.popleft()
        (t0, first), (t1, last) = points[0], points[-1]
        rate = (last - first) / (t1 - t0) if t1 > t0 else 0.0  # [frames/s]
        self.frames = max(self.least, min(self.most, int(rate * self.lag)))


class _Front:
    """The front process's state: listening socket, sessions, raw log, link to the parent."""

    def __init__(self, setup: dict[str, Any], listener: socket.socket, control: Connection):
        self.setup, self.listener, self.control = setup, listener, control
        self.idle_timeout: float = setup["idle_timeout"]
        self.max_connections: int = setup["max_connections"]
        self.queue_bound = QueueBound(
            setup["max_lag"], setup.get("min_queued", 10_000), setup["max_queued"]
        )
        self.lenient: bool = setup["lenient"]
        self.window = DataTimeWindow(
            datetime.fromisoformat(setup["datatime_earliest"]),
            timedelta(seconds=setup["datatime_ahead"]),
        )
        self.max_frame_errors: int = setup["max_frame_errors"]
        self.max_unframed_bytes: int = setup["max_unframed_bytes"]
        self.sampler = RejectSampler(setup["reject_samples"], setup["reject_window"])
        self.reserve_fd = -1  # kept free to refuse a connection cleanly at the open-file limit
        self.fd_limit_grace = False  # at the open-file limit, waiting for closing sessions
        self.last_refusal_log = -math.inf
        self.refused_since_log = 0
        self.devices = _devices(setup["devices"])
        self.written_seq: int = setup["written_seq"]
        self.stats = GatewayStats()
        self.outbound: queue.Queue[tuple[Any, ...] | None] = queue.Queue()
        self.parent_gone = False
        self.stopping = asyncio.Event()
        self.opening: set[asyncio.Task[None]] = set()  # accepted sockets becoming sessions
        self.sessions: set[_Session] = set()
        self.commit: GroupCommit | None = None
        self.broker: FrontBroker | None = None
        self.fast = FastDecider(self.window)
        self.reading_paused = False  # back-pressure: the store is behind
        self.next_sweep = 0.0
        self.sent_stats: dict[str, Any] = {}
        self.snapshot_at = -math.inf

    # -- link to the parent -------------------------------------------------------------------
    def send(self, *message: Any) -> None:
        self.outbound.put(message)

    def snapshot(self) -> dict[str, Any]:
        stats = asdict(self.stats)
        self.sent_stats = stats
        self.snapshot_at = time.monotonic()
        return stats

    def snapshot_due(self) -> dict[str, Any] | None:
        """The counters for a message of records, at most every :data:`STATS_EVERY` [s] (a
        copy costs tens of µs and group commits come by the hundred per second; the ticker
        and every echo send them too)."""
        if time.monotonic() - self.snapshot_at < STATS_EVERY:
            return None
        return self.snapshot()

    def _sender(self) -> None:
        """Thread: send queued messages in order (a full pipe never blocks the event loop)."""
        while (message := self.outbound.get()) is not None:
            try:
                send_message(self.control, message)
            except OSError:
                self.parent_gone = True
                return

    def _receiver(self, loop: asyncio.AbstractEventLoop) -> None:
        """Thread: read the parent's messages and hand them to the event loop in order.

        A thread, not ``loop.add_reader``: libuv makes a descriptor it polls non-blocking, and
        the sender thread's blocking sends on the same socket then failed with EAGAIN as soon
        as the parent was busy writing to the store and the socket's buffer filled.
        """
        try:
            while True:
                loop.call_soon_threadsafe(self._handle, self.control.recv())
        except (EOFError, OSError):  # the parent is gone: stop at once
            with contextlib.suppress(RuntimeError):  # the loop is closed: stopped already
                loop.call_soon_threadsafe(self._parent_lost)
        except RuntimeError:  # a message after the loop closed: the front has stopped
            return

    def _parent_lost(self) -> None:
        self.parent_gone = True
        self.stopping.set()

    def _handle(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "written":
            self.written_seq = max(self.written_seq, message[1])
            self.queue_bound.progress(self.written_seq, time.monotonic())
            if self.reading_paused and self.backlog <= self.queue_bound.frames:
                self._resume_reading()
        elif kind == "devices":
            self.devices = _devices(message[2])
            if self.broker is not None:  # share the store's registry, keep the bucket's
                self.broker.share(broker_entries(message[2], message[3]))
                self.devices = {**_devices_of_bucket(self.broker.known), **self.devices}
            self.fast.clear()
            self.send("echo", ("reloaded", message[1]), self.snapshot())
        elif kind == "echo":
            self.send("echo", message[1], self.snapshot())
        elif kind == "stop":
            self.stopping.set()

    # -- main ---------------------------------------------------------------------------------
    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        sender = threading.Thread(target=self._sender, name="front-sender", daemon=True)
        sender.start()
        setup = self.setup
        raw_log = RawLog.open(
            Path(setup["raw_log"]), setup["segment_bytes"], setup["segment_max_age"]
        )
        persister: RawLogPersister | BrokerPersister
        persister = RawLogPersister(raw_log, setup["fsync"], setup["fsync_interval"])
        if setup.get("broker"):  # --broker: durable once the broker acknowledged (issue 20)
            self.broker = self._start_broker(setup["broker"])
            persister = BrokerPersister(persister, self.broker)
        commit = GroupCommit(
            persister, raw_log.last_seq, self._durable, self._persist_failed, self._persist_ok
        )
        self.commit = commit
        commit.task = asyncio.create_task(commit.run())
        self.listener.setblocking(False)
        self.reserve_fd = os.open(os.devnull, os.O_RDONLY)
        loop.add_reader(self.listener.fileno(), self._accept)
        receiver = threading.Thread(
            target=self._receiver, args=(loop,), name="front-receiver", daemon=True
        )
        receiver.start()
        self.send("ready", self.listener.getsockname()[1])
        ticker = asyncio.create_task(self._tick())
        await self.stopping.wait()
        ticker.cancel()
        loop.remove_reader(self.listener.fileno())
        self.listener.close()
        for task in list(self.opening):
            task.cancel()
        await asyncio.gather(*self.opening, return_exceptions=True)
        for session in list(self.sessions):
            session.transport.abort()  # connection_lost follows in the next loop turns
        for _ in range(STOP_TURNS):  # connection_lost comes a loop turn after abort
            if not self.sessions:
                break
            await asyncio.sleep(0.01)
        await commit.close()
        if self.broker is not None:
            await self.broker.close()
        persister.close()
        self.summarise(math.inf)  # the problems left out so far, before the last counters
        self.send("stopped", self.snapshot())
        self.outbound.put(None)
        await loop.run_in_executor(None, sender.join)

    def _start_broker(self, config: dict[str, Any]) -> FrontBroker:
        """Connect to the broker (in the background) and share and watch the registry."""

        def learn(mn: str, entry: dict[str, Any]) -> None:
            self.devices[mn] = _devices_of_bucket({mn: entry})[mn]
            self.fast.clear()

        extra = config["extra"]
        cities = {mn: more.get("city") for mn, more in extra.items()}
        broker = FrontBroker(
            config["url"],
            cities,
            learn,
            self.stats,
            int(config["replicas"]),
            credentials=config.get("credentials"),
            tls=config.get("tls"),
        )
        broker.start(broker_entries(self.setup["devices"], extra))
        return broker

    async def _tick(self) -> None:
        """Send the counters when they changed (connections open, refusals …) and the
        summaries of problems left out per address; close idle connections."""
        while True:
            await asyncio.sleep(STATS_EVERY)
            now = time.monotonic()
            self.summarise(now)
            if now >= self.next_sweep:
                self._sweep_idle(now)
            if asdict(self.stats) != self.sent_stats:
                self.send("stats", self.snapshot())

    def _sweep_idle(self, now: float) -> None:
        """Close the connections that completed no frame for ``idle_timeout`` (one sweep for
        all of them instead of a timer per read); not while reading is paused for the store."""
        self.next_sweep = now + min(self.idle_timeout / 4, 5.0)
        if self.reading_paused:
            return
        for session in list(self.sessions):
            if now - session.last_frame >= self.idle_timeout:
                session.idle()

    # -- durability (the persist seam, ecobasin.gateway.commit) -------------------------------
    def _durable(self, records: bytes) -> None:
        """A group is durable: hand its records to the writer, before any of its acks; past
        the queue bound (:class:`QueueBound`), stop reading from the devices (back-pressure)."""
        self.send("records", records, self.snapshot_due())
        if not self.reading_paused and self.backlog > self.queue_bound.frames:
            self.reading_paused = True
            for session in self.sessions:
                session.transport.pause_reading()

    def _resume_reading(self) -> None:
        self.reading_paused = False
        now = time.monotonic()
        for session in self.sessions:
            session.last_frame = now  # the pause was ours: the idle time starts again
            if not session.write_paused:
                session.transport.resume_reading()

    def _persist_failed(self, error: OSError) -> None:
        """A group could not be made durable: raise the alarm; none of it is acknowledged."""
        if isinstance(error, BrokerDown):
            return  # the broker link keeps its own counters and alarm (broker_unreachable)
        if not self.stats.raw_log_unwritable:
            log.error(
                "raw_log_unwritable: raw-log write failed (%s); no acks until it works", error
            )
        self.stats.raw_log_errors += 1
        self.stats.raw_log_unwritable = True

    def _persist_ok(self, first: int) -> None:
        if self.stats.raw_log_unwritable:
            log.warning("raw log writable again: acknowledging from record %d on", first)
        self.stats.raw_log_unwritable = False

    def summarise(self, now: float) -> None:
        """One ``too_many_problems`` record per address whose sampling window ended with
        problems left out (the counts by reason)."""
        events = []
        for host, left_out in self.sampler.due(now):
            counts = ", ".join(f"{code} ×{n}" for code, n in sorted(left_out.items()))
            events.append(
                (
                    f"{host} at {_stamp()} summary",
                    "too_many_problems",
                    f"{host}: {counts} more problems in {self.sampler.window:g} s not recorded "
                    "one by one",
                    counts,
                )
            )
        if events:
            self.send("rejects", events)

    # -- accepting ----------------------------------------------------------------------------
    def _accept(self) -> None:
        """Listener readable: accept a few connections (a flood of them cannot starve the
        sessions); past the cap or the open-file limit, close them at once, cleanly."""
        for _ in range(ACCEPTS_PER_TURN):
            try:
                sock, address = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:
                if error.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    self._at_fd_limit(error)
                    return
                if error.errno in (errno.ECONNABORTED, errno.EPROTO):
                    continue  # the client gave up before we accepted
                raise
            self.fd_limit_grace = False
            peer = f"{address[0]}:{address[1]}" if isinstance(address, tuple) else str(address)
            if self.stats.connections >= self.max_connections:
                self._refuse(sock, f"{self.stats.connections} connections open (--max-connections)")
                continue
            task = asyncio.create_task(self._open_session(sock, peer))
            self.opening.add(task)
            task.add_done_callback(self.opening.discard)
            self.stats.connections += 1  # now, so the cap holds within this turn too

    def _at_fd_limit(self, error: OSError) -> None:
        """Out of descriptors. The sessions whose peers hung up in this same turn of the event
        loop still hold theirs (a session closes its socket a few loop turns after reading the
        end of file), so first pause accepting for :data:`FD_LIMIT_GRACE` and try again; only
        if the limit still holds then are the waiting connections refused."""
        if not self.fd_limit_grace:
            self.fd_limit_grace = True
            self._pause_accepting(FD_LIMIT_GRACE)
            return
        self.fd_limit_grace = False  # the next time at the limit gets its grace again
        for _ in range(ACCEPTS_PER_TURN):
            if not self._refuse_at_fd_limit(error):
                return

    def _refuse_at_fd_limit(self, error: OSError) -> bool:
        """Free the reserve descriptor, accept and close one waiting connection (the client
        sees the close instead of a hang), take the reserve back. False when no connection was
        waiting or nothing could be freed (accepting then pauses briefly)."""
        if self.reserve_fd >= 0:
            os.close(self.reserve_fd)
            self.reserve_fd = -1
        try:
            sock, _ = self.listener.accept()
        except BlockingIOError:
            sock = None
            waiting = False
        except OSError:
            sock, waiting = None, True
        else:
            waiting = True
        if sock is not None:
            self._refuse(sock, f"open-file limit reached ({error.strerror})")
        with contextlib.suppress(OSError):
            self.reserve_fd = os.open(os.devnull, os.O_RDONLY)
        if waiting and (sock is None or self.reserve_fd < 0):  # nothing freed: pause briefly
            self._pause_accepting(0.05)
            return False
        return sock is not None

    def _pause_accepting(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        loop.remove_reader(self.listener.fileno())
        loop.call_later(seconds, self._resume_accepting)

    def _resume_accepting(self) -> None:
        if not self.stopping.is_set() and self.listener.fileno() >= 0:
            asyncio.get_running_loop().add_reader(self.listener.fileno(), self._accept)

    def _refuse(self, sock: socket.socket, why: str) -> None:
        """Close a connection at once (the client reads end of file) and count it; one log
        line per 10 s at most."""
        sock.close()
        self.stats.refused_connections += 1
        self.refused_since_log += 1
        now = time.monotonic()
        if now - self.last_refusal_log >= REFUSAL_LOG_EVERY:
            log.warning(
                "refused %d connection(s) in the last %g s: %s",
                self.refused_since_log,
                REFUSAL_LOG_EVERY,
                why,
            )
            self.last_refusal_log, self.refused_since_log = now, 0

    async def _open_session(self, sock: socket.socket, peer: str) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.connect_accepted_socket(lambda: _Session(self, peer), sock)
        except (OSError, asyncio.CancelledError):
            sock.close()
            self.stats.connections -= 1

    @property
    def backlog(self) -> int:
        """Durable records the store does not hold yet."""
        return 0 if self.commit is None else self.commit.durable_seq - self.written_seq


class _Session(asyncio.Protocol):
    """One device connection as protocol callbacks: bytes in → frames → head check → raw-log
    append → replies handed to the group commit, sent once the group is durable. No coroutine
    per read or per frame; budgets kept, problems recorded."""

    transport: asyncio.Transport

    def __init__(self, front: _Front, peer: str) -> None:
        self.front, self.peer = front, peer
        self.host = peer.rpartition(":")[0] or peer
        self.peer_bytes = peer.encode("utf-8")[:65535]
        self.framer = Framer()
        self.frames = 0
        self.problems = 0
        self.errors = 0  # framing errors since the last valid frame
        self.unframed = 0  # [bytes] read since the last valid frame
        self.last_frame = time.monotonic()  # [s] of the last valid frame (idle sweep)
        self.write_paused = False  # the device does not read its replies fast enough
        self.closed = False

    # -- asyncio.Protocol -----------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass of it
        front = self.front
        front.sessions.add(self)
        front.stats.connections_total += 1
        if front.reading_paused:
            self.transport.pause_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.finish()
        front = self.front
        front.sessions.discard(self)
        front.stats.connections -= 1

    def pause_writing(self) -> None:
        """The peer does not read its replies: stop reading from it until it does."""
        self.write_paused = True
        self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.write_paused = False
        if not self.front.reading_paused:
            self.transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        segment = self.framer.whole_segment(data)
        if segment is not None and self._usual_frame(data, segment):
            return
        self._frames_of(data)

    def _usual_frame(self, frame: bytes, segment: bytes) -> bool:
        """A read that is exactly one usual frame (:meth:`Framer.whole_segment`) whose head
        the fast path decides (:class:`FastDecider`): logged and its reply handed to the group
        commit here, as :meth:`_frames_of` would, without a :class:`Frame`, a list of items
        and a join per read. False (nothing done) when the fast path cannot decide it."""
        front = self.front
        micros = time.time_ns() // 1000
        reply = front.fast.reply(segment, micros)
        if isinstance(reply, Slow):
            return False
        commit = front.commit
        assert commit is not None
        stats = front.stats
        stats.frames += 1
        self.frames += 1
        commit.append(self.peer_bytes, frame, micros)
        stats.logged += 1
        self.errors = self.unframed = 0
        self.last_frame = time.monotonic()
        if reply is not None:
            commit.ack(self, reply, 1)
        if self.over_budget():
            self.transport.abort()
        return True

    def _frames_of(self, data: bytes) -> None:
        """Any read: frames and errors through the framer, each frame checked and logged,
        the replies of the read handed to the group commit together."""
        front = self.front
        micros = time.time_ns() // 1000
        replies: list[bytes] = []
        framed = False
        self.unframed += len(data)
        errors_left = max(front.max_frame_errors - self.errors, 1)
        for item in self.framer.feed(data, max_errors=errors_left):
            if isinstance(item, FrameError):
                item = self._maybe_other_crc(item)
            if isinstance(item, FrameError):
                self.errors += 1
                self.reject(reason_code(item), item.reason, _text(item.raw))
                continue
            self.errors = self.unframed = 0
            framed = True
            reply = self.frame(item, micros)
            if reply is not None:
                replies.append(reply)
        if framed:
            self.last_frame = time.monotonic()
        if replies:
            assert front.commit is not None
            front.commit.ack(self, b"".join(replies), len(replies))
        if self.over_budget():
            self.transport.abort()

    # -- the group commit's side ----------------------------------------------------------------
    def deliver(self, replies: bytes, count: int) -> None:
        """The group holding these frames is durable: send their replies."""
        if self.closed or self.transport.is_closing():
            return
        self.transport.write(replies)
        self.front.stats.acked += count

    def idle(self) -> None:
        """No complete frame for ``idle_timeout``: record it and close."""
        front = self.front
        front.stats.idle_closed += 1
        self.reject(
            "idle_timeout",
            f"no complete frame for {front.idle_timeout:g} s; connection closed",
            f"{self.framer.pending} bytes pending",
        )
        self.transport.abort()

    def over_budget(self) -> bool:
        """Whether the connection spent its budget (HJ 212-2017 §6.3.1 frames only; a peer
        that sends none is not a device): too many framing errors or too many bytes since the
        last valid frame. It is then closed, with one rejected record saying why."""
        front = self.front
        if self.errors < front.max_frame_errors and self.unframed <= front.max_unframed_bytes:
            return False
        front.stats.budget_closed += 1
        self.reject(
            "connection_budget",
            f"connection from {self.peer} closed: {self.errors} framing errors and "
            f"{self.unframed} bytes since the last valid frame (limits {front.max_frame_errors} "
            f"errors, {front.max_unframed_bytes} bytes)",
            f"{self.framer.pending} bytes pending",
        )
        return True

    def _maybe_other_crc(self, error: FrameError) -> Frame | FrameError:
        """A CRC mismatch may be a device configured for a Modbus CRC (hj212 brief §3.3)."""
        if not isinstance(error, CrcMismatch) or len(error.raw) < 12:
            return error
        raw = error.raw
        device = self.front.devices.get(read_head(raw[6:-6]).mn or "")
        if device is None or device.crc_mode is CrcMode.HJ212:
            return error
        try:
            crc = check_crc(raw[6:-6], raw[-6:-2], raw, device.crc_mode)
        except FrameError:
            return error
        self.front.stats.nonstandard_crc += 1
        return Frame(segment=raw[6:-6], crc=crc, raw=raw)

    def frame(self, frame: Frame, micros: int) -> bytes | None:
        """Check one frame's head; log it; return its reply (None: silence), to be sent once
        the frame's group is durable. The usual frame is decided on its bytes
        (:class:`FastDecider`); the others, and the first of each head, by :func:`decide`."""
        front = self.front
        stats = front.stats
        stats.frames += 1
        self.frames += 1
        fast = front.fast.reply(frame.segment, micros)
        if not isinstance(fast, Slow):
            assert front.commit is not None
            front.commit.append(self.peer_bytes, frame.raw, micros)
            stats.logged += 1
            return fast
        return self._decide_slowly(frame, micros)

    def _decide_slowly(self, frame: Frame, micros: int) -> bytes | None:
        """:meth:`frame` through the full head read and :func:`decide` (which the fast path
        then remembers when it accepted)."""
        front = self.front
        stats = front.stats
        head = read_head(frame.segment)
        received_at = datetime.fromtimestamp(micros / 1e6, UTC)
        decision = decide(
            head,
            front.devices.get(head.mn or ""),
            data_time_of(frame.segment),
            received_at,
            front.window,
            peer=self.peer,
        )
        if decision.code == "malformed":  # rare: read the whole segment to name every problem
            message = read_segment(frame.segment, lenient=front.lenient)
            problems = "; ".join(p.reason for p in message.problems)
            code = reason_code(message.problems[0]) if message.problems else "malformed_segment"
            self.reject(code, problems, _text(frame.raw), head)
            return None
        if not decision.logged:  # refused: a device unknown, disabled or with a wrong PW
            stats.refused += 1
            self.reject(decision.code, decision.reason, _text(frame.raw), head)
            return None
        assert front.commit is not None
        if decision.code == "implausible_datatime":  # logged, marked refused, no reply (§6.5)
            stats.refused += 1
            front.commit.append(self.peer_bytes, frame.raw, micros, "implausible_datatime")
            return None
        front.fast.learn(frame.segment, decision)
        front.commit.append(self.peer_bytes, frame.raw, micros)
        stats.logged += 1
        return decision.reply

    def reject(self, code: str, reason: str, raw: str, head: Message | None = None) -> None:
        """Record a problem: always counted; written to ``rejected`` as a sample per address
        (:class:`RejectSampler`), so one client cannot flood the store."""
        self.problems += 1
        front = self.front
        front.stats.count(code)
        if not front.sampler.admit(self.host, code, time.monotonic()):
            front.stats.unsampled += 1
            return
        ref = f"{self.peer} at {_stamp()} #{self.problems}"
        if head is not None:
            ref += f" MN={head.mn} QN={head.qn or '-'}"
        front.send("rejects", [(ref, code, reason, raw[:2048])])

    def finish(self) -> None:
        """End of the connection: a partial frame left is a truncated frame."""
        for error in self.framer.close():
            self.reject(reason_code(error), error.reason, _text(error.raw))


def send_message(connection: Connection, message: Any) -> None:
    """``connection.send(message)`` in one system call: the bytes
    :class:`~multiprocessing.connection.Connection` writes (the pickle after its length, a
    4-byte big-endian int), as one ``writev`` instead of its two writes for a message over
    16 kB, so the parent's ``recv`` reads them unchanged. Why: a group's records are such a
    message, and each write is a system call and a release of the GIL (issue 12, tenth pass).
    Messages of 2 GiB or more (and every message where there is no ``writev``) go through
    ``connection.send``."""
    payload = ForkingPickler.dumps(message)
    if len(payload) > 0x7FFFFFFF or not hasattr(os, "writev"):  # huge, or Windows
        connection.send(message)
        return
    fd = connection.fileno()
    parts = [memoryview(_LENGTH.pack(len(payload))), memoryview(payload)]
    while parts:
        written = os.writev(fd, parts)
        while written:  # a partial write: drop what went out, write the rest
            if written >= len(parts[0]):
                written -= len(parts.pop(0))
            else:
                parts[0], written = parts[0][written:], 0


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def _devices(table: dict[str, tuple[str, bool, str]]) -> dict[str, FrontDevice]:
    return {
        mn: FrontDevice(password, enabled, CrcMode(crc))
        for mn, (password, enabled, crc) in table.items()
    }


def broker_entries(
    table: dict[str, tuple[str, bool, str]], extra: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """The registry as the broker's device bucket holds it (MN → entry; ``extra``: the city,
    site, protocol and interval of each MN, from the gateway's store)."""
    return {
        mn: device_entry(password, enabled, crc, **extra.get(mn, {}))
        for mn, (password, enabled, crc) in table.items()
    }


def _devices_of_bucket(entries: dict[str, dict[str, Any]]) -> dict[str, FrontDevice]:
    """The device-check hook of bucket entries: the PW is compared by its salted hash (the
    bucket holds no PW in clear; an entry without a hash accepts no PW)."""
    return {
        mn: FrontDevice(
            PasswordHash(e.get("password_sha256") or ""),
            bool(e["enabled"]),
            CrcMode(e["crc_mode"]),
        )
        for mn, e in entries.items()
    }


def _die_with_parent(parent_pid: int) -> None:
    """Be killed when the parent dies, even by SIGKILL (Linux ``prctl``)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # it died before prctl took effect
        os._exit(1)


def run_event_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run ``main`` on uvloop (libuv; a dependency, uvicorn's loop) where it exists, else on
    asyncio's own loop. Why: the front's own work per frame is small, so the event loop's
    socket reads and writes were the largest share of its CPU (py-spy, docs/gateway-scaling.md,
    fifth pass); uvloop does them in C."""
    try:
        import uvloop
    except ImportError:  # Windows: asyncio's loop
        asyncio.run(main)
        return
    uvloop.run(main)


def main(argv: list[str]) -> int:
    """Entry point of the front process: ``LISTEN_FD CONTROL_FD PARENT_PID``."""
    listen_fd, control_fd, parent_pid = (int(a) for a in argv)
    _die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C reaches the parent, which stops us
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past RLIMIT_FSIZE a write fails (EFBIG)
    logging.basicConfig(level=logging.WARNING, format="gateway front: %(message)s")
    control = Connection(control_fd)
    listener = socket.socket(fileno=listen_fd)
    try:
        kind, setup = control.recv()
        assert kind == "setup"
        run_event_loop(_Front(setup, listener, control).run())
    except (EOFError, OSError) as error:
        with_parent = not isinstance(error, EOFError)
        if with_parent:
            with contextlib.suppress(OSError):
                control.send(("error", f"{type(error).__name__}: {error}"))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
