"""The garbage collection at the end of each test module (tests/conftest.py), kept cheap."""

from __future__ import annotations

import gc
import sys
from typing import Any


def collect_young_garbage() -> list[Any]:
    """Collect the garbage made since the last call, then freeze what survives (``gc.freeze``);
    returns what the collector said meanwhile (``sys.unraisablehook``'s arguments: the
    ResourceWarning of a socket or stream closed by the collector, with the object).

    Why freeze: a full collection walks every object alive, and a worker's heap (the modules of
    pandas, DuckDB, FastAPI, Hypothesis, pytest's ~3,000 collected items) made the collection at
    the end of each module cost ~0.24 s of CPU, ~40 s of the quick subset's ~150
    (docs/measurements.md, "eighth pass"). What survives the end of a module is alive for the
    rest of the run (modules, caches, the session's fixtures); frozen, it is not walked again,
    and it is still freed when its last reference goes. What the next module leaves in a
    reference cycle is young, so the next call still finds it and its warning; only a cycle
    through a frozen object is never collected. The gateway writer does the same
    (``ecobasin.gateway.writer.settle_heap``).
    """
    said: list[Any] = []
    previous, sys.unraisablehook = sys.unraisablehook, said.append
    try:
        gc.collect()
    finally:
        sys.unraisablehook = previous
    gc.freeze()
    return said
