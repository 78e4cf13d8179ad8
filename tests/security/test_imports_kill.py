"""Issue 13 item 18: ``kill -9`` of an import leaves no worker behind, and the next run computes
the AQI of what the import had stored.

A real ``ecobasin import cnemc`` process over ten files read by worker processes; the fifth file
is a named pipe nobody writes, so the import stops there for good (a worker waits on it, as on a
stalled network file) after committing the first four, and is killed then. Processes are found
in /proc (Linux).
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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cli_in_process import run_ecobasin
from ecobasin.store import Store, _sql
from security.imports_helpers import write_live

pytestmark = [
    pytest.mark.shared_data,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc (Linux)"),
]
ECOBASIN = Path(sys.executable).with_name("ecobasin")
#: Generous bounds for a loaded machine: they only stop a hung test, they time nothing.
PATIENCE = 180.0
ENV = {**os.environ, "COLUMNS": "200"}


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


def _workers(pid: int) -> set[int]:
    """The import's pool workers (spawned interpreters running multiprocessing's spawn_main)."""
    found = set()
    for child in _descendants(pid):
        with contextlib.suppress(OSError):
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.add(child)
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


@dataclass
class _Import:
    process: subprocess.Popen[str]
    lines: queue.Queue[str]
    db: Path
    seen: list[str]
    #: Every descendant seen before the import was killed (orphans are no longer descendants).
    spawned: set[int]

    def wait_for(self, done: object, what: str) -> None:
        deadline = time.monotonic() + PATIENCE
        while not done():  # type: ignore[operator]
            self.spawned |= _descendants(self.process.pid)
            assert time.monotonic() < deadline, f"{what} never happened: {self.seen}"
            assert self.process.poll() is None, f"the import ended: {self.seen}"
            with contextlib.suppress(queue.Empty):
                self.seen.append(self.lines.get(timeout=0.5))


def _pump(stream: object, sink: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        sink.put(line)


@pytest.fixture
def stalled_import(tmp_path: Path, shared_data: Path) -> Iterator[_Import]:
    """A real import of ten files whose fifth never ends; killed with SIGKILL afterwards."""
    folder = tmp_path / "files"
    folder.mkdir()
    for hour in range(1, 11):
        if hour == 5:
            os.mkfifo(folder / "f05.csv")  # read by a worker: it blocks there for good
        else:
            write_live(shared_data, folder, f"f{hour:02d}.csv", hour)
    db = tmp_path / "kill.duckdb"
    made = run_ecobasin("init", "--db", str(db), env=ENV)  # set-up: in this process
    assert made.returncode == 0, made.stderr
    process = subprocess.Popen(
        [ECOBASIN, "import", "cnemc", folder, "--db", db],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=_pump, args=(process.stderr, lines), daemon=True)
    reader.start()
    running = _Import(process, lines, db, [], set())
    try:
        yield running
    finally:
        running.spawned |= _descendants(process.pid)
        process.kill()
        process.wait()
        for pid in _alive(running.spawned):  # after a failure: this test's own processes
            os.kill(pid, signal.SIGKILL)
        reader.join(PATIENCE)
        assert process.stderr is not None
        process.stderr.close()


def _kill_and_wait(running: _Import) -> set[int]:
    """SIGKILL the import; the workers still alive once the machine had time to end them."""
    workers = _workers(running.process.pid)
    running.spawned |= _descendants(running.process.pid)
    running.process.send_signal(signal.SIGKILL)
    running.process.wait()
    deadline = time.monotonic() + PATIENCE
    survivors = _alive(workers)
    while survivors and time.monotonic() < deadline:
        time.sleep(0.2)
        survivors = _alive(workers)
    return survivors


def test_kill_9_of_an_import_leaves_no_worker_behind(stalled_import: _Import) -> None:
    stalled_import.wait_for(lambda: len(_workers(stalled_import.process.pid)) >= 2, "2 workers")
    survivors = _kill_and_wait(stalled_import)
    assert not survivors, f"worker processes outlived the killed import: {sorted(survivors)}"


def test_the_next_run_computes_the_aqi_a_killed_import_left(stalled_import: _Import) -> None:
    def committed_f04() -> bool:
        return any("committed" in line and "f04.csv" in line for line in stalled_import.seen)

    stalled_import.wait_for(committed_f04, "f01-f04 committed")
    _kill_and_wait(stalled_import)
    with Store(stalled_import.db) as store:  # what the killed import committed, and its marks
        stored = _sql.frame(store, "SELECT count(*) AS n FROM observations")["n"].iloc[0]
        pending = _sql.frame(store, "SELECT count(*) AS n FROM aqi_pending")["n"].iloc[0]
        aqi_before = _sql.frame(store, "SELECT count(*) AS n FROM aqi_hourly")["n"].iloc[0]
    assert stored > 0 and pending > 0 and aqi_before == 0

    # any write command computes it: here `init` again (in this process: the killed one is gone)
    again = run_ecobasin("init", "--db", str(stalled_import.db), env=ENV)
    assert again.returncode == 0, again.stderr
    assert "station-days" in again.stderr
    with Store(stalled_import.db) as store:
        hours = _sql.frame(
            store,
            "SELECT time FROM aqi_hourly WHERE scope = 'site' AND scope_id = '1431A' ORDER BY time",
        )
        pending_after = _sql.frame(store, "SELECT count(*) AS n FROM aqi_pending")["n"].iloc[0]
    local_hours = [t.hour for t in hours["time"].dt.tz_convert("Asia/Shanghai")]
    assert {1, 2, 3, 4} <= set(local_hours)
    assert pending_after == 0
