"""The HJ 212 acquisition gateway: many device connections in a front process, the store here.

Two processes share the work, so the socket side and the store writer each have a core (one
Python process runs one thread at a time):

- the **front** (:mod:`ecobasin.gateway.front`, a child process): accepts connections, frames,
  checks the CRC (Appendix A) and the head (表3: device registered and enabled, PW right),
  appends the exact frame to the raw log, and replies (9014 when the upload's Flag asks for an
  ack, 9013 to a 1013 notification; silence on framing and CRC errors, HJ 212-2017 §6.3.1,
  §6.5) only once the record is durable under the fsync policy (group commit);
- the **writer** (a thread of this process, with its own store view): receives the durable
  records from the front in order and writes them with :class:`StoreWriter` — decode,
  deduplicate, reassemble, validate, store, and the raw-log checkpoint in the same transaction.

The store stays in this process (the web app reads it too). At start the raw log's tail past
the store's checkpoint (a crash's) is written before the front starts listening.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import ecobasin
from ecobasin.gateway.broker import BrokerCredentials, BrokerTls
from ecobasin.gateway.costs import WriteCosts
from ecobasin.gateway.datatime import DataTimeWindow
from ecobasin.gateway.devices import Device
from ecobasin.gateway.front import (
    FD_MARGIN,
    REJECT_SAMPLES,
    REJECT_WINDOW,
    GatewayStats,
    raise_open_file_limit,
)
from ecobasin.gateway.rawlog import (
    SEGMENT_BYTES,
    RawLog,
    RawRecord,
    ScanReport,
    decode_records,
    prune_segments,
    read_records,
)
from ecobasin.gateway.writer import (
    AfterWrite,
    RejectEvent,
    StoreWriter,
    WriteReport,
    settle_heap,
)
from ecobasin.store import Store
from ecobasin.store import gateway as sql

__all__ = ["FSYNC_POLICIES", "Gateway", "GatewayConfig", "GatewayStats", "write_due"]

log = logging.getLogger(__name__)

FSYNC_POLICIES = ("batch", "interval", "off")
#: Counters kept by the front process (the rest are the writer's; ``rejected`` and ``reasons``
#: add both).
FRONT_COUNTERS = (
    "connections",
    "connections_total",
    "refused_connections",
    "idle_closed",
    "budget_closed",
    "unsampled",
    "frames",
    "acked",
    "logged",
    "refused",
    "nonstandard_crc",
    "raw_log_errors",
    "raw_log_unwritable",
    "published",
    "broker_errors",
    "broker_unreachable",
    "broker_permission_denied",
)
#: Pseudo-messages of the writer loop: the write delay is over; the front is gone.
_DUE: tuple[Any, ...] = ("due",)
_GONE: tuple[Any, ...] = ("gone",)
#: [s] Longest wait for the front process to start or stop.
FRONT_PATIENCE = 60.0


class FrontError(RuntimeError):
    """The front process failed to start or ended unexpectedly."""


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
        Frames per store write; when the writer is behind (more frames already waiting in the
        pipe from the front when its last write ended) it gathers up to ``2 × write_batch``
        into one write, for at most ``write_delay``, so the fixed cost of a commit is shared by
        more frames (:func:`write_due`).
    write_delay : float
        [s] Longest wait for a store write to fill: a device's values are in the store at most
        this long (plus the write) after the ack. Each commit has a fixed cost (≈ 50–90 ms CPU
        under load: the statements, frames and commit), so commits of a few hundred frames
        made the writer, not the decode, the limit in the closed loop (issue 12, Speed,
        seventh pass); the acks do not wait for it.
    max_queued : int
        Durable frames waiting for the store at most, whatever the store's rate (memory stays
        bounded).
    max_lag : float
        [s] Back-pressure: the front reads no more from the devices (so acknowledges no more)
        while the frames waiting for the store are more than this many seconds of the store's
        measured write rate (at least ``2 × write_batch``, at most ``max_queued``), so the
        store never falls more than a few seconds behind the acks and its backlog drains
        within them (issue 12, Speed).
    segment_bytes : int
        Raw-log segment size [bytes] before a new file is started.
    fsync_interval : float
        [s] fsync period under ``interval``.
    lenient : bool
        Accept a 17-digit DataTime (truncated to 14 digits) instead of rejecting it.
    datatime_earliest : datetime
        No DataTime before this (naive, China Standard Time) is acknowledged.
    datatime_ahead : timedelta
        No DataTime later than the receive time plus this is acknowledged.
    segment_max_age : float or None
        [s] Start a new raw-log segment once the current one is this old (None: size only).
    retention : timedelta or None
        Stored raw-log segments whose last write is older than this are deleted (or moved to
        ``archive``); None keeps every segment.
    archive : Path or None
        Where retired segments go instead of being deleted.
    dedup_window : timedelta
        ``gateway_messages`` rows (the dedup keys) older than this are pruned.
    recent_keys : int
        Message keys the writer keeps in memory in front of ``gateway_messages`` (0: none):
        a key stored recently, or whose DataTime is after every stored one of its MN and CN,
        is decided without a join over the table (``writer.RecentKeys``; ~0.4 KB a key).
    maintain_every : float
        [s] Period of the retention and dedup pruning (also run at start).
    stop_patience : float
        [s] How long :meth:`Gateway.stop` waits for the writer to flush before leaving it
        (the records stay in the raw log; the next start writes them).
    max_frame_errors : int
        A connection with this many framing errors (garbage, bad length, CRC …, HJ 212-2017
        §6.3.1) since its last valid frame is closed.
    max_unframed_bytes : int
        [bytes] A connection that sends more than this since its last valid frame is closed
        (a maximal frame is 1 036 bytes, 表2).
    reject_samples : int
        Problems written to ``rejected`` one by one per peer address and ``reject_window``;
        the rest are counted and summarised (one record per address and window).
    reject_window : float
        [s] The window of ``reject_samples``.
    broker : str or None
        ``nats://host:port`` (comma-separated for a cluster): publish every accepted frame to
        the JetStream stream and acknowledge only after the broker's ack
        (:mod:`ecobasin.gateway.broker`); None: the raw log's fsync is the durability point.
    broker_replicas : int
        Copies of the stream and the device bucket when this gateway creates them (3 on a
        three-node cluster).
    broker_credentials : BrokerCredentials or None
        The gateway role's NATS user (:func:`ecobasin.gateway.broker.load_credentials`);
        None: anonymous (a server without users only).
    broker_tls : BrokerTls or None
        TLS to the broker (CA, optional client certificate); ``tls://`` URLs use the system's
        CAs without it.
    broker_store_locally : bool
        With ``broker``: also decode every frame into this gateway's own store (one machine
        whose dashboard reads that store, ``serve --gateway --broker``). False: the store
        writers behind the broker decode; this store gets the refusals and the raw log's
        checkpoint only (docs/gateway-scaling.md, "The gateway's own writer").
    """

    host: str = "127.0.0.1"
    port: int = 9212
    raw_log: Path = Path("ecobasin.duckdb.rawlog")
    fsync: str = "batch"
    max_connections: int = 10_000
    idle_timeout: float = 300.0
    write_batch: int = 5_000
    write_delay: float = 0.5
    max_queued: int = 100_000
    max_lag: float = 2.0
    segment_bytes: int = SEGMENT_BYTES
    fsync_interval: float = 1.0
    lenient: bool = False
    datatime_earliest: datetime = DataTimeWindow.earliest
    datatime_ahead: timedelta = DataTimeWindow.ahead
    segment_max_age: float | None = 86_400.0
    retention: timedelta | None = timedelta(days=30)
    archive: Path | None = None
    dedup_window: timedelta = timedelta(days=7)
    recent_keys: int = 200_000
    maintain_every: float = 3_600.0
    stop_patience: float = 6.0

    max_frame_errors: int = 16
    max_unframed_bytes: int = 16 * 1024
    reject_samples: int = REJECT_SAMPLES
    reject_window: float = REJECT_WINDOW
    broker: str | None = None
    broker_replicas: int = 1
    broker_credentials: BrokerCredentials | None = None
    broker_tls: BrokerTls | None = None
    broker_store_locally: bool = False

    @property
    def forward_only(self) -> bool:
        """Whether frames go to the broker only, decoded by the writers behind it."""
        return self.broker is not None and not self.broker_store_locally

    @property
    def datatime_window(self) -> DataTimeWindow:
        """The plausible DataTimes (front and writer)."""
        return DataTimeWindow(self.datatime_earliest, self.datatime_ahead)

    def __post_init__(self) -> None:
        if self.fsync not in FSYNC_POLICIES:
            raise ValueError(f"fsync={self.fsync!r}: use one of {', '.join(FSYNC_POLICIES)}")


