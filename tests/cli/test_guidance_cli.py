"""``ecobasin guidance`` on a copy of the demo database (issue 21 item 2): simulated runs
written in two layouts, imported at the region's 41 national stations and 8 cities, idempotent,
a broken file reported while the good ones are stored, and a point outside the grid kept aside."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from ecobasin.cli import app

runner = CliRunner()
#: The runs these files gave (the demo holds its own simulated runs too, source "demo …").
FROM_FILES = "source LIKE 'simulated%'"


@pytest.mark.slow  # writes and reads six-day runs for 49 points
def test_simulate_import_again_and_a_broken_file(demo_copy: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    db = ["--db", str(demo_copy)]
    made = runner.invoke(app, ["guidance", "simulate", "--out", str(runs), "--days", "2", *db])
    assert made.exit_code == 0, made.output
    assert "SIMULATED" in made.output
    cf = runner.invoke(
        app, ["guidance", "simulate", "--out", str(runs), "--days", "1", "--layout", "cf", *db]
    )
    assert cf.exit_code == 0, cf.output
    files = sorted(runs.glob("*.nc"))
    assert len(files) == 3
    broken = tmp_path / "broken.nc"
    broken.write_bytes(b"CDF\x01 not really")
    first = runner.invoke(app, ["guidance", "import", *map(str, files), str(broken), *db])
    assert first.exit_code == 1
    assert "broken.nc" in first.output and "file not imported" in first.output
    with duckdb.connect(str(demo_copy), read_only=True) as con:
        per_run = con.execute(
            "SELECT model, issued_at, count(DISTINCT point_id), count(DISTINCT valid_time), "
            "count(DISTINCT pollutant), bool_and(simulated) FROM ctm_guidance "
            f"WHERE {FROM_FILES} GROUP BY ALL"
        ).fetchall()
        total = con.execute(f"SELECT count(*) FROM ctm_guidance WHERE {FROM_FILES}").fetchone()
    assert len(per_run) == 3
    for _model, _issued, points, hours, pollutants, simulated in per_run:
        assert (points, hours, pollutants, simulated) == (41 + 8, 186, 6, True)
    again = runner.invoke(app, ["guidance", "import", *map(str, files), *db])
    assert again.exit_code == 0, again.output
    assert total is not None and f"│ unchanged  │ {total[0]}" in again.output
    listed = runner.invoke(app, ["guidance", "runs", *db])
    assert listed.output.count("simulated_") == 3
