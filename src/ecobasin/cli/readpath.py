"""Read-only commands while another process holds the database (DuckDB: one process per file).

``ecobasin gateway`` and ``ecobasin serve`` hold the database file for writing, and DuckDB then
refuses every other process, readers included. So the process holding the file also answers
the read-only commands (:data:`READ_ONLY_COMMANDS`) for the others:

- **server side** (:class:`ReadService`): a small TCP service on 127.0.0.1 (any free port) in a
  thread of the holding process. It writes ``<db>.server.json`` (address, pid) and
  ``<db>.server.token`` (a random token) beside the database, both created private (0600),
  and keeps only the token's SHA-256. A request is one JSON line ``{"token", "argv"}``; the
  command runs in that thread with a read view of the process's own store, its stdout and
  stderr captured for that thread only, and the answer is one JSON line
  ``{"exit_code", "stdout", "stderr"}``. One request at a time; requests are at most 64 KiB
  and a client has 10 s to send one; only the read-only commands are run.
- **client side** (:func:`forward`): a read-only command whose ``open_store`` finds the file
  busy looks for ``<db>.server.json``; if it is there it sends its own command line and
  prints the answer as if it had run locally (same output, same exit code).

Whoever can read the token file can read the database file too (same owner, 0600), so the
token adds no privilege; it keeps other local users off the port.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import json
import os
import secrets
import socket
import socketserver
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:  # an annotation only: `ecobasin --help` (cli.main imports this) loads no store
    from ecobasin.store import Store

__all__ = [
    "INVOCATION",
    "READ_ONLY_COMMANDS",
    "ReadService",
    "ask",
    "forward",
    "info_path",
    "serving_store",
    "token_path",
]

#: Commands the holding process answers for others (their sub-commands that write are not).
READ_ONLY_COMMANDS = frozenset(
    {"status", "sites", "export", "aqi", "evaluate", "alarms", "rejected"}
)
#: [bytes] Largest request line.
MAX_REQUEST = 64 * 1024
#: [s] Time a client has to send its request, and a forwarding client to get its answer.
REQUEST_TIMEOUT = 10.0
ANSWER_TIMEOUT = 600.0
#: Options whose value is a path, made absolute before forwarding (the server's working
#: directory is not the client's).
PATH_OPTIONS = frozenset({"--out", "--region"})
#: The command line of this process (set by ``ecobasin.cli.main``); None when ecobasin runs
#: in-process (tests' CliRunner), which then never forwards.
INVOCATION: list[str] | None = None

_local = threading.local()


def info_path(db: Path) -> Path:
    """``<db>.server.json``: where the holding process answers (address, pid)."""
    return db.with_name(db.name + ".server.json")


def token_path(db: Path) -> Path:
    """``<db>.server.token``: the token a client sends (private to the owner)."""
    return db.with_name(db.name + ".server.token")


def served_store() -> Store | None:
    """The store the read service lends to the command running in this thread, if any."""
    store: Store | None = getattr(_local, "store", None)
    return store


@contextlib.contextmanager
def serving_store(store: Store) -> Iterator[None]:
    """Commands run in this thread read ``store`` instead of opening the file."""
    _local.store = store
    try:
        yield
    finally:
        _local.store = None


# -- server side ------------------------------------------------------------------------------
class _ThreadStream(io.TextIOBase):
    """``sys.stdout`` / ``sys.stderr`` that write to this thread's capture buffer while a
    forwarded command runs in it, and to the real stream otherwise (other threads' logs)."""

    def __init__(self, real: IO[str], name: str) -> None:
        super().__init__()
        self.real, self.name = real, name

    def _target(self) -> IO[str]:
        captured: dict[str, io.StringIO] | None = getattr(_local, "captured", None)
        return self.real if captured is None else captured[self.name]

    def write(self, text: str) -> int:
        return self._target().write(text)

    def flush(self) -> None:
        self._target().flush()

    def isatty(self) -> bool:
        return self._target().isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._target(), "encoding", None) or "utf-8"

    def fileno(self) -> int:
        return self._target().fileno()


