"""Benchmark: what an ``ecobasin`` process imports before it serves or runs, this tree against
a baseline tree (another checkout's ``src``), in the same run.

Usage: ``python bench/start_imports_bench.py --base /work/main/src [--rounds 3]``

Runs each start below as a fresh process with ``PYTHONPATH`` set to one tree or the other,
alternating the two trees ``--rounds`` times, and prints the CPU seconds (user + system,
``RUSAGE_CHILDREN``: less noisy than wall time on a shared machine) per process, best of the
rounds for each tree, the ratio this tree / baseline and the load average. Bytecode goes to a
temporary ``PYTHONPYCACHEPREFIX``, as in the tests' processes, and one unmeasured run of each
start per tree writes it first: the figures are imports, not compiling. The starts: what
``ecobasin serve`` imports before it opens the store (the web app, its server and the command's
module), ``ecobasin --help`` and ``ecobasin status`` on a new database.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent / "src"
CLI = "import sys; from ecobasin.cli import main; sys.argv[0] = 'ecobasin'; main()"
SERVE_IMPORTS = "import ecobasin.cli.run, ecobasin.web.app, ecobasin.web.server"


def starts(db: Path) -> dict[str, tuple[str, list[str]]]:
    """[name -> (python code, argv)] of the processes measured."""
    return {
        "serve's imports": (SERVE_IMPORTS, []),
        "--help": (CLI, ["--help"]),
        "status": (CLI, ["status", "--db", str(db)]),
    }


def cpu_seconds(tree: Path, code: str, argv: list[str], pycache: Path) -> float:
    """[s] CPU (user + system) of one process running ``code`` with ``tree`` first on the path."""
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONPYCACHEPREFIX": str(pycache)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", code, *argv], check=True, capture_output=True, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True, help="the baseline tree's src folder")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    trees = {"base": args.base.resolve(), "this": HERE}
    with tempfile.TemporaryDirectory() as folder:
        db, pycache = Path(folder) / "bench.duckdb", Path(folder) / "pycache"
        cpu_seconds(HERE, CLI, ["init", "--db", str(db)], pycache)
        print(f"load average at start: {os.getloadavg()}")
        for name, (code, argv) in starts(db).items():
            for tree in trees.values():  # writes the bytecode
                cpu_seconds(tree, code, argv, pycache)
            best = dict.fromkeys(trees, float("inf"))
            for _ in range(args.rounds):  # alternating, best of the rounds for each tree
                for way, tree in trees.items():
                    best[way] = min(best[way], cpu_seconds(tree, code, argv, pycache))
            print(f"{name:16} base {best['base']:5.2f} s   this {best['this']:5.2f} s CPU   "
                  f"this / base: {best['this'] / best['base']:.2f}")  # fmt: skip
        print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
