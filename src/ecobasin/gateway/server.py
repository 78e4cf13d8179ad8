"""The HJ 212 acquisition gateway: an asyncio TCP server for many device connections.

Per connection: a :class:`~ecobasin.ingest.hj212.Framer`; per frame: parse the data segment,
check the device (MN registered and enabled, PW right), append the exact frame to the raw log,
and reply (9014 when the upload's Flag asks for an ack, 9013 to a 1013 notification; silence
on framing and CRC errors, HJ 212-2017 §6.3.1, §6.5) only once the record is durable under the
fsync policy (group commit: the frames arriving during one fsync make the next batch).

Durable records go to a writer thread with its own store view (:class:`StoreWriter`): the
event loop never calls DuckDB.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ecobasin.gateway.devices import Device
from ecobasin.gateway.rawlog import SEGMENT_BYTES, RawLog, RawRecord, encode_record, read_records
from ecobasin.gateway.writer import AfterWrite, RejectEvent, StoreWriter, WriteReport, reason_code
from ecobasin.ingest.hj212 import (
    CrcMismatch,
    CrcMode,
    Frame,
    FrameError,
    Framer,
    Message,
    read_segment,
    reply_for,
)
from ecobasin.ingest.hj212.framer import check_crc
from ecobasin.store import Store

__all__ = ["FSYNC_POLICIES", "Gateway", "GatewayConfig", "GatewayStats"]

log = logging.getLogger(__name__)

FSYNC_POLICIES = ("batch", "interval", "off")
#: Detailed rejected records per connection; past it, problems are only counted (a flood of
#: garbage must not flood the store), and one summary record is written when it closes.
REJECTS_PER_CONNECTION = 100
READ_SIZE = 64 * 1024


@dataclass(frozen=True)
class GatewayConfig:
    """How the gateway listens, logs and writes.

    Attributes
    ----------
    host, port : str, int
        Where to listen (port 0: any free port, for tests).
    raw_log : Path
        Directory of raw-log segment files.
    fsync : str
        ``batch``: fsync before acknowledging (group commit); ``interval``: acknowledge once
        written to the OS, fsync every ``fsync_interval`` [s]; ``off``: never fsync.
    max_connections : int
        Connections beyond this are refused (closed at once).
    idle_timeout : float
        [s] A connection that completes no frame for this long is closed (idle, or a slow
        sender trickling bytes).
    write_batch : int
        Frames per store write at most.
    write_delay : float
        [s] Longest wait for a store write to fill.
    max_queued : int
        Durable frames waiting for the store at most; past it acknowledgements wait
        (back-pressure on the devices, memory stays bounded).
    segment_bytes : int
        Raw-log segment size [bytes] before a new file is started.
    fsync_interval : float
        [s] fsync period under ``interval``.
    lenient : bool
        Accept a 17-digit DataTime (truncated to 14 digits) instead of rejecting it.
    """

    host: str = "127.0.0.1"
    port: int = 9212
    raw_log: Path = Path("ecobasin.duckdb.rawlog")
    fsync: str = "batch"
    max_connections: int = 10_000
    idle_timeout: float = 300.0
    write_batch: int = 5_000
    write_delay: float = 0.2
    max_queued: int = 100_000
    segment_bytes: int = SEGMENT_BYTES
    fsync_interval: float = 1.0
    lenient: bool = False

    def __post_init__(self) -> None:
        if self.fsync not in FSYNC_POLICIES:
            raise ValueError(f"fsync={self.fsync!r}: use one of {', '.join(FSYNC_POLICIES)}")


@dataclass
class GatewayStats:
    """Counters since start (read them any time; written by the loop and the writer thread)."""

    connections: int = 0  # open now
    connections_total: int = 0
    refused_connections: int = 0  # over the connection cap
    idle_closed: int = 0
    frames: int = 0  # well-framed frames received
    acked: int = 0  # replies sent (9014 / 9013)
    logged: int = 0  # frames appended to the raw log
    stored: int = 0  # data messages stored (first sends)
    observations: int = 0  # observation rows written
    duplicates: int = 0
    rejected: int = 0  # rejected records (bad frames, values, devices)
    refused: int = 0  # frames of unknown / disabled devices or with a wrong password
    nonstandard_crc: int = 0  # frames accepted under a device's Modbus CRC mode
    write_errors: int = 0
    recovered: int = 0  # raw-log records written to the store at start
    reasons: dict[str, int] = field(default_factory=dict)

    def count(self, code: str, n: int = 1) -> None:
        self.reasons[code] = self.reasons.get(code, 0) + n
        self.rejected += n


class _GroupCommit:
    """Raw-log appends with group commit: records added while one fsync runs form the next.

    ``append`` (event loop) encodes a record and returns the future of its batch; the batch
    future is resolved once the records are durable (or written, under ``interval``/``off``),
    and the records are then handed to ``durable``.
    """

    def __init__(
        self,
        raw_log: RawLog,
        policy: str,
        interval: float,
        durable: Callable[[list[RawRecord]], None],
    ) -> None:
        self.raw_log, self.policy, self.interval = raw_log, policy, interval
        self.durable = durable
        self.buffer = bytearray()
        self.records: list[RawRecord] = []
        self.future: asyncio.Future[None] | None = None
        self.wake = asyncio.Event()
        self.seq = raw_log.last_seq
        self.last_sync = time.monotonic()
        self.closing = False
        self.task: asyncio.Task[None] | None = None

    def append(self, peer: str, frame: bytes, received_at: datetime) -> asyncio.Future[None]:
        self.seq += 1
        self.buffer += encode_record(self.seq, received_at, peer, frame)
        self.records.append(RawRecord(self.seq, received_at, peer, frame))
        if self.future is None:
            self.future = asyncio.get_running_loop().create_future()
            self.wake.set()
        return self.future

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self.wake.wait()
            self.wake.clear()
            if self.future is None:
                if self.closing:
                    return
                continue
            data, records, future = bytes(self.buffer), self.records, self.future
            self.buffer, self.records, self.future = bytearray(), [], None
            try:
                await loop.run_in_executor(None, self._write, data, records[0].seq, records[-1].seq)
            except OSError as error:  # disk full, I/O error: nothing is acknowledged
                log.error("raw log write failed: %s", error)
                future.set_exception(error)
                continue
            future.set_result(None)
            self.durable(records)
            if self.future is not None:
                self.wake.set()

    def _write(self, data: bytes, first: int, last: int) -> None:
        self.raw_log.write(data, first, last)
        now = time.monotonic()
        if self.policy == "batch" or (
            self.policy == "interval" and now - self.last_sync >= self.interval
        ):
            self.raw_log.sync()
            self.last_sync = now

    async def close(self) -> None:
        self.closing = True
        self.wake.set()
        if self.task is not None:
            await self.task


class Gateway:
    """The HJ 212 gateway server.

    Parameters
    ----------
    store : Store
        The store (the writer thread uses its own view, ``store.reader()``).
    config : GatewayConfig
        Where to listen and how to log.
    after_write : callable, optional
        ``after_write(store_view, site_ids, start, end)``, called in the writer thread after
        each committed write that stored observations.

    Examples
    --------
    >>> gateway = Gateway(store, GatewayConfig(port=0, raw_log=tmp / "raw"))  # doctest: +SKIP
    >>> port = await gateway.start()  # doctest: +SKIP
    >>> await gateway.stop()  # doctest: +SKIP
    """

    def __init__(
        self, store: Store, config: GatewayConfig, *, after_write: AfterWrite | None = None
    ) -> None:
        self.store, self.config, self.after_write = store, config, after_write
        self._stats = GatewayStats()
        self._devices: dict[str, Device] = {}
        self._server: asyncio.Server | None = None
        self._raw_log: RawLog | None = None
        self._commit: _GroupCommit | None = None
        self._queue: queue.Queue[tuple[str, object]] = queue.Queue()
        self._enqueued = 0  # records handed to the writer (event loop only)
        self._written = 0  # records the writer has finished (writer thread only)
        self._thread: threading.Thread | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._stopped = asyncio.Event()
        self._port = 0

    @property
    def stats(self) -> GatewayStats:
        """Counters: connections, frames, acked, stored, duplicates, rejected, refused, …"""
        return self._stats

    @property
    def port(self) -> int:
        """The port it listens on (after :meth:`start`)."""
        return self._port

    @property
    def log_id(self) -> str:
        """The raw log's id."""
        return self._raw_log.log_id if self._raw_log else ""

    # -- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> int:
        """Open the raw log, write its tail past the store's checkpoint into the store, then
        listen. Returns the bound port."""
        self._raw_log = RawLog.open(self.config.raw_log, self.config.segment_bytes)
        ready: Future[dict[str, Device]] = Future()
        self._thread = threading.Thread(
            target=self._writer_main, args=(ready,), name="gateway-writer", daemon=True
        )
        self._thread.start()
        self._devices = await asyncio.wrap_future(ready)
        self._commit = _GroupCommit(
            self._raw_log, self.config.fsync, self.config.fsync_interval, self._to_writer
        )
        self._commit.task = asyncio.create_task(self._commit.run())
        self._server = await asyncio.start_server(
            self._connection, self.config.host, self.config.port, limit=READ_SIZE, backlog=1024
        )
        self._port = int(self._server.sockets[0].getsockname()[1])
        log.info("HJ 212 gateway listening on %s:%d", self.config.host, self._port)
        return self._port

    async def serve_forever(self) -> None:
        """Serve until :meth:`stop` is called."""
        if self._server is None:
            await self.start()
        await self._stopped.wait()

    async def stop(self) -> None:
        """Stop accepting, close connections, flush the raw log and the store, close."""
        if self._server is not None:
            self._server.close()
            for task in list(self._connections):
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None
        if self._commit is not None:
            await self._commit.close()
            self._commit = None
        if self._thread is not None:
            self._queue.put(("stop", None))
            await asyncio.get_running_loop().run_in_executor(None, self._thread.join)
            self._thread = None
        if self._raw_log is not None:
            self._raw_log.close()
            self._raw_log = None
        self._stopped.set()

    async def flush(self) -> None:
        """Wait until every frame acknowledged and every problem recorded so far is in the store."""
        done: Future[None] = Future()
        self._queue.put(("sync", done))
        await asyncio.wrap_future(done)

    async def reload_devices(self) -> dict[str, Device]:
        """Read the device registry again (in the writer thread) and use it for new frames."""
        done: Future[dict[str, Device]] = Future()
        self._queue.put(("reload", done))
        self._devices = await asyncio.wrap_future(done)
        return self._devices

    # -- writer thread ------------------------------------------------------------------------
    def _writer_main(self, ready: Future[dict[str, Device]]) -> None:
        assert self._raw_log is not None
        view = self.store.reader()
        try:
            writer = StoreWriter(
                view,
                self._raw_log.log_id,
                after_write=self.after_write,
                lenient=self.config.lenient,
            )
            self._stats.recovered = self._recover(writer)
        except BaseException as error:
            ready.set_exception(error)
            view.close()
            return
        ready.set_result(writer.devices)
        try:
            self._writer_loop(writer)
        finally:
            view.close()

    def _recover(self, writer: StoreWriter) -> int:
        """Write the raw-log records past the store's checkpoint (a crash's tail)."""
        assert self._raw_log is not None
        batch: list[RawRecord] = []
        total = 0
        for record in read_records(self._raw_log.directory, after=writer.checkpoint):
            batch.append(record)
            if len(batch) >= self.config.write_batch:
                self._account(writer.write(batch))
                total += len(batch)
                batch = []
        if batch:
            self._account(writer.write(batch))
            total += len(batch)
        if total:
            log.info("recovered %d raw-log records into the store", total)
        return total

    def _writer_loop(self, writer: StoreWriter) -> None:
        records: list[RawRecord] = []
        rejects: list[RejectEvent] = []
        deadline: float | None = None
        stopping = False
        while not stopping:
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                kind, item = self._queue.get(timeout=timeout)
            except queue.Empty:
                kind, item = "flush", None
            if kind == "records":
                assert isinstance(item, list)
                records.extend(item)
            elif kind == "reject":
                assert isinstance(item, RejectEvent)
                rejects.append(item)
            elif kind == "reload":
                assert isinstance(item, Future)
                self._write(writer, records, rejects)
                records, rejects = [], []
                item.set_result(writer.reload())
            elif kind == "sync":
                assert isinstance(item, Future)
                self._write(writer, records, rejects)
                records, rejects = [], []
                item.set_result(None)
            elif kind == "stop":
                stopping = True
            if deadline is None and (records or rejects):
                deadline = time.monotonic() + self.config.write_delay
            full = len(records) >= self.config.write_batch
            if full or stopping or kind == "flush" or (deadline and time.monotonic() >= deadline):
                self._write(writer, records, rejects)
                records, rejects, deadline = [], [], None

    def _write(
        self, writer: StoreWriter, records: list[RawRecord], rejects: list[RejectEvent]
    ) -> None:
        if not records and not rejects:
            return
        while True:
            try:
                report = writer.write(records, rejects)
                break
            except Exception:  # the store failed: the records stay in the raw log; retry
                self._stats.write_errors += 1
                log.exception("store write failed; retrying in 1 s")
                time.sleep(1.0)
        self._written += len(records)
        self._account(report)

    def _account(self, report: WriteReport) -> None:
        stats = self._stats
        stats.stored += report.messages
        stats.observations += report.observations
        stats.duplicates += report.duplicates
        for code, n in report.rejected.items():
            stats.count(code, n)

    def _to_writer(self, records: list[RawRecord]) -> None:
        self._enqueued += len(records)
        self._queue.put(("records", records))

    @property
    def backlog(self) -> int:
        """Durable records not yet in the store."""
        return self._enqueued - self._written

    # -- connections --------------------------------------------------------------------------
    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        stats = self._stats
        address = writer.get_extra_info("peername")
        peer = f"{address[0]}:{address[1]}" if isinstance(address, tuple) else str(address)
        if stats.connections >= self.config.max_connections:
            stats.refused_connections += 1
            log.warning("connection from %s refused: %d connections open", peer, stats.connections)
            writer.transport.abort()
            return
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        stats.connections += 1
        stats.connections_total += 1
        session = _Session(self, peer)
        try:
            await session.run(reader, writer)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            session.finish()
            stats.connections -= 1
            self._connections.discard(task)
            writer.transport.abort()

    def _reject_event(self, event: RejectEvent) -> None:
        self._queue.put(("reject", event))


