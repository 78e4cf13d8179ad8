"""Read-only commands while ``ecobasin gateway`` or ``ecobasin serve`` holds the database
(issue 12, defect 6): real server processes hold the file, and the commands that ask them run
in the test's process through the console script's entry point (:mod:`cli_in_process`; the
holder is the other process DuckDB refuses), the same answers as when the file is free;
commands that write still stop with a clear message. Where the test's process itself holds the
file, the command runs in a process of its own."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pandas as pd
import pytest

from cli_in_process import run_ecobasin
from ecobasin import catalog
from ecobasin.cli.readpath import info_path, token_path
from ecobasin.gateway import register_devices
from ecobasin.ingest.hj212 import encode_message
from ecobasin.store import Store
from store_files import built_store_file

LAUNCH = "import sys; from ecobasin.cli import main; sys.argv[0] = 'ecobasin'; main()"
PATIENCE = 120.0
#: The read-only commands, each with options that make its output data (stdout).
READS = [
    ["status"],
    ["sites", "--format", "csv"],
    ["aqi", "--format", "csv", "--start", "2024-01-01", "--end", "2024-01-02"],
    ["evaluate", "--period", "2024-01", "--format", "csv"],
    ["alarms", "--format", "csv"],
    ["rejected"],
]


def _build_held(path: Path) -> None:
    """The region's catalog, one air station and its device."""
    store = Store(path)
    store.sync_catalog(catalog.load_region())
    store.upsert_sites(
        pd.DataFrame(
            [{"site_id": "S_AIR", "kind": "air_station", "level": "city", "city_code": 510100,
              "name_zh": "测试站", "name_en": "test station", "lon": 104.06, "lat": 30.67}]
        ),
        source="test",
    )  # fmt: skip
    register_devices(
        store, pd.DataFrame([{"mn": "DEV1", "password": "123456", "site_id": "S_AIR"}])
    )
    store.close()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A private copy of :func:`_build_held`'s store, built once per process."""
    return built_store_file(tmp_path / "held.duckdb", "readpath held store", _build_held)


def client_environment() -> dict[str, str]:
    """A user's environment: none of the suite's ``ECOBASIN_*`` settings, a wide terminal."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECOBASIN_")}
    return {**env, "COLUMNS": "200"}


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``ecobasin ARGS`` from ``cwd``, run in this process (another process holds the file)."""
    return run_ecobasin(*args, env=client_environment(), cwd=cwd)


def cli_process(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``ecobasin ARGS`` in a process of its own (this process holds the file)."""
    return subprocess.run(
        [sys.executable, "-c", LAUNCH, *args],
        capture_output=True,
        text=True,
        timeout=PATIENCE,
        cwd=cwd,
        env=client_environment(),
    )


def start(args: list[str], ready: str, cwd: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, *args], stderr=subprocess.PIPE, text=True, cwd=cwd
    )
    assert process.stderr is not None
    lines: list[str] = []
    for line in process.stderr:
        lines.append(line)
        if ready in line:
            threading.Thread(target=_drain, args=(process.stderr, lines), daemon=True).start()
            return process, line
    process.stderr.close()
    raise AssertionError(f"did not start (exit {process.wait()}): {''.join(lines)}")


def _drain(stream: IO[str], lines: list[str]) -> None:
    lines.extend(stream)
    stream.close()


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
    process.wait(PATIENCE)


def upload(qn: str, data_time: str) -> bytes:
    head = {"QN": qn, "ST": "22", "CN": "2011", "PW": "123456", "MN": "DEV1", "Flag": "5"}
    return encode_message(head, {"DataTime": data_time, "a34004-Rtd": "35", "a34004-Flag": "N"})


@pytest.fixture
def gateway(db: Path, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    args = ["gateway", "--db", str(db), "--port", "0", "--status-every", "3600"]
    process, line = start(args, "listening on", tmp_path)
    port = int(line.split("listening on")[1].split(";")[0].split(":")[-1])
    yield process, port
    stop(process)


def test_read_only_commands_answer_while_the_gateway_holds_the_database(
    db: Path, tmp_path: Path, gateway: tuple[subprocess.Popen[str], int]
) -> None:
    _, port = gateway
    with socket.create_connection(("127.0.0.1", port), timeout=PATIENCE) as device:
        device.sendall(upload("20240101100000001", "20240101100000"))
        assert b"CN=9014" in device.recv(4096)  # acked: durable, then in the store
    # the files that say where to ask are the owner's only
    for path in (info_path(db), token_path(db)):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    out = tmp_path / "export.csv"
    for _ in range(100):  # the writer stores the acked frame within its write delay
        result = cli("export", "--out", out.name, "--db", str(db), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        if len(pd.read_csv(out)) == 1:
            break
        time.sleep(0.1)
    exported = pd.read_csv(out)  # written where the client asked (relative to its directory)
    assert exported["value"].tolist() == [35.0]
    sites = cli("sites", "--format", "csv", "--db", str(db), cwd=tmp_path)
    assert "S_AIR" in sites.stdout and "测试站" in sites.stdout
    status = cli("status", "--db", str(db), cwd=tmp_path)
    assert "observations" in status.stderr
    # a command that writes is not forwarded: it stops with the clear "busy" message
    write = cli("device", "add", "DEV2", "--password", "1", "--site", "S_AIR", "--db", str(db),
                cwd=tmp_path)  # fmt: skip
    assert write.returncode == 1 and "error" in write.stderr


def test_answers_equal_those_of_a_free_database(
    db: Path, tmp_path: Path, gateway: tuple[subprocess.Popen[str], int]
) -> None:
    process, _ = gateway
    held = [cli(*args, "--db", str(db), cwd=tmp_path) for args in READS]
    stop(process)
    assert not info_path(db).exists() and not token_path(db).exists()  # removed at stop
    free = [cli(*args, "--db", str(db), cwd=tmp_path) for args in READS]
    assert [(r.returncode, r.stdout, r.stderr) for r in held] == [
        (r.returncode, r.stdout, r.stderr) for r in free
    ]
    assert [r.returncode for r in held[:3]] == [0, 0, 0]


def test_status_answers_while_serve_holds_the_database(db: Path, tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process, _ = start(
        ["serve", "--no-gateway", "--port", str(port), "--db", str(db)],
        "Uvicorn running",
        tmp_path,
    )
    try:
        result = cli("sites", "--format", "csv", "--db", str(db), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "S_AIR" in result.stdout
        wrong = cli("alarms", "refresh", "--db", str(db), cwd=tmp_path)
        assert wrong.returncode != 0
    finally:
        stop(process)


def test_a_stale_server_file_gives_a_clear_error(db: Path, tmp_path: Path) -> None:
    holder = Store(db)  # this process holds the file; the info file names a dead server
    try:
        info_path(db).write_text('{"address": "127.0.0.1:9", "pid": 1}\n')
        token_path(db).write_text("x\n")
        result = cli_process("status", "--db", str(db), cwd=tmp_path)
        assert result.returncode == 1
        assert "did not answer" in result.stderr
    finally:
        holder.close()
