"""``ecobasin rivers …`` and ``ecobasin incident …`` on a real DuckDB file: a network with a bad
row imports the good part and lists the refused row with its reason; the what-if plume, opening
an incident and showing it print the arrival, the grade and the notices."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from typer.testing import CliRunner

from ecobasin.cli import app

DATA = resources.files("ecobasin.demo") / "data"


def run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_import_a_network_with_a_bad_row_then_forecast_and_open(tmp_path: Path) -> None:
    db = str(tmp_path / "i.duckdb")
    reaches = tmp_path / "reaches.csv"
    text = Path(str(DATA / "river_reaches.csv")).read_text(encoding="utf-8")
    reaches.write_text(
        text + "BAD1,M01,NOWHERE,Minjiang,5,1.0,100,50,2,0.001,true\n", encoding="utf-8"
    )
    out = run("rivers", "import", str(DATA / "river_nodes.csv"), str(reaches), "--db", db)
    assert "56 nodes, 53 reaches" in out and "BAD1" in out and "unknown node NOWHERE" in out
    plume = run("incident", "plume", "T03", "--mass-kg", "2000", "--db", db)
    assert "I-ZY-1" in plume and "I-NJ-1" in plume
    opened = run(
        "incident", "open", "test spill", "T03", "510100", "benzene",
        "--release", '{"mode": "instantaneous", "mass_kg": 2000}',
        "--determined-at", "2026-07-14T22:40+08:00", "--as", "cd-duty", "--db", db,
    )  # fmt: skip
    assert "grade 等级 I" in opened and "intake_interrupted" in opened and "512000" in opened
    assert "INC-20260714" in run("incident", "list", "--db", db)
    refused = CliRunner().invoke(app, ["incident", "plume", "T03", "--db", db])
    assert refused.exit_code == 1 and "positive amount" in refused.output
