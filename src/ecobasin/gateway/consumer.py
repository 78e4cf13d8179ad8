"""Store writers as durable pull consumers of the broker's stream (``ecobasin gateway writer``).

A writer fetches batches of frames from the JetStream stream :data:`~ecobasin.gateway.broker.STREAM`
through a durable pull consumer (``--durable NAME``, optionally ``--filter hj212.510100.>``: one
writer per city partition), and hands them to the same :class:`StoreWriter` as the gateway's
raw log: decode (the fast path), sub-packets merged on (MN, CN, DataTime), validation, and one
transaction per batch holding the observations, the rejected records, the dedup rows and the
checkpoint (the last stream sequence, per durable). Only after that commit are the messages
acknowledged to the broker, so:

- a writer killed before its commit gets the batch again (redelivery after ``ack_wait`` [s])
  and stores it then;
- a writer killed after its commit and before its acks gets the batch again too, and stores
  nothing twice: ``gateway_messages`` holds each message key (MN, CN, DataTime, PNO) once
  (its primary key), so the second copy only counts as a duplicate (the idempotent key, hj212
  brief §10 item 7);
- a message that fails :data:`MAX_DELIVER` times without being committed (it crashes the
  writer, say) is poison: it goes to ``rejected`` (``poison_message``, the frame kept) and is
  terminated, never redelivered forever. Bad content never gets that far: the writer already
  rejects it by record (``decode_error``, ``store_error``, bad values) and the batch commits.

AQI and alarms: the writer calls the same ``after_write`` hook as the gateway's own writer
thread (site ids and time range of each committed write), in the process that committed, so a
refresh reads what was just stored; a separate consumer would decode every frame a second time
and read a store it cannot see committed (DuckDB: one writing process).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import nats.errors
import pandas as pd
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from ecobasin.gateway.broker import (
    HEADER_PEER,
    HEADER_RECEIVED,
    STREAM,
    SUBJECT_ROOT,
    BrokerCredentials,
    BrokerTls,
    close_client,
    connect,
    ensure_device_bucket,
    ensure_stream,
)
from ecobasin.gateway.devices import DeviceError, register_devices
from ecobasin.gateway.rawlog import RawRecord
from ecobasin.gateway.writer import AfterWrite, RejectEvent, StoreWriter, WriteReport
from ecobasin.store import Store

__all__ = ["MAX_DELIVER", "BrokerWriter", "ConsumerStats", "consumer_config"]

log = logging.getLogger(__name__)

#: Deliveries of one message without a commit before it is poison (rejected, terminated).
MAX_DELIVER = 5
#: [s] How long the broker waits for an ack before it delivers a message again.
ACK_WAIT = 10.0
#: Messages per fetch (and per store transaction) at most: each commit has a fixed cost.
FETCH_BATCH = 2_000
#: [s] Longest wait of one fetch for messages.
FETCH_WAIT = 0.5
#: [s] Pause after a failed fetch (a cluster electing a leader answers 503 meanwhile).
RETRY_WAIT = 0.5


@dataclass
class ConsumerStats:
    """Counters of one writer since its start."""

    fetched: int = 0
    acked: int = 0
    stored: int = 0  # data messages stored (first sends)
    observations: int = 0
    duplicates: int = 0  # redeliveries and history re-sends already in the store
    poison: int = 0
    devices: int = 0  # registry entries taken from the device bucket
    broker_errors: int = 0  # fetches or acks that failed (retried; nothing is lost)
    rejected: dict[str, int] = field(default_factory=dict)


@dataclass
class BrokerWriter:
    """One durable pull consumer writing into one store.

    Parameters
    ----------
    store : Store
        The store it writes (this process holds it for writing).
    url : str
        ``nats://host:port`` (comma-separated for a cluster).
    durable : str
        The durable consumer's name: a writer restarted with the same name resumes where the
        last acknowledged message left it.
    filter_subject : str
        The subjects it takes (``hj212.>``: all; ``hj212.510100.>``: one city).
    after_write : callable, optional
        Called after each committed write with observations (``AfterWrite``).
    credentials : BrokerCredentials or None
        The writer role's NATS user (:func:`~ecobasin.gateway.broker.writer_permissions` of
        ``durable``); None: anonymous.
    tls : BrokerTls or None
        TLS to the broker (``tls://`` URLs use the system's CAs without it).
    """

    store: Store
    url: str
    durable: str
    filter_subject: str = f"{SUBJECT_ROOT}.>"
    after_write: AfterWrite | None = None
    batch: int = FETCH_BATCH
    replicas: int = 1
    credentials: BrokerCredentials | None = None
    tls: BrokerTls | None = None
    stats: ConsumerStats = field(default_factory=ConsumerStats)
    _devices: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Set once the durable consumer is bound (messages flow from then on).
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, stop: asyncio.Event) -> None:
        """Fetch, write, ack until ``stop`` is set (a batch in hand is finished first)."""
        writer = StoreWriter(
            self.store, f"nats:{STREAM}:{self.durable}", after_write=self.after_write
        )
        nc = await connect(
            self.url, f"ecobasin-writer-{self.durable}", self.credentials, tls=self.tls
        )
        try:
            js = nc.jetstream()
            await ensure_stream(js, self.replicas)
            bucket = await ensure_device_bucket(js, self.replicas)
            watcher = await bucket.watchall()
            watching = asyncio.create_task(self._watch(watcher))
            subscription = await js.pull_subscribe(
                self.filter_subject,
                durable=self.durable,
                stream=STREAM,
                config=consumer_config(self.batch),
            )
            self.ready.set()
            while not stop.is_set():
                try:
                    messages = await subscription.fetch(self.batch, timeout=FETCH_WAIT)
                except (nats.errors.TimeoutError, TimeoutError):  # nothing new: ask again
                    continue
                except nats.errors.Error as error:  # no stream leader yet, connection lost …
                    self._broker_error("fetch", error)
                    await asyncio.sleep(RETRY_WAIT)  # the broker recovers; no busy loop
                    continue
                await self._handle(writer, messages)
            watching.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watching
        finally:
            await close_client(nc)

    async def _handle(self, writer: StoreWriter, messages: list[Msg]) -> None:
        """Write one fetched batch in one transaction, then ack (poison: term)."""
        self.stats.fetched += len(messages)
        records: list[RawRecord] = []
        poison: list[Msg] = []
        rejects: list[RejectEvent] = []
        for message in sorted(messages, key=lambda m: m.metadata.sequence.stream):
            if message.metadata.num_delivered > MAX_DELIVER:
                poison.append(message)
                rejects.append(_poison_event(message))
            else:
                records.append(_record(message))
        devices, self._devices = self._devices, {}
        report = await asyncio.to_thread(self._write, writer, devices, records, rejects)
        self._account(report)
        try:
            for message in messages:
                await (message.term() if message in poison else message.ack())
        except nats.errors.Error as error:  # committed: the redelivery is a duplicate by key
            self._broker_error("ack", error)
            return
        self.stats.acked += len(messages) - len(poison)
        self.stats.poison += len(poison)

    def _write(
        self,
        writer: StoreWriter,
        devices: dict[str, dict[str, Any]],
        records: list[RawRecord],
        rejects: list[RejectEvent],
    ) -> WriteReport:
        """The store's work, in a worker thread (the event loop keeps the connection alive)."""
        if devices:
            self._register(writer, devices)
        return writer.write(records, rejects)

    def _register(self, writer: StoreWriter, devices: dict[str, dict[str, Any]]) -> None:
        """Devices from the bucket into this store's registry (their site must be known). The
        bucket holds no PW in clear: the registry keeps its hash, which no device sends, so a
        gateway run on this store refuses the device until its PW is registered there."""
        rows = [
            {
                "mn": mn,
                "password": e.get("password_sha256") or e.get("password"),
                "site_id": e["site_id"],
                "protocol": e.get("protocol") or "2017",
                "crc_mode": e["crc_mode"],
                "enabled": bool(e["enabled"]),
                "interval_s": e.get("interval_s"),
            }
            for mn, e in devices.items()
            if e.get("site_id") and (e.get("password_sha256") or e.get("password"))
        ]
        if not rows:
            return
        try:
            with self.store.transaction():
                register_devices(self.store, pd.DataFrame(rows))
        except DeviceError as error:  # e.g. a site this store does not hold: named, kept out
            log.error("device bucket: %s", error)
            return
        writer.reload()
        self.stats.devices += len(rows)

    async def _watch(self, watcher: Any) -> None:
        async for entry in watcher:
            if entry is None or entry.value is None or entry.operation is not None:
                continue
            with contextlib.suppress(ValueError):
                self._devices[entry.key] = json.loads(entry.value)

    def _broker_error(self, what: str, error: Exception) -> None:
        self.stats.broker_errors += 1
        log.warning("broker %s failed (%s: %s); retrying", what, type(error).__name__, error)

    def _account(self, report: WriteReport) -> None:
        stats = self.stats
        stats.stored += report.messages
        stats.observations += report.observations
        stats.duplicates += report.duplicates
        for code, n in report.rejected.items():
            stats.rejected[code] = stats.rejected.get(code, 0) + n


def consumer_config(batch: int = FETCH_BATCH) -> ConsumerConfig:
    """The durable consumer's settings: explicit acks (after the commit), redelivery after
    :data:`ACK_WAIT` [s], at most four batches unacknowledged."""
    return ConsumerConfig(
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=ACK_WAIT,
        max_ack_pending=batch * 4,
    )


def _record(message: Msg) -> RawRecord:
    """A broker message as the raw-log record it was at the gateway (stream sequence as seq)."""
    headers = message.headers or {}
    micros = headers.get(HEADER_RECEIVED, "")
    received = (
        datetime.fromtimestamp(int(micros) / 1e6, UTC) if micros.isdigit() else datetime.now(UTC)
    )
    return RawRecord(
        message.metadata.sequence.stream, received, headers.get(HEADER_PEER, "?"), message.data
    )


def _poison_event(message: Msg) -> RejectEvent:
    seq = message.metadata.sequence.stream
    return RejectEvent(
        f"nats {STREAM} seq {seq} {message.subject}",
        "poison_message",
        f"delivered {message.metadata.num_delivered} times without a commit (limit "
        f"{MAX_DELIVER}); terminated, kept here",
        message.data.decode("utf-8", errors="replace")[:2048],
    )
