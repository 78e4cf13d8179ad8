"""The ``ecobasin`` command line, run in-process with Typer's CliRunner on real database files."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from demo_database import DemoDatabase
from ecobasin.cli import app
from ecobasin.demo import emergency as demo_emergency
from ecobasin.store import Store, _sql
from ecobasin.store import emergency as emergency_db
from store_files import new_synced_store_file

SNAPSHOT = "cnemc_snapshot_2022-01-01T00_chengdu_deyang.csv"
STATIONS = "stations_chengdu_plain.csv"

TIDY = """\
site,parameter,time,value,unit
1431A,PM2.5,2022-01-01T01:00,35,
1431A,CO,2022-01-01T01:00,900,ug/m3
1431A,PM10,2022-01-01T01:00,3O.5,
"""
# Chengdu UCI layout (hour-beginning labels), read with the bundled mapping uci_chengdu_pm25
CHENGDU_LAYOUT = """\
datetime_local,season,PM_Caotangsi,PM_Shahepu,PM_US_Post,DEWP,HUMI,PRES,TEMP,cbwd,Iws,precipitation,Iprec
2013-01-01T00:00,4,121.0,138.0,129.0,-4.0,64.42,1022.0,2.0,cv,1.0,0.0,0.0
2013-01-01T01:00,4,134.0,,135.0,-3.0,80.19,1022.0,0.0,SW,1.0,0.0,0.0
"""


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No stray ecobasin.toml or ECOBASIN_* variable decides where the data goes; wide output."""
    for name in ("ECOBASIN_DB", "ECOBASIN_REGION", "ECOBASIN_CONFIG", "CI_NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)


def run(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args], env=env)


def ok(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    result = run(*args, env=env)
    assert result.exit_code == 0, result.output
    return result


def failed(*args: str | Path) -> Result:
    result = run(*args)
    assert result.exit_code != 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def report_count(output: str, label: str) -> int:
    """The number on the import report's row that starts with ``label``."""
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.split("│") if cell.strip()]
        if len(cells) == 2 and cells[0].startswith(label):
            return int(cells[1].replace(",", ""))
    raise AssertionError(f"no report row {label!r} in:\n{output}")


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# -- help, init, the database option --------------------------------------------------------


def test_help_lists_the_commands() -> None:
    output = ok("--help").output
    for command in ("init", "demo", "import", "sites", "export", "serve", "rejected", "status"):
        assert f" {command} " in output, command
    assert "ECOBASIN_DB" in output
    imports = ok("import", "--help").output
    assert " cnemc " in imports and " csv " in imports


def test_version() -> None:
    assert ok("--version").output.startswith("ecobasin ")


def test_init_creates_the_database(tmp_path: Path) -> None:
    db = tmp_path / "new.duckdb"
    result = ok("init", "--db", db)
    assert db.exists()
    assert "ready" in result.output
    assert "8 cities" in result.output
    with Store(db, read_only=True) as store:
        assert len(store.cities(region_only=True)) == 8
    ok("init", "--db", db)  # again: nothing breaks


def test_default_database_is_in_the_working_directory(tmp_path: Path) -> None:
    ok("init")
    assert (tmp_path / "ecobasin.duckdb").exists()


def test_ecobasin_db_variable_picks_the_file(tmp_path: Path) -> None:
    db = tmp_path / "from_env.duckdb"
    result = ok("init", env={"ECOBASIN_DB": str(db)})
    assert db.exists()
    assert str(db) in result.output.replace("\n", "")
    assert not (tmp_path / "ecobasin.duckdb").exists()
    status = ok("status", env={"ECOBASIN_DB": str(db)})
    assert "schema_version" in status.output


def test_region_option(tmp_path: Path) -> None:
    result = ok("init", "--db", tmp_path / "bj.duckdb", "--region", "beijing")
    assert "1 cities" in result.output


# -- tidy and mapped CSV (hand-made) --------------------------------------------------------


