"""CSV readers: the tidy long layout and any layout through a TOML mapping, with hand-made files
holding every kind of bad record, and their import into a real store."""

from __future__ import annotations

import gc
from pathlib import Path

import pandas as pd
import pytest
from ingest_helpers import new_store, write

from ecobasin.ingest import csvmap, importer

T0 = pd.Timestamp("2021-12-31T16:00Z")  # CST 2022-01-01 00:00 hour-ending
T1 = pd.Timestamp("2021-12-31T17:00Z")  # CST 2022-01-01 01:00


# -- parameter names ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "parameter"),
    [
        ("PM2.5", "PM2.5"),
        ("pm2.5", "PM2.5"),
        ("pm25", "PM2.5"),
        ("pm2_5", "PM2.5"),
        ("a34004", "PM2.5"),
        ("a21026", "SO2"),  # ambient, not flue-gas SO2
        ("w21003", "NH3N"),
        ("NH3-N", "NH3N"),
        ("060", "NH3N"),
        ("codmn", "CODMn"),
        (" CO ", "CO"),
    ],
)
def test_resolve_parameter(name: str, parameter: str) -> None:
    assert csvmap.resolve_parameter(name) == parameter


def test_resolve_unknown_parameter() -> None:
    assert csvmap.resolve_parameter("PM1") is None
    assert csvmap.resolve_parameter("a19001") is None  # flue-gas O2 is no ambient parameter


# -- tidy layout ----------------------------------------------------------------------------

TIDY = """\
site,parameter,time,value,unit,flag
1431A,PM2.5,2022-01-01T00:00,35,,N
1431A,a34004,2022-01-01T01:00+08:00,36,,
1431A,CO,2022-01-01T00:00,900,ug/m3,
1431A,PM10,2022-01-01T00:00,,,
1431A,PM10,2022-01-01T01:00,3O.5,,
1431A,SO2,not a time,5,,
9999A,PM2.5,2022-01-01T00:00,1,,
1431A,XYZ,2022-01-01T00:00,1,,
1431A,NO2,2022-01-01T00:00,-2,,
1431A,O3,2022-01-01T00:00,5000,,
1431A,PM2.5,2022-01-01T00:00,40,mg/L,
1431A,NO2,2021-12-31T17:00Z,20,,
1431A,NO2,2021-12-31T17:00Z,21,,
"""
# 13 rows. Stored: line 2 (PM2.5 35 at T0, flag N), line 3 (36 at 01:00+08:00 = T1), line 4
# (CO 900 µg/m³ = 0.9 mg/m³), line 14 (NO2 21 at T1, the later of two) = 4. Missing: line 5.
# Rejected: 6 not_a_number, 7 bad_time, 8 unknown_site, 9 unknown_parameter, 10 negative_value,
# 11 impossible_value (O3 ≤ 1500), 12 unit_mismatch, 13 duplicate_row = 8.  4 + 1 + 8 = 13.


def test_tidy_reader(tmp_path: Path) -> None:
    frame, meta = csvmap.read_tidy_csv(write(tmp_path, "tidy.csv", TIDY, bom=True))
    assert meta == {
        "source": "tidy.csv",
        "format": "tidy-csv",
        "rows": 13,
        "encoding": "utf-8-sig",
        "line_rejects": [],
    }
    assert len(frame) == 13
    assert frame["parameter"].iloc[1] == "PM2.5"  # a34004 resolved
    assert frame["time"].iloc[0] == T0
    assert frame["time"].iloc[1] == T1  # an explicit +08:00 offset is kept
    assert frame["time"].iloc[11] == T1  # Z
    assert pd.isna(frame["time"].iloc[5])
    assert frame["unit"].iloc[2] == "ug/m3"
    assert frame["flag"].iloc[0] == "N"
    assert frame["raw_value"].iloc[4] == "3O.5"
    assert frame["line"].tolist() == list(range(2, 15))
    assert set(frame["period"]) == {"1h"}


