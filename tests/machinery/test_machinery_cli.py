"""``ecobasin machinery import|zones|spot-check|check|findings`` on a real DuckDB file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import shapely
from typer.testing import CliRunner

from ecobasin.cli import app

pytestmark = pytest.mark.slow  # CLI runs on database files

REGISTRY = (
    "registration_code,issuer_city,registered_at,machine_type,fuel,stage_declared,owner_name,"
    "rated_power_kw,manufacture_date\n"
    "CD-0001,510100,2025-01-05,挖掘机,diesel,G2,成都建工,37,2019-05-01\n"
    "CD-0002,510100,2025-01-05,挖掘机,coal,G3,成都建工,37,2019-05-01\n"
)


def run(db: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["machinery", *args, "--db", str(db)])
    return result.exit_code, result.stdout, result.stderr


def test_import_spot_check_and_findings_through_the_cli(tmp_path: Path) -> None:
    db = tmp_path / "m.duckdb"
    registry = tmp_path / "registry.csv"
    registry.write_text(REGISTRY, encoding="utf-8")
    code, _, err = run(db, "import", str(registry))
    assert code == 0, err
    assert "1 added" in err and "1 kept aside" in err and "line 3: fuel 'coal'" in err

    zones = tmp_path / "zones.geojson"
    zones.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "geometry": shapely.geometry.mapping(shapely.box(104, 30.6, 104.1, 30.7)),
        "properties": {"zone_id": "Z1", "city": 510100, "name": "绕城内", "min_stage": "G3",
                       "valid_from": "2026-01-01T00:00:00+08:00"}}]}))  # fmt: skip
    code, _, err = run(db, "zones", "--import", str(zones))
    assert code == 0 and "1 added" in err
    code, out, _ = run(db, "zones", "--format", "json")
    assert [z["zone_id"] for z in json.loads(out)["items"]] == ["Z1"]

    code, _, err = run(db, "spot-check", "--code", "cd·0001", "--city", "510100", "--agency",
                       "成都市生态环境局", "--k", "0.82", "--k", "0.85", "--k", "0.79",
                       "--at", "2026-06-01T10:00")  # fmt: skip
    assert code == 0, err
    assert "fail" in err and "C5" in err  # class II at 37 kW: mean 0.82 > 0.80

    code, _, err = run(db, "spot-check", "--code", "X", "--city", "510100", "--agency", "a",
                       "--k", "0.5")  # fmt: skip
    assert code == 1 and "rated power is needed" in err  # unregistered, no --power

    code, _, err = run(db, "check", "--at", "2026-06-20T10:00", "--rule", "C10")
    assert code == 0 and "C10 1" in err  # the 15-day deadline passed without a follow-up
    code, out, _ = run(db, "findings", "--format", "json", "--rule", "C5")
    assert [f["code_norm"] for f in json.loads(out)["items"]] == ["CD0001"]