def test_import_tidy_csv(tmp_path: Path) -> None:
    db = new_synced_store_file(tmp_path / "t.duckdb")  # what `ecobasin init` makes
    # the site is unknown until registered: the import reports it, does not fail
    first = ok("import", "csv", write(tmp_path, "tidy.csv", TIDY), "--db", db)
    assert "unknown_site" in first.output
    write(tmp_path, "sites.csv", "site_id,city,name_zh,lon,lat\n1431A,成都,金泉两河,103.97,30.72\n")
    ok("sites", "import", tmp_path / "sites.csv", "--db", db)
    result = ok("import", "csv", tmp_path / "tidy.csv", "--db", db)
    assert "not_a_number" in result.output
    assert "ecobasin rejected" in result.output
    with Store(db, read_only=True) as store:
        stored = store.observations().set_index("parameter")["value"]
        # CO 900 µg/m³ = 0.9 mg/m³
        assert stored.to_dict() == {"CO": 0.9, "PM2.5": 35.0}


def test_import_csv_with_a_bundled_mapping(tmp_path: Path) -> None:
    db = tmp_path / "m.duckdb"
    data = write(tmp_path, "chengdu.csv", CHENGDU_LAYOUT)
    result = ok("import", "csv", data, "--mapping", "uci_chengdu_pm25", "--db", db)
    assert "sites added" in result.output
    with Store(db, read_only=True) as store:
        frame = store.observations()
        # 6 PM cells, one empty: 5 stored; hour-beginning 00:00 CST → 2012-12-31T17:00Z
        assert len(frame) == 5
        assert frame["time"].min() == pd.Timestamp("2012-12-31T17:00Z")
        assert len(store.sites()) == 3
        assert len(store.meteorology()) > 0


def test_import_csv_with_a_mapping_file(tmp_path: Path) -> None:
    mapping = write(
        tmp_path,
        "layout.toml",
        '[time]\ncolumn = "t"\n[site]\ncolumn = "s"\n'
        '[[observations]]\ncolumn = "co"\nparameter = "CO"\nunit = "ug/m3"\n'
        '[sites.X1]\ncity = "德阳"\n',
    )
    data = write(tmp_path, "x.csv", "t,s,co\n2022-01-01T00:00,X1,1500\n")
    db = new_synced_store_file(tmp_path / "x.duckdb")  # a new --db is test_bundled_mapping's
    ok("import", "csv", data, "--mapping", mapping, "--db", db)
    with Store(db, read_only=True) as store:
        assert store.observations()["value"].tolist() == [1.5]
        assert store.sites()["city_code"].tolist() == [510600]


# -- error paths ----------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    result = failed("import", "cnemc", tmp_path / "absent.csv", "--db", tmp_path / "e.duckdb")
    assert "no such file" in result.output
    assert "absent.csv" in result.output
    result = failed("sites", "import", tmp_path / "absent.csv", "--db", tmp_path / "e.duckdb")
    assert "no such file" in result.output


def test_unknown_formats(tmp_path: Path) -> None:
    db = new_synced_store_file(tmp_path / "f.duckdb")  # what `ecobasin init` makes
    result = failed("sites", "--format", "xml", "--db", db)
    assert "unknown format 'xml'" in result.output
    result = failed("export", "--format", "xml", "--out", tmp_path / "o.xml", "--db", db)
    assert "unknown format 'xml': use csv or parquet" in result.output


def test_unknown_city_kind_and_parameter(tmp_path: Path) -> None:
    db = new_synced_store_file(tmp_path / "c.duckdb")  # what `ecobasin init` makes
    assert "unknown city '火星'" in failed("sites", "--city", "火星", "--db", db).output
    assert "unknown site kind 'volcano'" in failed("sites", "--kind", "volcano", "--db", db).output
    result = failed("export", "--out", tmp_path / "o.csv", "--parameter", "PM1", "--db", db)
    assert "unknown parameter 'PM1'" in result.output
    result = failed("export", "--out", tmp_path / "o.csv", "--city", "Atlantis", "--db", db)
    assert "unknown city 'Atlantis'" in result.output


def test_unknown_region(tmp_path: Path) -> None:
    bad = write(tmp_path, "r.toml", 'id = "r"\nname_zh = "r"\nname_en = "r"\ncities = [1]\n')
    result = failed("init", "--db", tmp_path / "r.duckdb", "--region", bad)
    assert "unknown city codes [1]" in result.output


