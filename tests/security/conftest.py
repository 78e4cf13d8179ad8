"""Fixtures of the security tests (issue 13): a real DuckDB file with users, tokens and a large
observation table, and ``ecobasin serve`` as a real uvicorn process on a free loopback port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from ecobasin.store import Store
from ecobasin.web.security import accounts
from loopback import wait_for_health
from security.auth_server import copy_store, make_store
from web.conftest import build_store

#: Users of the security store: name -> (role, city).
USERS = {"admin": ("admin", None), "cd_editor": ("editor", 510100), "viewer": ("viewer", None)}
#: Hourly rows added for the export tests (3 air stations × 2 parameters × hours).
BIG_HOURS = 20_000


@dataclass(frozen=True)
class SecurityStore:
    path: Path
    tokens: dict[str, str]  # user name -> API token

    def auth(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}


def big_frame() -> pd.DataFrame:
    """120 000 hourly PM2.5 and PM10 values of the three test air stations (2010–2012)."""
    hours = pd.date_range("2010-01-01T00:00Z", periods=BIG_HOURS, freq="h")
    parts = []
    for site in ("1431A", "1432A", "2286A"):
        for parameter in ("PM10", "SO2"):
            parts.append(
                pd.DataFrame(
                    {
                        "site_id": site,
                        "parameter": parameter,
                        "period": "1h",
                        "time": hours.astype("datetime64[us, UTC]"),
                        "value": (pd.Series(range(BIG_HOURS)) % 200 + 5).astype(float),
                        "flag": None,
                    }
                )
            )
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="package")
def security_store(tmp_path_factory: pytest.TempPathFactory) -> SecurityStore:
    path = build_store(tmp_path_factory.mktemp("security") / "security.duckdb")
    tokens = {}
    with Store(path) as store:
        store.write_observations(big_frame(), store.begin_batch("test", "security tests"))
        for name, (role, city) in USERS.items():
            accounts.create_user(store.con, name, role, city, f"password-of-{name}")
            tokens[name] = accounts.create_token(store.con, name, "tests")[1]
    return SecurityStore(path, tokens)


@pytest.fixture(scope="session")
def auth_store_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sign-in tests' store (an admin ``root``, a viewer ``eve``), made once per test process
    through the real ``ecobasin init`` and ``ecobasin user add`` commands, in this process (the
    file ``init`` makes in its own process is tests/security/test_auth_database_file.py's)."""
    return make_store(tmp_path_factory.mktemp("auth-template") / "auth.duckdb", in_process=True)


@pytest.fixture
def auth_store(auth_store_template: Path, tmp_path: Path) -> Path:
    """A private copy of :func:`auth_store_template` for one test (it signs in, resets, serves)."""
    return copy_store(auth_store_template, tmp_path / "auth.duckdb")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Served:
    """A running ``serve`` process."""

    base: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def peak_rss_kib(self) -> int:
        """The process's peak resident set (VmHWM) [KiB]."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise AssertionError("no VmHWM in /proc status")

    def stderr(self) -> str:
        return self.log.read_text(errors="replace")


def start_server(db: Path, tmp: Path, **env: str) -> Served:
    """``ecobasin.web.serve`` over a copy of ``db`` in a subprocess, with ``ECOBASIN_*``
    settings from ``env``; returns once it answers."""
    copy = tmp / f"served-{free_port()}.duckdb"
    shutil.copyfile(db, copy)
    port = free_port()
    code = (
        "import sys; from ecobasin.web import serve; "
        "serve(sys.argv[1], host='127.0.0.1', port=int(sys.argv[2]), region='chengdu_plain')"
    )
    environment = {**os.environ, **{f"ECOBASIN_{k.upper()}": v for k, v in env.items()}}
    log = tmp / f"server-{port}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-c", code, str(copy), str(port)],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=environment,
        )
    served = Served(f"http://127.0.0.1:{port}", port, process, log)
    try:
        wait_for_health(served.base, process)
    except RuntimeError as error:
        stop_server(served)
        raise AssertionError(f"server did not start ({error}): {served.stderr()}") from None
    return served


def stop_server(served: Served) -> None:
    served.process.terminate()
    try:
        served.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        served.process.kill()
        served.process.wait()


@pytest.fixture(scope="module")
def server(
    security_store: SecurityStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """A server with the default limits."""
    served = start_server(security_store.path, tmp_path_factory.mktemp("served"))
    yield served
    stop_server(served)


@pytest.fixture(scope="package")
def read_only_server(
    security_store: SecurityStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """A server with the default limits shared by the modules whose tests neither write, nor
    measure the server's memory, nor change its state (the header tests, the export pages): one
    start-up (~5 CPU-s with its imports) instead of one per module. Those modules run on one worker
    (``classify.SHARED_SERVER_FOLDERS``)."""
    served = start_server(security_store.path, tmp_path_factory.mktemp("served-read-only"))
    yield served
    stop_server(served)


@pytest.fixture(scope="package")
def configured_server(
    security_store: SecurityStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """A server with a public URL set and one heavy-export slot, shared by the modules that
    test one setting each (the paging links, the export bound): neither setting touches what
    the other's tests read, and one start-up (~5 CPU-s) serves both. Those modules run on one
    worker (``classify.SHARED_SERVER_FOLDERS``)."""
    served = start_server(
        security_store.path,
        tmp_path_factory.mktemp("configured"),
        public_url="https://eco.example.org/",
        heavy_exports="1",
    )
    yield served
    stop_server(served)


def raw_request(port: int, head: str, body: bytes = b"", rcvbuf: int | None = None) -> bytes:
    """Send a raw HTTP/1.1 request and read the answer until the server closes (the answer
    of a request the server refused from its head, before the body)."""
    with socket.socket() as sock:
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.settimeout(60)  # a bound for a wedged server, not a performance limit
        sock.connect(("127.0.0.1", port))
        sock.sendall(head.encode("latin-1") + body)
        chunks = []
        while True:
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            chunks.append(data)
            if b"\r\n\r\n" in b"".join(chunks) and _complete(b"".join(chunks)):
                break
        return b"".join(chunks)


def _complete(answer: bytes) -> bool:
    head, _, body = answer.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


def status_of(answer: bytes) -> int:
    """The status code of a raw HTTP answer."""
    return int(answer.split(b" ", 2)[1])
