"""Helpers of the security tests: a small store (``ecobasin init`` and ``ecobasin user add``
in their own processes) served by the real ``ecobasin serve`` on a free port, and sign-ins from
chosen loopback addresses (the whole 127.0.0.0/8 is local on Linux, so one machine can play
many clients; 127.0.0.1 itself is left alone, as uvicorn trusts its proxy headers).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from loopback import REQUEST_TIMEOUT, TLS_CONTEXT, wait_for_health

ECOBASIN = (sys.executable, "-c", "from ecobasin.cli import main; main()")
#: Users of the served store and their passwords (admin, a viewer).
PASSWORDS = {"root": "root-password-2025", "eve": "eve-password-2025"}


def ecobasin(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the ``ecobasin`` command line as a user would, in its own process."""
    return subprocess.run(
        [*ECOBASIN, *args], input=stdin, capture_output=True, text=True, check=False
    )


def ok(*args: str, stdin: str | None = None) -> str:
    """Run ``ecobasin`` and return its stdout; fail the test with its stderr otherwise."""
    result = ecobasin(*args, stdin=stdin)
    assert result.returncode == 0, f"ecobasin {' '.join(args)}:\n{result.stderr}"
    return result.stdout


def make_store(db: Path, *, in_process: bool = False) -> Path:
    """A new store with an admin ``root`` and a viewer ``eve``: through ``ecobasin`` processes,
    or ``in_process`` through typer's runner on the real app, where no test looks at what the
    processes do (a template to copy; each process paid ~1.5 s of CPU for its imports)."""
    run = ok_in_process if in_process else ok
    run("init", "--db", str(db))
    add_users(db, run)
    return db


def add_users(db: Path, run: Callable[..., str]) -> None:
    """``ecobasin user add`` of the admin ``root`` and the viewer ``eve`` (:data:`PASSWORDS`)
    to the store at ``db``, through ``run`` (:func:`ok` or :func:`ok_in_process`)."""
    for name, role in (("root", "admin"), ("eve", "viewer")):
        run("user", "add", name, "--role", role, "--password-stdin", "--db", str(db),
            stdin=PASSWORDS[name] + "\n")  # fmt: skip


def ok_in_process(*args: str, stdin: str | None = None) -> str:
    """:func:`ok` in this process (the console script's entry point, tests/cli_in_process.py),
    where no test looks at the process itself: ~1.5 s of CPU less per command."""
    from cli_in_process import run_ecobasin

    result = run_ecobasin(*args, stdin=stdin)
    assert result.returncode == 0, f"ecobasin {' '.join(args)}:\n{result.stderr}"
    return result.stdout


def copy_store(template: Path, db: Path) -> Path:
    """A copy at ``db`` of a store :func:`make_store` made, with the files beside it (the
    cookie key, a write-ahead log), their private modes kept: for tests whose subject is not how
    ``init`` and ``user add`` make a store (that costs three ``ecobasin`` processes, ~4 s of CPU).
    """
    for source in template.parent.glob(template.name + "*"):
        shutil.copy2(source, db.with_name(db.name + source.name.removeprefix(template.name)))
    return db


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    """A running ``ecobasin serve``: its URL, database file and process."""

    url: str
    db: Path
    process: subprocess.Popen[bytes]

    def client(self, address: str = "127.0.0.9") -> httpx.Client:
        """A client whose requests come from ``address`` (a loopback address)."""
        transport = httpx.HTTPTransport(local_address=address, verify=TLS_CONTEXT)
        return httpx.Client(
            base_url=self.url, transport=transport, timeout=REQUEST_TIMEOUT, verify=TLS_CONTEXT
        )

    def sign_in(self, name: str, password: str, address: str = "127.0.0.9") -> httpx.Response:
        """One sign-in through the form (its CSRF token first), from ``address``."""
        with self.client(address) as client:
            return sign_in(client, name, password)

    def peak_memory(self) -> int:
        """The server process's peak resident memory so far (VmHWM) [bytes]."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
        assert match, "no VmHWM in /proc/<pid>/status"
        return int(match.group(1)) * 1024


def sign_in(client: httpx.Client, name: str, password: str) -> httpx.Response:
    """Sign in through the form with ``client`` (which keeps the session cookie)."""
    page = client.get("/signin")
    assert page.status_code == 200, page.text
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, "the sign-in form carries no CSRF token"
    return client.post(
        "/signin",
        data={"name": name, "password": password, "csrf_token": match.group(1), "next": "/"},
        follow_redirects=False,
    )


def production_hash_environment() -> dict[str, str]:
    """This environment less the suite's cheap Argon2id cost (tests/conftest.py): a server
    started with it hashes at the production cost (64 MiB per verification)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("ECOBASIN_PASSWORD_HASH_")}


def start_server(db: Path, *extra: str, env: dict[str, str] | None = None) -> Server:
    """``ecobasin serve`` over ``db`` on a free port (``env``: its environment, else ours)."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    command = [*ECOBASIN, "serve", "--port", str(port), "--db", str(db), *extra]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    try:
        wait_for_health(url, process)
    except RuntimeError as error:
        process.kill()
        stderr = process.communicate()[1].decode() if process.stderr else ""
        raise RuntimeError(f"ecobasin serve on {url}: {error}:\n{stderr}") from None
    return Server(url, db, process)


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
    if server.process.stderr is not None:
        server.process.stderr.close()


@pytest.fixture(name="server", scope="module")
def production_cost_server(
    auth_store_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A copy of the sign-in store served by ``ecobasin serve`` for one module, hashing at the
    production Argon2id cost: for the tests whose assertions are about that cost (the memory
    of verifications at once; imported by those modules, so it takes the place of the shared
    ``server`` of ``conftest``). One start (~5 CPU-s) for the module: its memory test runs
    first and proves that no other burst came before its own."""
    db = copy_store(auth_store_template, tmp_path_factory.mktemp("production") / "auth.duckdb")
    running = start_server(db, env=production_hash_environment())
    try:
        yield running
    finally:
        stop_server(running)