def test_bad_mappings(tmp_path: Path) -> None:
    data = write(tmp_path, "d.csv", "t,v\n2022-01-01T00:00,1\n")
    db = tmp_path / "b.duckdb"
    result = failed("import", "csv", data, "--mapping", "no_such_mapping", "--db", db)
    assert "no mapping file 'no_such_mapping'" in result.output
    bad_parameter = write(
        tmp_path,
        "p.toml",
        '[time]\ncolumn = "t"\n[site]\nid = "X"\n[[observations]]\ncolumn = "v"\nparameter = "PM1"\n',
    )
    result = failed("import", "csv", data, "--mapping", bad_parameter, "--db", db)
    assert "unknown parameter 'PM1'" in result.output
    bad_unit = write(
        tmp_path,
        "u.toml",
        '[time]\ncolumn = "t"\n[site]\nid = "X"\n[[observations]]\ncolumn = "v"\n'
        'parameter = "PM2.5"\nunit = "furlong"\n',
    )
    result = failed("import", "csv", data, "--mapping", bad_unit, "--db", db)
    assert "unknown unit 'furlong'" in result.output


def test_mapping_that_is_not_toml(tmp_path: Path) -> None:
    data = write(tmp_path, "d.csv", "t,v\n2022-01-01T00:00,1\n")
    broken = write(tmp_path, "broken.toml", "[time\ncolumn = \n")
    result = failed("import", "csv", data, "--mapping", broken, "--db", tmp_path / "b.duckdb")
    assert "broken.toml" in result.output


def test_read_commands_on_a_missing_database(tmp_path: Path) -> None:
    absent = tmp_path / "absent.duckdb"
    for command in (["status"], ["rejected"], ["sites"], ["export", "--out", tmp_path / "o.csv"]):
        result = failed(*command, "--db", absent)
        assert "does not exist" in result.output
        assert "ecobasin init" in result.output
    assert not absent.exists()


def test_bad_export_time(tmp_path: Path) -> None:
    db = new_synced_store_file(tmp_path / "t.duckdb")  # what `ecobasin init` makes
    result = failed("export", "--out", tmp_path / "o.csv", "--start", "yesterday-ish", "--db", db)
    assert "cannot read time 'yesterday-ish'" in result.output


def test_export_accepts_the_hour_ending_2400_it_suggests(tmp_path: Path) -> None:
    """``--end 2025-01-31T24:00`` (the hour closing 31 January, 2025-01-31T16:00Z) keeps that
    hour and drops the next one: checked on stored hours on both sides of the boundary."""
    db = new_synced_store_file(tmp_path / "t.duckdb")  # what `ecobasin init` makes
    write(tmp_path, "sites.csv", "site_id,city,name_zh,lon,lat\n1431A,成都,金泉两河,103.97,30.72\n")
    ok("sites", "import", tmp_path / "sites.csv", "--db", db)
    hours = "site,parameter,time,value,unit\n" + "".join(
        f"1431A,PM2.5,{label},{value},\n"
        for label, value in (
            ("2025-01-31T23:00", 23),
            ("2025-02-01T00:00", 24),  # the hour labelled 2025-01-31 24:00
            ("2025-02-01T01:00", 25),
        )
    )
    ok("import", "csv", write(tmp_path, "hours.csv", hours), "--db", db)
    out = tmp_path / "o.csv"
    ok("export", "--out", out, "--end", "2025-01-31T24:00", "--db", db)
    exported = pd.read_csv(out)
    assert exported["value"].tolist() == [23.0, 24.0]
    assert pd.Timestamp(exported["time_utc"].max()) == pd.Timestamp("2025-01-31T16:00Z")


# -- the real snapshot and station list -----------------------------------------------------


