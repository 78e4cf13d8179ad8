"""Issue 13 item 18: ``kill -9`` of an import leaves no worker behind, and the next run computes
the AQI of what the import had stored.

A real ``ecobasin import cnemc`` process over ten files read by worker processes; the fifth file
is a named pipe nobody writes, so the import stops there for good after committing the first
four, and is killed then. Processes are found in /proc (Linux).
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from imports_helpers import write_live

from ecobasin.store import Store

pytestmark = [
    pytest.mark.shared_data,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc (Linux)"),
]
ECOBASIN = Path(sys.executable).with_name("ecobasin")
#: Generous bounds for a loaded machine: they only stop a hung test, they time nothing.
PATIENCE = 180.0


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            tree.setdefault(int(fields[1]), []).append(int(entry.name))
    return tree


def _descendants(pid: int) -> set[int]:
    tree, found, todo = _children(), set(), [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


def _lines(stream: object, sink: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        sink.put(line)


def test_kill_9_leaves_no_worker_and_the_next_run_computes_the_aqi(
    tmp_path: Path, shared_data: Path
) -> None:
    folder = tmp_path / "files"
    folder.mkdir()
    for hour in range(1, 11):
        if hour == 5:
            os.mkfifo(folder / "f05.csv")  # read by a worker: it blocks there for good
        else:
            write_live(shared_data, folder, f"f{hour:02d}.csv", hour)
    db = tmp_path / "kill.duckdb"
    env = {**os.environ, "COLUMNS": "200"}
    subprocess.run([ECOBASIN, "init", "--db", db], check=True, env=env, capture_output=True)
    importing = subprocess.Popen(
        [ECOBASIN, "import", "cnemc", folder, "--db", db],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    output: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=_lines, args=(importing.stderr, output), daemon=True)
    reader.start()
    seen, deadline = [], time.monotonic() + PATIENCE
    workers: set[int] = set()
    try:
        while not any("f04.csv" in line for line in seen if "committed" in line):
            assert time.monotonic() < deadline, f"f01-f04 never committed: {seen}"
            assert importing.poll() is None, f"the import ended: {seen}"
            with contextlib.suppress(queue.Empty):
                seen.append(output.get(timeout=1))
        workers = _descendants(importing.pid)
        assert len(workers) >= 2, "the import reads ten files in worker processes"
    finally:
        importing.send_signal(signal.SIGKILL)
        importing.wait()
    survivors = _alive(workers)
    while survivors and time.monotonic() < deadline:
        time.sleep(0.2)
        survivors = _alive(workers)
    for pid in survivors:  # clean up after a failure: these are this test's own processes
        os.kill(pid, signal.SIGKILL)
    reader.join(PATIENCE)  # the pipe ends when the import and its workers are gone
    assert importing.stderr is not None
    importing.stderr.close()
    assert not survivors, f"worker processes outlived the killed import: {sorted(survivors)}"

    with Store(db) as store:  # what the killed import committed, and its marks
        stored = store.execute("SELECT count(*) AS n FROM observations")["n"].iloc[0]
        pending = store.execute("SELECT count(*) AS n FROM aqi_pending")["n"].iloc[0]
        aqi_before = store.execute("SELECT count(*) AS n FROM aqi_hourly")["n"].iloc[0]
    assert stored > 0 and pending > 0 and aqi_before == 0

    # any write command computes it: here `init` again
    again = subprocess.run(
        [ECOBASIN, "init", "--db", db], env=env, capture_output=True, text=True, check=False
    )
    assert again.returncode == 0, again.stderr
    assert "station-days" in again.stderr
    with Store(db) as store:
        hours = store.execute(
            "SELECT time FROM aqi_hourly WHERE scope = 'site' AND scope_id = '1431A' ORDER BY time"
        )
        pending_after = store.execute("SELECT count(*) AS n FROM aqi_pending")["n"].iloc[0]
    local_hours = [t.hour for t in hours["time"].dt.tz_convert("Asia/Shanghai")]
    assert {1, 2, 3, 4} <= set(local_hours)
    assert pending_after == 0
