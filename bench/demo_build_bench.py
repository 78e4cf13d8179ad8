"""Benchmark: CPU of a cold demo database build, this tree against a baseline tree, alternated.

Usage::

    git archive 71736c4 src | tar -x -C /tmp/demo_base       # the baseline's src/
    python bench/demo_build_bench.py --baseline /tmp/demo_base/src --rounds 2 --out /tmp/demo_bench

Each round builds ``ecobasin demo --no-serve --year 2025 --region chengdu_plain`` once with each
tree's ``src/`` (the baseline first in odd rounds, this tree first in even ones), each in its own
process, at the tests' Argon2 cost (tests/conftest.py ``TEST_PASSWORD_HASH``); one after the other,
or with ``--parallel`` all at once (every build then runs under the same load). The CPU of a build
is the user + system time of that process and every process it waited for (``os.wait4``); the
load average is printed beside it. Then every table of the baseline's first two builds and of this
tree's first is compared, row count and an order-independent checksum per column
(``sum(hash(column))``): the baseline against itself says which columns differ from build to build
anyway (the clock: the demo dates its cases and forecasts from it; the admin's random password),
and the baseline against this tree must differ in no other column.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb

DEMO_ARGS = ("demo", "--no-serve", "--year", "2025", "--region", "chengdu_plain")
TEST_PASSWORD_HASH = {
    "ECOBASIN_PASSWORD_HASH_TIME_COST": "1",
    "ECOBASIN_PASSWORD_HASH_MEMORY_KIB": "1024",
    "ECOBASIN_PASSWORD_HASH_PARALLELISM": "1",
}
#: The ``ecobasin`` console script (pyproject ``[project.scripts]``), run from a given ``src/``.
ENTRY = "import sys; from ecobasin.cli import main; sys.argv[0] = 'ecobasin'; main()"
THIS_TREE = Path(__file__).resolve().parents[1] / "src"


def start(source: Path, db: Path, log: Path) -> tuple[subprocess.Popen[bytes], float]:
    """Start building the demo at ``db`` with the package under ``source``."""
    db.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECOBASIN_")}
    env.update(TEST_PASSWORD_HASH, PYTHONPATH=str(source))
    command = [sys.executable, "-c", ENTRY, *DEMO_ARGS, "--db", str(db)]
    with log.open("wb") as handle:
        process = subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT)
    return process, time.perf_counter()


def finish(process: subprocess.Popen[bytes], started: float, log: Path) -> tuple[float, float]:
    """Wait for a build: (CPU [s] of it and every process it waited for, wall [s])."""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"a build failed: see {log}")
    return usage.ru_utime + usage.ru_stime, time.perf_counter() - started


def checksums(db: Path) -> dict[str, dict[str, Any]]:
    """Per table: ``row count`` and, per column, ``column NAME``: ``sum(hash(NAME))``."""
    found: dict[str, dict[str, Any]] = {}
    with duckdb.connect(str(db), read_only=True) as con:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' ORDER BY 1, 2"
        ).fetchall()
        for schema, table in tables:
            name = f'"{schema}"."{table}"'
            columns = [
                row[0]
                for row in con.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                    [schema, table],
                ).fetchall()
            ]
            sums = ", ".join(f'sum(hash("{c}"))' for c in columns)
            row = con.execute(f"SELECT count(*), {sums} FROM {name}").fetchone()
            assert row is not None
            sums_of = {f"column {c}": value for c, value in zip(columns, row[1:], strict=True)}
            found[f"{schema}.{table}"] = {"row count": row[0], **sums_of}
    return found


def differences(a: dict[str, dict[str, Any]], b: dict[str, dict[str, Any]]) -> set[str]:
    """``table.column`` (or ``table`` alone, or ``table.rows``) where two builds differ."""
    found = {table for table in a.keys() ^ b.keys()}
    for table in a.keys() & b.keys():
        for column in a[table].keys() | b[table].keys():
            if a[table].get(column) != b[table].get(column):
                found.add(f"{table}.{column}")
    return found


def report(
    round_: int,
    name: str,
    log: Path,
    process: subprocess.Popen[bytes],
    started: float,
    load: float,
    cpu: dict[str, list[float]],
) -> None:
    """Wait for one build and print its CPU, wall time and the load average around it."""
    used, wall = finish(process, started, log)
    cpu[name].append(used)
    print(
        f"round {round_ + 1} {name:9}: {used:7.1f} CPU-s  {wall:7.1f} s wall  "
        f"load {load:.1f} → {os.getloadavg()[0]:.1f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", type=Path, required=True, help="the baseline's src/")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("/tmp/demo_build_bench"))
    parser.add_argument("--no-compare", action="store_true", help="time only")
    parser.add_argument(
        "--parallel", action="store_true", help="start every build at once (same load for all)"
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    trees = {"baseline": args.baseline.resolve(), "this tree": THIS_TREE}
    cpu: dict[str, list[float]] = {name: [] for name in trees}
    builds = [
        (round_, name)
        for round_ in range(args.rounds)
        for name in (list(trees) if round_ % 2 == 0 else list(reversed(trees)))
    ]
    running: list[tuple[int, str, Path, subprocess.Popen[bytes], float, float]] = []
    for round_, name in builds:
        tag = f"{name.replace(' ', '_')}_{round_}"
        log = args.out / f"{tag}.log"
        load = os.getloadavg()[0]
        running.append(
            (round_, name, log, *start(trees[name], args.out / f"{tag}.duckdb", log), load)
        )
        if not args.parallel:
            report(*running.pop(), cpu)
    for build in running:
        report(*build, cpu)
    best = {name: min(values) for name, values in cpu.items()}
    print(
        f"best of {args.rounds}: baseline {best['baseline']:.1f} CPU-s, this tree "
        f"{best['this tree']:.1f} CPU-s, ratio {best['this tree'] / best['baseline']:.2f}"
    )
    if args.no_compare:
        return
    base = [checksums(args.out / f"baseline_{r}.duckdb") for r in range(min(2, args.rounds))]
    ours = checksums(args.out / "this_tree_0.duckdb")
    print(f"tables: {len(base[0])} (baseline), {len(ours)} (this tree)")
    by_clock = differences(base[0], base[1]) if len(base) > 1 else set()
    print("differ between two baseline builds:", ", ".join(sorted(by_clock)) or "none")
    changed = differences(base[0], ours) - by_clock
    print(
        "differ between the baseline and this tree, besides those:",
        ", ".join(sorted(changed)) or "none",
    )


if __name__ == "__main__":
    main()