class _Session:
    """One device connection: frames in, replies out, problems recorded."""

    def __init__(self, gateway: Gateway, peer: str) -> None:
        self.gateway, self.peer = gateway, peer
        self.framer = Framer()
        self.frames = 0
        self.problems = 0
        self.unreported: dict[str, int] = {}

    async def run(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        gateway = self.gateway
        idle = gateway.config.idle_timeout
        deadline = time.monotonic() + idle
        while True:
            remaining = deadline - time.monotonic()
            try:
                async with asyncio.timeout(max(remaining, 0.0)):
                    data = await reader.read(READ_SIZE)
            except TimeoutError:
                gateway.stats.idle_closed += 1
                self.reject(
                    "idle_timeout",
                    f"no complete frame for {idle:g} s; connection closed",
                    f"{self.framer.pending} bytes pending",
                )
                return
            if not data:
                return
            while gateway.backlog > gateway.config.max_queued:
                await asyncio.sleep(0.01)  # the store is behind: slow the devices down
            received_at = datetime.now(UTC)
            replies: list[bytes] = []
            pending: asyncio.Future[None] | None = None
            for item in self.framer.feed(data):
                if isinstance(item, FrameError):
                    item = self._maybe_other_crc(item)
                if isinstance(item, FrameError):
                    self.reject(reason_code(item), item.reason, _text(item.raw))
                    continue
                deadline = time.monotonic() + idle
                reply, future = self.frame(item, received_at)
                if future is not None:
                    pending = future
                if reply is not None:
                    replies.append(reply)
            if replies:
                if pending is not None:
                    await pending  # the records are durable: only now acknowledge
                writer.write(b"".join(replies))
                gateway.stats.acked += len(replies)
                async with asyncio.timeout(idle):
                    await writer.drain()
            elif pending is not None:
                await pending  # keep this connection's frames in order with the log

    def _maybe_other_crc(self, error: FrameError) -> Frame | FrameError:
        """A CRC mismatch may be a device configured for a Modbus CRC (hj212 brief §3.3)."""
        if not isinstance(error, CrcMismatch) or len(error.raw) < 12:
            return error
        raw = error.raw
        message = read_segment(raw[6:-6], lenient=self.gateway.config.lenient)
        device = self.gateway._devices.get(message.mn or "")
        if device is None or device.crc_mode is CrcMode.HJ212:
            return error
        try:
            crc = check_crc(raw[6:-6], raw[-6:-2], raw, device.crc_mode)
        except FrameError:
            return error
        self.gateway.stats.nonstandard_crc += 1
        return Frame(segment=raw[6:-6], crc=crc, raw=raw)

    def frame(
        self, frame: Frame, received_at: datetime
    ) -> tuple[bytes | None, asyncio.Future[None] | None]:
        """Check one frame; log it; return its reply (None: silence) and its log future."""
        gateway = self.gateway
        stats = gateway.stats
        stats.frames += 1
        self.frames += 1
        message = read_segment(frame.segment, lenient=gateway.config.lenient)
        refusal = self._refusal(message)
        if refusal is not None:
            stats.refused += 1
            self.reject(*refusal, _text(frame.raw), message)
            return None, None
        if not message.head_ok:
            problems = "; ".join(p.reason for p in message.problems)
            code = reason_code(message.problems[0]) if message.problems else "malformed_segment"
            self.reject(code, problems, _text(frame.raw), message)
            return None, None
        assert gateway._commit is not None
        future = gateway._commit.append(self.peer, frame.raw, received_at)
        stats.logged += 1
        return reply_for(message), future

    def _refusal(self, message: Message) -> tuple[str, str] | None:
        device = self.gateway._devices.get(message.mn or "")
        if device is None:
            return "unknown_device", f"device MN={message.mn} from {self.peer} is not registered"
        if not device.enabled:
            return "device_disabled", f"device MN={message.mn} from {self.peer} is disabled"
        if message.head.get("PW") != device.password:
            return "wrong_password", f"device MN={message.mn} from {self.peer}: wrong password PW"
        return None

    def reject(self, code: str, reason: str, raw: str, message: Message | None = None) -> None:
        """Record a problem: a rejected record (the first ones), always a count."""
        self.problems += 1
        if self.problems > REJECTS_PER_CONNECTION:
            self.unreported[code] = self.unreported.get(code, 0) + 1
            self.gateway.stats.count(code)
            return
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        ref = f"{self.peer} at {stamp} #{self.problems}"
        if message is not None:
            ref += f" MN={message.mn} QN={message.qn or '-'}"
        self.gateway._reject_event(RejectEvent(ref, code, reason, raw[:2048]))
        self.gateway.stats.count(code)

    def finish(self) -> None:
        """End of the connection: a partial frame left is a truncated frame; summarise."""
        for error in self.framer.close():
            self.reject(reason_code(error), error.reason, _text(error.raw))
        if self.unreported:
            counts = ", ".join(f"{code} ×{n}" for code, n in sorted(self.unreported.items()))
            stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            event = RejectEvent(
                f"{self.peer} at {stamp} summary",
                "too_many_problems",
                f"connection from {self.peer}: {counts} more problems not recorded one by one",
                counts,
            )
            self.gateway._reject_event(event)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def default_raw_log(db: Path) -> Path:
    """The raw-log directory next to a database file: ``<db>.rawlog/``."""
    return db.with_name(db.name + ".rawlog")
