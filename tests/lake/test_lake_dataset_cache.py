"""``store.lake_read.dataset`` opens a Delta table's log once per process and then follows new
commits incrementally (issue 20, national-size run): re-opening it on every call parsed the whole
JSON log again for every Dask task and every month read (13 MB at 48 commits of 340 partitions,
0.2 CPU-s an open, growing with every commit), yet the answer still follows a new commit."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import deltalake
import pyarrow as pa
import pytest

from ecobasin.store import lake as store_lake
from ecobasin.store import lake_read


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
            "value": [35.0, 80.0],
            "flag": pa.nulls(n, pa.string()),
            "batch_id": pa.array([0] * n, pa.int32()),
            "city": ["510100"] * n,
            "year": pa.array([year] * n, pa.int32()),
            "month": pa.array([month] * n, pa.int32()),
        }
    )


def test_the_log_is_read_once_and_new_commits_are_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = tmp_path / "lake"
    store_lake.write_month(lake, "observations", 2015, 1, month_rows(2015, 1))
    opened: list[str] = []
    real = deltalake.DeltaTable

    class CountingTable(real):  # type: ignore[misc, valid-type]
        def __init__(self, path: Any, *args: Any, **kwargs: Any) -> None:
            opened.append(str(path))
            super().__init__(path, *args, **kwargs)

    monkeypatch.setattr(deltalake, "DeltaTable", CountingTable)

    first = lake_read.dataset(str(lake), "observations")
    assert first is not None
    assert lake_read.dataset(str(lake), "observations") is first
    assert lake_read.dataset(str(lake), "observations") is first
    assert len(opened) == 1, f"the Delta log was opened {len(opened)} times for one version"

    store_lake.write_month(lake, "observations", 2015, 2, month_rows(2015, 2))
    opened.clear()  # the writer's own open: the reader's are counted
    newer = lake_read.dataset(str(lake), "observations")
    assert newer is not None and newer is not first
    assert sorted(set(newer.to_table(columns=["month"])["month"].to_pylist())) == [1, 2]
    assert opened == []


def test_a_table_made_anew_in_its_folder_is_read_anew(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    store_lake.write_month(lake, "observations", 2015, 1, month_rows(2015, 1))
    store_lake.write_month(lake, "observations", 2015, 2, month_rows(2015, 2))
    held = lake_read.dataset(str(lake), "observations")
    assert held is not None
    assert sorted(set(held.to_table(columns=["month"])["month"].to_pylist())) == [1, 2]

    shutil.rmtree(lake)  # a new lake in the same folder: its log starts again at version 0
    store_lake.write_month(lake, "observations", 2016, 3, month_rows(2016, 3))
    fresh = lake_read.dataset(str(lake), "observations")
    assert fresh is not None
    assert fresh.to_table(columns=["year", "month"]).to_pylist() == [{"year": 2016, "month": 3}] * 2


def test_a_partition_read_opens_only_that_partitions_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Dask worker reading one city-month built the Arrow dataset of the whole table first:
    its memory grew with the lake (at 48 months of 1,700 stations both workers passed 95 % of
    768 MiB and were killed); it now builds one of the wanted partitions' files only."""
    lake = tmp_path / "lake"
    for month in (1, 2):
        rows = month_rows(2015, month)
        other = rows.set_column(
            rows.schema.get_field_index("city"), "city", pa.array(["510300"] * 2)
        )
        store_lake.write_month(lake, "observations", 2015, month, pa.concat_tables([rows, other]))
    built: list[int] = []
    real = deltalake.DeltaTable.to_pyarrow_dataset

    def counting(self: deltalake.DeltaTable, *args: Any, **kwargs: Any) -> Any:
        data = real(self, *args, **kwargs)
        built.append(len(list(data.get_fragments())))
        return data

    monkeypatch.setattr(deltalake.DeltaTable, "to_pyarrow_dataset", counting)
    got = lake_read.read_partition(str(lake), "observations", 2015, 2, ("510100",))
    assert got.num_rows == 2
    assert set(got["city"].to_pylist()) == {"510100"} and set(got["month"].to_pylist()) == {2}
    assert built and max(built) == 1, f"datasets of {built} files built for one partition"
    assert lake_read.read_partition(str(lake), "observations", 2015, 3, ("510100",)).num_rows == 0
