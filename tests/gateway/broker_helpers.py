"""Helpers of the broker tests: a real nats-server (JetStream, file storage; one node or a
three-node cluster on loopback ports), stores with sites in two cities, and devices that fail
over to another gateway and resend what was not acknowledged (HJ 212-2017 表1 ReCount)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

import nats
import nats.errors
import nats.js.errors
import pandas as pd
import psutil
from gateway_helpers import PATIENCE, from_template, synced_store, upload

from ecobasin.gateway import register_devices
from ecobasin.gateway.broker import BrokerCredentials, close_client
from ecobasin.store import Store

T = TypeVar("T")
NATS_SERVER = Path(sys.executable).with_name("nats-server")
ECOBASIN = Path(sys.executable).with_name("ecobasin")
#: Two cities of the zone (GB/T 2260 codes): Chengdu and Deyang; a device's MN starts with
#: its city's letters.
CITIES = {"CD": 510100, "DY": 510600}


_ENV = {**os.environ, "COLUMNS": "200", "PYTHONUNBUFFERED": "1"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], bool], what: str, patience: float = PATIENCE) -> None:
    """Poll ``check`` until it holds (a safety net, never an assertion about speed)."""
    deadline = time.monotonic() + patience
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {patience:g} s: {what}")
        time.sleep(0.05)


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def sockets_to(port: int) -> list[Any]:
    """This process's open TCP sockets to ``port`` on the loopback (a client socket left open
    is closed only by the garbage collector, whose ResourceWarning then fails whatever test
    happens to run at that moment)."""
    return [
        c for c in psutil.Process().net_connections(kind="tcp") if c.raddr and c.raddr.port == port
    ]


class NatsServer:
    """One nats-server process with JetStream (file storage under ``root``), optionally a
    node of a cluster (``routes``: the cluster ports of every node)."""

    def __init__(
        self,
        root: Path,
        name: str = "n1",
        *,
        cluster_port: int | None = None,
        routes: Sequence[int] = (),
        authorization: str = "",
        tls: str = "",
    ) -> None:
        self.root, self.name, self.port = root, name, free_port()
        self.cluster_port, self.routes = cluster_port, routes
        self.authorization = authorization  # an ``authorization`` block: users and rights
        self.tls = tls  # a ``tls`` block: certificate and key of the client port
        self.process: subprocess.Popen[bytes] | None = None
        root.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def config_path(self) -> Path:
        return self.root / f"{self.name}.conf"

    def start(self) -> NatsServer:
        conf = self.config_path
        lines = [
            f"server_name: {self.name}",
            f"listen: 127.0.0.1:{self.port}",
            f'jetstream {{ store_dir: "{self.root / "js"}" }}',
        ]
        if self.cluster_port is not None:
            routes = ", ".join(f"nats-route://127.0.0.1:{p}" for p in self.routes)
            lines.append(
                f"cluster {{ name: ecobasin, listen: 127.0.0.1:{self.cluster_port}, "
                f"routes: [{routes}] }}"
            )
        conf.touch(mode=0o600)  # it may hold the users' passwords
        conf.write_text("\n".join(lines) + "\n" + self.authorization + self.tls)
        log = self.root / f"{self.name}.log"
        self.process = subprocess.Popen(
            [str(NATS_SERVER), "-c", str(conf), "-l", str(log)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: log.exists() and "Server is ready" in log.read_text(), "nats ready")
        return self

    def kill(self) -> None:
        """SIGKILL: no goodbye to the cluster, no flush."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(PATIENCE)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None


def cluster(root: Path, size: int = 3) -> list[NatsServer]:
    ports = [free_port() for _ in range(size)]
    return [
        NatsServer(root / f"n{i + 1}", f"n{i + 1}", cluster_port=ports[i], routes=ports)
        for i in range(size)
    ]


def city_store(path: Path, devices: Sequence[str]) -> Store:
    """A store with an air site ``S_<MN>`` per device, in the city its MN starts with
    (:data:`CITIES`), and the devices registered (PW 123456)."""
    return from_template(path, ("cities", tuple(devices)), lambda at: _city_store(at, devices))