class Gateway:
    """The HJ 212 gateway server (front process + writer thread; see the module docstring).

    Parameters
    ----------
    store : Store
        The store (the writer thread uses its own view, ``store.reader()``).
    config : GatewayConfig
        Where to listen and how to log.
    after_write : callable, optional
        ``after_write(store_view, site_ids, start, end)``, called in the writer thread after
        each committed write that stored observations.

    Notes
    -----
    ``stats`` are this process's counters plus the front's as of its last message (sent with
    every batch of records, at least every 0.25 s while they change, and with every
    :meth:`flush`). Call :meth:`start` from a thread that outlives the gateway (the front
    process is killed when the thread that started it ends, Linux ``PR_SET_PDEATHSIG``).

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
        self.costs = WriteCosts()  # the store writes' sizes and CPU by part (bench, status)
        self._front_reasons: dict[str, int] = {}
        self._writer_reasons: dict[str, int] = {}
        self._devices: dict[str, Device] = {}
        self._log_id = ""
        self._port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._control: Connection | None = None
        self._send_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._serve: Future[Connection] = Future()
        self._waiting: dict[int, Future[Any]] = {}
        self._tokens = itertools.count(1)
        self.open_files = 0  # the soft RLIMIT_NOFILE the front runs with
        self._received = 0  # last durable record received from the front (writer thread)
        self._written = 0  # last record in the store (writer thread)
        self._start_seq = 0  # the raw log's last record at start
        self._stopped = asyncio.Event()
        self._stopping = threading.Event()  # ends the writer's retry pauses
        self._view: Store | None = None  # the writer thread's store view
        self._next_maintenance = 0.0
        self._extra: dict[str, dict[str, Any]] = {}  # MN → city, site … (the broker's bucket)

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
        return self._log_id

    @property
    def backlog(self) -> int:
        """Durable records received from the front and not yet in the store."""
        return self._received - self._written

    # -- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> int:
        """Open the raw log (cutting a torn tail), write its tail past the store's checkpoint
        into the store, then start the front process listening. Returns the bound port.

        Raises
        ------
        OSError
            When the address cannot be bound.
        FrontError
            When the front process does not start.
        """
        raw_log = RawLog.open(
            self.config.raw_log, self.config.segment_bytes, self.config.segment_max_age
        )
        self._log_id, last_seq = raw_log.log_id, raw_log.last_seq
        self._start_seq = last_seq  # the raw log's end, for the writer thread's recovery
        raw_log.close()
        ready: Future[dict[str, Device]] = Future()
        self._serve = Future()
        self._thread = threading.Thread(
            target=self._writer_main, args=(ready,), name="gateway-writer", daemon=True
        )
        self._thread.start()
        try:
            self._devices = await asyncio.wrap_future(ready)
            self._received = self._written = self._stats.written = last_seq
            self._port = await self._start_front(last_seq)
        except BaseException as error:
            if not self._serve.done():
                self._serve.set_exception(error)
            await asyncio.get_running_loop().run_in_executor(None, self._thread.join)
            self._thread = None
            raise
        log.info("HJ 212 gateway listening on %s:%d", self.config.host, self._port)
        return self._port

    async def _start_front(self, last_seq: int) -> int:
        config = self.config
        self.open_files, enough = raise_open_file_limit(config.max_connections)
        log.info("open-file limit (RLIMIT_NOFILE) %d", self.open_files)
        if not enough:
            log.warning(
                "open-file limit %d is below --max-connections %d + %d: connections past it "
                "are refused (raise the hard limit: ulimit -Hn, LimitNOFILE=)",
                self.open_files,
                config.max_connections,
                FD_MARGIN,
            )
        listener = socket.create_server((config.host, config.port), backlog=1024)
        ours, theirs = socket.socketpair()
        try:
            path = os.pathsep.join(
                [
                    str(Path(ecobasin.__file__).resolve().parents[1]),
                    os.environ.get("PYTHONPATH", ""),
                ]
            )
            fds = (listener.fileno(), theirs.fileno())
            self._process = subprocess.Popen(
                [sys.executable, "-m", "ecobasin.gateway.front", *map(str, fds), str(os.getpid())],
                pass_fds=fds,
                env={**os.environ, "PYTHONPATH": path},
            )
        finally:
            listener.close()
            theirs.close()
        control = Connection(ours.detach())
        self._control = control
        setup = {
            "raw_log": str(config.raw_log),
            "segment_bytes": config.segment_bytes,
            "fsync": config.fsync,
            "fsync_interval": config.fsync_interval,
            "idle_timeout": config.idle_timeout,
            "max_connections": config.max_connections,
            "max_queued": config.max_queued,
            "max_lag": config.max_lag,
            "min_queued": 2 * config.write_batch,
            "lenient": config.lenient,
            "datatime_earliest": config.datatime_earliest.isoformat(),
            "datatime_ahead": config.datatime_ahead.total_seconds(),
            "segment_max_age": config.segment_max_age,
            "max_frame_errors": config.max_frame_errors,
            "max_unframed_bytes": config.max_unframed_bytes,
            "reject_samples": config.reject_samples,
            "reject_window": config.reject_window,
            "devices": _front_devices(self._devices),
            "written_seq": last_seq,
            "broker": None
            if config.broker is None
            else {
                "url": config.broker,
                "replicas": config.broker_replicas,
                "extra": self._extra,
                "credentials": config.broker_credentials,  # through the pipe, never argv
                "tls": config.broker_tls,
            },
        }
        loop = asyncio.get_running_loop()
        reply = await loop.run_in_executor(None, self._first_reply, setup)
        if reply[0] != "ready":
            await loop.run_in_executor(None, self._reap)
            raise FrontError(f"the gateway's front process did not start: {reply[1]}")
        self._serve.set_result(control)
        return int(reply[1])

    def _first_reply(self, setup: dict[str, Any]) -> tuple[Any, ...]:
        assert self._control is not None
        try:
            self._control.send(("setup", setup))
            if not self._control.poll(FRONT_PATIENCE):
                return ("error", f"no answer in {FRONT_PATIENCE:g} s")
            reply: tuple[Any, ...] = self._control.recv()
        except (EOFError, OSError) as error:
            return ("error", f"it exited ({error or 'end of file'})")
        return reply

    def _interrupt_writer(self) -> None:
        """Interrupt the writer's running store call (DuckDB ``interrupt``)."""
        view = self._view
        if view is not None:
            with contextlib.suppress(Exception):
                view.con.interrupt()

    def _reap(self, patience: float = FRONT_PATIENCE) -> None:
        """Wait for the front process to end (kill it past the patience [s])."""
        if self._process is None:
            return
        try:
            self._process.wait(patience)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    async def serve_forever(self) -> None:
        """Serve until :meth:`stop` is called."""
        if self._process is None:
            await self.start()
        await self._stopped.wait()

    async def stop(self) -> None:
        """Stop accepting, close connections, flush the raw log and the store, close.

        Bounded in every state: the writer gets ``stop_patience`` seconds to flush;
        a writer stuck past it (a hung store call or hook) is interrupted and left behind, its
        records staying in the raw log for the next start; the front is killed if it lingers.
        """
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + self.config.stop_patience
        if self._process is not None:
            with contextlib.suppress(FrontError):
                self._send(("stop",))
        if self._thread is not None:
            thread = self._thread
            await loop.run_in_executor(None, thread.join, self.config.stop_patience)
            self._stopping.set()
            if thread.is_alive():
                log.error(
                    "the store writer did not finish in %g s; stopping without it (the raw "
                    "log keeps its records: the next start writes them)",
                    self.config.stop_patience,
                )
                self._interrupt_writer()
            self._thread = None
        patience = max(1.0, deadline - time.monotonic())
        await loop.run_in_executor(None, self._reap, patience)
        if self._control is not None:
            self._control.close()
            self._control = None
        self._stopped.set()

    async def flush(self) -> None:
        """Wait until every frame acknowledged and every problem recorded so far is in the
        store (and ``stats`` count them)."""
        await self._ask("sync")

    async def reload_devices(self) -> dict[str, Device]:
        """Read the device registry again (in the writer thread) and use it for new frames."""
        self._devices = await self._ask("reload")
        return self._devices

    async def _ask(self, what: str) -> Any:
        """Send a request through the front (so it comes after everything sent before it)
        to the writer thread; wait for its answer."""
        token = next(self._tokens)
        done: Future[Any] = Future()
        self._waiting[token] = done
        self._send(("echo", (what, token)))
        return await asyncio.wrap_future(done)

    def _send(self, message: tuple[Any, ...]) -> None:
        control = self._control
        if control is None:
            raise FrontError("the gateway is not running")
        with self._send_lock:
            try:
                control.send(message)
            except OSError as error:
                raise FrontError(f"the gateway's front process is gone ({error})") from None

    # -- writer thread ------------------------------------------------------------------------
    def _writer_main(self, ready: Future[dict[str, Device]]) -> None:
        view = self.store.reader()
        self._view = view
        try:
            writer = StoreWriter(
                view,
                self._log_id,
                after_write=self.after_write,
                lenient=self.config.lenient,
                datatime_window=self.config.datatime_window,
                stopping=self._stopping,
                recent_keys=self.config.recent_keys,
                costs=self.costs,
            )
            self._stats.recovered = self._recover(writer, self._start_seq)
            self._maintain(writer)
            settle_heap()  # what lives now is not walked by every full collection again
        except BaseException as error:
            ready.set_exception(error)
            view.close()
            return
        self._extra = broker_extra(view)
        ready.set_result(writer.devices)
        try:
            control = self._serve.result()
        except BaseException:
            view.close()
            return
        try:
            self._writer_loop(writer, control)
        except Exception:  # the store is gone while stopping: the raw log keeps the records
            log.exception("store writer ended")
        finally:
            self._view = None
            with contextlib.suppress(Exception):
                view.close()
            for future in self._waiting.values():
                if not future.done():
                    future.set_exception(FrontError("the gateway stopped"))

    def _recover(self, writer: StoreWriter, last_seq: int) -> int:
        """Write the raw-log records past the store's checkpoint (a crash's tail); with the
        broker only the checkpoint moves to ``last_seq``: each of those records is in the
        broker or was not acknowledged (the device resends it), so none is decoded here."""
        if self.config.forward_only:
            if last_seq > writer.checkpoint:
                self._forwarded(writer, last_seq)
            return 0
        batch: list[RawRecord] = []
        total = 0
        scan = ScanReport()
        for record in read_records(self.config.raw_log, after=writer.checkpoint, report=scan):
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
        if scan.damaged:
            log.warning("raw log: %d damaged records skipped at start", scan.damaged)
        return total

    def _writer_loop(self, writer: StoreWriter, control: Connection) -> None:
        """Receive from the front and write: a full batch, ``write_delay`` after the first
        record waiting (once nothing more is waiting in the pipe, so a writer behind writes
        bigger batches: each commit has a fixed cost), or on a request (flush, reload, stop)."""
        records: list[RawRecord] = []
        rejects: list[RejectEvent] = []
        deadline: float | None = None
        behind = False  # records were already waiting when the last write ended
        while True:
            wake = self._next_maintenance if deadline is None else deadline
            timeout = max(0.0, wake - time.monotonic())
            try:
                message = control.recv() if control.poll(timeout) else _DUE
            except (EOFError, OSError):
                message = _GONE
            kind = message[0]
            if kind == "records":
                with self.costs.part("receive"):
                    records.extend(decode_records(message[1]))
                self._received = records[-1].seq
                if message[2] is not None:  # counters come at most every 0.25 s
                    self._front_stats(message[2])
            elif kind == "rejects":
                rejects.extend(RejectEvent(*event) for event in message[1])
            elif kind == "stats":
                self._front_stats(message[1])
            elif kind == "echo":
                self._front_stats(message[2])
                self._write(writer, records, rejects)
                records, rejects, deadline = [], [], None
                self._answer(writer, *message[1])
                continue
            elif kind in ("stopped", "gone"):
                if kind == "stopped":
                    self._front_stats(message[1])
                else:
                    log.error("the gateway's front process ended unexpectedly")
                self._write(writer, records, rejects)
                return
            if deadline is None and (records or rejects):
                deadline = time.monotonic() + self.config.write_delay
            due = deadline is not None and time.monotonic() >= deadline
            if self._write_due(records, due, control, behind):
                self._write(writer, records, rejects)
                records, rejects, deadline = [], [], None
                behind = _waiting(control)
            if time.monotonic() >= self._next_maintenance:
                self._maintain(writer)

    def _write_due(
        self, records: list[RawRecord], due: bool, control: Connection, behind: bool
    ) -> bool:
        """Whether to write now (:func:`write_due`; the pipe polled only when it matters)."""
        size, batch = len(records), self.config.write_batch
        if size >= 2 * batch or (size < batch and not due):
            return size >= 2 * batch
        return write_due(size, batch, due=due, waiting=_waiting(control), behind=behind)

    def _answer(self, writer: StoreWriter, what: str, token: int) -> None:
        if what == "reload":  # the front answers "reloaded" once it uses the new registry
            devices = _front_devices(writer.reload())
            self._extra = broker_extra(writer.store)
            self._send(("devices", token, devices, self._extra))
            return
        future = self._waiting.pop(token, None)
        if future is not None:
            future.set_result(writer.devices if what == "reloaded" else None)

    def _write(
        self, writer: StoreWriter, records: list[RawRecord], rejects: list[RejectEvent]
    ) -> None:
        if not records and not rejects:
            return
        if self.config.forward_only:  # the writers behind the broker decode: no second time
            report = writer.write([], rejects)
            if records:
                self._forwarded(writer, records[-1].seq)
        else:
            report = writer.write(records, rejects)  # poison isolated, bounded retries
        self._stats.write_errors += report.rejected.get("store_error", 0)
        self._account(report)
        if records:
            self._written = self._stats.written = records[-1].seq
            with contextlib.suppress(FrontError):  # stopping: the front may be gone already
                self._send(("written", self._written))

    def _forwarded(self, writer: StoreWriter, last_seq: int) -> None:
        """Move the raw log's checkpoint to ``last_seq`` without decoding (the broker has the
        records): retention and the next start go by it as when the store holds them."""
        with writer.store.transaction():
            sql.set_checkpoint(writer.store, self._log_id, last_seq)

    def _maintain(self, writer: StoreWriter) -> None:
        """Retention of stored raw-log segments and pruning of the dedup keys (scheduled)."""
        config = self.config
        self._next_maintenance = time.monotonic() + config.maintain_every
        try:
            with writer.store.transaction():
                pruned = sql.prune_messages(writer.store, config.dedup_window)
            if pruned:
                writer.forget_recent()
                log.info("dedup: %d message keys older than %s pruned", pruned, config.dedup_window)
            if config.retention is not None:
                prune_segments(
                    config.raw_log, writer.checkpoint, config.retention, archive=config.archive
                )
        except Exception:  # housekeeping must never stop the writes
            log.exception("gateway maintenance failed")

    def _account(self, report: WriteReport) -> None:
        stats = self._stats
        stats.stored += report.messages
        stats.observations += report.observations
        stats.duplicates += report.duplicates
        for code, n in report.rejected.items():
            self._writer_reasons[code] = self._writer_reasons.get(code, 0) + n
        self._merge_reasons()

    def _front_stats(self, front: dict[str, Any]) -> None:
        stats = self._stats
        for name in FRONT_COUNTERS:
            setattr(stats, name, front[name])
        self._front_reasons = dict(front["reasons"])
        self._merge_reasons()

    def _merge_reasons(self) -> None:
        reasons = dict(self._front_reasons)
        for code, n in self._writer_reasons.items():
            reasons[code] = reasons.get(code, 0) + n
        self._stats.reasons = reasons
        self._stats.rejected = sum(reasons.values())