def test_tidy_import_keeps_every_bad_record(tmp_path: Path) -> None:
    path = write(tmp_path, "tidy.csv", TIDY)
    with new_store(tmp_path, "1431A") as store:
        report = importer.import_csv(store, [path])
        assert report.records == 13
        assert report.stored.inserted == 4
        assert report.missing == 1
        assert dict(report.rejected) == {
            "not_a_number": 1,
            "bad_time": 1,
            "unknown_site": 1,
            "unknown_parameter": 1,
            "negative_value": 1,
            "impossible_value": 1,
            "unit_mismatch": 1,
            "duplicate_row": 1,
        }
        stored = store.observations().set_index(["parameter", "time"])
        assert stored.loc[("PM2.5", T0), "value"] == 35.0
        assert stored.loc[("PM2.5", T0), "flag"] == "N"
        assert stored.loc[("PM2.5", T1), "value"] == 36.0
        assert pd.isna(stored.loc[("PM2.5", T1), "flag"])
        assert stored.loc[("CO", T0), "value"] == pytest.approx(0.9)
        assert stored.loc[("NO2", T1), "value"] == 21.0
        rejected = store.rejected().set_index("record_ref")
        assert rejected.loc["line 6 row", "reason"] == "value 3O.5 is not a number"
        assert rejected.loc["line 7 row", "reason"] == "time could not be read at line 7 row"
        assert rejected.loc["line 9 row", "reason"] == "parameter XYZ is not in the registry"
        assert rejected.loc["line 10 row", "reason"] == "negative value -2 µg/m³ is impossible"
        assert "unit 'mg/L' does not fit; expected µg/m³" in rejected.loc["line 12 row", "reason"]
        assert rejected.loc["line 13 row", "reason_code"] == "duplicate_row"
        assert rejected.loc["site 9999A (lines 8–8)", "reason_code"] == "unknown_site"
        assert "value=3O.5" in rejected.loc["line 6 row", "raw"]

        again = importer.import_csv(store, [path])
        assert again.stored.as_dict() == {"inserted": 0, "replaced": 0, "unchanged": 4}
        assert len(store.rejected()) == 8


def test_tidy_hour_beginning_and_zone(tmp_path: Path) -> None:
    path = write(tmp_path, "t.csv", "site,parameter,time,value\n1431A,PM2.5,2022-01-01T00:00,1\n")
    frame, _ = csvmap.read_tidy_csv(path, hour_beginning=True)
    assert frame["time"].iloc[0] == T1  # 00:00–01:00 CST ends at 01:00 CST
    frame, _ = csvmap.read_tidy_csv(path, tz="UTC")
    assert frame["time"].iloc[0] == pd.Timestamp("2022-01-01T00:00Z")


def test_tidy_period_column(tmp_path: Path) -> None:
    text = "site,parameter,time,value,period\n1431A,PM2.5,2022-01-02T00:00,55,1d\n1431A,PM2.5,2022-01-02T00:00,56,\n"
    frame, _ = csvmap.read_tidy_csv(write(tmp_path, "p.csv", text))
    assert frame["period"].tolist() == ["1d", "1h"]


def test_tidy_missing_required_column_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "nosite.csv", "station,parameter,time,value\n1431A,PM2.5,2022-01-01,1\n")
    with pytest.raises(csvmap.MappingError, match=r"nosite\.csv: missing column\(s\) \['site'\]"):
        csvmap.read_tidy_csv(path)


def test_tidy_file_missing_a_column_is_reported_not_fatal(tmp_path: Path) -> None:
    bad = write(tmp_path, "novalue.csv", "site,parameter,time\n1431A,PM2.5,2022-01-01\n")
    good = write(
        tmp_path, "good.csv", "site,parameter,time,value\n1431A,PM2.5,2022-01-01T00:00,7\n"
    )
    with new_store(tmp_path, "1431A") as store:
        report = importer.import_csv(store, [bad, good])
        assert report.stored.inserted == 1
        assert report.failed_files[0][0] == "novalue.csv"
        assert "MappingError" in report.failed_files[0][1]
        assert "['value']" in report.failed_files[0][1]
        assert report.rejected == {"unreadable_file": 1}


