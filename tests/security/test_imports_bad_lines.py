"""Issue 13 item 18: one bad line costs that line, never the file or the other files.

Real files in tmp_path (some made from the real CNEMC snapshot in ../shared/data), a real DuckDB
file, the importer the CLI uses.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecobasin import catalog
from ecobasin.ingest import importer, validate
from ecobasin.store import Store, _sql
from security.imports_helpers import live_text, write_live
from store_files import new_store_file

pytestmark = pytest.mark.shared_data

ARCHIVE_HEADER = "date,hour,type,1431A,1432A\n"


def _store(tmp_path: Path) -> Store:
    store = Store(new_store_file(tmp_path / "imports.duckdb"))
    store.sync_catalog(catalog.load_region())
    return store


def _values(store: Store, site: str) -> pd.DataFrame:
    return _sql.frame(
        store,
        "SELECT time, value FROM observations WHERE site_id = ? AND parameter = 'PM2.5' "
        "ORDER BY time",
        [site],
    )


def _rejects(store: Store, source: str) -> pd.DataFrame:
    return _sql.frame(
        store,
        "SELECT record_ref, reason_code, reason FROM rejected WHERE source = ? ORDER BY record_ref",
        [source],
    )


def test_a_malformed_line_keeps_the_good_files_and_the_rest_of_its_own(
    tmp_path: Path, shared_data: Path
) -> None:
    first = write_live(shared_data, tmp_path, "a.csv", 1)
    bad = tmp_path / "bad.csv"
    bad.write_text(
        ARCHIVE_HEADER
        + "20220101,2,PM2.5,12,13\n"
        + "20220101\n"  # a line broken off: today an unhandled type error for the whole run
        + "20220101,3,PM2.5,14,15,16\n"  # one cell too many
        + "20220101,4,PM2.5,17,18\n",
        encoding="utf-8",
    )
    last = write_live(shared_data, tmp_path, "c.csv", 5)
    with _store(tmp_path) as store:
        report = importer.import_cnemc(store, [first, bad, last])
        pm25 = _values(store, "1431A")
        rejects = _rejects(store, "bad.csv")
        batches = _sql.frame(store, "SELECT source FROM import_batches ORDER BY batch_id")
    hours = [t.hour for t in pm25["time"].dt.tz_convert("Asia/Shanghai")]
    assert hours == [1, 2, 4, 5]  # both good files, and the good lines of the bad one
    assert list(pm25["value"]) == [81.0, 12.0, 17.0, 81.0]
    assert list(rejects["reason_code"]) == ["wrong_field_count", "wrong_field_count"]
    assert list(rejects["record_ref"]) == ["line 3", "line 4"]
    assert "has 1 cells but the header has 5" in rejects["reason"].iloc[0]
    assert "decimal comma" in rejects["reason"].iloc[1]
    assert list(batches["source"]) == ["a.csv", "bad.csv", "c.csv"]  # one batch per file
    assert report.rejected["wrong_field_count"] == 2
    assert not report.failed_files


def test_a_truncated_last_line_is_rejected_never_stored_shortened(tmp_path: Path) -> None:
    sites = tmp_path / "sites.csv"
    sites.write_text("site_id,city\n1431A,成都\n1432A,成都\n", encoding="utf-8")
    cut = tmp_path / "cut.csv"
    # the copy stopped inside the last line: "...,14,112\n" arrived as "...,14,11"
    cut.write_text(ARCHIVE_HEADER + "20220101,1,PM2.5,12,13\n20220101,2,PM2.5,14,11", "utf-8")
    with _store(tmp_path) as store:
        importer.import_sites(store, sites)
        report = importer.import_cnemc(store, [cut])
        stored = _values(store, "1432A")
        rejects = _rejects(store, "cut.csv")
    assert list(stored["value"]) == [13.0]  # never 11
    assert list(rejects["reason_code"]) == ["truncated_line"]
    assert rejects["record_ref"].iloc[0] == "line 3"
    assert "end it with a line break" in rejects["reason"].iloc[0]
    assert report.rejected == {"truncated_line": 1}


def test_decimal_commas_are_rejected_with_what_to_write(tmp_path: Path) -> None:
    tidy = tmp_path / "tidy.csv"
    tidy.write_text(
        "site,parameter,time,value\n"
        '1431A,PM2.5,2022-01-01T01:00,"12,5"\n'
        "1431A,PM2.5,2022-01-01T02:00,30\n",
        encoding="utf-8",
    )
    sites = tmp_path / "sites.csv"
    sites.write_text("site_id,city\n1431A,成都\n", encoding="utf-8")
    with _store(tmp_path) as store:
        importer.import_sites(store, sites)
        report = importer.import_csv(store, [tidy])
        stored = _values(store, "1431A")
        rejects = _rejects(store, "tidy.csv")
    assert list(stored["value"]) == [30.0]
    assert list(rejects["reason_code"]) == ["decimal_comma"]
    assert "write it with a point (12.5)" in rejects["reason"].iloc[0]
    assert report.rejected == {"decimal_comma": 1}


def test_a_duplicate_station_column_is_kept_aside_and_the_others_stored(tmp_path: Path) -> None:
    sites = tmp_path / "sites.csv"
    sites.write_text("site_id,city\n1431A,成都\n1432A,成都\n", encoding="utf-8")
    twice = tmp_path / "twice.csv"
    twice.write_text(
        "date,hour,type,1431A,1432A,1431A\n20220101,1,PM2.5,12,13,99\n", encoding="utf-8"
    )
    with _store(tmp_path) as store:
        importer.import_sites(store, sites)
        report = importer.import_cnemc(store, [twice])
        first, second = _values(store, "1431A"), _values(store, "1432A")
        rejects = _rejects(store, "twice.csv")
    assert first.empty  # which of 12 and 99 is right cannot be told
    assert list(second["value"]) == [13.0]
    assert list(rejects["reason_code"]) == ["duplicate_column"]
    assert "columns 4, 6" in rejects["reason"].iloc[0]
    assert "remove the wrong column" in rejects["reason"].iloc[0]
    assert not report.failed_files


@pytest.mark.parametrize("encoding", ["gbk", "gb18030"])
def test_gbk_and_gb18030_files_are_read(tmp_path: Path, shared_data: Path, encoding: str) -> None:
    path = tmp_path / f"live_{encoding}.csv"
    path.write_bytes(live_text(shared_data, 1).encode(encoding))
    with _store(tmp_path) as store:
        report = importer.import_cnemc(store, [path])
        site = store.sites(site_ids=["1431A"])
        counts = _sql.frame(store, "SELECT counts FROM import_batches")["counts"].iloc[0]
    assert not report.failed_files
    assert site["name_zh"].iloc[0] == "金泉两河"  # decoded, not mojibake
    assert report.stored.inserted == 68  # as from the UTF-8 original (2 cells empty)
    assert '"encoding": "gb18030"' in counts


def test_a_bom_file_and_a_header_repeated_by_joining_files(
    tmp_path: Path, shared_data: Path
) -> None:
    first, second = live_text(shared_data, 1, rows=2), live_text(shared_data, 2, rows=2)
    joined = tmp_path / "joined.csv"
    # two exported files joined: the second header keeps its BOM in the middle of the file
    joined.write_bytes(("\ufeff" + first + "\ufeff" + second).encode("utf-8"))
    with _store(tmp_path) as store:
        report = importer.import_cnemc(store, [joined])
        stored = _values(store, "1431A")
        rejects = _rejects(store, "joined.csv")
    assert len(stored) == 2
    assert list(rejects["reason_code"]) == ["repeated_header"]
    assert rejects["record_ref"].iloc[0] == "line 4"
    assert report.rejected == {"repeated_header": 1}


def test_a_file_neither_utf8_nor_chinese_says_to_save_it_as_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes(b"site,parameter,time,value\n" + bytes(range(0x80, 0x100)) * 4 + b"\n")
    with _store(tmp_path) as store:
        report = importer.import_csv(store, [path])
    assert len(report.failed_files) == 1
    assert "save it as UTF-8" in report.failed_files[0][1]


def test_implausible_times_are_kept_aside(tmp_path: Path) -> None:
    tidy = tmp_path / "years.csv"
    tidy.write_text(
        "site,parameter,time,value\n"
        "1431A,PM2.5,2099-01-01T01:00,487\n"
        "1431A,PM2.5,1900-01-01T01:00,5\n"
        "1431A,PM2.5,2022-01-01T01:00,30\n",
        encoding="utf-8",
    )
    sites = tmp_path / "sites.csv"
    sites.write_text("site_id,city\n1431A,成都\n", encoding="utf-8")
    window = validate.TimeWindow(datetime(2026, 12, 5, tzinfo=UTC))
    with _store(tmp_path) as store:
        importer.import_sites(store, sites)
        report = importer.import_csv(store, [tidy], time_window=window)
        stored = _values(store, "1431A")
        rejects = _rejects(store, "years.csv")
    assert list(stored["value"]) == [30.0]
    assert report.rejected == {"implausible_time": 2}
    assert set(rejects["reason_code"]) == {"implausible_time"}
    assert "2000-01-01 00:00 to 2026-12-06 00:00 UTC" in rejects["reason"].iloc[0]


def test_implausible_time_mask_bounds() -> None:
    now = datetime(2026, 12, 5, 12, tzinfo=UTC)
    times = pd.to_datetime(
        [
            "1999-12-31T23:59Z",
            "2000-01-01T00:00Z",
            "2026-12-06T12:00Z",
            "2026-12-06T12:01Z",
            None,
        ],
        utc=True,
    )
    mask = validate.implausible_time_mask(times, now, date(2000, 1, 1), timedelta(days=1))
    assert mask.tolist() == [True, False, False, True, False]
    assert (
        validate.implausible_time_mask(times, now, date(2000, 1, 1), timedelta(0)).dtype == np.bool_
    )


def test_a_gbk_station_list_is_read_and_its_bad_line_kept_aside(tmp_path: Path) -> None:
    sites = tmp_path / "sites_gbk.csv"
    sites.write_bytes(
        "site_id,city,name_zh\n1431A,成都,金泉两河\n1432A,成都,十里店,多余\n".encode("gbk")
    )
    with _store(tmp_path) as store:
        report = importer.import_sites(store, sites)
        registered = store.sites(site_ids=["1431A", "1432A"])
        rejects = _rejects(store, "sites_gbk.csv")
    assert list(registered["name_zh"]) == ["金泉两河"]
    assert list(rejects["reason_code"]) == ["wrong_field_count"]
    assert report.rejected == {"wrong_field_count": 1}
