"""Benchmark: ``validate_observations`` on small batches, this tree against an older commit.

Usage: ``python bench/validate_bench.py [--old 432be7b] [--batches 300] [--rows 40]``

Small batches (a form's upload, the gateway's suspect rows) of 1 to ``--rows`` rows, seeded,
with every kind of fault the checks know: unknown sites and parameters, units that do not
fit, decimal commas, text, negative and impossible values, unreadable and implausible times,
repeated keys, empty cells. Each batch is validated by this tree's
:mod:`ecobasin.ingest.validate` and by the same module read from ``--old`` (``git show``), with
and without a time window; the run checks that both give the same good rows, rejected records
(values and dtypes), counts and missing cells, and prints the CPU of each and their ratio.
The load average is printed at the start and the end.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd

from ecobasin import catalog
from ecobasin.ingest import validate
from ecobasin.ingest.validate import CANDIDATE_COLUMNS, TimeWindow

ROOT = Path(__file__).resolve().parent.parent
KNOWN = {"1431A", "1432A"}
T0 = pd.Timestamp("2021-12-31T16:00Z")
WINDOW = TimeWindow(now=datetime(2022, 1, 2, tzinfo=UTC), max_ahead=timedelta(hours=3))
CHOICES: dict[str, list[object]] = {
    "site_id": ["1431A", "1431A", "1432A", "9999X", None],
    "parameter": ["PM2.5", "PM2.5", "CO", "SO2", "NOPE"],
    "period": ["1h", "1h", "instant"],
    "value": [35.0, 0.0, 12.5, -1.0, 1e9, np.nan, np.inf, 2000.0],
    "raw_value": [None, "", "abc", "12,5", " NA "],
    "unit": [None, None, None, None, "mg/m³", "µg/m³", "furlong"],
    "flag": [None, "N", "D"],
}


def old_module(commit: str) -> ModuleType:
    """``ecobasin.ingest.validate`` as it was at ``commit``."""
    source = subprocess.run(
        ["git", "show", f"{commit}:src/ecobasin/ingest/validate.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    spec = importlib.util.spec_from_loader("validate_old", loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["validate_old"] = module  # dataclasses look their module up
    exec(compile(source, f"{commit}:validate.py", "exec"), module.__dict__)
    return module


def batch(rng: np.random.Generator, rows: int) -> pd.DataFrame:
    """A candidate frame of ``rows`` rows drawn from ``CHOICES``."""
    columns = {
        name: [options[i] for i in rng.integers(len(options), size=rows)]
        for name, options in CHOICES.items()
    }
    hours = rng.integers(-1, 7, size=rows)  # -1 and 6: far outside the window
    times = [
        T0 + pd.Timedelta(hours=int(h)) if 0 <= h < 6 else pd.Timestamp("1990-01-01T00:00Z")
        for h in hours
    ]
    frame = pd.DataFrame(
        {**columns, "time": times, "line": np.arange(2, rows + 2), "field": "value"}
    )[list(CANDIDATE_COLUMNS)]
    frame["time"] = pd.to_datetime(frame["time"], utc=True).astype("datetime64[us, UTC]")
    frame["value"] = frame["value"].astype("float64")
    return frame


def timed(module: ModuleType, frames: list[pd.DataFrame], window: TimeWindow | None) -> tuple:
    registry = catalog.parameters()
    start = time.process_time()
    results = [
        module.validate_observations(frame, KNOWN, registry, time_window=window) for frame in frames
    ]
    return time.process_time() - start, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", default="432be7b", help="the commit to compare with")
    parser.add_argument("--batches", type=int, default=300)
    parser.add_argument("--rows", type=int, default=40, help="the largest batch [rows]")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    rng = np.random.default_rng(14)
    frames = [batch(rng, int(rng.integers(1, args.rows + 1))) for _ in range(args.batches)]
    old = old_module(args.old)
    totals = {"old": 0.0, "new": 0.0}
    for window in (WINDOW, None):
        old_cpu, old_results = timed(old, frames, window)
        new_cpu, new_results = timed(validate, frames, window)
        totals["old"] += old_cpu
        totals["new"] += new_cpu
        for before, after in zip(old_results, new_results, strict=True):
            pd.testing.assert_frame_equal(before.good, after.good, check_exact=True)
            pd.testing.assert_frame_equal(before.rejected, after.rejected, check_exact=True)
            assert (before.counts, before.missing) == (after.counts, after.missing)
    calls = 2 * args.batches
    print(f"{calls} calls, identical results")
    print(
        f"old {args.old}: {totals['old']:.2f} CPU-s ({1000 * totals['old'] / calls:.1f} ms a call)"
    )
    print(f"this tree: {totals['new']:.2f} CPU-s ({1000 * totals['new'] / calls:.1f} ms a call)")
    print(f"ratio old / new: {totals['old'] / totals['new']:.2f}")
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
