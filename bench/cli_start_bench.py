"""Benchmark: what an ``ecobasin`` process costs before its command does anything (issue 14),
with the commands imported when they run (``cli/lazy.py``) against every command module imported
at start (the layout before, the baseline), in the same run.

Usage: ``python bench/cli_start_bench.py [--rounds 3]``

Runs each command line below as a fresh process, alternating the two ways ``--rounds`` times, and
prints the CPU seconds (user + system, ``RUSAGE_CHILDREN``: less noisy than wall time on the
shared machine) per process, the ratio lazy / eager (the baseline) and the load average. The
eager way imports every module of ``ecobasin.cli.COMMANDS`` first, as ``cli/__init__.py`` did.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

LAZY = "import sys; from ecobasin.cli import main; sys.argv[0] = 'ecobasin'; main()"
EAGER = (
    "import importlib, sys; from ecobasin.cli import COMMANDS, main\n"
    "for entry in COMMANDS: importlib.import_module(entry.target.partition(':')[0])\n"
    "sys.argv[0] = 'ecobasin'; main()"
)


def command_lines(db: Path) -> dict[str, list[str]]:
    """[name -> argv] the processes the tests start most: help, a store read, a ledger read."""
    return {
        "--help": ["--help"],
        "status": ["status", "--db", str(db)],
        "ledger balance": ["ledger", "balance", "--db", str(db)],
        "hj212 --help": ["hj212", "--help"],
    }


def cpu_seconds(code: str, argv: list[str]) -> float:
    """[s] CPU (user + system) of one process running ``argv``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", code, *argv], check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "bench.duckdb"
        subprocess.run([sys.executable, "-c", LAZY, "init", "--db", str(db)], check=True,
                       capture_output=True)  # fmt: skip
        print(f"load average at start: {os.getloadavg()}")
        totals = {"lazy": 0.0, "eager": 0.0}
        for name, argv in command_lines(db).items():
            best = {"lazy": float("inf"), "eager": float("inf")}
            for _ in range(rounds):  # alternating, best of the rounds for each way
                for way, code in (("eager", EAGER), ("lazy", LAZY)):
                    best[way] = min(best[way], cpu_seconds(code, argv))
            for way in totals:
                totals[way] += best[way]
            print(f"{name:16} eager {best['eager']:5.2f} s   lazy {best['lazy']:5.2f} s CPU   "
                  f"lazy / eager (baseline): {best['lazy'] / best['eager']:.2f}")  # fmt: skip
        print(f"{'all four':16} eager {totals['eager']:5.2f} s   lazy {totals['lazy']:5.2f} s CPU   "
              f"lazy / eager (baseline): {totals['lazy'] / totals['eager']:.2f}")  # fmt: skip
        print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