def write_due(size: int, batch: int, *, due: bool, waiting: bool, behind: bool) -> bool:
    """Whether the writer thread writes the ``size`` records it holds now.

    ``batch`` is ``write_batch``; ``due``: ``write_delay`` passed since the first of them
    came; ``waiting``: more is readable in the pipe from the front at once; ``behind``: more
    was already waiting when the last write ended. Each write has a fixed cost (≈ 45–60 ms of
    CPU: its statements and the commit; docs/gateway-scaling.md, tenth pass), so:

    - twice ``batch``: always (a bounded write);
    - a writer that keeps up: a full batch once nothing more is waiting, a smaller one
      ``write_delay`` after its first record once nothing more is waiting;
    - a writer behind: only when ``write_delay`` passed (and nothing more is waiting) —
      until then it gathers up to twice ``batch``, so the fixed cost is shared by about
      twice as many frames exactly when the writer sets the pace. The lag bound's floor
      (2 × ``write_batch``) is the same, so the front still gives it that many.
    """
    if size >= 2 * batch:
        return True
    if size >= batch and not behind:
        return not waiting
    return due and not waiting


def _waiting(control: Connection) -> bool:
    """Whether a message from the front can be read at once."""
    try:
        return control.poll(0)
    except OSError:
        return False


def _front_devices(devices: dict[str, Device]) -> dict[str, tuple[str, bool, str]]:
    """The registry as the front needs it: MN → (PW, enabled, CRC mode)."""
    return {
        mn: (device.password, device.enabled, device.crc_mode.value)
        for mn, device in devices.items()
    }


def broker_extra(store: Store) -> dict[str, dict[str, Any]]:
    """What the broker's device bucket holds of each device besides PW, enabled and CRC mode:
    the city of its subject and what a store writer needs to register it."""
    return {
        str(row["mn"]): {
            "city": None if row["city_code"] is None else int(row["city_code"]),
            "site_id": str(row["site_id"]),
            "protocol": str(row["protocol"]),
            "interval_s": None if row["interval_s"] is None else int(row["interval_s"]),
        }
        for row in sql.device_sites(store)
    }


def default_raw_log(db: Path) -> Path:
    """The raw-log directory next to a database file: ``<db>.rawlog/``."""
    return db.with_name(db.name + ".rawlog")
