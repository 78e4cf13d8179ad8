"""Gateway --broker with a real nats-server (JetStream, file storage in tmp_path): acks after
the broker's ack, dedup by message id, no acks while the broker is away (alarm), the device
registry shared through the bucket, store writers as durable pull consumers (issue 20)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path

import nats
import nats.js.errors
import pandas as pd
import pytest
from broker_helpers import (
    NatsServer,
    city_store,
    connect_once,
    consumer_drained,
    frame_for,
    run,
    stream_messages,
    wait_for,
)
from gateway_helpers import Client, Running, query, rejected

from ecobasin.gateway import GatewayConfig
from ecobasin.gateway.broker import STREAM, close_client
from ecobasin.gateway.consumer import MAX_DELIVER, BrokerWriter, consumer_config
from ecobasin.gateway.devices import register_devices

pytestmark = pytest.mark.slow  # a nats-server process per test

DEVICES = ["CD0001", "DY0001"]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[NatsServer]:
    server = NatsServer(tmp_path / "nats").start()
    yield server
    server.stop()


def gateway_config(tmp_path: Path, name: str, url: str) -> GatewayConfig:
    return GatewayConfig(port=0, raw_log=tmp_path / f"{name}.rawlog", write_delay=0.05, broker=url)


def broker_up(running: Running) -> None:
    """Wait for the front's broker link (counters as of a flush)."""
    stats = running.gateway.stats
    wait_for(lambda: (running.flush(), not stats.broker_unreachable)[1], "broker link up")


def test_the_gateway_leaves_decoding_to_the_writers_behind_the_broker(
    tmp_path: Path, broker: NatsServer
) -> None:
    """With --broker the gateway's own store gets no observations (the writers decode), only
    the raw log's checkpoint and the refusals; a restart decodes nothing of its raw log."""
    store = city_store(tmp_path / "gw.duckdb", DEVICES)
    config = gateway_config(tmp_path, "gw", broker.url)
    running = Running(store, config)
    try:
        broker_up(running)
        client = Client(running.port)
        for n in (1, 2, 3):
            client.send(frame_for("CD0001", n)[0])
        assert all(b"CN=9014" in reply for reply in client.replies(3))
        client.send(frame_for("CD0404", 1)[0])  # not registered: refused, kept aside
        wait_for(lambda: (running.flush(), running.gateway.stats.refused == 1)[1], "refusal")
        running.flush()
        stats = running.gateway.stats
        assert (stats.published, stats.stored, stats.observations) == (3, 0, 0)
        assert query(store, "SELECT count(*) AS n FROM observations")["n"][0] == 0
        assert query(store, "SELECT count(*) AS n FROM gateway_messages")["n"][0] == 0
        assert query(store, "SELECT last_seq FROM gateway_checkpoints")["last_seq"][0] == 3
        assert "unknown_device" in set(rejected(store)["reason_code"])
    finally:
        running.stop()
    store.con.execute("DELETE FROM gateway_checkpoints")  # as after a crash before the commit
    again = Running(store, config)
    try:
        assert again.gateway.stats.recovered == 0  # the broker or the device's resend has them
        assert query(store, "SELECT count(*) AS n FROM observations")["n"][0] == 0
        assert query(store, "SELECT last_seq FROM gateway_checkpoints")["last_seq"][0] == 3
    finally:
        again.stop()
        store.close()
    writer_store = city_store(tmp_path / "writer.duckdb", DEVICES)
    try:
        writer = BrokerWriter(writer_store, broker.url, "w1")
        run(_drain(writer))
        assert writer.stats.stored == 3  # the writer behind the broker decodes them, once
    finally:
        writer_store.close()


