"""Benchmark: two store paths of ``ecobasin demo``, this tree against a baseline tree, in one run.

Usage: ``python bench/demo_writes_bench.py --base /tmp/demo_base/src [--rounds 2]``

Each round runs one fresh process per tree (``PYTHONPATH`` set to that tree's ``src``, the
baseline first in odd rounds, this tree first in even ones). The process makes a new store with
the catalog and measures, in CPU seconds of the process (``time.process_time``):

* **carbon writes**: ``demo.carbon.install`` (40 inventories computed and their 1,620 emission
  lines written by ``store/carbon.py``);
* **complaint placing**: ``store/noise_complaints.place`` on the 165 complaints that
  ``demo.noise.install`` (not measured) stored, each placed against its nearest station's hour.

It prints each figure, the best of the rounds per tree and the ratio this tree / baseline, with
the load average, and a SHA-256 of what each path wrote (the emission rows less their clock
column; the placed frame) so that the two trees are seen to write the same.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent / "src"
CHILD = """
import hashlib, json, sys, time
import pandas as pd
from ecobasin import catalog
from ecobasin.demo import carbon as demo_carbon
from ecobasin.demo import noise as demo_noise
from ecobasin.store import Store
from ecobasin.store import noise_complaints

region = catalog.load_region()
with Store(sys.argv[1]) as store:
    store.sync_catalog(region)
    started = time.process_time()
    demo_carbon.install(store, region.cities)
    carbon = time.process_time() - started
    rows = store.con.execute(
        "SELECT * EXCLUDE (computed_at) FROM carbon_emissions ORDER BY ALL"
    ).fetchall()
    demo_noise.install(store, region, year=2025, seed=2025)
    stored = store.con.execute(
        "SELECT complaint_id, time, city_code, lon, lat, source_type, description "
        "FROM noise_complaints ORDER BY complaint_id"
    ).df()
    stored["time"] = pd.to_datetime(stored["time"]).dt.tz_convert("UTC")
    started = time.process_time()
    placed = noise_complaints.place(store, stored)
    place = time.process_time() - started
print(json.dumps({
    "carbon writes": carbon,
    "complaint placing": place,
    "carbon rows": hashlib.sha256(repr(rows).encode()).hexdigest()[:16],
    "placed frame": hashlib.sha256(placed.to_json().encode()).hexdigest()[:16],
}))
"""
MEASURED = ("carbon writes", "complaint placing")


def measure(tree: Path, folder: Path) -> dict[str, float | str]:
    """One process of ``tree``: its CPU seconds per measured path and what they wrote."""
    db = folder / "bench.duckdb"
    db.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECOBASIN_")}
    env["PYTHONPATH"] = str(tree)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(db)], check=True, capture_output=True, env=env, text=True
    )
    found: dict[str, float | str] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True, help="the baseline tree's src folder")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    trees = {"base": args.base.resolve(), "this": HERE}
    best: dict[str, dict[str, float]] = {name: {} for name in trees}
    written: dict[str, set[tuple[str, str]]] = {name: set() for name in trees}
    with tempfile.TemporaryDirectory() as folder:
        for round_ in range(args.rounds):
            order = list(trees) if round_ % 2 == 0 else list(reversed(trees))
            for name in order:
                load = os.getloadavg()[0]
                found = measure(trees[name], Path(folder))
                written[name].add((str(found["carbon rows"]), str(found["placed frame"])))
                figures = ", ".join(f"{path} {float(found[path]):.2f}" for path in MEASURED)
                print(f"round {round_ + 1} {name}: {figures} CPU-s (load {load:.1f})", flush=True)
                for path in MEASURED:
                    value = float(found[path])
                    best[name][path] = min(best[name].get(path, value), value)
    for path in MEASURED:
        base, this = best["base"][path], best["this"][path]
        print(f"{path}: best {base:.2f} -> {this:.2f} CPU-s, ratio {this / base:.2f}")
    same = written["base"] == written["this"] and len(written["base"]) == 1
    print("written: " + ("the same in every run" if same else f"DIFFERENT {written}"))


if __name__ == "__main__":
    main()
