"""Proof of issue 20 with real processes: two gateways and two store writers on one broker
(kill -9 one gateway and one writer mid-stream), and a three-node JetStream cluster (R3 stream)
that loses a node mid-stream. Every acknowledged message is stored exactly once."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from broker_helpers import (
    CITIES,
    FailoverDevice,
    NatsServer,
    city_store,
    cluster,
    connect_once,
    consumer_drained,
    free_port,
    gateway_listening,
    run,
    spawn_gateway,
    spawn_writer,
    start_writer,
    terminate,
    wait_for,
    writer_ready,
)
from gateway_helpers import query

pytestmark = pytest.mark.slow  # nats-server, gateway and writer processes

#: Four devices per city; each sends this many uploads stop-and-wait.
DEVICES = [f"{city}{i:04d}" for city in CITIES for i in range(4)]
UPLOADS = 40
WRITERS = {"w510100": "hj212.510100.>", "w510600": "hj212.510600.>"}


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        terminate(process)


def _devices(ports: Sequence[int]) -> list[FailoverDevice]:
    devices = []
    for i, mn in enumerate(DEVICES):  # half start on each gateway
        order = list(ports[i % len(ports) :]) + list(ports[: i % len(ports)])
        devices.append(FailoverDevice(mn, order, UPLOADS))
    for device in devices:
        device.start()
    return devices


def _acked(devices: list[FailoverDevice]) -> int:
    return sum(len(d.acked) for d in devices)


def _stored_keys(db: Path) -> list[tuple[str, str, str, int]]:
    store = city_store(db, [])
    try:
        rows = query(store, "SELECT mn, cn, data_time, pno FROM gateway_messages")
        observations = query(store, "SELECT count(*) AS n FROM observations")["n"][0]
    finally:
        store.close()
    keys = [(r.mn, r.cn, r.data_time, int(r.pno)) for r in rows.itertuples()]
    assert observations == len(keys)  # one value per upload: stored once
    return keys


def _check_exactly_once(devices: list[FailoverDevice], dbs: Sequence[Path]) -> None:
    for device in devices:
        assert device.error is None, device.error
    acked = {key for d in devices for key in d.acked}
    assert len(acked) == len(DEVICES) * UPLOADS  # every upload was acknowledged in the end
    stored: list[tuple[str, str, str, int]] = []
    for db in dbs:
        stored += _stored_keys(db)
    assert len(stored) == len(set(stored))  # no message in two stores
    assert set(stored) == acked  # every acknowledged message stored, nothing else


def test_kill_9_of_a_gateway_and_a_writer_loses_and_doubles_nothing(
    tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    nats_server = NatsServer(tmp_path / "nats").start()
    try:
        url = nats_server.url
        gateway_dbs = [tmp_path / f"g{i}.duckdb" for i in (1, 2)]
        writer_dbs = {name: tmp_path / f"{name}.duckdb" for name in WRITERS}
        for db in [*gateway_dbs, *writer_dbs.values()]:
            city_store(db, DEVICES).close()
        ports = [free_port(), free_port()]
        logs = [tmp_path / f"g{i}.log" for i in (1, 2)]
        gateways = [  # the two start together, then the two writers: one start's wait
            spawn_gateway(db, port, url, log)
            for db, port, log in zip(gateway_dbs, ports, logs, strict=True)
        ]
        processes += gateways
        for gateway, port, log in zip(gateways, ports, logs, strict=True):
            gateway_listening(gateway, port, log)

        def writer(name: str) -> subprocess.Popen[bytes]:
            log = tmp_path / f"{name}.log"
            return start_writer(writer_dbs[name], url, name, WRITERS[name], log)

        writers = {
            name: spawn_writer(writer_dbs[name], url, name, subjects, tmp_path / f"{name}.log")
            for name, subjects in WRITERS.items()
        }
        processes += writers.values()
        for name, process in writers.items():
            writer_ready(process, name, tmp_path / f"{name}.log")
        devices = _devices(ports)
        wait_for(lambda: _acked(devices) >= len(DEVICES) * UPLOADS // 3, "a third acked")
        gateways[0].kill()  # kill -9 mid-stream: its devices resend to the other gateway
        writers["w510100"].kill()
        gateways[0].wait()
        writers["w510100"].wait()
        restarted = writer("w510100")  # same durable, same store: resumes after its commit
        processes.append(restarted)
        for device in devices:
            device.join(120)
        assert sum(d.resends for d in devices) > 0  # the kill did cut devices off
        for name in WRITERS:
            wait_for(lambda n=name: run(consumer_drained(url, n)), f"{name} drained", 120)
        for process in (restarted, writers["w510600"], gateways[1]):
            terminate(process)
        _check_exactly_once(devices, list(writer_dbs.values()))
    finally:
        nats_server.stop()


def test_a_broker_node_killed_in_a_three_node_cluster_loses_nothing(
    tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    nodes = cluster(tmp_path / "cluster")
    for node in nodes:
        node.start()
    try:
        urls = ",".join(node.url for node in nodes)
        wait_for(lambda: _stream_r3(urls), "R3 stream created", 60)
        gateway_db, writer_db = tmp_path / "g.duckdb", tmp_path / "w.duckdb"
        for db in (gateway_db, writer_db):
            city_store(db, DEVICES).close()
        port = free_port()
        gateway = spawn_gateway(gateway_db, port, urls, tmp_path / "g.log")
        processes.append(gateway)
        writer = spawn_writer(writer_db, urls, "all", "hj212.>", tmp_path / "w.log")
        processes.append(writer)  # both start together (the R3 stream is there already)
        gateway_listening(gateway, port, tmp_path / "g.log")
        writer_ready(writer, "all", tmp_path / "w.log")
        devices = _devices([port])
        wait_for(lambda: _acked(devices) >= len(DEVICES) * UPLOADS // 3, "a third acked")
        nodes[0].kill()  # kill -9 of one node (maybe the stream's leader) mid-stream
        for device in devices:
            device.join(180)
        wait_for(lambda: run(consumer_drained(urls, "all")), "writer drained", 120)
        terminate(writer)
        _check_exactly_once(devices, [writer_db])
    finally:
        for node in nodes:
            node.stop()


def _stream_r3(urls: str) -> bool:
    """Create the stream with three replicas once the cluster has a JetStream leader."""
    import asyncio

    import nats
    import nats.errors

    from ecobasin.gateway.broker import close_client, ensure_stream

    async def create() -> bool:
        nc = await connect_once(urls)
        try:
            js = nc.jetstream()
            await ensure_stream(js, replicas=3)
            return (await js.stream_info("HJ212")).config.num_replicas == 3
        finally:
            await close_client(nc)

    try:
        return asyncio.run(create())
    except (nats.errors.Error, OSError, TimeoutError):
        return False