def test_ack_only_after_the_broker_holds_the_frame_and_resends_are_dropped(
    tmp_path: Path, broker: NatsServer
) -> None:
    store = city_store(tmp_path / "gw.duckdb", DEVICES)
    running = Running(store, gateway_config(tmp_path, "gw", broker.url))
    try:
        broker_up(running)
        client = Client(running.port)
        frame, key = frame_for("CD0001", 1)
        client.send(frame)
        assert b"CN=9014" in client.replies(1)[0]
        assert run(stream_messages(broker.url)) == 1
        client.send(frame)  # the device lost the ack and resends: acked again, stored once
        assert b"CN=9014" in client.replies(1)[0]
        assert run(stream_messages(broker.url)) == 1
        message = run(_last_message(broker.url))
        assert message.subject == "hj212.510100.CD0001"
        assert message.headers is not None
        assert message.headers["Nats-Msg-Id"] == "|".join(map(str, key))
        assert message.data == frame
        running.flush()
        assert running.gateway.stats.published == 2
    finally:
        running.stop()
        store.close()


async def _last_message(url: str) -> nats.aio.msg.Msg:
    nc = await connect_once(url)
    try:
        return await nc.jetstream().get_last_msg(STREAM, "hj212.>")
    finally:
        await close_client(nc)


def test_broker_away_no_acks_and_an_alarm_then_the_resend_is_acked(
    tmp_path: Path, broker: NatsServer
) -> None:
    store = city_store(tmp_path / "gw.duckdb", DEVICES)
    running = Running(store, gateway_config(tmp_path, "gw", broker.url))
    try:
        broker_up(running)
        stats = running.gateway.stats
        client = Client(running.port)
        first, _ = frame_for("CD0001", 1)
        client.send(first)
        assert b"CN=9014" in client.replies(1)[0]
        broker.stop()
        second, _ = frame_for("CD0001", 2)
        client.send(second)
        wait_for(lambda: (running.flush(), stats.broker_errors > 0)[1], "publish failed")
        running.flush()
        assert stats.acked == 1  # nothing acknowledged while the broker is away
        assert "broker_unreachable" in stats.alarms
        client.sock.setblocking(False)
        with pytest.raises(BlockingIOError):
            client.sock.recv(100)  # no 9014 came
        client.sock.setblocking(True)
        assert stats.logged == 2  # the raw log keeps the forensic copy all the same
        broker.start()  # same port, same store directory
        wait_for(lambda: _resend_acked(client, second), "acked after the broker is back")
        running.flush()
        assert "broker_unreachable" not in stats.alarms
        assert run(stream_messages(broker.url)) == 2
    finally:
        running.stop()
        store.close()


def _resend_acked(client: Client, frame: bytes) -> bool:
    client.sock.settimeout(1.0)
    client.send(frame)
    try:
        return b"CN=9014" in client.replies(1)[0]
    except TimeoutError:
        return False


def test_a_device_added_on_one_gateway_is_accepted_by_the_other(
    tmp_path: Path, broker: NatsServer
) -> None:
    store_a = city_store(tmp_path / "a.duckdb", DEVICES)
    store_b = city_store(tmp_path / "b.duckdb", DEVICES)
    a = Running(store_a, gateway_config(tmp_path, "a", broker.url))
    b = Running(store_b, gateway_config(tmp_path, "b", broker.url))
    try:
        broker_up(a)
        broker_up(b)
        frame, _ = frame_for("CD0002", 1)
        client = Client(b.port)
        client.send(frame)
        wait_for(lambda: (b.flush(), b.gateway.stats.refused == 1)[1], "refused at first")
        register_devices(  # on side A only
            store_a,
            pd.DataFrame([{"mn": "CD0002", "password": "123456", "site_id": "S_SPARE"}]),
        )
        a.reload()
        wait_for(lambda: _resend_acked(Client(b.port), frame), "accepted by gateway B")
        assert run(stream_messages(broker.url)) == 1
    finally:
        a.stop()
        b.stop()
        store_a.close()
        store_b.close()