# -- mapped layouts -------------------------------------------------------------------------

MAPPING = """\
[source]
name = "test layout"
na_values = ["NA"]

[time]
column = "time"
format = "%Y-%m-%d %H:%M"
timezone = "CST"
label = "hour-ending"
period = "1h"

[site]
column = "station"
prefix = "T-"

[[observations]]
column = "pm25"
parameter = "a34004"
unit = "ug/m3"

[[observations]]
column = "co_ug"
parameter = "CO"
unit = "µg/m³"

[meteorology]
city = "成都"

[[meteorology.columns]]
column = "temp"
parameter = "temperature"
unit = "°C"

[[meteorology.columns]]
column = "wind"
parameter = "wind_direction"
unit = "°"
encoding = "compass16"

[sites.T-S1]
city = "成都"
name_zh = "测试一"
lon = 104.0
lat = 30.6

[sites.T-S2]
city = 510600
level = "other"
"""

MAPPED = """\
station,time,pm25,co_ug,temp,wind
S1,2022-01-01 00:00,35,300,5.5,NNE
S1,2022-01-01 01:00,NA,1200,6.0,cv
S2,2022-01-01 00:00,40,NA,5.0,XYZ
"""
# Observations: 3 rows × 2 columns = 6 candidates; stored PM2.5 35 (S1 T0), 40 (S2 T0), CO
# 300 µg/m³ = 0.3 and 1200 µg/m³ = 1.2 mg/m³ = 4; missing: pm25 NA (S1 T1), co_ug NA (S2) = 2.
# Meteorology (city 成都): temperature T0 = mean(5.5, 5.0) = 5.25, T1 = 6.0; wind NNE = 22.5°
# at T0 (XYZ is not a direction: rejected; cv = calm: missing) → 3 rows.


@pytest.fixture
def mapping(tmp_path: Path) -> csvmap.Mapping:
    return csvmap.load_mapping(write(tmp_path, "layout.toml", MAPPING))


def test_load_mapping(mapping: csvmap.Mapping) -> None:
    assert mapping.name == "test layout"
    assert mapping.meteorology_city == 510100
    assert mapping.na_values == ["NA"]
    sites = mapping.new_sites().set_index("site_id")
    assert list(sites.index) == ["T-S1", "T-S2"]
    assert sites.loc["T-S1", "city_code"] == 510100
    assert sites.loc["T-S2", "city_code"] == 510600
    assert sites.loc["T-S2", "level"] == "other"
    assert sites.loc["T-S1", "kind"] == "air_station"


def test_mapped_reader(tmp_path: Path, mapping: csvmap.Mapping) -> None:
    frame, meta = csvmap.read_mapped_csv(write(tmp_path, "m.csv", MAPPED, bom=True), mapping)
    assert meta["rows"] == 3
    assert meta["format"] == "mapped-csv (test layout)"
    assert len(frame) == 6
    assert frame["site_id"].tolist() == ["T-S1", "T-S1", "T-S2"] * 2
    assert frame["parameter"].tolist() == ["PM2.5"] * 3 + ["CO"] * 3
    assert frame["time"].tolist() == [T0, T1, T0] * 2
    assert frame["unit"].tolist() == ["ug/m3"] * 3 + ["µg/m³"] * 3
    assert frame["field"].iloc[0] == "column pm25"
    met = meta["meteorology"]
    wind = met[met["parameter"] == "wind_direction"]
    assert wind["value"].iloc[0] == 22.5  # NNE
    assert wind["raw_value"].tolist()[1:] == ["", "XYZ"]  # calm → empty (missing), XYZ → text


