"""Benchmarks of issue 20, one part at a time: ratios against a named baseline measured in the
same run, the load average printed.

Usage::

    python bench/scale_bench.py --part broker [--devices 400] [--duration 10]
    python bench/scale_bench.py --part lake [--stations 1700] [--years 10] [--cities 340]
        [--worker-memory 1GiB] [--lake DIR] [--generate-only] [--log-costs] [--read-costs N]

* ``--part broker`` (bench/scale_broker.py): acknowledged messages per second through one
  gateway with NATS JetStream against the same gateway with its raw log only, two gateways
  against one, and the CPU per message of the gateway, the broker and the store writer.
* ``--part lake`` (bench/scale_lake.py): a national-size network in the Delta Lake history,
  its annual assessment by Dask against in-process DuckDB: identical answers (SHA-256 of the
  evaluation JSON), times, CPU seconds and the memory high-water mark of each process;
  resumable with ``--lake DIR`` (missing months generated, measured legs read back).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scale_broker
import scale_lake

PARTS = {"broker": scale_broker, "lake": scale_lake}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--part", choices=sorted(PARTS), required=True)
    parser.add_argument("--seed", type=int, help="generator seed (broker 2025, lake 20)")
    for part in PARTS.values():
        part.add_arguments(parser)
    args = parser.parse_args()
    PARTS[args.part].run(args)


if __name__ == "__main__":
    main()
