"""Benchmark: what ESAT's block bootstrap adds to a PMF run (issue 19, B7).

Usage: ``python bench/pmf_bootstrap_bench.py [--samples 200] [--bootstrap 20] [--repeat 1]``
(the worker environment from ``ECOBASIN_PMF_ENV``, else ``.pmf-env`` of the checkout).

On a synthetic set (three profiles over ten species, contributions from a gamma of shape 1,
errors N(0, U) with U = 5 % + 0.02), times in the same run and process:

* **baseline** — ``services.pmf.run_pmf`` with 20 seeds and no bootstrap (the run before);
* **bootstrap** — the same with ``--bootstrap`` block-bootstrap refits (blocks of 10).

It prints the best of ``--repeat`` runs of each [s], the ratio bootstrap / baseline and the load
average before and after (2 shared cores: compare ratios, not seconds).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from ecobasin.services import pmf

SPECIES = ["SO4", "NO3", "NH4", "OC", "EC", "K", "Si", "Fe", "Zn", "Cl"]
PROFILES = np.array([
    [6.0, 0.5, 2.5, 1.0, 0.0, 0.1, 0.0, 0.0, 0.0, 0.3],
    [0.0, 1.5, 0.0, 4.0, 2.5, 0.3, 0.0, 0.4, 0.6, 0.1],
    [0.0, 0.0, 0.0, 0.8, 0.0, 0.6, 5.0, 3.0, 0.0, 0.4],
])  # fmt: skip


def synthetic(n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(7)
    true = rng.gamma(1.0, 1.0, size=(n, 3)) @ PROFILES
    u = 0.05 * true + 0.02
    x = (true + rng.normal(0.0, 1.0, size=true.shape) * u).clip(0.0)
    index = pd.Index([f"s{i:03d}" for i in range(n)], name="sample")
    return pd.DataFrame(x, index, SPECIES), pd.DataFrame(u, index, SPECIES)


def best_of(repeat: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--bootstrap", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    root = Path(__file__).resolve().parents[1]
    env = Path(os.environ.get("ECOBASIN_PMF_ENV", root / ".pmf-env"))
    x, u = synthetic(args.samples)
    print(f"load average before: {os.getloadavg()}")
    base = best_of(args.repeat, lambda: pmf.run_pmf(env, x, u, factors=3, models=20))
    boot = best_of(args.repeat, lambda: pmf.run_pmf(
        env, x, u, factors=3, models=20, bootstrap_n=args.bootstrap))  # fmt: skip
    print(f"{args.samples} samples × {len(SPECIES)} species, 3 factors, 20 seeds")
    print(f"baseline (no bootstrap) {base:.2f} s; with {args.bootstrap} bootstrap refits "
          f"{boot:.2f} s; ratio bootstrap / baseline {boot / base:.2f}")  # fmt: skip
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
