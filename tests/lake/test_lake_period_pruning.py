"""A reader's period prunes the lake by its ``year``/``month`` (and ``city``) partitions
(``store.lake_read.source(period=…, cities=…)``): the same rows as before the export and as the
unpruned read of the whole table, over several months and across a month and a year boundary,
while a month's read opens that month's files only (the ten-year in-process evaluation read
all 40,800 files of the table for every month).

A real DuckDB file and a real Delta Lake folder: four stations of two cities, hourly values from
2024-11-20 to 2025-02-10 (four CST months), exported by ``services.lake.export`` and deleted from
the store, so the months can only come from the lake.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import deltalake
import numpy as np
import pandas as pd
import pytest

from ecobasin import catalog
from ecobasin.ingest import importer
from ecobasin.services import lake as lake_service
from ecobasin.store import Store, lake_read
from ecobasin.store import air as store_air

from .helpers import CHENGDU, SCALE, SITES

#: 2024-11-20 01:00 CST … 2025-02-10 00:00 CST: November, December, January, February.
FIRST_HOUR = pd.Timestamp("2024-11-19T17:00Z")
HOURS = 82 * 24
#: The instant ending 00:00 CST on 1 January 2025 belongs to 31 December (HJ 663-2013 §3), so
#: to the 2024-12 partition; the next one to 2025-01.
NEW_YEAR = datetime(2024, 12, 31, 16, tzinfo=UTC)
PERIODS = {
    "one month (December)": (datetime(2024, 11, 30, 17, tzinfo=UTC), NEW_YEAR),
    "several months": (datetime(2024, 11, 25, tzinfo=UTC), datetime(2025, 2, 5, tzinfo=UTC)),
    "across the year": (NEW_YEAR, datetime(2025, 1, 1, 2, tzinfo=UTC)),
    "across a month": (
        datetime(2025, 1, 31, 15, tzinfo=UTC),
        datetime(2025, 1, 31, 18, tzinfo=UTC),
    ),
    "from the start": (None, datetime(2024, 12, 1, tzinfo=UTC)),
    "to the end": (datetime(2025, 1, 31, 16, tzinfo=UTC), None),
}


def hourly_rows(seed: int = 7) -> pd.DataFrame:
    """Candidate rows of the importer: every pollutant of stations A–D, 2 % missing."""
    rng = np.random.default_rng(seed)
    times = pd.date_range(FIRST_HOUR, periods=HOURS, freq="h")
    frames = []
    for site in ("A", "B", "C", "D"):
        for parameter, scale in SCALE.items():
            values = np.round(rng.gamma(2.5, scale, HOURS), 1 if parameter == "CO" else 0)
            values[rng.random(HOURS) < 0.02] = np.nan
            frame = pd.DataFrame(
                {"site_id": site, "parameter": parameter, "period": "1h", "time": times}
            )
            frames.append(frame.assign(value=values, flag=None).dropna(subset=["value"]))
    rows = pd.concat(frames, ignore_index=True)
    return rows.assign(raw_value=None, unit=None, line=rows.index + 1, field="test")


def read(db: Path, period: tuple[Any, Any], **kwargs: Any) -> pd.DataFrame:
    start, end = period
    with Store(db, read_only=True) as store:
        return store_air.air_hourly(store, start=start, end=end, **kwargs)


def unpruned(db: Path, period: tuple[Any, Any]) -> pd.DataFrame:
    """The whole table read (no period given to the lake), cut to the period afterwards."""
    start, end = period
    whole = read(db, (None, None))
    keep = pd.Series(True, index=whole.index)
    if start is not None:
        keep &= whole["time"] >= pd.Timestamp(start)
    if end is not None:
        keep &= whole["time"] <= pd.Timestamp(end)
    return whole[keep].reset_index(drop=True)


@pytest.fixture(scope="module")
def moved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The store's answers before the export, then the store with every month in the lake."""
    folder = tmp_path_factory.mktemp("pruning")
    db, lake = folder / "air.duckdb", folder / "lake"
    with Store(db) as store:
        store.sync_catalog(catalog.load_region())
        store.upsert_sites(SITES, source="test")
        report = importer.import_frames(store, [(hourly_rows(), {"source": "pruning"})], "test")
        assert report.records > 0 and not report.failed_files
    before = {name: read(db, period) for name, period in PERIODS.items()}
    with Store(db) as store:
        now = datetime(2025, 6, 1, tzinfo=UTC)
        done = lake_service.export(store, lake, now=now, closed_after_days=0, delete=True)
    exported = {m.month for m in done.months if m.table == "observations" and m.deleted}
    assert exported == {"2024-11", "2024-12", "2025-01", "2025-02"}
    return {"db": db, "lake": lake, "before": before}


