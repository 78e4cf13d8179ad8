"""Ctrl+C (SIGINT) ends ``ecobasin demo`` and ``ecobasin serve`` with a clear line and no
traceback: real processes, real sockets, a real signal."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli_in_process import run_ecobasin

pytestmark = pytest.mark.slow  # starts server processes

PATIENCE = 120.0  # [s] generous: 2 shared cores; no test outcome depends on it
ECOBASIN = [sys.executable, "-c", "from ecobasin.cli import main; main()"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _environment(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECOBASIN_")}
    return {**env, "COLUMNS": "200", "HOME": str(tmp_path)}


def _default_sigint() -> None:
    """Ctrl+C as a terminal delivers it: a suite started in the background of a
    non-interactive shell (``bash .ci/run &``) has SIGINT ignored, and a child inherits that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(args: list[str], tmp_path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*ECOBASIN, *args],
        cwd=tmp_path,
        env=_environment(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,  # runs in the child before exec
    )


def _until(ready: object, process: subprocess.Popen[str], what: str) -> None:
    """Poll ``ready()`` until true; fail with the process's output if it ends first."""
    deadline = time.monotonic() + PATIENCE
    while not ready():  # type: ignore[operator]
        if process.poll() is not None:
            pytest.fail(f"{what}: the process ended first\n{process.communicate()[1]}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"{what}: not within {PATIENCE} s\n{process.communicate()[1]}")
        time.sleep(0.2)


def _answers(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _interrupt(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=PATIENCE)
    return err


def test_ctrl_c_ends_serve_with_its_gateway_and_enterprises_without_a_traceback(
    tmp_path: Path,
) -> None:
    # the store is set up in this process; the signal is for the serve process
    init = run_ecobasin("init", "--db", "s.duckdb", env=_environment(tmp_path), cwd=tmp_path)
    assert init.returncode == 0, init.stderr
    port = _free_port()
    args = ["serve", "--db", "s.duckdb", "--port", str(port), "--simulate", "2"]
    process = _start([*args, "--gateway-port", "0"], tmp_path)
    _until(lambda: _answers(port), process, "serve listening")
    err = _interrupt(process)
    assert "Traceback" not in err, err
    assert "never retrieved" not in err, err
    assert process.returncode in (0, 130), err
    assert "stopped 已停止" in err


def test_ctrl_c_while_the_demo_builds_says_so_without_a_traceback(tmp_path: Path) -> None:
    port = _free_port()
    process = _start(["demo", "--db", "d.duckdb", "--port", str(port), "--no-live"], tmp_path)
    _until(lambda: (tmp_path / "d.duckdb").exists(), process, "the demo database begun")
    err = _interrupt(process)
    assert "Traceback" not in err, err
    assert process.returncode == 130, err
    assert "interrupted 已中断" in err
    assert "ecobasin demo" in err  # what to do next: run it again


@pytest.fixture(autouse=True)
def _python_has_ecobasin() -> None:
    assert shutil.which(sys.executable)
