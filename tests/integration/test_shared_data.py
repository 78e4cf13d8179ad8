"""Import of the real data sets in ../shared/data into a real DuckDB file: counts, time conversion,
unit conversion, re-import idempotence and the reasons of rejected records.

Expected figures come from ../shared/data/README.md (row counts, published missing counts) and
from the files themselves, read independently with pandas.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ecobasin import catalog
from ecobasin.ingest import csvmap, importer
from ecobasin.store import Store, _sql

pytestmark = pytest.mark.shared_data

SNAPSHOT = "cnemc_snapshot_2022-01-01T00_chengdu_deyang.csv"
STATIONS = "stations_chengdu_plain.csv"
CHENGDU = "chengdu_hourly_pm25_weather_2013_2015.csv.gz"
BEIJING = "beijing_multisite_2013_2017.csv.gz"

CHENGDU_ROWS = 26_280  # 3 years × 8,760 h (2013–2015, no leap year)
BEIJING_HOURS = 35_064  # 2013-03-01 … 2017-02-28: 1,461 days × 24 h
BEIJING_STATIONS = 12
#: README § 5: missing values (NA) per pollutant over all 12 stations.
BEIJING_MISSING = {
    "PM2.5": 8_739,
    "PM10": 6_449,
    "SO2": 9_021,
    "NO2": 12_116,
    "CO": 20_701,
    "O3": 13_277,
}
#: README § 5: missing weather values, by the registry parameter their column maps to.
BEIJING_MET_MISSING = {
    "temperature": 398,
    "pressure": 393,
    "dew_point": 403,
    "precipitation": 390,
    "wind_direction": 1_822,
    "wind_speed": 318,
}


def new_store(path: Path) -> Store:
    store = Store(path)
    store.sync_catalog(catalog.load_region())
    return store


# -- CNEMC live snapshot and the station list -----------------------------------------------


@pytest.fixture(scope="module")
def cnemc(shared_data: Path, tmp_path_factory: pytest.TempPathFactory):
    store = new_store(tmp_path_factory.mktemp("cnemc") / "cnemc.duckdb")
    first = importer.import_cnemc(store, [shared_data / SNAPSHOT])
    again = importer.import_cnemc(store, [shared_data / SNAPSHOT])
    yield store, first, again
    store.close()


def test_snapshot_counts(cnemc) -> None:
    store, report, _ = cnemc
    # 10 stations × 7 stored columns (aqi, pm2_5, pm10, so2, no2, o3, co) = 70 values;
    # 1438A (the background station) has no aqi and no no2: 2 missing, 68 stored;
    # 8 derived columns (pm10_24h, pm2_5_24h, o3_24h, o3_8h, o3_8h_24h, no2_24h, so2_24h,
    # co_24h) × 10 rows = 80 counted, not stored
    assert (report.files, report.records) == (1, 70)
    assert report.stored.inserted == 68
    assert report.missing == 2
    assert report.derived == 80
    assert report.rejected == {}
    assert report.sites_added == 10
    assert store.count_observations() == 68
    assert store.rejected().empty


def test_snapshot_time_and_values(cnemc) -> None:
    store, _, _ = cnemc
    frame = store.observations()
    # 2022-01-01T00:00 CST hour-ending = 2021-12-31T16:00Z
    assert set(frame["time"]) == {pd.Timestamp("2021-12-31T16:00Z")}
    values = frame.set_index(["site_id", "parameter"])["value"]
    assert values[("1431A", "AQI")] == 108.0
    assert values[("1431A", "PM2.5")] == 81.0
    assert values[("1431A", "CO")] == 0.9
    assert values[("1904A", "PM10")] == 138.0
    assert values[("1438A", "PM2.5")] == 68.0
    assert ("1438A", "AQI") not in values.index
    assert ("1438A", "NO2") not in values.index
    assert sorted(set(frame["parameter"])) == ["AQI", "CO", "NO2", "O3", "PM10", "PM2.5", "SO2"]


def test_snapshot_registers_its_stations(cnemc) -> None:
    store, _, _ = cnemc
    sites = store.sites(site_ids=["1431A", "1438A", "2880A", "1901A", "1902A", "1904A"])
    by_id = sites.set_index("site_id")
    assert by_id.loc["1431A", "name_zh"] == "金泉两河"
    assert by_id.loc["1438A", "name_zh"] == "灵岩寺(对照点)"
    assert (by_id.loc["1431A", "lon"], by_id.loc["1431A", "lat"]) == (103.9728, 30.7236)
    # area 成都市 → 510100 (7 stations), 德阳市 → 510600 (3)
    counts = store.sites().groupby("city_code").size().to_dict()
    assert counts == {510100: 7, 510600: 3}


def test_snapshot_reimport_changes_nothing(cnemc) -> None:
    store, _, again = cnemc
    assert again.stored.as_dict() == {"inserted": 0, "replaced": 0, "unchanged": 68}
    assert again.sites_added == 0
    assert store.count_observations() == 68


@pytest.fixture(scope="module")
def stations(cnemc, shared_data: Path):
    store, _, _ = cnemc
    return store, importer.import_sites(store, shared_data / STATIONS)


def test_station_list(stations) -> None:
    store, report = stations
    # 41 stations; the 10 of the snapshot are updated, 31 are new
    assert report.records == 41
    assert report.stored.as_dict() == {"inserted": 31, "replaced": 10, "unchanged": 0}
    assert report.rejected == {}
    sites = store.sites()
    assert len(sites) == 41
    # README § 1: Chengdu 10, Meishan 6, Ziyang 5, 4 each in the other five
    assert sites.groupby("city_en").size().to_dict() == {
        "Chengdu": 10,
        "Deyang": 4,
        "Leshan": 4,
        "Meishan": 6,
        "Mianyang": 4,
        "Suining": 4,
        "Ya'an": 4,
        "Ziyang": 5,
    }
    assert set(sites["city_code"]) == set(catalog.load_region().cities)
    by_id = sites.set_index("site_id")
    # 2022 coordinates where the snapshot gave them, else the older list's
    assert (by_id.loc["1432A", "lon"], by_id.loc["1432A", "lat"]) == (104.1419, 30.6764)
    assert by_id.loc["1432A", "name_zh"] == "十里店"
    assert by_id["lon"].notna().all()
    assert by_id["lon"].between(102.0, 106.5).all()
    assert set(by_id["kind"]) == {"air_station"}


# -- UCI Chengdu PM2.5 + weather ------------------------------------------------------------


@pytest.fixture(scope="module")
def chengdu_file(shared_data: Path) -> pd.DataFrame:
    return pd.read_csv(shared_data / CHENGDU, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def chengdu(shared_data: Path, tmp_path_factory: pytest.TempPathFactory):
    store = new_store(tmp_path_factory.mktemp("chengdu") / "chengdu.duckdb")
    mapping = csvmap.load_mapping("uci_chengdu_pm25")
    first = importer.import_csv(store, [shared_data / CHENGDU], mapping)
    again = importer.import_csv(store, [shared_data / CHENGDU], mapping)
    yield store, first, again
    store.close()


PM_COLUMNS = {"PM_Caotangsi": "1436A", "PM_Shahepu": "1434A", "PM_US_Post": "US-CHENGDU"}


def test_chengdu_counts(chengdu, chengdu_file: pd.DataFrame) -> None:
    store, report, _ = chengdu
    assert len(chengdu_file) == CHENGDU_ROWS
    assert report.records == 3 * CHENGDU_ROWS  # 78,840 PM2.5 cells
    assert report.sites_added == 3
    assert report.rejected == {}
    for column, site in PM_COLUMNS.items():
        present = int((chengdu_file[column].str.strip() != "").sum())
        assert store.count_observations(sites=[site]) == present, column
    stored = store.count_observations()
    empty = int(sum((chengdu_file[c].str.strip() == "").sum() for c in PM_COLUMNS))
    assert report.stored.inserted == stored
    assert stored + empty == 3 * CHENGDU_ROWS
    # README § 3: about 6–7 % of the PM values are missing
    assert 0.05 < empty / (3 * CHENGDU_ROWS) < 0.08


def test_chengdu_report_adds_up(chengdu) -> None:
    _, report, _ = chengdu
    stored = report.stored.inserted + report.stored.replaced + report.stored.unchanged
    assert stored + report.missing + sum(report.rejected.values()) == report.records


def test_chengdu_hour_beginning_conversion(chengdu, chengdu_file: pd.DataFrame) -> None:
    store, _, _ = chengdu
    first = chengdu_file.iloc[0]
    assert first["datetime_local"] == "2013-01-01T00:00"
    # hour-beginning 2013-01-01 00:00 CST = the hour ending 01:00 CST = 2012-12-31T17:00Z
    start = pd.Timestamp("2012-12-31T17:00Z")
    frame = store.observations(start=start, end=start)
    values = frame.set_index("site_id")["value"].to_dict()
    assert values == {
        "1436A": float(first["PM_Caotangsi"]),
        "1434A": float(first["PM_Shahepu"]),
        "US-CHENGDU": float(first["PM_US_Post"]),
    }
    assert values["1436A"] == 121.0
    summary = store.summary()
    assert summary["first_time"] == start
    # the last label 2015-12-31 23:00 ends at 2016-01-01 00:00 CST = 2015-12-31T16:00Z
    assert summary["last_time"] == pd.Timestamp("2015-12-31T16:00Z")
    sites = store.sites().set_index("site_id")
    assert sites.loc["US-CHENGDU", "level"] == "other"
    assert set(sites["city_code"]) == {510100}


def test_chengdu_meteorology(chengdu, chengdu_file: pd.DataFrame) -> None:
    store, report, _ = chengdu
    met = store.meteorology()
    assert set(met["city_code"]) == {510100}
    counts = met.groupby("parameter").size().to_dict()

    def present(column: str) -> int:
        return int((~chengdu_file[column].str.strip().isin(["", "NA", "nan"])).sum())

    assert counts["temperature"] == present("TEMP")
    assert counts["humidity"] == present("HUMI")
    assert counts["pressure"] == present("PRES")
    assert counts["dew_point"] == present("DEWP")
    assert counts["precipitation"] == present("precipitation")
    # calm/variable 'cv' has no direction: counted as missing, not stored
    directions = chengdu_file["cbwd"].str.strip()
    assert set(directions) <= {"NE", "NW", "SE", "SW", "cv", ""}
    assert counts["wind_direction"] == int(directions.isin(["NE", "NW", "SE", "SW"]).sum())
    assert (directions == "cv").sum() > 1000
    assert report.meteorology.inserted == len(met)
    assert set(met[met["parameter"] == "wind_direction"]["value"]) == {45.0, 135.0, 225.0, 315.0}
    first_hour = met[met["time"] == pd.Timestamp("2012-12-31T17:00Z")].set_index("parameter")
    assert first_hour.loc["temperature", "value"] == 2.0
    assert first_hour.loc["pressure", "value"] == 1022.0
    assert "wind_direction" not in first_hour.index  # the first row is 'cv'


def test_chengdu_reimport_changes_nothing(chengdu) -> None:
    store, first, again = chengdu
    assert again.stored.as_dict() == {
        "inserted": 0,
        "replaced": 0,
        "unchanged": first.stored.inserted,
    }
    assert again.meteorology.as_dict() == {
        "inserted": 0,
        "replaced": 0,
        "unchanged": first.meteorology.inserted,
    }
    assert again.sites_added == 0
    assert store.count_observations() == first.stored.inserted


# -- UCI Beijing multi-site (2.5 M values: imported twice in all) ---------------------------


@pytest.fixture(scope="module")
def beijing(shared_data: Path, tmp_path_factory: pytest.TempPathFactory):
    store = new_store(tmp_path_factory.mktemp("beijing") / "beijing.duckdb")
    mapping = csvmap.load_mapping("uci_beijing_multisite")
    first = importer.import_csv(store, [shared_data / BEIJING], mapping)
    rejected_after_first = store.rejected()
    again = importer.import_csv(store, [shared_data / BEIJING], mapping)
    yield store, first, again, rejected_after_first
    store.close()


def _rejected_per_parameter(rejected: pd.DataFrame) -> dict[str, int]:
    observed = rejected[~rejected["source"].str.endswith("(meteorology)")]
    names = observed["raw"].str.extract(r"parameter=(\S+)")[0]
    return names.value_counts().to_dict()


def test_beijing_counts_per_pollutant(beijing) -> None:
    store, report, _, rejected = beijing
    assert report.records == 6 * BEIJING_STATIONS * BEIJING_HOURS  # 2,524,608
    assert report.sites_added == BEIJING_STATIONS
    stored = _sql.frame(store, "SELECT parameter, count(*) AS n FROM observations GROUP BY 1")
    stored_counts = stored.set_index("parameter")["n"].to_dict()
    rejected_counts = _rejected_per_parameter(rejected)
    for parameter, missing in BEIJING_MISSING.items():
        total = stored_counts[parameter] + missing + rejected_counts.get(parameter, 0)
        assert total == BEIJING_STATIONS * BEIJING_HOURS, parameter
    # every rejected record says why
    assert rejected["reason"].map(lambda r: isinstance(r, str) and len(r) > 10).all()
    assert rejected["record_ref"].str.match(r"^(line \d+ column \S+|site .+)$").all()
    assert report.stored.inserted == sum(stored_counts.values())


def test_beijing_co_converted_to_milligrams(beijing) -> None:
    store, _, _, _ = beijing
    # first Aotizhongxin row: 2013-03-01 hour 0 (hour-ending CST) = 2013-02-28T16:00Z, CO 300 µg/m³
    start = pd.Timestamp("2013-02-28T16:00Z")
    first = store.observations(sites=["BJ-Aotizhongxin"], start=start, end=start)
    values = first.set_index("parameter")["value"].to_dict()
    assert values["CO"] == pytest.approx(0.3)
    assert (values["PM2.5"], values["PM10"], values["SO2"], values["NO2"], values["O3"]) == (
        4.0,
        4.0,
        4.0,
        7.0,
        77.0,
    )
    assert set(first["unit"][first["parameter"] == "CO"]) == {"mg/m³"}
    co = _sql.frame(
        store, "SELECT min(value) AS lo, max(value) AS hi FROM observations WHERE parameter = 'CO'"
    )
    # README: CO runs 100 … 10,000 µg/m³ = 0.1 … 10 mg/m³
    assert co["lo"].iloc[0] == pytest.approx(0.1)
    assert co["hi"].iloc[0] == pytest.approx(10.0)
    summary = store.summary()
    assert summary["first_time"] == start
    # last label 2017-02-28 23:00 CST = 15:00Z
    assert summary["last_time"] == pd.Timestamp("2017-02-28T15:00Z")


def test_beijing_sites(beijing) -> None:
    store, _, _, _ = beijing
    sites = store.sites()
    assert len(sites) == BEIJING_STATIONS
    assert sites["site_id"].str.startswith("BJ-").all()
    assert set(sites["city_code"]) == {110100}
    assert sites.set_index("site_id").loc["BJ-Dongsi", "name_zh"] == "东四"
    per_site = _sql.frame(
        store, "SELECT site_id, count(DISTINCT time) AS n FROM observations GROUP BY 1"
    )
    assert len(per_site) == BEIJING_STATIONS
    assert (per_site["n"] <= BEIJING_HOURS).all()


def test_beijing_meteorology(beijing) -> None:
    store, report, _, _ = beijing
    met = _sql.frame(store, "SELECT parameter, count(*) AS n FROM meteorology GROUP BY 1")
    counts = met.set_index("parameter")["n"].to_dict()
    assert set(counts) == set(BEIJING_MET_MISSING)
    for parameter, missing in BEIJING_MET_MISSING.items():
        # one row per city and hour; an hour is absent only when all 12 stations lack it, so
        # at most missing // 12 hours are absent (temperature: 398 // 12 = 33)
        assert BEIJING_HOURS >= counts[parameter] >= BEIJING_HOURS - missing // 12, parameter
    assert report.meteorology.inserted == sum(counts.values())


def test_beijing_reimport_is_idempotent(beijing) -> None:
    store, first, again, rejected = beijing
    assert again.stored.as_dict() == {
        "inserted": 0,
        "replaced": 0,
        "unchanged": first.stored.inserted,
    }
    assert again.meteorology.inserted == again.meteorology.replaced == 0
    assert again.sites_added == 0
    assert dict(again.rejected) == dict(first.rejected)
    assert len(store.rejected()) == len(rejected)
    assert store.count_observations() == first.stored.inserted
