"""What the gateway's store writes cost, measured as the gateway runs them (issue 12, Speed).

The writer's CPU per stored frame in the closed loop (the bench's figure) was twice what the
same writer costs in isolation on 10,000-record writes; this meter says where the difference
goes: how many records each write holds, and the CPU of each part of a write, both of the
writer thread (``time.thread_time``) and of the whole process (``time.process_time``: DuckDB's
own worker threads too). A least-squares line over the recent writes splits the CPU of each
part into a fixed part per write [ms] and a part per record [µs].

Cheap enough to stay on: two clock reads per part, about a dozen parts per write (a write is
thousands of records), and one lock per part.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["SIZE_BUCKETS", "WriteCosts", "size_bucket"]

#: Upper bounds [records] of the histogram of records per write.
SIZE_BUCKETS = (1, 100, 500, 1_000, 2_000, 5_000, 7_500, 10_000, 20_000)
#: Writes kept for the fixed / per-record fit.
FIT_WRITES = 2_000
#: The whole write's CPU, beside its parts.
WRITE = "write"


def size_bucket(records: int) -> str:
    """The histogram bucket of a write of ``records`` records: ``"≤5000"``, ``">20000"``."""
    for bound in SIZE_BUCKETS:
        if records <= bound:
            return f"≤{bound}"
    return f">{SIZE_BUCKETS[-1]}"


class WriteCosts:
    """Counters of the store writes and their CPU by part (thread-safe snapshots).

    Parts are named by the writer (``decode``, ``frames``, ``observations``, ``commit`` …);
    :meth:`part` adds the CPU of a block to its part (and, in the writing thread, to the
    write under way, for the fit); :meth:`write_done` closes one write.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.writes = 0
        self.records = 0
        self.compared = 0  # writes whose observations took the store's compare path
        self.sizes: Counter[str] = Counter()
        self.thread_cpu: defaultdict[str, float] = defaultdict(float)  # [s] writer thread
        self.process_cpu: defaultdict[str, float] = defaultdict(float)  # [s] whole process
        #: (records, process CPU [s] by part) of the last writes
        self.fit: deque[tuple[int, dict[str, float]]] = deque(maxlen=FIT_WRITES)
        self._write: dict[str, float] | None = None  # the parts of the write under way
        self._writer = 0  # its thread

    @contextmanager
    def part(self, name: str) -> Iterator[None]:
        """Add the CPU of the block to part ``name``."""
        thread, process = time.thread_time(), time.process_time()
        try:
            yield
        finally:
            thread_cpu = time.thread_time() - thread
            process_cpu = time.process_time() - process
            with self.lock:
                self.thread_cpu[name] += thread_cpu
                self.process_cpu[name] += process_cpu
                current = self._write
                if current is not None and threading.get_ident() == self._writer:
                    current[name] = current.get(name, 0.0) + process_cpu

    def write_started(self) -> tuple[float, float]:
        """A write begins: its clocks, for :meth:`write_done` (a failed write is not counted)."""
        with self.lock:
            self._write, self._writer = {}, threading.get_ident()
        return time.thread_time(), time.process_time()

    def write_done(self, started: tuple[float, float], records: int, compared: bool) -> None:
        """A write of ``records`` records committed (``compared``: the store's compare path)."""
        thread, process = started
        thread_cpu = time.thread_time() - thread
        process_cpu = time.process_time() - process
        with self.lock:
            parts = self._write or {}
            self._write = None
            parts[WRITE] = process_cpu
            self.writes += 1
            self.records += records
            self.compared += compared
            self.sizes[size_bucket(records)] += 1
            self.thread_cpu[WRITE] += thread_cpu
            self.process_cpu[WRITE] += process_cpu
            self.fit.append((records, parts))

    def snapshot(self) -> dict[str, Any]:
        """Counters so far (JSON-ready); ``fit``: per part, ``fixed_ms`` and ``per_record_us``
        of the process CPU of the last :data:`FIT_WRITES` writes (None: cannot be fitted)."""
        with self.lock:
            fit = list(self.fit)
            out: dict[str, Any] = {
                "writes": self.writes,
                "records": self.records,
                "compared": self.compared,
                "sizes": dict(self.sizes),
                "thread_cpu": dict(self.thread_cpu),
                "process_cpu": dict(self.process_cpu),
            }
        names = sorted({name for _, parts in fit for name in parts})
        xs = [records for records, _ in fit]
        out["fit"] = {name: _line(xs, [parts.get(name, 0.0) for _, parts in fit]) for name in names}
        return out


def _line(xs: list[int], ys: list[float]) -> dict[str, float] | None:
    """Least squares ``cpu = fixed + per_record × records`` [ms, µs]; None without spread."""
    n = len(xs)
    if n < 2:
        return None
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return None
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    return {"fixed_ms": (mean_y - slope * mean_x) * 1e3, "per_record_us": slope * 1e6}
