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


def test_reserves_requests_and_dispatch_from_the_command_line(tmp_path: Path) -> None:
    """Issue 22 "API and CLI for each step": a city's depots' stock (bad rows listed with their
    reason), a request of materials during an incident, its dispatch (once), the score."""
    db = str(tmp_path / "i.duckdb")
    run("rivers", "import", str(DATA / "river_nodes.csv"), str(DATA / "river_reaches.csv"),
        "--db", db)  # fmt: skip
    stock = tmp_path / "stock.csv"
    stock.write_text(
        "depot_id,depot_name,item,quantity,unit,expires_on\n"
        "CD-1,成都库,activated carbon,50,t,2035-01-01\n"
        "CD-2,坏行,oil boom,-3,m,\n",
        encoding="utf-8",
    )
    kept = run("incident", "stocks", "510100", "--set", str(stock), "--as", "cd", "--db", db)
    assert "kept 1" in kept and "CD-2" in kept and "quantity" in kept
    assert "activated carbon" in run("incident", "stocks", "--db", db)
    opened = run(
        "incident", "open", "test spill", "T03", "510100", "benzene",
        "--release", '{"mode": "instantaneous", "mass_kg": 2000}', "--source-type", "enterprise",
        "--source", "化工厂储罐 chemical plant tank", "--determined-at", "2026-07-14T22:40+08:00",
        "--as", "cd-duty", "--db", db,
    )  # fmt: skip
    assert "enterprise" in opened
    incident_id = next(w for w in opened.split() if w.startswith("INC-"))
    asked = run(
        "incident", "material", incident_id, "--from-city", "512000", "--to-city", "510100",
        "--item", "activated carbon", "--quantity", "20", "--unit", "t", "--as", "zy", "--db", db,
    )  # fmt: skip
    assert "request 1" in asked
    assert "dispatched" in run("incident", "dispatch", incident_id, "1", "--as", "cd", "--db", db)
    again = CliRunner().invoke(
        app, ["incident", "dispatch", incident_id, "1", "--as", "cd", "--db", db]
    )
    # the console script (ecobasin.cli.main) prints an EcobasinError as its message
    assert again.exit_code != 0 and "already dispatched" in str(again.exception)
    assert "30" in run("incident", "stocks", "510100", "--db", db)
    assert "stations" in run("incident", "score", incident_id, "--db", db)
