"""``ecobasin emergency …`` on a real DuckDB file: ratios, accounting, list import, activation,
and clear errors naming the record and the reason."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ecobasin.cli import app

RUN = CliRunner()
SHARED_SOURCES = [
    {"id": "E1", "grade": "C", "base_t_per_d": {"VOCs": 3.0}, "fraction": {"orange": 1.0}},
    {"id": "E2", "grade": "B", "base_t_per_d": {"VOCs": 6.0}, "fraction": {"orange": 0.5}},
]
RECORD = {
    "uscc": "91510100MA0000001X", "name": "水泥甲", "district": "510104", "industry": "水泥",
    "category": "key", "grades": [{"grade": "C", "effective_from": "2024-10-01"}],
    "outlets": ["MN001"], "measures": {"orange": {"action": "stop"}},
}  # fmt: skip


def test_ratios_follow_the_city_plan() -> None:
    out = RUN.invoke(
        app, ["emergency", "ratios", "--city", "510600", "--level", "orange", "--at", "2025-01-01"]
    )
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["VOCs"] == 0.15


def test_account_uses_deyang_vocs_ratio(tmp_path: Path) -> None:
    doc = tmp_path / "list.json"
    doc.write_text(json.dumps({"city_baseline_t_per_d": {"VOCs": 40.0}, "sources": SHARED_SOURCES}))
    out = RUN.invoke(app, ["emergency", "account", str(doc), "--city", "510600", "--level", "orange",
                           "--at", "2025-01-02T00:00+08:00"])  # fmt: skip
    body = json.loads(out.stdout)
    # 3.0 + 3.0 = 6.0 t/d = 15 % ≥ Deyang's 15 % (national would need 20 %)
    assert body["meets"] == {"VOCs": True} and body["ratio"]["VOCs"] == 0.15


def test_import_activate_and_refuse_bad_records(tmp_path: Path) -> None:
    db = tmp_path / "e.duckdb"
    good = tmp_path / "v1.json"
    good.write_text(json.dumps({"version": 1, "effective_from": "2024-10-01T00:00+08:00",
                                "records": [RECORD]}), encoding="utf-8")  # fmt: skip
    out = RUN.invoke(
        app, ["emergency", "import-list", str(good), "--city", "510100", "--db", str(db)]
    )
    assert out.exit_code == 0, out.output
    bad = tmp_path / "v2.json"
    bad.write_text(json.dumps({"version": 2, "effective_from": "2025-01-01T00:00+08:00",
                               "records": [{**RECORD, "category": "unknown"}]}))  # fmt: skip
    out = RUN.invoke(
        app, ["emergency", "import-list", str(bad), "--city", "510100", "--db", str(db)]
    )
    assert out.exit_code == 1 and "record 0" in out.output and "category" in out.output
    out = RUN.invoke(app, ["emergency", "activate", "--city", "510100", "--level", "orange",
                           "--start", "2025-01-02T00:00+08:00", "--end", "2025-01-03T00:00+08:00",
                           "--db", str(db)])  # fmt: skip
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["activation"].startswith("510100-orange-")
    out = RUN.invoke(app, ["emergency", "activate", "--city", "510100", "--level", "orange",
                           "--start", "2025-01-02T00:00", "--end", "2025-01-03T00:00+08:00",
                           "--db", str(db)])  # fmt: skip
    assert out.exit_code == 1 and "offset" in out.output