@pytest.fixture(scope="module")
def real_db(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with the real CNEMC snapshot and the 41-station list, built by the CLI."""
    db = tmp_path_factory.mktemp("cli") / "real.duckdb"
    result = CliRunner().invoke(
        app,
        ["import", "cnemc", str(shared_data / SNAPSHOT), "--db", str(db)],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    # 10 stations × 7 columns: 68 stored, 2 empty, 80 derived cells not stored
    assert report_count(result.output, "stored (new)") == 68
    assert report_count(result.output, "empty cells") == 2
    assert report_count(result.output, "derived") == 80
    result = CliRunner().invoke(
        app, ["sites", "import", str(shared_data / STATIONS), "--db", str(db)]
    )
    assert result.exit_code == 0, result.output
    return db


@pytest.mark.shared_data
def test_import_cnemc_snapshot(real_db: Path, shared_data: Path) -> None:
    with Store(real_db, read_only=True) as store:
        assert store.count_observations() == 68
        assert set(store.observations()["time"]) == {pd.Timestamp("2021-12-31T16:00Z")}
        assert len(store.sites()) == 41
    again = ok("import", "cnemc", shared_data / SNAPSHOT, "--db", real_db)
    assert report_count(again.output, "unchanged") == 68
    assert report_count(again.output, "stored (new)") == 0


@pytest.mark.shared_data
def test_sites_table_csv_geojson(real_db: Path) -> None:
    table = ok("sites", "--db", real_db).output
    assert "sites 站点 (41)" in table
    assert "金泉两河" in table
    csv = ok("sites", "--format", "csv", "--db", real_db).stdout
    frame = pd.read_csv(io.StringIO(csv))
    assert len(frame) == 41
    assert {"site_id", "kind", "city_code", "city_zh", "city_en", "lon", "lat"} <= set(frame)
    geojson = json.loads(ok("sites", "--format", "geojson", "--db", real_db).stdout)
    assert geojson["type"] == "FeatureCollection"
    assert len(geojson["features"]) == 41
    feature = next(f for f in geojson["features"] if f["properties"]["site_id"] == "1431A")
    assert feature["geometry"] == {"type": "Point", "coordinates": [103.9728, 30.7236]}
    assert feature["properties"]["city_code"] == 510100


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("city", "n"), [("成都", 10), ("成都市", 10), ("Chengdu", 10), ("511400", 6)]
)
def test_sites_by_city(real_db: Path, city: str, n: int) -> None:
    csv = ok("sites", "--city", city, "--format", "csv", "--db", real_db).stdout
    assert len(pd.read_csv(io.StringIO(csv))) == n


@pytest.mark.shared_data
def test_sites_by_kind_and_two_cities(real_db: Path) -> None:
    both = ok("sites", "--city", "成都", "--city", "德阳", "--format", "csv", "--db", real_db)
    assert len(pd.read_csv(io.StringIO(both.stdout))) == 14  # 10 + 4
    air = ok("sites", "--kind", "air_station", "--format", "csv", "--db", real_db)
    assert len(pd.read_csv(io.StringIO(air.stdout))) == 41
    water = ok("sites", "--kind", "water_section", "--format", "csv", "--db", real_db)
    assert water.stdout.strip().count("\n") == 0  # the header only


@pytest.mark.shared_data
def test_export_csv_and_parquet(real_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "obs.csv"
    result = ok("export", "--out", out, "--city", "德阳", "--parameter", "PM2.5", "--db", real_db)
    assert "exported" in result.output
    frame = pd.read_csv(out)
    assert sorted(frame["value"].tolist()) == [86.0, 88.0, 102.0]  # 1901A, 1902A, 1904A
    assert set(frame["time_cst"]) == {"2021-12-31 24:00"}  # hour-ending label, HJ 663-2013 §3
    assert set(pd.to_datetime(frame["time_utc"], utc=True)) == {pd.Timestamp("2021-12-31T16:00Z")}
    ranged = tmp_path / "range.csv"
    ok(
        "export",
        "--out",
        ranged,
        "--start",
        "2022-01-01T00:00",
        "--end",
        "2022-01-01T00:00",
        "--db",
        real_db,
    )
    assert len(pd.read_csv(ranged)) == 68
    ok("export", "--out", ranged, "--start", "2022-01-01T01:00", "--db", real_db)
    assert len(pd.read_csv(ranged)) == 0
    lake = tmp_path / "lake"
    ok("export", "--format", "parquet", "--out", lake, "--db", real_db)
    # CST 2022-01-01 00:00 closes 2021-12-31: partition year=2021/month=12
    folders = sorted(str(p.parent.relative_to(lake)) for p in lake.rglob("*.parquet"))
    assert sorted(set(folders)) == [
        "year=2021/month=12/city=510100",
        "year=2021/month=12/city=510600",
    ]
    assert len(pd.read_parquet(lake)) == 68


@pytest.mark.shared_data
def test_status_and_rejected(real_db: Path, tmp_path: Path) -> None:
    status = ok("status", "--db", real_db).output
    for item in ("schema_version", "cities_in_region", "sites", "observations", "rejected"):
        assert item in status
    assert "41" in status
    bad = write(tmp_path, "bad.csv", "site,parameter,time,value\n1431A,PM2.5,2022-01-01T05:00,-4\n")
    ok("import", "csv", bad, "--db", real_db)
    rejected = ok("rejected", "--db", real_db).output
    assert "negative_value" in rejected
    assert "line 2 row" in rejected
    assert "negative value -4 µg/m³ is impossible" in rejected
    only = ok("rejected", "--source", "other.csv", "--db", real_db).output
    assert "negative value" not in only


# -- demo -----------------------------------------------------------------------------------


def test_demo_without_serving(demo_database: DemoDatabase) -> None:
    """The session's demo build (tests/conftest.py: ``ecobasin demo --no-serve``)."""
    assert "demo ready" in demo_database.output
    assert "administrator" in demo_database.output  # the admin's password, shown once
    with Store(demo_database.path, read_only=True) as store:
        sites = store.sites()
        kinds = sites["kind"].value_counts().to_dict()
        assert kinds["air_station"] == 41
        assert kinds["water_section"] > 20
        assert kinds["noise_station"] == 20  # illustrative noise stations (issue 23)
        outlets = kinds.get("gas_outlet", 0) + kinds.get("water_outlet", 0)
        assert outlets == 8 + len(demo_emergency.ENTERPRISES)  # live ones + the list's (issue 17)
        # the live feed's stack-gas enterprises are in their cities' emergency lists (issue 17)
        live = set(sites.loc[sites["site_id"].str.startswith("SIM") & (sites["kind"] == "gas_outlet"),
                             "site_id"])  # fmt: skip
        listed = {o for city in ("510100", "510600", "510900", "511100", "510700")
                  for v in emergency_db.list_versions(store, city)[-1:]
                  for r in v.records for o in r.outlets if o.startswith("SIM")}  # fmt: skip
        assert live and listed == live
        assert set(sites["city_code"]) == {
            510100,
            510600,
            510700,
            510900,
            511100,
            511400,
            511800,
            512000,
        }
        assert store.summary()["observations"] > 1_000_000
        air = store.sites(kinds=["air_station"])["site_id"].tolist()
        assert set(store.observations(sites=air[:5], limit=50_000)["parameter"]) <= {
            "PM2.5",
            "PM10",
            "SO2",
            "NO2",
            "O3",
            "CO",
        }
        devices = _sql.frame(store, "SELECT count(*) AS n FROM devices")["n"].iloc[0]
        assert devices == 8


def test_a_second_demo_build_keeps_the_admin(demo_copy: Path, tmp_path: Path) -> None:
    """Building again over a demo database shows no new password (one city: a shorter build)."""
    one_city = write(
        tmp_path,
        "ziyang.toml",
        'id = "ziyang"\nname_zh = "资阳"\nname_en = "Ziyang"\ncities = [512000]\n',
    )
    again = ok("demo", "--no-serve", "--db", demo_copy, "--region", one_city)
    assert "demo ready" in again.output
    assert "administrator" not in again.output


def test_demo_from_a_missing_folder(tmp_path: Path) -> None:
    result = failed(
        "demo", "--no-serve", "--from", tmp_path / "nope", "--db", tmp_path / "d.duckdb"
    )
    assert "--from needs a folder" in result.output


def test_busy_database_gives_a_clear_message(tmp_path: Path) -> None:
    import subprocess
    import sys

    db = new_synced_store_file(tmp_path / "busy.duckdb")  # what `ecobasin init` makes
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
            "print('holding', flush=True); time.sleep(60)",
            str(db),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "holding"
        result = failed("import", "csv", write(tmp_path, "t.csv", TIDY), "--db", db)
        assert "in use by another ecobasin process" in result.output
        assert "in use" in failed("status", "--db", db).output
    finally:
        holder.kill()
        holder.wait(timeout=10)
        holder.stdout.close()
