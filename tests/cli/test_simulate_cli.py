"""``ecobasin simulate devices`` against a real ``ecobasin gateway`` process: it reports the
values acknowledged but not stored (issue 12, defect 3), read through the gateway holding the
database. The gateway is a process of its own; the simulator runs in the test's process through
the console script's entry point (:mod:`cli_in_process`), a client of that process."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from test_readpath_cli import cli, start, stop

from ecobasin.gateway.simulator import build_fleet


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``ecobasin ARGS`` from ``cwd`` in this process, with a user's environment."""
    return cli(*args, cwd=cwd)


def test_simulate_devices_counts_stored_values_through_the_running_gateway(
    tmp_path: Path,
) -> None:
    db = tmp_path / "fleet.duckdb"
    fleet = ["-n", "6", "--seed", "9"]
    assert any(d.max_cp < 1000 for d in build_fleet(6, 9))  # a stack that sends sub-packets
    registered = run("simulate", "devices", *fleet, "--register", "--db", str(db), cwd=tmp_path)
    assert registered.returncode == 0, registered.stderr
    args = ["gateway", "--db", str(db), "--port", "0", "--status-every", "3600"]
    process, line = start(args, "listening on", tmp_path)
    try:
        port = line.split("listening on")[1].split(";")[0].split(":")[-1]
        result = run(
            "simulate", "devices", *fleet, "--port", port, "--duration", "3",
            "--speedup", "600", "--db", str(db), cwd=tmp_path,
        )  # fmt: skip
    finally:
        stop(process)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.splitlines()[-1])
    assert summary["lost"] == 0 and summary["values_acked"] > 0
    assert summary["values_lost_after_ack"] == 0