def test_mapped_import(tmp_path: Path, mapping: csvmap.Mapping) -> None:
    path = write(tmp_path, "m.csv", MAPPED)
    with new_store(tmp_path) as store:
        report = importer.import_csv(store, [path], mapping)
        assert report.sites_added == 2
        assert report.records == 6
        assert report.stored.inserted == 4
        assert report.rejected == {}
        assert report.meteorology_rejected == {"not_a_number": 1}  # wind XYZ
        assert report.meteorology.inserted == 3
        stored = store.observations().set_index(["site_id", "parameter", "time"])["value"]
        assert stored[("T-S1", "CO", T0)] == pytest.approx(0.3)
        assert stored[("T-S1", "CO", T1)] == pytest.approx(1.2)
        assert stored[("T-S2", "PM2.5", T0)] == 40.0
        assert set(store.observations()["unit"]) == {"mg/m³", "µg/m³"}
        met = store.meteorology().set_index(["parameter", "time"])
        assert set(met["city_code"]) == {510100}
        assert met.loc[("temperature", T0), "value"] == pytest.approx(5.25)
        assert met.loc[("temperature", T1), "value"] == 6.0
        assert met.loc[("wind_direction", T0), "value"] == pytest.approx(22.5)
        assert len(met) == 3
        record = store.rejected().iloc[0]
        assert record["source"] == "m.csv (meteorology)"
        assert record["record_ref"] == "line 4 column wind"
        assert record["reason"] == "value XYZ is not a number"
        sites = store.sites().set_index("site_id")
        assert sites.loc["T-S1", "name_zh"] == "测试一"
        assert sites.loc["T-S2", "city_en"] == "Deyang"

        again = importer.import_csv(store, [path], mapping)
        assert again.sites_added == 0
        assert again.stored.as_dict() == {"inserted": 0, "replaced": 0, "unchanged": 4}
        assert again.meteorology.as_dict() == {"inserted": 0, "replaced": 0, "unchanged": 3}
        assert len(store.rejected()) == 1


def test_mapped_unit_mismatch_rejects_each_value(tmp_path: Path) -> None:
    text = MAPPING.replace('unit = "ug/m3"', 'unit = "mg/L"')
    mapping = csvmap.load_mapping(write(tmp_path, "wrong_unit.toml", text))
    with new_store(tmp_path) as store:
        report = importer.import_csv(store, [write(tmp_path, "m.csv", MAPPED)], mapping)
        # PM2.5 35 and 40 are refused (mg/L is a water unit); CO is still stored
        assert report.rejected["unit_mismatch"] == 2
        assert report.stored.inserted == 2
        assert set(store.observations()["parameter"]) == {"CO"}
        rejected = store.rejected().set_index("record_ref")
        reason = rejected.loc["line 2 column pm25", "reason"]
        assert reason.startswith("unit 'mg/L' does not fit; expected µg/m³")
        assert "line 4 column pm25" in rejected.index


def test_mapped_time_columns_hour_beginning(tmp_path: Path) -> None:
    mapping = write(
        tmp_path,
        "cols.toml",
        '[time]\ncolumns = { year = "yr", month = "mo", day = "dy", hour = "hr" }\n'
        'label = "hour-beginning"\n[site]\nid = "1431A"\n'
        '[[observations]]\ncolumn = "pm"\nparameter = "PM2.5"\n',
    )
    data = write(
        tmp_path, "cols.csv", "yr,mo,dy,hr,pm\n2013,1,1,0,10\n2013,2,30,0,11\n2013,1,1,23,12\n"
    )
    frame, _ = csvmap.read_mapped_csv(data, csvmap.load_mapping(mapping))
    # hour-beginning 2013-01-01 00:00 CST ends at 01:00 CST = 2012-12-31T17:00Z; Feb 30 is no date
    assert frame["time"].iloc[0] == pd.Timestamp("2012-12-31T17:00Z")
    assert pd.isna(frame["time"].iloc[1])
    assert frame["time"].iloc[2] == pd.Timestamp("2013-01-01T16:00Z")
    assert set(frame["site_id"]) == {"1431A"}
    with new_store(tmp_path, "1431A") as store:
        report = importer.import_csv(store, [data], csvmap.load_mapping(mapping))
        assert report.stored.inserted == 2
        assert report.rejected == {"bad_time": 1}
        assert store.rejected()["record_ref"].tolist() == ["line 3 column pm"]