def _city_store(path: Path, devices: Sequence[str]) -> Store:
    store = synced_store(path)
    sites = [f"S_{mn}" for mn in devices] + ["S_SPARE"]
    store.upsert_sites(
        pd.DataFrame(
            {
                "site_id": sites,
                "kind": "air_station",
                "level": "city",
                "city_code": [CITIES[mn[:2]] for mn in devices] + [510100],
                "name_zh": None,
                "name_en": None,
                "lon": None,
                "lat": None,
            }
        ),
        source="test",
    )
    if devices:
        register_devices(
            store,
            pd.DataFrame(
                [{"mn": mn, "password": "123456", "site_id": f"S_{mn}"} for mn in devices]
            ),
        )
    return store


def frame_for(mn: str, n: int) -> tuple[bytes, tuple[str, str, str, int]]:
    """Upload ``n`` of a device (one minute apart) and its message key (MN, CN, DataTime, PNO)."""
    minute = 8 * 60 + n
    data_time = f"20260101{minute // 60:02d}{minute % 60:02d}00"
    qn = f"{data_time}{n % 1000:03d}"
    frame = upload(
        mn=mn, qn=qn, data_time=data_time, cp={"a21026-Rtd": f"{10 + n}.5", "a21026-Flag": "N"}
    )
    return frame, (mn, "2011", data_time, 0)


class FailoverDevice(threading.Thread):
    """A data logger: sends ``count`` uploads stop-and-wait; on a lost connection or no ack
    within ``ack_wait`` [s] it reconnects to the next gateway and resends (表1 OverTime)."""

    def __init__(self, mn: str, ports: Sequence[int], count: int, ack_wait: float = 3.0):
        super().__init__(daemon=True, name=f"device-{mn}")
        self.mn, self.ports, self.count, self.ack_wait = mn, list(ports), count, ack_wait
        self.acked: list[tuple[str, str, str, int]] = []
        self.sent: set[tuple[str, str, str, int]] = set()
        self.resends = 0
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._run()
        except BaseException as error:  # reported by the test
            self.error = error

    def _run(self) -> None:
        turn, sock = 0, None
        for n in range(self.count):
            frame, key = frame_for(self.mn, n)
            self.sent.add(key)
            while not self.stop.is_set():
                if sock is None:
                    sock = self._connect(self.ports[turn % len(self.ports)])
                    if sock is None:
                        turn += 1
                        time.sleep(0.1)
                        continue
                if self._exchange(sock, frame):
                    self.acked.append(key)
                    break
                self.resends += 1
                with contextlib.suppress(OSError):
                    sock.close()
                sock, turn = None, turn + 1
        if sock is not None:
            sock.close()

    def _connect(self, port: int) -> socket.socket | None:
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=self.ack_wait)
        except OSError:
            return None
        sock.settimeout(self.ack_wait)
        return sock

    @staticmethod
    def _exchange(sock: socket.socket, frame: bytes) -> bool:
        """Send one frame and read its 9014; False on a lost connection or no ack in time."""
        try:
            sock.sendall(frame)
            reply = b""
            while not reply.endswith(b"\r\n"):
                chunk = sock.recv(4096)
                if not chunk:
                    return False
                reply += chunk
        except OSError:
            return False
        return b"CN=9014" in reply