def allowed(argv: list[str]) -> str | None:
    """Why ``argv`` may not run through the holding process (None: it may)."""
    from ecobasin.cli import app

    if not argv or argv[0] not in READ_ONLY_COMMANDS:
        names = ", ".join(sorted(READ_ONLY_COMMANDS))
        return f"only the read-only commands ({names}) run through the server"
    root = typer.main.get_command(app)
    # get_command, not the ``commands`` dict: the root group imports its commands on first use
    get_command = getattr(root, "get_command", None)
    command = get_command(typer.Context(root), argv[0]) if get_command else None
    subcommands = getattr(command, "commands", {})
    if any(arg in subcommands for arg in argv[1:]):
        return f"`{argv[0]}` sub-commands write: stop the server first"
    return None


def run_captured(store: Store, argv: list[str]) -> dict[str, Any]:
    """Run one read-only command against ``store`` here; its exit code and output."""
    from ecobasin.cli import app

    captured = {"stdout": io.StringIO(), "stderr": io.StringIO()}
    _local.captured = captured
    code = 0
    try:
        with serving_store(store):
            result = typer.main.get_command(app).main(
                args=argv, prog_name="ecobasin", standalone_mode=False
            )
        code = result if isinstance(result, int) else 0  # an Exit(n) comes back as n
    except typer.Exit as done:
        code = done.exit_code
    except typer.Abort:
        code = 1
    except Exception as error:  # the client gets the reason; the server keeps running
        show = getattr(error, "show", None)  # a usage error, shown as the command line would
        if callable(show):
            show(file=captured["stderr"])
        else:
            captured["stderr"].write(f"error 错误: {type(error).__name__}: {error}\n")
        code = int(getattr(error, "exit_code", 1))
    finally:
        _local.captured = None
    return {"exit_code": code, **{k: v.getvalue() for k, v in captured.items()}}


