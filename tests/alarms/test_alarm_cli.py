"""``ecobasin alarms`` and ``ecobasin limits`` through Typer's CliRunner on real DuckDB files."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from alarm_helpers import T0, build_store, series, write
from typer.testing import CliRunner

from ecobasin.cli import app
from ecobasin.store import Store
from ecobasin.store import alarms as store_alarms

runner = CliRunner()
HOURLY = [34.0, 35.0, 35.1, 40.0, 35.0, 36.0, 35.0, 34.9, 70.0, 71.0, 72.0]  # last one open
NOW = "2024-03-01T11:30"  # CST: 30 min after the last hour (ending 11:00 CST)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = build_store(tmp_path / "cli.duckdb")
    with Store(path) as store:
        write(store, series("GAS1", "FG_SO2_Zs", HOURLY))
    return path


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_refresh_then_list_as_json_and_csv(db: Path) -> None:
    code, _, err = run("alarms", "refresh", "--db", str(db), "--now", NOW)
    assert code == 0, err
    assert "inserted 3" in err
    code, out, err = run("alarms", "--db", str(db), "--format", "json")
    assert code == 0, err
    records = json.loads(out)
    # newest first; the episodes are the hours ending 09-11, 06 and 03-04 CST
    assert [r["start_cst"] for r in records] == [
        "2024-03-01 08:00",
        "2024-03-01 05:00",
        "2024-03-01 02:00",
    ]
    assert [r["status"] for r in records] == ["open", "closed", "closed"]
    assert records[0]["end_utc"] is None and records[0]["peak"] == 72.0
    assert records[0]["evidence"]["limit_source"]["standard_id"] == "环发〔2015〕164号"
    code, out, _ = run("alarms", "--db", str(db), "--format", "csv", "--open")
    frame = pd.read_csv(io.StringIO(out))
    assert code == 0 and frame["status"].tolist() == ["open"]
    assert frame["start_utc"].tolist() == ["2024-03-01T00:00:00Z"]


def test_refresh_twice_stores_the_same_alarms(db: Path) -> None:
    for _ in range(2):
        assert run("alarms", "refresh", "--db", str(db), "--now", NOW)[0] == 0
    with Store(db, read_only=True) as store:
        assert store_alarms.count_alarms(store) == 3


def test_table_output_and_filters(db: Path) -> None:
    run("alarms", "refresh", "--db", str(db), "--now", NOW)
    code, out, err = run("alarms", "--db", str(db), "--site", "GAS1", "--kind", "over_limit")
    assert code == 0 and out == "" and "超标 over limit" in err and "(3 of 3)" in err
    code, _, err = run("alarms", "--db", str(db), "--city", "德阳")
    assert code == 0 and "(0 of 0)" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kind", "loud"], "unknown alarm kind"),
        (["--site", "NOPE"], "unknown site"),
        (["--city", "Atlantis"], "--city"),
        (["--since", "yesterday-ish"], "--since"),
        (["--format", "xml"], "unknown format"),
    ],
)
def test_bad_options_fail_clearly(db: Path, args: list[str], message: str) -> None:
    code, _, err = run("alarms", "--db", str(db), *args)
    assert code == 1 and message in err


def test_limits_list_and_site_limits(db: Path) -> None:
    code, out, _ = run("limits", "list", "--format", "csv", "--category", "coal_boiler_ultra_low")
    frame = pd.read_csv(io.StringIO(out))
    assert code == 0
    assert dict(zip(frame["parameter"], frame["limit"], strict=True)) == {
        "FG_dust_Zs": 10, "FG_SO2_Zs": 35, "FG_NOx_Zs": 50,
    }  # fmt: skip
    code, out, _ = run("limits", "list", "--db", str(db), "--site", "GAS2", "--format", "json")
    rules = json.loads(out)
    so2 = [r for r in rules if r["parameter"] == "FG_SO2_Zs"]
    assert code == 0 and so2[0]["source"] == "site_attributes" and so2[0]["limit"] == 30
    code, _, err = run("limits", "list", "--category", "volcano")
    assert code == 1 and "unknown source category" in err


def test_limits_import_stores_good_rows_and_rejects_bad_ones(db: Path, tmp_path: Path) -> None:
    file = tmp_path / "permits.csv"
    file.write_text(
        "site_id,parameter,limit,unit,permit_id\n"
        "GAS1,FG_SO2_Zs,30,mg/m3,P-1\n"
        "GAS1,FG_NOx_Zs,abc,,P-1\n"
        "GHOST,FG_SO2_Zs,30,,P-2\n",
        encoding="utf-8",
    )
    code, _, err = run("limits", "import", str(file), "--db", str(db))
    assert code == 1 and "new 新增 1" in err and "rejected 拒收 2" in err
    assert "line 3" in err and "GHOST" in err
    with Store(db, read_only=True) as store:
        permits = store_alarms.permit_limits(store)
        rejected = store.rejected(source="permits.csv")
    assert permits[["site_id", "parameter", "limit"]].values.tolist() == [
        ["GAS1", "FG_SO2_Zs", 30.0]
    ]
    assert sorted(rejected["reason_code"]) == ["bad_limit", "unknown_site"]
    run("alarms", "refresh", "--db", str(db), "--now", NOW)  # the permit's 30 now applies
    with Store(db, read_only=True) as store:
        found = store_alarms.alarms(store)
    # every hour (34 … 72) is above 30: one open episode from the first hour
    assert found["limit_value"].tolist() == [30.0] and found["periods"].tolist() == [11]
    assert found["start_time"].tolist() == [T0] and found["status"].tolist() == ["open"]
