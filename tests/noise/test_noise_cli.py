"""`ecobasin noise survey-import|survey|compliance` on a real DuckDB file (issue 23)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from test_noise_store import REGIONAL, _station
from typer.testing import CliRunner

from ecobasin.cli import app
from ecobasin.store import Store
from store_files import new_synced_store_file


def test_import_then_survey_results_as_json(tmp_path: Path) -> None:
    db = new_synced_store_file(tmp_path / "cli.duckdb")  # as `ecobasin init` makes it
    survey = tmp_path / "regional.csv"
    survey.write_text(REGIONAL, encoding="utf-8")
    runner = CliRunner()
    done = runner.invoke(app, ["noise", "survey-import", str(survey), "--db", str(db)])
    assert done.exit_code == 0, done.output
    assert "4 stored" in done.output and "3 kept aside" in done.output
    shown = runner.invoke(
        app, ["noise", "survey", "--year", "2026", "--format", "json", "--db", str(db)]
    )
    assert shown.exit_code == 0, shown.output
    items = {i["city_code"]: i for i in json.loads(shown.stdout)["items"]}
    assert items[510100]["mean_dBA"] == 54.0 and items[510100]["grade_zh"] == "二级"


def test_bad_arguments_fail_clearly(tmp_path: Path) -> None:
    db = new_synced_store_file(tmp_path / "cli.duckdb")  # as `ecobasin init` makes it
    runner = CliRunner()
    missing = runner.invoke(
        app, ["noise", "survey-import", str(tmp_path / "none.csv"), "--db", str(db)]
    )
    assert missing.exit_code == 1 and "does not exist" in missing.output
    (tmp_path / "x.csv").write_text(REGIONAL, encoding="utf-8")
    wrong = runner.invoke(
        app, ["noise", "survey-import", str(tmp_path / "x.csv"), "--survey", "air", "--db", str(db)]
    )
    assert wrong.exit_code == 1 and "survey must be one of" in wrong.output


def test_csv_import_refreshes_noise_products_and_the_annual_report(tmp_path: Path) -> None:
    """`ecobasin import csv` of a station's hours fills noise_daily/noise_rates, like the AQI."""
    db = tmp_path / "cli.duckdb"
    runner = CliRunner()
    with Store(new_synced_store_file(db)) as store:  # what `ecobasin init` makes
        _station(store, "NZ1", "2")  # 60 / 50
    hours = pd.date_range("2026-07-01T01:00", periods=24, freq="h")  # CST hour ends
    rows = [
        f"NZ1,Leq,{t:%Y-%m-%d %H:%M},{58.0 if 7 <= (t.hour or 24) <= 22 else 51.0}" for t in hours
    ]
    tidy = tmp_path / "hours.csv"
    tidy.write_text("site,parameter,time,value\n" + "\n".join(rows) + "\n", encoding="utf-8")
    done = runner.invoke(app, ["import", "csv", str(tidy), "--db", str(db)])
    assert done.exit_code == 0, done.output
    shown = runner.invoke(
        app, ["noise", "compliance", "--year", "2026", "--format", "json", "--db", str(db)]
    )
    assert shown.exit_code == 0, shown.output
    [month] = json.loads(shown.stdout)["items"]
    assert (month["period"], month["day_rate_pct"], month["night_rate_pct"]) == (
        "2026-07",
        100.0,
        0.0,
    )
    report = runner.invoke(app, ["noise", "annual-report", "--year", "2026", "--db", str(db)])
    assert report.exit_code == 0, report.output
    chengdu = next(c for c in json.loads(report.stdout)["items"] if c["city_code"] == 510100)
    assert chengdu["zone_compliance"]["night_valid"] == 1 and chengdu["complaints"] == 0


def test_complaints_import_reports_counts_and_fails_clearly_on_a_non_csv(tmp_path: Path) -> None:
    db = new_synced_store_file(tmp_path / "cli.duckdb")  # as `ecobasin init` makes it
    runner = CliRunner()
    good = tmp_path / "complaints.csv"
    good.write_text(
        "complaint_id,time,city,lon,lat,source_type\n"
        "C1,2026-03-01 21:10,成都,104.05,30.65,社会生活\n"
        "C2,2026-03-01 21:10,成都,104.05,30.65,loud music\n",
        encoding="utf-8",
    )
    done = runner.invoke(app, ["noise", "complaints-import", str(good), "--db", str(db)])
    assert done.exit_code == 0, done.output
    assert "1 stored" in done.output and "1 kept aside" in done.output
    binary = tmp_path / "complaints.xlsx"
    binary.write_bytes(b"PK\x03\x04\xff\xfe\x00\x00 not a csv \xff")
    bad = runner.invoke(app, ["noise", "complaints-import", str(binary), "--db", str(db)])
    assert bad.exit_code == 1 and "complaints.xlsx" in bad.output


def test_noise_values_are_unit_checked_on_import(tmp_path: Path) -> None:
    """Levels are A-weighted dB(A): a plain dB (a level difference), a concentration unit or a
    level outside 20–140 dB(A) is kept aside with its line and reason; dBA is dB(A)."""
    db = tmp_path / "cli.duckdb"
    runner = CliRunner()
    with Store(new_synced_store_file(db)) as store:  # what `ecobasin init` makes
        _station(store, "NZ1", "2")
    tidy = tmp_path / "units.csv"
    tidy.write_text(
        "site,parameter,time,value,flag,unit,period\n"
        "NZ1,Leq,2026-07-01T10:00+08:00,57.3,N,dB(A),1h\n"
        "NZ1,Leq,2026-07-01T11:00+08:00,57.4,N,dB,1h\n"
        "NZ1,Leq,2026-07-01T12:00+08:00,57.5,N,dBA,1h\n"
        "NZ1,Leq,2026-07-01T13:00+08:00,57.6,N,mg/m3,1h\n"
        "NZ1,Leq,2026-07-01T14:00+08:00,250,N,dB(A),1h\n",
        encoding="utf-8",
    )
    done = runner.invoke(app, ["import", "csv", str(tidy), "--db", str(db)])
    assert done.exit_code == 0, done.output
    with Store(db) as store:
        kept = store.rejected().sort_values("record_ref")
        stored = store.observations(sites=["NZ1"], parameters=["Leq"], periods=["1h"])
    assert sorted(stored["value"]) == [57.3, 57.5]
    assert [r.split()[1] for r in kept["record_ref"]] == ["3", "5", "6"]
    reasons = list(kept["reason"])
    assert "unit 'dB' does not fit; expected dB(A)" in reasons[0]
    assert (
        "unit 'mg/m3' does not fit" in reasons[1]
        and "outside the plausible range 20–140" in reasons[2]
    )