def start_gateway(
    db: Path, port: int, broker: str, log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """``ecobasin gateway --broker`` as its own process (kill -9 kills it and its front);
    ``env``: more environment (the broker user and its password file)."""
    return gateway_listening(spawn_gateway(db, port, broker, log, env), port, log)


def spawn_gateway(
    db: Path, port: int, broker: str, log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """:func:`start_gateway` without the wait, so that several processes start together."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            [str(ECOBASIN), "gateway", "--db", str(db), "--port", str(port), "--broker", broker,
             "--status-every", "1"],
            stdout=out, stderr=subprocess.STDOUT, env={**_ENV, **(env or {})},
        )  # fmt: skip
    return process


def gateway_listening(
    process: subprocess.Popen[bytes], port: int, log: Path
) -> subprocess.Popen[bytes]:
    """``process`` once its gateway listens on ``port``."""

    def listening() -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return True
        assert process.poll() is None, log.read_text()
        return False

    wait_for(listening, f"gateway on {port}")
    return process


def start_writer(
    db: Path,
    broker: str,
    durable: str,
    subjects: str,
    log: Path,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """``ecobasin gateway writer`` as its own process, returned once its consumer is bound."""
    start = log.stat().st_size if log.exists() else 0
    return writer_ready(spawn_writer(db, broker, durable, subjects, log, env), durable, log, start)


def spawn_writer(
    db: Path,
    broker: str,
    durable: str,
    subjects: str,
    log: Path,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """:func:`start_writer` without the wait (its log's size before: ``log.stat()``)."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            [str(ECOBASIN), "gateway", "writer", "--db", str(db), "--broker", broker,
             "--durable", durable, "--filter", subjects, "--status-every", "1"],
            stdout=out, stderr=subprocess.STDOUT, env={**_ENV, **(env or {})},
        )  # fmt: skip
    return process


def writer_ready(
    process: subprocess.Popen[bytes], durable: str, log: Path, start: int = 0
) -> subprocess.Popen[bytes]:
    """``process`` once its log, past byte ``start``, says its consumer is bound."""

    def ready() -> bool:
        assert process.poll() is None, log.read_text()
        return "ready 就绪" in log.read_bytes()[start:].decode("utf-8", "replace")

    wait_for(ready, f"writer {durable} ready", 120)
    return process


def terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(PATIENCE)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _login(credentials: BrokerCredentials | None) -> dict[str, str]:
    return (
        {} if credentials is None else {"user": credentials.user, "password": credentials.password}
    )


#: A connection's patience [s]: a login is a bcrypt check on the server, slow on a busy machine.
CONNECT_TIMEOUT = 10


async def connect_once(
    url: str,
    credentials: BrokerCredentials | None = None,
    *,
    retry: bool = True,
    timeout: float = CONNECT_TIMEOUT,
    error_cb: Callable[[Exception], Coroutine[Any, Any, None]] | None = None,
) -> nats.NATS:
    """A test's client (``retry``: try each node of a cluster twice, else one attempt). A
    failed connection's socket is closed here: nats-py leaves it open when it does not retry,
    and the garbage collector would close it in some later test, with a ResourceWarning.
    ``error_cb``: hears the errors the server reports on a live connection (a permissions
    violation)."""
    nc = nats.NATS()
    try:
        await nc.connect(
            url.split(","),
            connect_timeout=timeout,  # type: ignore[arg-type]  # [s], used as a float
            max_reconnect_attempts=1 if retry else 0,
            allow_reconnect=retry,
            **_login(credentials),
            **({} if error_cb is None else {"error_cb": error_cb}),
        )
    except BaseException:
        await close_client(nc)
        raise
    return nc


async def consumer_drained(
    url: str, durable: str, stream: str = "HJ212", credentials: BrokerCredentials | None = None
) -> bool:
    """Whether a durable consumer has nothing pending and nothing unacknowledged (False while
    the broker does not answer: a cluster electing a new leader after a node's death)."""
    try:
        nc = await connect_once(url, credentials)
    except (OSError, TimeoutError, nats.errors.Error):
        return False
    try:
        info = await nc.jetstream().consumer_info(stream, durable)
    except nats.js.errors.NotFoundError:
        raise
    except (TimeoutError, nats.errors.Error):
        return False
    finally:
        await close_client(nc)
    return info.num_pending == 0 and info.num_ack_pending == 0


async def stream_messages(
    url: str, stream: str = "HJ212", credentials: BrokerCredentials | None = None
) -> int:
    nc = await connect_once(url, credentials)
    try:
        info = await nc.jetstream().stream_info(stream)
    finally:
        await close_client(nc)
    return int(info.state.messages)
