"""Benchmark: the checks a spot check runs, one machine's against the whole registry (issue 18).

Usage: ``python bench/machinery_bench.py [--machines 50000] [--repeat 3]``

Two registries, each in a DuckDB file of its own:

* **demo** — the illustrative registry of ``ecobasin.demo.machinery`` (about 320 machines, 24
  sites, presences, spot checks);
* **synthetic** — ``--machines`` machines spread over the eight cities (60 % of them on one of
  24 sites, a terminal on the 国四 ones, 1 % twins under a second code), imported through
  ``services.machinery.import_registry`` like a city's file.

On each it times, in the same run and process, after one passing spot check was stored:

* **baseline** — what a spot check ran before: checks C1–C11 over the whole shared registry
  (``services.machinery.run_registry_checks``);
* **machine** — what it runs now: the checks of that machine over its own records
  (``services.machinery.run_machine_checks``).

It prints the best of ``--repeat`` runs of each [s] (the baseline of the synthetic registry runs
once: it is the slow one), the ratio baseline / machine, and the load average before and after
(2 shared cores: compare ratios, not seconds).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pandas as pd

from ecobasin import catalog
from ecobasin.demo import machinery as demo_machinery
from ecobasin.machinery.codes import normalise_code
from ecobasin.services import machinery as service
from ecobasin.store import Store
from ecobasin.timebase import CST

YEAR = 2026
AT = datetime(YEAR, 12, 15, 10, tzinfo=CST)


def _best(repeat: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def _synthetic(store: Store, cities: list[int], machines: int, folder: Path) -> str:
    """Import ``machines`` synthetic machines with sites and presences; returns a code."""
    rows = []
    for n in range(machines):
        city = cities[n % len(cities)]
        stage = ("G2", "G3", "G4")[n % 3]
        serial = n - 1 if n % 100 == 99 else n  # 1 % twins of the machine before them
        rows.append({
            "registration_code": f"SYN-{n:06d}", "issuer_city": city,
            "registered_at": f"{YEAR}-01-15T09:00", "machine_type": "挖掘机", "fuel": "diesel",
            "stage_declared": stage, "owner_name": f"synthetic owner {n % 500}",
            "machine_serial": f"M{serial:06d}", "engine_serial": f"E{serial:06d}",
            "manufacture_date": "2020-06-01", "rated_power_kw": 90,
            "terminal_id": f"T{n:06d}" if stage == "G4" else "",
        })  # fmt: skip
    path = folder / "synthetic.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    service.import_registry(store, path)
    points = catalog.cities().set_index("code")
    for k, city in enumerate(cities * 3):
        service.add_site(store, {"site_id": f"SYN-S{k}", "city": city, "name": f"site {k}",
                                 "lon": float(points.loc[city, "lon"]) + 0.01 * (k // 8),
                                 "lat": float(points.loc[city, "lat"])})  # fmt: skip
    presence = [
        {"code_observed": f"SYN-{n:06d}", "site_id": f"SYN-S{n % 24}",
         "entered_at": datetime(YEAR, 3 + n % 9, 1 + n % 27, 8, tzinfo=CST), "source": "gate"}
        for n in range(machines) if n % 5 < 3
    ]  # fmt: skip
    service.record_presence(store, presence)
    return "SYN-000042"


def _measure(name: str, store: Store, code: str, repeat: int, baseline_repeat: int) -> None:
    city = int(service.machine_detail(store, code)["machines"][0]["current_city"])
    service.record_spot_check(store, service.SpotCheck(
        code, city, "bench", AT, method="visual_only"), recorded_by="bench")  # fmt: skip
    code_norm = normalise_code(code)
    machine = _best(repeat, lambda: service.run_machine_checks(store, code_norm, AT))
    baseline = _best(baseline_repeat, lambda: service.run_registry_checks(store, AT))
    machines = sum(int(row["machines"]) for row in service.public_counts(store))
    print(f"{name}: {machines} machines · baseline (C1–C11 over the registry) {baseline:.3f} s · "
          f"machine ({code}) {machine:.4f} s · ratio baseline/machine {baseline / machine:.0f}×")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machines", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    region = catalog.load_region()
    cities = list(region.cities)
    with tempfile.TemporaryDirectory() as folder:
        with Store(Path(folder) / "demo.duckdb") as store:
            store.sync_catalog(region)
            demo_machinery.install(store, cities, year=YEAR)
            _measure("demo", store, "5101-0007", args.repeat, args.repeat)
        with Store(Path(folder) / "synthetic.duckdb") as store:
            store.sync_catalog(region)
            started = time.perf_counter()
            code = _synthetic(store, cities, args.machines, Path(folder))
            print(f"synthetic registry built in {time.perf_counter() - started:.1f} s")
            _measure("synthetic", store, code, args.repeat, 1)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
