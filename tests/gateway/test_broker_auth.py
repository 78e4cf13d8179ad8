"""Least privilege on the broker with a real nats-server that has users (issue 20, security):
a gateway user publishes frames and shares the registry, a writer user only consumes through
its durable, anonymous clients are refused, nobody deletes the stream; the device bucket holds
salted hashes of the PWs, never a PW; ``device add --broker`` reaches running gateways."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import nats
import nats.errors
import nats.js.errors
import pandas as pd
import pytest
from broker_helpers import (
    ECOBASIN,
    PATIENCE,
    NatsServer,
    city_store,
    connect_once,
    consumer_drained,
    frame_for,
    run,
    sockets_to,
    stream_messages,
    wait_for,
)
from gateway_helpers import Client, Running, upload

from ecobasin import catalog
from ecobasin.gateway import GatewayConfig
from ecobasin.gateway.broker import (
    DEVICE_BUCKET,
    STREAM,
    BrokerConfigError,
    BrokerCredentials,
    authorization_config,
    bcrypt_password,
    close_client,
    gateway_permissions,
    load_credentials,
    writer_permissions,
)
from ecobasin.gateway.consumer import BrokerWriter
from ecobasin.gateway.devices import register_devices
from ecobasin.jobs.live_feed import LiveFeed, start_live

pytestmark = pytest.mark.slow  # a nats-server process per test

DEVICES = ["CD0001", "DY0001"]
GATEWAY = BrokerCredentials("gateway1", "gw-secret-1")
WRITER = BrokerCredentials("writer1", "wr-secret-1")
DURABLE = "w1"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[NatsServer]:
    users = [
        (GATEWAY.user, GATEWAY.password, gateway_permissions()),
        (WRITER.user, WRITER.password, writer_permissions(DURABLE)),
    ]
    server = NatsServer(tmp_path / "nats", authorization=authorization_config(users)).start()
    yield server
    server.stop()


def password_file(tmp_path: Path, credentials: BrokerCredentials, mode: int = 0o600) -> Path:
    path = tmp_path / f"{credentials.user}.password"
    path.write_text(credentials.password + "\n")
    path.chmod(mode)
    return path


def gateway_config(
    tmp_path: Path, name: str, url: str, credentials: BrokerCredentials
) -> GatewayConfig:
    return GatewayConfig(
        port=0,
        raw_log=tmp_path / f"{name}.rawlog",
        write_delay=0.05,
        broker=url,
        broker_credentials=credentials,
    )


def broker_up(running: Running) -> None:
    stats = running.gateway.stats
    wait_for(lambda: (running.flush(), not stats.broker_unreachable)[1], "broker link up")


async def _connect(url: str, credentials: BrokerCredentials | None) -> nats.NATS:
    return await connect_once(url, credentials, retry=False)  # a refusal is final


def test_the_server_config_holds_no_password_and_the_server_checks_each_role(
    broker: NatsServer,
) -> None:
    text = broker.config_path.read_text()
    for credentials in (GATEWAY, WRITER):
        assert credentials.password not in text  # bcrypt hashes only: nothing to log in with
    assert text.count('"password": "$2') == 2
    assert broker.config_path.stat().st_mode & 0o077 == 0
    for credentials in (GATEWAY, WRITER):
        run(_connect_and_close(broker.url, credentials))  # the real server checks the hash
    wrong = BrokerCredentials(GATEWAY.user, GATEWAY.password + "x")
    with pytest.raises(Exception, match=r"(?i)authorization"):
        run(_connect(broker.url, wrong))
    assert not sockets_to(broker.port)  # the refused login's socket is closed, not left to gc


def test_a_password_bcrypt_would_cut_is_refused_by_name() -> None:
    with pytest.raises(BrokerConfigError, match="73 bytes"):
        bcrypt_password("x" * 73)
    assert bcrypt_password("x" * 72, rounds=4).startswith("$2b$04$")


async def _connect_and_close(url: str, credentials: BrokerCredentials) -> None:
    nc = await _connect(url, credentials)
    assert nc.is_connected
    await _close(nc)


def test_an_anonymous_client_is_refused(broker: NatsServer) -> None:
    with pytest.raises(Exception, match=r"(?i)authorization"):
        run(_connect(broker.url, None))
    assert not sockets_to(broker.port)  # closed at once: a socket left to the garbage
    # collector fails whatever later test it is collected in (nats-py's log record of the
    # refusal holds it until this test's report is done)


def _refused(
    url: str, credentials: BrokerCredentials, action: Callable[[nats.NATS], Awaitable[Any]]
) -> None:
    """Logged in as ``credentials`` (a failed login fails the test: it is no refusal of the
    action), the broker refuses ``action``: a permissions violation, which the server reports
    on the connection (the action itself would only time out, after seconds, for want of an
    answer)."""

    async def attempt() -> None:
        violation: asyncio.Future[Exception] = asyncio.get_running_loop().create_future()

        async def heard(error: Exception) -> None:
            if not violation.done():
                violation.set_result(error)

        nc = await connect_once(url, credentials, retry=False, error_cb=heard)
        try:
            task = asyncio.ensure_future(action(nc))
            await asyncio.wait({task, violation}, return_when=asyncio.FIRST_COMPLETED)
            with pytest.raises((nats.errors.Error, TimeoutError)):
                if violation.done():
                    raise violation.result()
                await task
            heard_error = await asyncio.wait_for(violation, PATIENCE)
            assert "permissions violation" in str(heard_error).lower()
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, nats.errors.Error, TimeoutError):
                await task
            await _close(nc)

    run(attempt())


async def _publish(nc: nats.NATS) -> None:
    await nc.jetstream().publish("hj212.510100.CD0001", b"##0000", timeout=2)


async def _delete_stream(nc: nats.NATS) -> None:
    await nc.jetstream().delete_stream(STREAM)


async def _close(nc: nats.NATS) -> None:
    await close_client(nc)


def test_gateway_user_publishes_writer_user_consumes_only_and_nobody_deletes(
    tmp_path: Path, broker: NatsServer
) -> None:
    store = city_store(tmp_path / "gw.duckdb", DEVICES)
    running = Running(store, gateway_config(tmp_path, "gw", broker.url, GATEWAY))
    try:
        broker_up(running)
        client = Client(running.port)
        frame, _ = frame_for("CD0001", 1)
        client.send(frame)
        assert b"CN=9014" in client.replies(1)[0]
    finally:
        running.stop()
        store.close()
    _refused(broker.url, WRITER, _publish)  # a writer cannot publish
    for who in (GATEWAY, WRITER):
        _refused(broker.url, who, _delete_stream)
    assert not sockets_to(broker.port)  # every client closed its socket
    assert run(stream_messages(broker.url, credentials=GATEWAY)) == 1
    writer_store = city_store(tmp_path / "writer.duckdb", DEVICES)
    try:
        writer = BrokerWriter(writer_store, broker.url, DURABLE, credentials=WRITER)
        run(_drain(writer))
        assert writer.stats.stored == 1
    finally:
        writer_store.close()


async def _drain(writer: BrokerWriter) -> None:
    """Run the writer until its durable is drained (asked as the writer: only it may look)."""
    stop = asyncio.Event()
    task = asyncio.create_task(writer.run(stop))
    async with asyncio.timeout(120):  # a safety net against a hang, not a speed claim
        while not task.done():
            await asyncio.sleep(0.1)
            with contextlib.suppress(nats.js.errors.NotFoundError):
                if await consumer_drained(writer.url, writer.durable, credentials=WRITER):
                    stop.set()
        await task


def test_a_gateway_with_writer_credentials_acks_nothing_and_raises_the_alarm(
    tmp_path: Path, broker: NatsServer
) -> None:
    store = city_store(tmp_path / "gw.duckdb", DEVICES)
    good = Running(store, gateway_config(tmp_path, "good", broker.url, GATEWAY))
    try:
        broker_up(good)  # the stream and the bucket exist
    finally:
        good.stop()
    running = Running(store, gateway_config(tmp_path, "bad", broker.url, WRITER))
    try:
        stats = running.gateway.stats
        wait_for(
            lambda: (running.flush(), "broker_permission_denied" in stats.alarms)[1],
            "alarm broker_permission_denied",
        )
        client = Client(running.port)
        client.sock.settimeout(1.0)
        frame, _ = frame_for("CD0001", 1)
        client.send(frame)
        wait_for(lambda: (running.flush(), stats.logged == 1)[1], "frame logged")
        with pytest.raises(TimeoutError):
            client.replies(1)  # no 9014: the broker refused the publish
        running.flush()
        assert stats.acked == 0
        assert "broker_unreachable" in stats.alarms
    finally:
        running.stop()
        store.close()
    assert run(stream_messages(broker.url, credentials=GATEWAY)) == 0


async def _bucket_values(url: str) -> dict[str, bytes]:
    nc = await _connect(url, GATEWAY)
    try:
        kv = await nc.jetstream().key_value(DEVICE_BUCKET)
        values = {}
        for key in await kv.keys():
            entry = await kv.get(key)
            assert entry.value is not None
            values[key] = entry.value
        return values
    finally:
        await nc.close()


def test_the_bucket_holds_no_password_and_the_other_gateway_checks_the_hash(
    tmp_path: Path, broker: NatsServer
) -> None:
    store_a = city_store(tmp_path / "a.duckdb", DEVICES)
    store_b = city_store(tmp_path / "b.duckdb", DEVICES)
    register_devices(  # on side A only, with a PW of its own
        store_a, pd.DataFrame([{"mn": "CD0002", "password": "Zq7-PW", "site_id": "S_SPARE"}])
    )
    a = Running(store_a, gateway_config(tmp_path, "a", broker.url, GATEWAY))
    b = Running(store_b, gateway_config(tmp_path, "b", broker.url, GATEWAY))
    try:
        broker_up(a)
        broker_up(b)
        values = run(_bucket_values(broker.url))
        assert set(values) >= {"CD0001", "DY0001", "CD0002"}
        for value in values.values():
            assert b"123456" not in value and b"Zq7-PW" not in value
            entry = json.loads(value)
            assert "password" not in entry
            assert entry["password_sha256"].startswith("sha256$")
        wrong = upload(mn="CD0002", pw="123456", data_time="20260101080000")
        right = upload(mn="CD0002", pw="Zq7-PW", data_time="20260101080100")
        client = Client(b.port)
        client.sock.settimeout(2.0)
        wait_for(lambda: _acked(Client(b.port), right), "CD0002 accepted by gateway B")
        client.send(wrong)
        wait_for(lambda: (b.flush(), b.gateway.stats.refused >= 1)[1], "wrong PW refused")
        assert b.gateway.stats.reasons.get("wrong_password", 0) >= 1
    finally:
        a.stop()
        b.stop()
        store_a.close()
        store_b.close()


def _acked(client: Client, frame: bytes) -> bool:
    client.sock.settimeout(1.0)
    client.send(frame)
    try:
        return b"CN=9014" in client.replies(1)[0]
    except TimeoutError:
        return False


def test_device_add_with_broker_reaches_a_running_gateway(
    tmp_path: Path, broker: NatsServer
) -> None:
    store = city_store(tmp_path / "gw.duckdb", DEVICES)
    running = Running(store, gateway_config(tmp_path, "gw", broker.url, GATEWAY))
    admin_db = tmp_path / "admin.duckdb"
    city_store(admin_db, []).close()
    try:
        broker_up(running)
        frame, _ = frame_for("CD0003", 1)
        assert not _acked(Client(running.port), frame)  # not registered yet
        env = {
            **os.environ,
            "ECOBASIN_BROKER_USER": GATEWAY.user,
            "ECOBASIN_BROKER_PASSWORD_FILE": str(password_file(tmp_path, GATEWAY)),
        }
        done = subprocess.run(
            [str(ECOBASIN), "device", "add", "CD0003", "--password", "123456",
             "--site", "S_SPARE", "--db", str(admin_db), "--broker", broker.url],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        wait_for(lambda: _acked(Client(running.port), frame), "CD0003 accepted")
    finally:
        running.stop()
        store.close()


def test_a_password_file_others_may_read_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BrokerConfigError, match="chmod 600"):
        load_credentials(GATEWAY.user, password_file(tmp_path, GATEWAY, 0o644))
    assert load_credentials(GATEWAY.user, password_file(tmp_path, GATEWAY)) == GATEWAY
    with pytest.raises(BrokerConfigError, match="no broker_password_file"):
        load_credentials(GATEWAY.user, None)


def test_serve_live_gateway_logs_in_with_the_configured_user(
    broker: NatsServer, tmp_path: Path
) -> None:
    """Regression: ``serve --gateway --broker`` gave its gateway no NATS user, so a broker with
    users (the only kind docs/security.md allows) refused it and nothing was ever acked."""
    db = tmp_path / "live.duckdb"
    store = city_store(db, DEVICES)
    feed = LiveFeed(gateway_port=0, enterprises=0, broker=broker.url, broker_credentials=GATEWAY)

    async def scenario() -> bool:
        live = await start_live(store, feed, db, catalog.load_region())
        try:
            for _ in range(int(PATIENCE / 0.1)):
                await live.gateway.flush()
                if not live.gateway.stats.broker_unreachable:
                    return True
                await asyncio.sleep(0.1)
            return False
        finally:
            await live.stop()

    try:
        assert run(scenario()), "the live gateway never reached the broker"
    finally:
        store.close()
