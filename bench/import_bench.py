"""Import speed: the validating CNEMC import against bare ``pandas.read_csv`` of the same files.

    python bench/import_bench.py [--days 365] [--stations 1700]

Generates a year of ``china_sites_YYYYMMDD.csv`` files (CNEMC archive layout: 24 hours × 15 row
types × one column per station of the national network, ~1,700 since 2020; realistic values,
a few empty cells), then times in the same run:

* baseline: ``pandas.read_csv`` of every file (parsing only: no melt, no checks, no storage);
* ecobasin: ``ecobasin.ingest.importer.import_cnemc`` into a fresh DuckDB file (parse, melt,
  validate every value, upsert, keep rejects aside, log the batch).

Both rates are in CSV data rows per second; the ratio is ecobasin / baseline.
Floor (issue 2): the validating import is no slower than half of bare read_csv (ratio ≥ 0.5).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from ecobasin import catalog
from ecobasin.ingest import importer
from ecobasin.store import Store

TYPES = [
    "AQI",
    "PM2.5",
    "PM2.5_24h",
    "PM10",
    "PM10_24h",
    "SO2",
    "SO2_24h",
    "NO2",
    "NO2_24h",
    "O3",
    "O3_24h",
    "O3_8h",
    "O3_8h_24h",
    "CO",
    "CO_24h",
]


def write_files(folder: Path, days: int, stations: list[str], seed: int = 1) -> list[Path]:
    """Write ``days`` archive files: gamma-distributed values (integers; CO one decimal) with
    ~2 % empty cells, in CNEMC's column layout."""
    rng = np.random.default_rng(seed)
    scale = {"CO": 1.0, "CO_24h": 1.0, "SO2": 10, "SO2_24h": 10, "AQI": 70}
    header = ",".join(["date", "hour", "type", *stations])
    paths = []
    for d in range(days):
        day = pd.Timestamp("2025-01-01") + pd.Timedelta(days=d)
        lines = [header]
        for hour in range(24):
            for kind in TYPES:
                values = rng.gamma(2.0, scale.get(kind, 50) / 2, len(stations))
                if "CO" in kind:
                    cells = [f"{v:.1f}" for v in values.tolist()]
                else:
                    cells = [str(v) for v in np.round(values).astype(int).tolist()]
                for j in np.flatnonzero(rng.random(len(stations)) < 0.02).tolist():
                    cells[j] = ""
                lines.append(f"{day:%Y%m%d},{hour},{kind}," + ",".join(cells))
        path = folder / f"china_sites_{day:%Y%m%d}.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--stations", type=int, default=1700)
    args = parser.parse_args()
    console = Console()
    stations = [f"{1001 + i}A" for i in range(args.stations)]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with console.status(f"writing {args.days} files × {args.stations} stations"):
            paths = write_files(folder, args.days, stations)
        n_rows = args.days * 24 * len(TYPES)

        t0 = time.perf_counter()
        for path in paths:
            pd.read_csv(path)
        baseline = time.perf_counter() - t0

        store = Store(folder / "bench.duckdb")
        store.sync_catalog(catalog.load_region())
        cities = list(catalog.load_region().cities)
        store.upsert_sites(
            pd.DataFrame(
                {
                    "site_id": stations,
                    "kind": "air_station",
                    "level": "national",
                    "city_code": [cities[i % len(cities)] for i in range(len(stations))],
                    "name_zh": None,
                    "name_en": None,
                    "lon": 104.0,
                    "lat": 30.6,
                }
            ),
            source="bench",
        )
        t0 = time.perf_counter()
        report = importer.import_cnemc(store, paths)
        ours = time.perf_counter() - t0
        stored = store.summary()["observations"]
        store.close()

    view = Table(
        title=f"CNEMC import, {args.days} files × {args.stations} stations ({n_rows:,} CSV rows)"
    )
    for column in ("what", "seconds", "CSV rows/s", "values stored/s"):
        view.add_column(column, justify="right")
    view.add_row("pandas.read_csv (baseline)", f"{baseline:.2f}", f"{n_rows / baseline:,.0f}", "–")
    view.add_row(
        "ecobasin import cnemc", f"{ours:.2f}", f"{n_rows / ours:,.0f}", f"{stored / ours:,.0f}"
    )
    console.print(view)
    ratio = baseline / ours
    console.print(
        f"values stored: {stored:,}; rejected: {dict(report.rejected)}; empty: {report.missing:,}"
    )
    console.print(
        f"ratio ecobasin / read_csv = [bold]{ratio:.2f}[/] (floor 0.50: {'met' if ratio >= 0.5 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