async def _drain(writer: BrokerWriter) -> None:
    """Run a writer until its durable consumer has nothing pending or unacknowledged."""
    stop = asyncio.Event()
    task = asyncio.create_task(writer.run(stop))
    while not task.done():
        await asyncio.sleep(0.1)
        with contextlib.suppress(nats.js.errors.NotFoundError):
            if await consumer_drained(writer.url, writer.durable):
                stop.set()
    await task


def _publish_through_gateway(tmp_path: Path, url: str, frames: list[bytes]) -> None:
    store = city_store(tmp_path / "gw.duckdb", DEVICES)
    running = Running(store, gateway_config(tmp_path, "gw", url))
    try:
        broker_up(running)
        client = Client(running.port)
        for frame in frames:
            client.send(frame)
            assert b"CN=9014" in client.replies(1)[0]
    finally:
        running.stop()
        store.close()


def test_writer_stores_each_message_once_whatever_the_deliveries(
    tmp_path: Path, broker: NatsServer
) -> None:
    frames = [frame_for(mn, n)[0] for mn in DEVICES for n in range(5)]
    _publish_through_gateway(tmp_path, broker.url, frames)
    store = city_store(tmp_path / "writer.duckdb", DEVICES)
    try:
        first = BrokerWriter(store, broker.url, "all")
        run(_drain(first))
        assert (first.stats.stored, first.stats.duplicates) == (10, 0)
        # every message delivered again (a new durable = a writer that lost all its acks):
        # the message key in the store keeps each one once
        again = BrokerWriter(store, broker.url, "again")
        run(_drain(again))
        assert (again.stats.fetched, again.stats.stored, again.stats.duplicates) == (10, 0, 10)
        stored = query(store, "SELECT count(*) AS n FROM gateway_messages")["n"][0]
        values = query(store, "SELECT count(*) AS n FROM observations")["n"][0]
        assert (stored, values) == (10, 10)
    finally:
        store.close()


def test_writer_per_city_takes_only_its_subjects(tmp_path: Path, broker: NatsServer) -> None:
    frames = [frame_for(mn, n)[0] for mn in DEVICES for n in range(3)]
    _publish_through_gateway(tmp_path, broker.url, frames)
    store = city_store(tmp_path / "chengdu.duckdb", DEVICES)
    try:
        writer = BrokerWriter(store, broker.url, "chengdu", "hj212.510100.>")
        run(_drain(writer))
        sites = query(store, "SELECT DISTINCT site_id FROM observations")["site_id"].tolist()
        assert (writer.stats.stored, sites) == (3, ["S_CD0001"])
    finally:
        store.close()


def test_a_message_delivered_too_often_is_rejected_and_terminated(
    tmp_path: Path, broker: NatsServer
) -> None:
    frame, _ = frame_for("CD0001", 1)
    _publish_through_gateway(tmp_path, broker.url, [frame])
    run(_deliver_without_commit(broker.url, "poisoned", MAX_DELIVER))
    store = city_store(tmp_path / "writer.duckdb", DEVICES)
    try:
        writer = BrokerWriter(store, broker.url, "poisoned")
        run(_drain(writer))  # drained: terminated, not redelivered forever
        assert (writer.stats.poison, writer.stats.stored) == (1, 0)
        kept = rejected(store)
        assert kept["reason_code"].tolist() == ["poison_message"]
        assert f"delivered {MAX_DELIVER + 1} times" in kept["reason"][0]
        assert kept["raw"][0] == frame.decode()  # the frame kept whole
    finally:
        store.close()


async def _deliver_without_commit(url: str, durable: str, times: int) -> None:
    """A writer that crashes on the message every time (never acks; nak = redeliver now)."""
    nc = await connect_once(url)
    try:
        js = nc.jetstream()
        sub = await js.pull_subscribe("hj212.>", durable=durable, config=consumer_config())
        for _ in range(times):
            (message,) = await sub.fetch(1, timeout=5)
            await message.nak()
    finally:
        await close_client(nc)
