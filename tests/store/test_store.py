"""The DuckDB store against a real file: migrations, upserts and their counts, rejected records,
batches, observation filters, CSV and Parquet export, the one-writer lock and read-only opens."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.dataset as ds
import pytest

from ecobasin import catalog
from ecobasin.errors import StoreBusyError
from ecobasin.store import Store, WriteCounts, _sql
from ecobasin.store.migrations import MIGRATIONS, migration_batches
from ecobasin.timebase import parse_instant
from store_files import new_store_file

LATEST = max(version for version, _, _ in MIGRATIONS)
T0 = pd.Timestamp("2021-12-31T16:00Z")  # CST 2022-01-01 00:00 (24:00 of 2021-12-31)
HOUR = pd.Timedelta(hours=1)

SITES = pd.DataFrame(
    [
        ("1431A", "air_station", "national", 510100, "金泉两河", "Jinquan", 103.9728, 30.7236),
        ("1432A", "air_station", "national", 510100, "十里店", "Shilidian", 104.1419, 30.6764),
        ("1901A", "air_station", "national", 510600, "东山公园", None, 104.4239, 31.1208),
        ("LS-W01", "water_section", "national", 511100, "悦来渡口", None, 103.78, 29.56),
    ],
    columns=["site_id", "kind", "level", "city_code", "name_zh", "name_en", "lon", "lat"],
)


def observations(site: str, parameter: str, values: list[float], start: pd.Timestamp = T0):
    return pd.DataFrame(
        {
            "site_id": site,
            "parameter": parameter,
            "period": "1h",
            "time": pd.date_range(start, periods=len(values), freq="h"),
            "value": values,
            "flag": None,
        }
    )


@pytest.fixture
def store(tmp_path: Path):
    with Store(new_store_file(tmp_path / "store.duckdb")) as opened:
        opened.sync_catalog(catalog.load_region())
        opened.upsert_sites(SITES, source="test sites")
        yield opened


@pytest.fixture
def filled(store: Store) -> Store:
    """3 hours of PM2.5 at three stations and CO at 1431A (CST labels 00:00, 01:00, 02:00 of
    2022-01-01; the first closes 2021-12-31)."""
    batch = store.begin_batch("test", "filled.csv")
    frame = pd.concat(
        [
            observations("1431A", "PM2.5", [81, 82, 83]),
            observations("1432A", "PM2.5", [86, 87, 88]),
            observations("1901A", "PM2.5", [90, 91, 92]),
            observations("1431A", "CO", [0.9, 1.0, 1.1]),
        ],
        ignore_index=True,
    )
    assert store.write_observations(frame, batch_id=batch) == WriteCounts(inserted=12)
    store.finish_batch(batch, {"records": 12})
    return store


# -- schema and migrations ------------------------------------------------------------------


def test_migrations_are_applied_once_and_recorded(tmp_path: Path) -> None:
    path = tmp_path / "m.duckdb"
    with Store(path) as store:
        assert store.schema_version == LATEST
        versions = _sql.frame(
            store,
            "SELECT version, description, applied_at::VARCHAR AS applied_at FROM schema_version",
        )
        assert versions["version"].tolist() == [v for v, _, _ in MIGRATIONS]
        assert versions["description"].tolist() == [d for _, d, _ in MIGRATIONS]
        first_applied = versions["applied_at"].tolist()
        tables = set(_sql.frame(store, "SELECT table_name FROM duckdb_tables()")["table_name"])
        assert {
            "cities",
            "parameters",
            "sites",
            "observation_values",
            "meteorology",
            "rejected",
            "import_batches",
        } <= tables
        views = set(_sql.frame(store, "SELECT view_name FROM duckdb_views()")["view_name"])
        assert "observations" in views  # read by site and parameter id
    with Store(path) as store:  # reopening applies nothing again
        again = _sql.frame(
            store, "SELECT version, applied_at::VARCHAR AS applied_at FROM schema_version"
        )
        assert again["version"].tolist() == [v for v, _, _ in MIGRATIONS]
        assert again["applied_at"].tolist() == first_applied
        assert store.summary()["schema_version"] == LATEST


def test_a_new_file_takes_its_migrations_in_one_transaction_an_upgrade_one_each() -> None:
    versions = [v for v, _, _ in MIGRATIONS]
    (everything,) = migration_batches(MIGRATIONS, done=set())
    assert [v for v, _, _ in everything] == versions  # all of them, in order
    upgrade = migration_batches(MIGRATIONS, done=set(versions[:3]))
    assert [[v for v, _, _ in batch] for batch in upgrade] == [[v] for v in versions[3:]]
    assert migration_batches(MIGRATIONS, done=set(versions)) == []


def test_sync_catalog_marks_the_region(store: Store) -> None:
    cities = store.cities()
    assert len(cities) == len(catalog.cities())
    region = store.cities(region_only=True)
    assert region["code"].tolist() == sorted(catalog.load_region().cities)
    assert store.summary()["cities_in_region"] == 8
    assert len(store.parameters()) == len(catalog.parameters())
    assert store.parameters("water")["parameter"].str.len().gt(0).all()
    # re-sync with another region moves the flag
    store.sync_catalog(catalog.load_region("beijing"))
    assert store.cities(region_only=True)["code"].tolist() == [110100]


def test_sites(store: Store) -> None:
    sites = store.sites()
    assert sites["site_id"].tolist() == ["1431A", "1432A", "1901A", "LS-W01"]  # city, then id
    assert sites.set_index("site_id").loc["1901A", "city_en"] == "Deyang"
    assert store.sites(cities=[510100])["site_id"].tolist() == ["1431A", "1432A"]
    assert store.sites(kinds=["water_section"])["site_id"].tolist() == ["LS-W01"]
    counts = store.upsert_sites(SITES.iloc[:1].assign(name_en="Jinquan Lianghe"), source="again")
    assert counts == WriteCounts(inserted=0, replaced=1)
    assert store.sites(site_ids=["1431A"])["name_en"].tolist() == ["Jinquan Lianghe"]


def test_site_kind_is_checked(store: Store) -> None:
    with pytest.raises(duckdb.ConstraintException):
        store.upsert_sites(SITES.iloc[:1].assign(site_id="X", kind="volcano"), source="bad")


# -- upserts --------------------------------------------------------------------------------


def test_upsert_counts_and_later_value_wins(store: Store) -> None:
    first = observations("1431A", "PM2.5", [10, 11, 12])
    assert store.write_observations(first, batch_id=store.begin_batch("t", "a")) == WriteCounts(3)
    # same three keys: one value changed, one flag changed, one identical; plus one new hour
    second = observations("1431A", "PM2.5", [10, 99, 12, 13])
    second.loc[2, "flag"] = "M"
    counts = store.write_observations(second, batch_id=store.begin_batch("t", "b"))
    assert counts == WriteCounts(inserted=1, replaced=2, unchanged=1)
    stored = store.observations()
    assert stored["value"].tolist() == [10, 99, 12, 13]
    assert stored["flag"].tolist()[2] == "M"
    assert pd.isna(stored["flag"].iloc[0])  # a missing flag is stored as NULL, not "None"
    assert stored["source"].tolist() == ["a", "b", "b", "b"]  # replaced rows come from b
    # writing the same again: all unchanged, one row per key
    counts = store.write_observations(second, batch_id=store.begin_batch("t", "c"))
    assert counts == WriteCounts(unchanged=4)
    assert store.count_observations() == 4


def test_upsert_across_sites_and_periods(store: Store) -> None:
    store.write_observations(observations("1431A", "PM2.5", [1.0]), batch_id=1)
    other = pd.concat(
        [
            observations("1432A", "PM2.5", [1.0]),  # another site, same time
            observations("1431A", "PM2.5", [5.0]).assign(period="1d"),  # another period
            observations("1431A", "PM10", [1.0]),  # another parameter
        ]
    )
    assert store.write_observations(other, batch_id=2) == WriteCounts(inserted=3)
    assert store.count_observations() == 4


def test_write_counts_arithmetic() -> None:
    total = WriteCounts(1, 2, 3)
    total += WriteCounts(10, 20, 30)
    assert total.as_dict() == {"inserted": 11, "replaced": 22, "unchanged": 33}
    assert WriteCounts() == WriteCounts(0, 0, 0)


def test_empty_write(store: Store) -> None:
    assert store.write_observations(observations("1431A", "PM2.5", [])) == WriteCounts()


# -- rejected records and batches -----------------------------------------------------------


def rejects() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source": ["a.csv", "a.csv"],
            "record_ref": ["line 3 column 1431A", "line 4 column 1431A"],
            "reason_code": ["negative_value", "not_a_number"],
            "reason": ["negative value -5 µg/m³ is impossible", "value 3O.5 is not a number"],
            "raw": ["-5", "3O.5"],
        }
    )


def test_rejected_records_are_kept_once(store: Store) -> None:
    batch = store.begin_batch("csv", "a.csv")
    assert store.reject(rejects(), batch_id=batch) == 2
    assert store.reject(rejects(), batch_id=batch + 1) == 0  # re-import: nothing new
    frame = store.rejected()
    assert frame["record_ref"].tolist() == ["line 3 column 1431A", "line 4 column 1431A"]
    assert frame["batch_id"].tolist() == [batch, batch]  # the first sighting is kept
    assert str(frame["rejected_at"].dt.tz) == "UTC"
    summary = store.rejected_summary().set_index("reason_code")["n"].to_dict()
    assert summary == {"negative_value": 1, "not_a_number": 1}
    # the same record for another reason is another entry
    other = rejects().iloc[:1].assign(reason_code="impossible_value")
    assert store.reject(other) == 1
    assert store.summary()["rejected"] == 3
    assert len(store.rejected(source="a.csv", limit=2)) == 2
    assert store.rejected(source="b.csv").empty


def test_batches_are_recorded(store: Store) -> None:
    first = store.begin_batch("cnemc", "china_sites_20220101.csv")
    second = store.begin_batch("csv", "tidy.csv")
    assert second == first + 1
    store.finish_batch(first, {"records": 27, "bad_time": 3})
    batches = _sql.frame(
        store,
        "SELECT kind, source, counts, finished_at::VARCHAR AS finished_at FROM import_batches "
        "ORDER BY batch_id",
    )
    assert batches["kind"].tolist() == ["cnemc", "csv"]
    assert batches["source"].tolist() == ["china_sites_20220101.csv", "tidy.csv"]
    assert json.loads(batches["counts"].iloc[0]) == {"records": 27, "bad_time": 3}
    assert pd.notna(batches["finished_at"].iloc[0])
    assert pd.isna(batches["finished_at"].iloc[1])


def test_execute_reads_timestamps_without_warnings(store: Store) -> None:
    store.begin_batch("csv", "a.csv")
    frame = _sql.frame(store, "SELECT started_at FROM import_batches")
    assert len(frame) == 1


# -- reading --------------------------------------------------------------------------------


def test_observation_columns_and_units(filled: Store) -> None:
    frame = filled.observations()
    assert list(frame.columns) == [
        "site_id",
        "city_code",
        "parameter",
        "period",
        "time",
        "value",
        "unit",
        "flag",
        "source",
    ]
    assert str(frame["time"].dt.tz) == "UTC"
    assert len(frame) == 12
    units = dict(zip(frame["parameter"], frame["unit"], strict=False))
    assert units == {"PM2.5": "µg/m³", "CO": "mg/m³"}
    assert set(frame["source"]) == {"filled.csv"}
    # ordered by site, parameter, period, time
    assert frame[["site_id", "parameter"]].drop_duplicates().values.tolist() == [
        ["1431A", "CO"],
        ["1431A", "PM2.5"],
        ["1432A", "PM2.5"],
        ["1901A", "PM2.5"],
    ]


def test_observation_filters(filled: Store) -> None:
    def values(**filters) -> list[float]:
        return filled.observations(**filters)["value"].tolist()

    assert values(sites=["1432A"]) == [86, 87, 88]
    assert values(cities=[510600]) == [90, 91, 92]
    assert len(values(cities=[510100])) == 9
    assert values(parameters=["CO"]) == [0.9, 1.0, 1.1]
    assert values(sites=["1431A"], parameters=["PM2.5"], start=T0 + HOUR) == [82, 83]
    # start and end are inclusive
    assert values(sites=["1431A"], parameters=["PM2.5"], start=T0, end=T0 + HOUR) == [81, 82]
    assert values(sites=["1431A"], parameters=["PM2.5"], end=T0) == [81]
    assert values(sites=["nope"]) == []
    assert values(periods=["1d"]) == []
    assert filled.count_observations(cities=[510100], parameters=["PM2.5"]) == 6


def test_observation_paging(filled: Store) -> None:
    everything = filled.observations()
    page = filled.observations(limit=5, offset=4)
    pd.testing.assert_frame_equal(page, everything.iloc[4:9].reset_index(drop=True))
    assert len(filled.observations(limit=100, offset=10)) == 2
    assert len(filled.observations(offset=10)) == 2


def test_naive_bounds_are_refused(filled: Store) -> None:
    with pytest.raises(ValueError, match="tz-aware"):
        filled.observations(start=pd.Timestamp("2022-01-01").to_pydatetime())


def test_summary(filled: Store) -> None:
    summary = filled.summary()
    assert summary["sites"] == 4
    assert summary["observations"] == 12
    assert summary["first_time"] == T0
    assert summary["last_time"] == T0 + 2 * HOUR


# -- export ---------------------------------------------------------------------------------


def test_export_csv_has_utc_and_cst_times(filled: Store, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    n = filled.export_observations(out, "csv", sites=["1431A"], parameters=["PM2.5"])
    assert n == 3
    frame = pd.read_csv(out)
    assert list(frame.columns) == [
        "site_id",
        "city",
        "parameter",
        "period",
        "time_utc",
        "time_cst",
        "value",
        "unit",
        "flag",
        "source",
    ]
    assert len(frame) == 3
    utc = pd.to_datetime(frame["time_utc"], utc=True)
    assert list(utc) == [T0, T0 + HOUR, T0 + 2 * HOUR]
    # 2021-12-31T16:00Z ends the hour 23:00-24:00 CST of 2021-12-31
    assert frame["time_cst"].tolist() == [
        "2021-12-31 24:00",  # the hour closing 2021-12-31 (HJ 663-2013 §3)
        "2022-01-01 01:00",
        "2022-01-01 02:00",
    ]
    assert [parse_instant(label) for label in frame["time_cst"]] == list(utc)
    assert frame["value"].tolist() == [81, 82, 83]
    assert set(frame["unit"]) == {"µg/m³"}
    assert set(frame["city"]) == {510100}


def test_export_parquet_is_hive_partitioned(filled: Store, tmp_path: Path) -> None:
    out = tmp_path / "lake"
    assert filled.export_observations(out, "parquet") == 12
    folders = sorted(str(p.parent.relative_to(out)) for p in out.rglob("*.parquet"))
    # the first hour (CST 2022-01-01 00:00 = 24:00 of 2021-12-31) belongs to December 2021
    assert sorted(set(folders)) == [
        "year=2021/month=12/city=510100",
        "year=2021/month=12/city=510600",
        "year=2022/month=1/city=510100",
        "year=2022/month=1/city=510600",
    ]
    table = ds.dataset(out, format="parquet", partitioning="hive").to_table().to_pandas()
    assert len(table) == 12
    december = table[table["year"] == 2021]
    assert sorted(december["value"].tolist()) == [0.9, 81, 86, 90]
    back = pd.read_parquet(out)
    assert len(back) == 12
    assert set(back["time_cst"]) == {"2021-12-31 24:00", "2022-01-01 01:00", "2022-01-01 02:00"}


def test_export_filters_and_unknown_format(filled: Store, tmp_path: Path) -> None:
    assert filled.export_observations(tmp_path / "d.csv", "csv", cities=[510600]) == 3
    assert len(pd.read_csv(tmp_path / "d.csv")) == 3
    with pytest.raises(ValueError, match="unknown export format 'xml'"):
        filled.export_observations(tmp_path / "x.xml", "xml")


def test_export_from_a_read_only_store(filled: Store, tmp_path: Path) -> None:
    path = filled.path
    filled.close()
    with Store(path, read_only=True) as reader:
        assert reader.export_observations(tmp_path / "ro.csv", "csv") == 12
        assert reader.export_observations(tmp_path / "ro_lake", "parquet") == 12


# -- one writer per file --------------------------------------------------------------------

HOLDER = """
import sys, time, duckdb
from ecobasin.store import _sql
con = duckdb.connect(sys.argv[1])
print("holding", flush=True)
time.sleep(60)
"""


@pytest.fixture
def held_file(tmp_path: Path):
    """A store file held open for writing by another process."""
    path = tmp_path / "held.duckdb"
    Store(path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "holding"
        yield path
    finally:
        holder.kill()
        holder.wait(timeout=10)
        holder.stdout.close()


def test_second_process_gets_a_clear_busy_error(held_file: Path) -> None:
    started = time.monotonic()
    with pytest.raises(StoreBusyError) as error:
        Store(held_file)
    assert time.monotonic() - started < 10  # fails at once, never waits on the lock
    message = str(error.value)
    assert str(held_file) in message
    assert "in use by another ecobasin process" in message
    assert "one writer per file" in message
    # a reader cannot share a file a writer holds either (DuckDB's process lock)
    with pytest.raises(StoreBusyError):
        Store(held_file, read_only=True)


def test_file_is_free_again_after_the_holder_stops(tmp_path: Path) -> None:
    path = tmp_path / "free.duckdb"
    Store(path).close()
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; duckdb.connect(sys.argv[1]).close()",
            str(path),
        ],
        check=True,
    )
    with Store(path) as store:
        assert store.schema_version == LATEST


def test_read_only_open(filled: Store) -> None:
    path = filled.path
    filled.close()
    with Store(path, read_only=True) as first, Store(path, read_only=True) as second:
        assert first.count_observations() == second.count_observations() == 12
        assert first.schema_version == LATEST
        with pytest.raises(duckdb.Error):
            first.write_observations(observations("1431A", "PM2.5", [1.0]), batch_id=1)


def test_read_only_open_of_a_missing_file_fails(tmp_path: Path) -> None:
    with pytest.raises(duckdb.Error):
        Store(tmp_path / "absent.duckdb", read_only=True)
    assert not (tmp_path / "absent.duckdb").exists()


def test_reader_cursor_sees_the_same_data(filled: Store) -> None:
    reader = filled.reader()
    assert reader.count_observations() == 12
    assert reader.summary()["observations"] == 12


def test_reopening_keeps_parameter_keys_and_draws_no_new_ones(tmp_path: Path) -> None:
    """Stored values refer to parameters by key: syncing the catalog again must neither renumber
    them nor use up the SMALLINT key space (an upsert would draw a key per row per open)."""
    path = tmp_path / "keys.duckdb"
    seen = []
    for _ in range(3):
        with Store(path) as store:
            store.sync_catalog(catalog.load_region())
            keys = _sql.frame(store, "SELECT parameter, parameter_key FROM parameters ORDER BY 1")
            seen.append(dict(zip(keys["parameter"], keys["parameter_key"], strict=True)))
    assert seen[0] == seen[1] == seen[2]
    assert max(seen[0].values()) == len(seen[0])  # keys 1..n, none wasted


def test_a_write_expecting_overlap_stores_and_counts_as_one_that_counts_it_first(
    tmp_path: Path,
) -> None:
    """``overlap_expected`` (the gateway's writes) skips the overlap count and compares at
    once: new rows, rows near stored ones, identical, changed and re-flagged rows end up
    stored and counted as by the counting path, on two real DuckDB files."""
    later = T0 + 10 * HOUR
    changed = observations("1431A", "PM2.5", [10, 99, 12, 13])
    changed.loc[2, "flag"] = "M"
    writes = [
        observations("1431A", "PM2.5", [10, 11, 12]),  # an empty store
        observations("1432A", "PM2.5", [5, 6]),  # another site: nothing of it in the span
        observations("1431A", "PM2.5", [1, 2], start=later),  # after the stored rows
        observations("1431A", "PM2.5", [7], start=T0 + 2.5 * HOUR),  # between, no same key
        changed,  # one changed, one re-flagged, one identical, one new
        changed,  # all identical
        observations("1431A", "PM2.5", [3.0, float("nan")], start=later).assign(flag="M"),
    ]
    results = {}
    for expected in (False, True):
        with Store(new_store_file(tmp_path / f"{expected}.duckdb")) as opened:
            opened.sync_catalog(catalog.load_region())
            opened.upsert_sites(SITES, source="test sites")
            counts = [
                opened.write_observations(rows, batch_id=n + 1, overlap_expected=expected)
                for n, rows in enumerate(writes)
            ]
            stored = opened.observations().drop(columns=["source"])
            results[expected] = (counts, stored)
    assert results[True][0] == results[False][0]
    assert results[False][0][4] == WriteCounts(inserted=1, replaced=2, unchanged=1)
    pd.testing.assert_frame_equal(results[True][1], results[False][1])
    assert len(results[True][1]) == 9