@pytest.mark.parametrize("name", list(PERIODS))
def test_a_pruned_read_gives_the_rows_of_the_store_and_of_the_whole_table(
    moved: dict[str, Any], name: str
) -> None:
    period = PERIODS[name]
    got = read(moved["db"], period)
    assert len(got) > 0
    pd.testing.assert_frame_equal(got, moved["before"][name])
    pd.testing.assert_frame_equal(got, unpruned(moved["db"], period))


def test_both_sides_of_the_boundaries_are_read(moved: dict[str, Any]) -> None:
    """The last hour of 2024 (ending 00:00 CST on 1 January) is in the December partition,
    the next one in January's; a period that holds both reads both partitions."""
    got = read(moved["db"], PERIODS["across the year"])
    assert set(got["time"]) == set(pd.date_range(NEW_YEAR, periods=11, freq="h"))
    across_month = read(moved["db"], PERIODS["across a month"])
    assert pd.Timestamp("2025-01-31T16:00Z") in set(across_month["time"])  # January's last
    assert pd.Timestamp("2025-01-31T17:00Z") in set(across_month["time"])  # February's first


def test_a_cities_read_gives_the_rows_of_their_sites(moved: dict[str, Any]) -> None:
    period = PERIODS["several months"]
    sites = ["A", "B"]  # Chengdu's
    got = read(moved["db"], period, sites=sites, cities=[str(CHENGDU)])
    before = moved["before"]["several months"]
    expected = before[before["site_id"].isin(sites)].reset_index(drop=True)
    assert len(got) > 0
    pd.testing.assert_frame_equal(got, expected)


def test_a_month_read_opens_that_months_files_only(
    moved: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four months × two cities = 8 files in the lake: December opens its 2, December of
    Chengdu its 1, the year boundary the 4 of December and January."""
    built: list[int] = []
    real = deltalake.DeltaTable.to_pyarrow_dataset

    def counting(self: deltalake.DeltaTable, *args: Any, **kwargs: Any) -> Any:
        data = real(self, *args, **kwargs)
        built.append(len(list(data.get_fragments())))
        return data

    monkeypatch.setattr(deltalake.DeltaTable, "to_pyarrow_dataset", counting)
    lake_read._DATASETS.clear()  # no whole-table dataset held from an earlier read
    read(moved["db"], PERIODS["one month (December)"])
    read(moved["db"], PERIODS["one month (December)"], sites=["A"], cities=[str(CHENGDU)])
    read(moved["db"], PERIODS["across the year"])
    assert built == [2, 1, 4], f"datasets of {built} files built"


def test_months_of_follows_the_partitions_cst_day() -> None:
    """HJ 663-2013 §3: an hour-ending instant's day is CST one hour back; days as they are."""
    assert lake_read.months_of(NEW_YEAR) == 202412
    assert lake_read.months_of(datetime(2024, 12, 31, 17, tzinfo=UTC)) == 202501
    assert lake_read.months_of(datetime(2024, 12, 31, 16)) == 202412  # naive: UTC
    assert lake_read.months_of(pd.Timestamp("2025-01-31").date()) == 202501
