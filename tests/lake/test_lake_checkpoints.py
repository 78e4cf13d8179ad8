"""Lake tables keep Delta checkpoints (issue 20, national-size run): delta-rs writes one only
every 100 commits by default, so a lake of 48 monthly commits had none and every reader parsed
the whole JSON log (13 MB at national size). ``store.lake.write_month`` (what ``ecobasin lake
export`` and ``bench/scale_bench.py --part lake`` write with) now keeps one at least every
``CHECKPOINT_INTERVAL`` commits; a checkpointed table reads the same, even with the JSON commits
before its checkpoint gone, and a reader holding an older version still follows it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import deltalake
import pyarrow as pa
import pytest

from ecobasin.store import lake as store_lake
from ecobasin.store import lake_read

#: [commits] Delta Lake's default checkpoint interval, the lake's (``store.lake.CHECKPOINT_INTERVAL``)
INTERVAL = 10


def month_rows(year: int, month: int) -> pa.Table:
    """Two stations' values of one hour of the month, as the lake's observations rows."""
    n = 2
    return pa.table(
        {
            "site_id": ["S1", "S2"],
            "parameter": ["PM2.5"] * n,
            "period": ["1h"] * n,
            "time": pa.array(
                [datetime(year, month, 2, 4, tzinfo=UTC)] * n, pa.timestamp("us", "UTC")
            ),
            "value": [float(month), 80.0 + year % 100],
            "flag": pa.nulls(n, pa.string()),
            "batch_id": pa.array([0] * n, pa.int32()),
            "city": ["510100"] * n,
            "year": pa.array([year] * n, pa.int32()),
            "month": pa.array([month] * n, pa.int32()),
        }
    )


def order(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row.values())


def months(count: int) -> list[tuple[int, int]]:
    return [(2015 + i // 12, 1 + i % 12) for i in range(count)]


def log_of(lake: Path) -> Path:
    return lake / "observations" / "_delta_log"


def checkpoint_versions(lake: Path) -> list[int]:
    """Versions of the checkpoint files in the table's log (``<version>.checkpoint.parquet``)."""
    return sorted(int(p.name.split(".")[0]) for p in log_of(lake).glob("*.checkpoint.parquet"))


def content(lake: Path) -> list[dict[str, Any]]:
    """Every row of the table, read through a fresh open of its log, in a fixed order."""
    rows = deltalake.DeltaTable(str(lake / "observations")).to_pyarrow_table().to_pylist()
    return sorted(rows, key=lambda r: (r["year"], r["month"], r["site_id"]))


def test_monthly_commits_leave_a_checkpoint_every_interval(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    count = 2 * INTERVAL + 3
    for year, month in months(count):
        store_lake.write_month(lake, "observations", year, month, month_rows(year, month))

    held = checkpoint_versions(lake)
    assert held, f"no checkpoint after {count} monthly commits"
    last = json.loads((log_of(lake) / "_last_checkpoint").read_text(encoding="utf-8"))
    assert last["version"] == held[-1]
    version = deltalake.DeltaTable(str(lake / "observations")).version()
    gaps = [b - a for a, b in zip([-1, *held], [*held, version], strict=True)]
    assert max(gaps) <= INTERVAL, f"checkpoints at {held} of versions 0…{version}"
    assert len(content(lake)) == 2 * count


def test_a_table_made_without_checkpoints_gets_one_and_reads_the_same(tmp_path: Path) -> None:
    """A lake written before (delta-rs's defaults: no checkpoint for its first 100 commits)
    gets the interval and a checkpoint on its next export; the JSON commits before that
    checkpoint are then not needed to read it (Delta protocol, "Checkpoints")."""
    lake = tmp_path / "lake"
    path = str(lake / "observations")
    for year, month in months(INTERVAL + 2):
        deltalake.write_deltalake(
            path,
            month_rows(year, month),
            partition_by=["year", "month", "city"],
            mode="overwrite",
            predicate=f"year = {year} AND month = {month}",
        )
    assert checkpoint_versions(lake) == []
    before = content(lake)

    assert store_lake.keep_checkpoints(lake, "observations") is True
    assert store_lake.keep_checkpoints(lake, "observations") is False  # up to date: no other
    assert store_lake.keep_checkpoints(lake, "aqi_daily") is False  # not in this lake
    (checkpoint,) = checkpoint_versions(lake)
    assert deltalake.DeltaTable(path).metadata().configuration == store_lake.TABLE_PROPERTIES

    for commit in log_of(lake).glob("*.json"):
        if int(commit.name.split(".")[0]) < checkpoint:
            commit.unlink()  # as the log's expiry would: only the checkpoint knows them now
    assert content(lake) == before
    year, month = months(INTERVAL + 3)[-1]
    store_lake.write_month(lake, "observations", year, month, month_rows(year, month))
    assert content(lake) == [*before, *month_rows(year, month).to_pylist()]


def test_a_reader_follows_commits_across_a_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``lake_read`` opens a table's log once per process and then applies only the newer
    commits (``update_incremental``): still right when a checkpoint was written meanwhile."""
    lake = tmp_path / "lake"
    first = months(2 * INTERVAL + 1)
    store_lake.write_month(lake, "observations", *first[0], month_rows(*first[0]))
    opened: list[str] = []
    real = deltalake.DeltaTable

    class CountingTable(real):  # type: ignore[misc, valid-type]
        def __init__(self, table_path: Any, *args: Any, **kwargs: Any) -> None:
            opened.append(str(table_path))
            super().__init__(table_path, *args, **kwargs)

    held = lake_read.dataset(str(lake), "observations")
    assert held is not None and held.to_table().num_rows == 2
    monkeypatch.setattr(deltalake, "DeltaTable", CountingTable)
    for year, month in first[1:]:
        store_lake.write_month(lake, "observations", year, month, month_rows(year, month))
    assert checkpoint_versions(lake), "the writes crossed no checkpoint"
    opened.clear()  # the writer's own opens

    newer = lake_read.dataset(str(lake), "observations")
    assert opened == [], "the reader read the whole log again instead of the new commits"
    assert newer is not None
    got = newer.to_table(columns=["year", "month", "value"]).to_pylist()
    want = [{"year": y, "month": m, "value": float(m)} for y, m in first]
    assert sorted((r for r in got if r["value"] < 80), key=order) == sorted(want, key=order)
    part = lake_read.read_partition(str(lake), "observations", *first[-1], ("510100",))
    assert part.num_rows == 2 and opened == []
