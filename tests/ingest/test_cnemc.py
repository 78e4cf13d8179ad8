"""CNEMC readers (archive ``china_sites_YYYYMMDD.csv`` and the live station feed) and their import,
with hand-made files holding every kind of bad record."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from ingest_helpers import new_store, write

from ecobasin.ingest import cnemc, importer
from ecobasin.timebase import day_of_hour_ending

T0 = pd.Timestamp("2021-12-31T16:00Z")  # CST 2022-01-01 00:00 hour-ending
T1 = pd.Timestamp("2021-12-31T17:00Z")  # CST 2022-01-01 01:00

# Line numbers count the header as line 1.
ARCHIVE = """\
date,hour,type,1431A,1432A,9999A
20220101,0,AQI,108,114,50
20220101,0,PM2.5,81,86,40
20220101,0,PM2.5_24h,70,71,30
20220101,0,PM10,113,,40
20220101,0,CO,0.9,1.0,0.5
20220101,0,PM1,5,6,7
20220101,1,PM2.5,3O.5,-5,1
20220101,1,PM10,99,2500000,1
20220101,1,PM10,98,88,1
20220101,xx,PM2.5,1,2,3
"""
# 10 data rows; 9 of stored or unknown types × 3 stations = 27 candidates; PM2.5_24h: 3 derived.
# 1431A: stored AQI 108, PM2.5 81, PM10 113, CO 0.9 (hour 0) and PM10 98 (hour 1, line 10 wins
#        over line 9) = 5; PM1 unknown_parameter; 3O.5 not_a_number; line 9 duplicate_row;
#        line 11 bad_time.
# 1432A: stored AQI 114, PM2.5 86, CO 1.0, PM10 88 = 4; PM10 empty (missing); PM1
#        unknown_parameter; -5 negative_value; 2,500,000 impossible_value (PM10 ≤ 10,000);
#        line 11 bad_time.
# 9999A: lines 2–10 except the derived line 4: 8 values, one unknown_site record; line 11
#        bad_time (the time check comes first).
# 9 + 1 + 8 + (2 + 1 + 1 + 1 + 1 + 3) = 27


# -- format detection -----------------------------------------------------------------------


def test_detect_format() -> None:
    assert cnemc.detect_format(["date", "hour", "type", "1431A"]) == "archive"
    assert cnemc.detect_format(["Date", " hour", "TYPE"]) == "archive"
    assert cnemc.detect_format(["timepoint", "stationcode", "aqi"]) == "live"
    with pytest.raises(ValueError, match=r"not a CNEMC file.*found \['site', 'time'\]"):
        cnemc.detect_format(["site", "time"])


# -- archive --------------------------------------------------------------------------------


def test_archive_reader_shapes_and_meta(tmp_path: Path) -> None:
    frame, meta = cnemc.read_cnemc(write(tmp_path, "china_sites_20220101.csv", ARCHIVE))
    assert meta["format"] == "cnemc-archive"
    assert meta["source"] == "china_sites_20220101.csv"
    assert (meta["rows"], meta["stations"], meta["derived"]) == (10, 3, 3)
    assert meta["unknown_types"] == ["PM1"]
    # the empty PM10 cell of 1432A is either a candidate or counted by the reader as missing
    assert len(frame) + meta.get("missing", 0) == 27
    assert frame["value"].notna().sum() + frame["raw_value"].notna().sum() == 26
    assert set(frame["period"]) == {"1h"}
    assert frame["unit"].isna().all()
    assert "PM2.5_24h" not in set(frame["parameter"].astype(str))
    first = frame.iloc[0]
    assert (str(first["site_id"]), str(first["parameter"]), first["value"]) == (
        "1431A",
        "AQI",
        108.0,
    )
    assert first["time"] == T0
    assert (first["line"], str(first["field"])) == (2, "column 1431A")
    text = frame[frame["raw_value"].notna()]
    assert text["raw_value"].tolist() == ["3O.5"]


def test_archive_day_boundary(tmp_path: Path) -> None:
    text = "date,hour,type,1431A\n20211231,23,PM2.5,10\n20220101,0,PM2.5,20\n20220101,1,PM2.5,30\n"
    frame, _ = cnemc.read_cnemc_archive(write(tmp_path, "a.csv", text))
    # 2021-12-31 23:00 CST = 15:00Z; 2022-01-01 00:00 CST (= 24:00 of 12-31) = 16:00Z; 01:00 = 17:00Z
    assert list(frame["time"]) == [
        pd.Timestamp("2021-12-31T15:00Z"),
        T0,
        T1,
    ]
    days = day_of_hour_ending(frame["time"]).dt.date.tolist()
    assert days == [date(2021, 12, 31), date(2021, 12, 31), date(2022, 1, 1)]


def test_archive_with_bom_and_from_a_buffer(tmp_path: Path) -> None:
    frame, meta = cnemc.read_cnemc(write(tmp_path, "bom.csv", ARCHIVE, bom=True))
    assert meta["stations"] == 3
    assert len(frame) + meta.get("missing", 0) == 27
    buffered, buffered_meta = cnemc.read_cnemc(io.StringIO(ARCHIVE))
    assert buffered_meta["source"] == "<buffer>"
    pd.testing.assert_series_equal(buffered["value"], frame["value"])


def test_archive_import_keeps_every_bad_record_with_its_reason(tmp_path: Path) -> None:
    path = write(tmp_path, "china_sites_20220101.csv", ARCHIVE)
    with new_store(tmp_path, "1431A", "1432A") as store:
        report = importer.import_cnemc(store, [path])
        assert (report.files, report.records) == (1, 27)
        assert report.stored.inserted == 9
        assert report.missing == 1
        assert report.derived == 3
        assert dict(report.rejected) == {
            "unknown_site": 1,
            "unknown_parameter": 2,
            "not_a_number": 1,
            "negative_value": 1,
            "impossible_value": 1,
            "duplicate_row": 1,
            "bad_time": 3,
        }
        stored = store.observations()
        values = {(r.site_id, r.parameter, r.time): r.value for r in stored.itertuples()}
        assert values[("1431A", "PM10", T1)] == 98.0  # line 10, the later duplicate
        assert values[("1432A", "PM10", T1)] == 88.0
        assert values[("1431A", "CO", T0)] == 0.9
        assert set(stored["unit"][stored["parameter"] == "CO"]) == {"mg/m³"}

        rejected = store.rejected().set_index(["record_ref", "reason_code"])
        assert len(rejected) == 10
        assert set(rejected["source"]) == {"china_sites_20220101.csv"}

        def reason(ref: str, code: str) -> str:
            return str(rejected.loc[(ref, code), "reason"])

        assert reason("line 8 column 1431A", "not_a_number") == "value 3O.5 is not a number"
        assert reason("line 8 column 1432A", "negative_value") == (
            "negative value -5 µg/m³ is impossible"
        )
        assert reason("line 9 column 1432A", "impossible_value") == (
            "value 2.5e+06 µg/m³ is outside the plausible range 0–10000"
        )
        assert reason("line 7 column 1431A", "unknown_parameter") == (
            "parameter PM1 is not in the registry"
        )
        assert "later row is kept" in reason("line 9 column 1431A", "duplicate_row")
        assert reason("line 11 column 1432A", "bad_time") == (
            "time could not be read at line 11 column 1432A"
        )
        assert reason("site 9999A (lines 2–10)", "unknown_site").startswith(
            "site 9999A is not registered; its 8 values were not stored"
        )
        assert rejected["raw"].notna().all()

        # re-import: nothing changes, rejected records are kept once
        again = importer.import_cnemc(store, [path])
        assert again.stored.as_dict() == {"inserted": 0, "replaced": 0, "unchanged": 9}
        assert len(store.rejected()) == 10
        assert store.count_observations() == 9


def test_archive_reimport_with_a_corrected_value_replaces_it(tmp_path: Path) -> None:
    first = "date,hour,type,1431A\n20220101,0,PM2.5,81\n20220101,1,PM2.5,82\n"
    corrected = "date,hour,type,1431A\n20220101,0,PM2.5,80\n20220101,1,PM2.5,82\n"
    with new_store(tmp_path, "1431A") as store:
        importer.import_cnemc(store, [write(tmp_path, "a.csv", first)])
        report = importer.import_cnemc(store, [write(tmp_path, "b.csv", corrected)])
        assert report.stored.as_dict() == {"inserted": 0, "replaced": 1, "unchanged": 1}
        assert store.observations()["value"].tolist() == [80.0, 82.0]


def test_a_file_that_is_not_cnemc_is_reported_and_the_rest_imported(tmp_path: Path) -> None:
    bad = write(tmp_path, "notes.csv", "site,time,value\n1431A,2022-01-01,1\n")
    good = write(tmp_path, "china_sites_20220101.csv", "date,hour,type,1431A\n20220101,0,CO,0.9\n")
    with new_store(tmp_path, "1431A") as store:
        report = importer.import_cnemc(store, [bad, good])
        assert report.stored.inserted == 1
        assert [name for name, _ in report.failed_files] == ["notes.csv"]
        assert "not a CNEMC file" in report.failed_files[0][1]
        assert report.rejected["unreadable_file"] == 1
        record = store.rejected().iloc[0]
        assert (record["source"], record["record_ref"]) == ("notes.csv", "file")
        assert "not a CNEMC file" in record["reason"]


# -- live feed ------------------------------------------------------------------------------

LIVE = """\
timepoint,stationcode,longitude,latitude,area,positionname,primarypollutant,aqi,pm10,pm10_24h,pm2_5,pm2_5_24h,co,co_24h
2022-01-01T00:00:00,1431A,103.9728,30.7236,成都市,金泉两河,细颗粒物(PM2.5),108.0,113,92,81,70,0.9,0.8
2022-01-01T00:00:00,1901A,104.4239,31.1208,德阳,东山公园,,,103,100,86,85,1.1,0.8
2022-01-01T00:00:00,7777A,1.0,2.0,火星市,火星站,,50,,,,,,
2022-01-01T01:00:00,1431A,103.9728,30.7236,成都市,金泉两河,,3O.5,-3,90,5000,70,1.0,0.8
2022-13-45T00:00:00,1431A,103.9728,30.7236,成都市,金泉两河,,100,100,90,80,70,1.0,0.8
"""
# 5 rows × 4 stored columns (aqi, pm10, pm2_5, co) = 20 candidates; 3 derived columns × 5 = 15.
# Stored: line 2 all four; line 3 pm10, pm2_5, co (aqi empty: missing); line 5 co = 8.
# Missing: line 3 aqi, line 4 pm10, pm2_5, co = 4.
# Rejected: 7777A's aqi (unknown_site, its city 火星市 is unknown so it is not registered);
#   line 5 aqi 3O.5 not_a_number, pm10 -3 negative_value, pm2_5 5000 impossible_value;
#   line 6 (month 13) bad_time × 4.  8 + 4 + 1 + 3 + 4 = 20.


def test_live_reader_sites_and_cities(tmp_path: Path) -> None:
    frame, meta = cnemc.read_cnemc(write(tmp_path, "live.csv", LIVE, bom=True))
    assert meta["format"] == "cnemc-live"
    assert (meta["rows"], meta["stations"], meta["derived"]) == (5, 3, 15)
    assert len(frame) == 20
    sites = meta["sites"].set_index("site_id")
    assert list(sites.index) == ["1431A", "1901A"]
    assert sites.loc["1431A", "city_code"] == 510100  # from 成都市
    assert sites.loc["1901A", "city_code"] == 510600  # from 德阳
    assert sites.loc["1431A", "name_zh"] == "金泉两河"
    assert (sites.loc["1431A", "lon"], sites.loc["1431A", "lat"]) == (103.9728, 30.7236)
    assert set(sites["kind"]) == {"air_station"}
    assert meta["site_errors"] == [(4, "7777A", "unknown city '火星市'")]
    aqi = frame[(frame["site_id"] == "1431A") & (frame["parameter"] == "AQI")]
    assert list(aqi["time"].iloc[:2]) == [T0, T1]
    assert pd.isna(aqi["time"].iloc[2])
    assert aqi["field"].tolist() == ["column aqi"] * 3


def test_live_import(tmp_path: Path) -> None:
    path = write(tmp_path, "live.csv", LIVE)
    with new_store(tmp_path) as store:
        report = importer.import_cnemc(store, [path])
        assert report.sites_added == 2
        assert report.records == 20
        assert report.stored.inserted == 8
        assert report.missing == 4
        assert report.derived == 15
        assert dict(report.rejected) == {
            "unknown_city": 1,
            "unknown_site": 1,
            "not_a_number": 1,
            "negative_value": 1,
            "impossible_value": 1,
            "bad_time": 4,
        }
        sites = store.sites().set_index("site_id")
        assert sites.loc["1901A", "city_en"] == "Deyang"
        assert sites.loc["1431A", "city_zh"] == "成都市"
        rejected = store.rejected().set_index(["record_ref", "reason_code"])
        assert rejected.loc[("line 4", "unknown_city"), "reason"] == (
            "station 7777A: unknown city '火星市'"
        )
        assert rejected.loc[("line 5 column aqi", "not_a_number"), "reason"] == (
            "value 3O.5 is not a number"
        )
        assert rejected.loc[("line 5 column pm2_5", "impossible_value"), "reason"] == (
            "value 5000 µg/m³ is outside the plausible range 0–2000"
        )
        assert ("site 7777A (lines 4–4)", "unknown_site") in rejected.index

        again = importer.import_cnemc(store, [path])
        assert again.sites_added == 0
        assert again.stored.as_dict() == {"inserted": 0, "replaced": 0, "unchanged": 8}
        assert len(store.rejected()) == len(rejected)


def test_live_duplicate_rows_later_wins(tmp_path: Path) -> None:
    text = (
        "timepoint,stationcode,area,aqi\n"
        "2022-01-01T00:00:00,1431A,成都市,100\n"
        "2022-01-01T00:00:00,1431A,成都市,101\n"
    )
    with new_store(tmp_path) as store:
        report = importer.import_cnemc(store, [write(tmp_path, "dup.csv", text)])
        assert report.stored.inserted == 1
        assert report.rejected == {"duplicate_row": 1}
        assert store.observations()["value"].tolist() == [101.0]
        assert store.rejected()["record_ref"].tolist() == ["line 2 column aqi"]