def test_mapped_missing_column_is_named(tmp_path: Path, mapping: csvmap.Mapping) -> None:
    data = write(tmp_path, "short.csv", "station,time,pm25,temp,wind\nS1,2022-01-01 00:00,1,2,N\n")
    with pytest.raises(
        csvmap.MappingError, match=r"short\.csv: column\(s\) \['co_ug'\] named by the mapping"
    ):
        csvmap.read_mapped_csv(data, mapping)


def test_compass16() -> None:
    assert csvmap.COMPASS_16["N"] == 0.0
    assert csvmap.COMPASS_16["E"] == 90.0
    assert csvmap.COMPASS_16["SW"] == 225.0
    assert csvmap.COMPASS_16["NNW"] == 337.5
    assert len(csvmap.COMPASS_16) == 16


# -- mapping files --------------------------------------------------------------------------


def test_bundled_mappings_load() -> None:
    bundled = csvmap.bundled_mappings()
    assert {"uci_beijing_multisite", "uci_chengdu_pm25"} <= set(bundled)
    beijing = csvmap.load_mapping("uci_beijing_multisite")
    assert len(beijing.sites) == 12
    co = next(e for e in beijing.observations if e["parameter"] == "CO")
    assert co["unit"] == "µg/m³"
    chengdu = csvmap.load_mapping("uci_chengdu_pm25")
    assert chengdu.time["label"] == "hour-beginning"
    assert chengdu.meteorology_city == 510100
    assert set(chengdu.new_sites()["site_id"]) == {"1436A", "1434A", "US-CHENGDU"}


def test_unknown_mapping_name_lists_the_bundled_ones() -> None:
    with pytest.raises(csvmap.MappingError, match=r"no mapping file 'nope'.*uci_beijing_multisite"):
        csvmap.load_mapping("nope")


def test_mapping_without_a_section(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "m.toml",
        '[time]\ncolumn = "t"\n[[observations]]\ncolumn = "v"\nparameter = "PM2.5"\n',
    )
    with pytest.raises(csvmap.MappingError, match=r"m\.toml: missing \[site\] section"):
        csvmap.load_mapping(path)


def test_mapping_with_an_unknown_parameter(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "m.toml",
        '[time]\ncolumn = "t"\n[site]\ncolumn = "s"\n[[observations]]\ncolumn = "v"\nparameter = "PM1"\n',
    )
    with pytest.raises(csvmap.MappingError, match=r"m\.toml: unknown parameter 'PM1'"):
        csvmap.load_mapping(path)


@pytest.mark.parametrize(
    "extra",
    [
        '[[observations]]\ncolumn = "v"\nparameter = "PM2.5"\nunit = "furlong"\n',
        '[[observations]]\ncolumn = "v"\nparameter = "PM2.5"\n[sites.X]\ncity = "Atlantis"\n',
    ],
    ids=["unit", "city"],
)
def test_mapping_with_an_unknown_unit_or_city(tmp_path: Path, extra: str) -> None:
    path = write(tmp_path, "m.toml", '[time]\ncolumn = "t"\n[site]\ncolumn = "s"\n' + extra)
    with pytest.raises(csvmap.MappingError, match=r"m\.toml"):
        csvmap.load_mapping(path)


def test_infinite_value_does_not_abort_the_import(tmp_path: Path) -> None:
    text = (
        "site,parameter,time,value\n"
        "1431A,PM2.5,2022-01-01T00:00,35\n"
        "1431A,PM10,2022-01-01T00:00,1e999\n"
    )
    with new_store(tmp_path, "1431A") as store:
        failure = None
        try:
            report = importer.import_csv(store, [write(tmp_path, "inf.csv", text)])
        except Exception as error:  # the bug: the import aborts
            failure = repr(error)
        # the aborted import leaves its transaction open: finish it while the file is open
        gc.collect()
        assert failure is None, failure
        assert report.stored.inserted == 1
        assert report.rejected == {"not_a_number": 1}
        assert store.rejected()["record_ref"].tolist() == ["line 3 row"]