class ReadService:
    """The holding process's read service (see the module docstring).

    Parameters
    ----------
    store : Store
        The process's store; each request reads through its own view (``store.reader()``).
    db : Path
        The database file: the info and token files are written beside it.
    """

    def __init__(self, store: Store, db: Path) -> None:
        self.store, self.db = store, db.resolve()
        self.server: socketserver.TCPServer | None = None
        self.thread: threading.Thread | None = None
        self.streams: tuple[Any, Any] | None = None
        self.digest = b""

    def start(self) -> int:
        """Listen, write the info and token files (0600); returns the port."""
        token = secrets.token_urlsafe(32)
        self.digest = hashlib.sha256(token.encode()).digest()
        service = self

        class Handler(socketserver.StreamRequestHandler):
            timeout = REQUEST_TIMEOUT

            def handle(self) -> None:
                service.answer(self.rfile, self.wfile)

        self.server = socketserver.TCPServer(("127.0.0.1", 0), Handler)
        port = int(self.server.server_address[1])
        self.streams = (sys.stdout, sys.stderr)
        sys.stdout = _ThreadStream(sys.stdout, "stdout")
        sys.stderr = _ThreadStream(sys.stderr, "stderr")
        _write_private(token_path(self.db), token + "\n")
        info = {"address": f"127.0.0.1:{port}", "pid": os.getpid(), "db": str(self.db)}
        _write_private(info_path(self.db), json.dumps(info) + "\n")
        self.thread = threading.Thread(
            target=self.server.serve_forever, name="read-service", daemon=True
        )
        self.thread.start()
        return port

    def answer(self, rfile: io.BufferedIOBase, wfile: io.BufferedIOBase) -> None:
        """One request line in, one answer line out."""
        try:
            line = rfile.readline(MAX_REQUEST + 1)
        except OSError:
            return
        reply: dict[str, Any]
        try:
            if len(line) > MAX_REQUEST:
                raise ValueError(f"request longer than {MAX_REQUEST} bytes")
            request = json.loads(line)
            token = str(request["token"]).encode()
            argv = [str(arg) for arg in request["argv"]]
        except (ValueError, KeyError, TypeError) as error:
            reply = {"exit_code": 2, "stdout": "", "stderr": f"bad request: {error}\n"}
        else:
            if not hmac.compare_digest(hashlib.sha256(token).digest(), self.digest):
                reply = {"exit_code": 2, "stdout": "", "stderr": "wrong token\n"}
            elif (why := allowed(argv)) is not None:
                reply = {"exit_code": 2, "stdout": "", "stderr": f"error 错误: {why}\n"}
            else:
                view = self.store.reader()
                try:
                    reply = run_captured(view, argv)
                finally:
                    view.close()
        with contextlib.suppress(OSError):
            wfile.write(json.dumps(reply, ensure_ascii=False).encode() + b"\n")

    def stop(self) -> None:
        """Stop answering, remove the files (if still ours), restore the streams."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        for path in (info_path(self.db), token_path(self.db)):
            with contextlib.suppress(OSError, ValueError):
                if path.suffix == ".json" and json.loads(path.read_text())["pid"] != os.getpid():
                    continue
                path.unlink()
        if self.streams is not None:
            sys.stdout, sys.stderr = self.streams
            self.streams = None

    def __enter__(self) -> ReadService:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (0600 from creation, replaced atomically)."""
    temporary = path.with_name(path.name + f".{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(temporary, path)


# -- client side ------------------------------------------------------------------------------
def forward(db: Path) -> int | None:
    """Send this process's command line to the process holding ``db`` and print its answer.

    Returns
    -------
    int or None
        The command's exit code; None when no holding process answers for ``db`` (no info
        file, or not started from the command line).

    Raises
    ------
    OSError
        When the info file is there but its process does not answer (stale after a crash).
    """
    if INVOCATION is None:
        return None
    reply = ask(db, INVOCATION)
    if reply is None:
        return None
    sys.stdout.write(reply["stdout"])
    sys.stderr.write(reply["stderr"])
    return int(reply["exit_code"])


def ask(db: Path, argv: list[str]) -> dict[str, Any] | None:
    """Run a read-only command line in the process holding ``db``: its exit code, stdout and
    stderr; None when no process says it holds ``db`` (no info file).

    Raises
    ------
    OSError
        When the info file is there but its process does not answer (stale after a crash).
    """
    db = db.resolve()
    if not info_path(db).exists():
        return None
    info = json.loads(info_path(db).read_text(encoding="utf-8"))
    token = token_path(db).read_text(encoding="utf-8").strip()
    host, _, port = str(info["address"]).rpartition(":")
    request = {"token": token, "argv": _absolute_paths(argv)}
    with socket.create_connection((host, int(port)), timeout=REQUEST_TIMEOUT) as sock:
        sock.sendall(json.dumps(request).encode() + b"\n")
        sock.settimeout(ANSWER_TIMEOUT)
        with sock.makefile("rb") as answer:
            reply: dict[str, Any] = json.loads(answer.readline() or b"{}")
    if "exit_code" not in reply:
        raise OSError(f"no answer from the server at {info['address']}")
    return reply


def _absolute_paths(argv: list[str]) -> list[str]:
    out = []
    for index, arg in enumerate(argv):
        name, equals, value = arg.partition("=")
        if equals and name in PATH_OPTIONS:
            arg = f"{name}={_absolute(name, value)}"
        elif index and argv[index - 1] in PATH_OPTIONS:
            arg = _absolute(argv[index - 1], arg)
        out.append(arg)
    return out


def _absolute(option: str, value: str) -> str:
    """An output path always absolute; a region only when it names a file (not a bundled
    region such as ``beijing``)."""
    path = Path(value)
    if option == "--out" or path.suffix or path.exists():
        return str(path.resolve())
    return value
