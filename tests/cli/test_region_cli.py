"""Any region of China from the command line: ``region new``, an atomic ``init``, the user's own
cities (setting ``cities``), run in-process with Typer's CliRunner on real database files."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from ecobasin import catalog
from ecobasin.cli import app
from ecobasin.store import Store


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No stray ecobasin.toml or ECOBASIN_* variable; the user's cities removed afterwards."""
    for name in ("ECOBASIN_DB", "ECOBASIN_REGION", "ECOBASIN_CONFIG", "ECOBASIN_CITIES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)
    yield
    catalog.use_cities(None)


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def ok(*args: str | Path) -> Result:
    result = run(*args)
    assert result.exit_code == 0, result.output
    return result


def test_region_new_writes_a_file_init_uses(tmp_path: Path) -> None:
    result = ok("region", "new", "prd", "--cities", "440100,440300,广州市,Foshan")
    path = tmp_path / "prd.toml"
    assert "prd.toml" in result.output
    config = tomllib.loads(path.read_text(encoding="utf-8"))
    assert config["id"] == "prd"
    assert config["cities"] == [440100, 440300, 440600]  # names resolved, repeats dropped
    assert "广州市" in path.read_text(encoding="utf-8")  # each code's name beside it
    db = tmp_path / "prd.duckdb"
    assert "3 cities" in " ".join(ok("init", "--db", db, "--region", path).output.split())
    with Store(db, read_only=True) as store:
        assert sorted(store.cities(region_only=True)["code"]) == [440100, 440300, 440600]


def test_region_new_refuses_unknown_cities_and_existing_files(tmp_path: Path) -> None:
    result = run("region", "new", "x", "--cities", "440100,999999")
    assert result.exit_code == 1
    assert "999999" in result.output
    assert not (tmp_path / "x.toml").exists()
    ok("region", "new", "x", "--cities", "440100")
    again = run("region", "new", "x", "--cities", "440300")
    assert again.exit_code == 1 and "exists" in again.output
    assert tomllib.loads((tmp_path / "x.toml").read_text("utf-8"))["cities"] == [440100]


def test_a_failed_init_leaves_nothing_behind(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('id = "bad"\nname_zh = "坏"\nname_en = "Bad"\ncities = [519999]\n', "utf-8")
    result = run("init", "--db", tmp_path / "data" / "r.duckdb", "--region", bad)
    assert result.exit_code == 1
    assert "unknown city codes [519999]" in result.output
    (tmp_path / "data").mkdir()
    result = run("init", "--db", tmp_path / "data" / "r.duckdb", "--region", bad)
    assert result.exit_code == 1
    assert list((tmp_path / "data").iterdir()) == []  # no database, no temporary file


def test_init_builds_in_a_temporary_file_and_renames_it(tmp_path: Path) -> None:
    db = tmp_path / "new.duckdb"
    ok("init", "--db", db)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.duckdb"]
    ok("init", "--db", db)  # an existing database is opened in place, not rebuilt
    with Store(db, read_only=True) as store:
        assert len(store.cities(region_only=True)) == 8


def test_user_cities_from_the_settings_file_make_a_region(tmp_path: Path) -> None:
    district = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": 440106, "name_zh": "天河区", "name_en": "Tianhe"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [[113.30, 23.10], [113.45, 23.10], [113.45, 23.25], [113.30, 23.10]]
                    ],
                },
            }
        ],
    }
    (tmp_path / "districts.geojson").write_text(json.dumps(district), encoding="utf-8")
    (tmp_path / "ecobasin.toml").write_text('cities = "districts.geojson"\n', encoding="utf-8")
    ok("region", "new", "gz", "--cities", "440106,440100")
    assert "2 cities" in ok("init", "--db", "gz.duckdb", "--region", "gz.toml").output
    with Store(tmp_path / "gz.duckdb", read_only=True) as store:
        cities = store.cities(region_only=True).set_index("code")
    assert cities.loc[440106, "name_zh"] == "天河区"


def test_a_bad_cities_setting_names_the_entry(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text("[[city]]\ncode = 440106\nlon = 1\nlat = 2\n", "utf-8")
    (tmp_path / "ecobasin.toml").write_text('cities = "mine.toml"\n', encoding="utf-8")
    result = run("init", "--db", "x.duckdb")
    assert result.exit_code == 1
    assert "mine.toml: entry 1 (code 440106): missing name_zh" in result.output
    assert not (tmp_path / "x.duckdb").exists()


def test_help_texts_keep_their_bracketed_defaults() -> None:
    assert "[default: ./NAME.toml]" in ok("region", "new", "--help").output
    assert "[default: chengdu_plain]" in ok("init", "--help").output
