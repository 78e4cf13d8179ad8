"""The list's baseline in the compliance check (emergency.md §2.5 step 2: "the list's baseline
may be used instead: record which one"): an outlet whose online reference window is too short
is judged against its enterprise's baseline from the list workbook, and the verdict says so;
without one it stays insufficient data. Real DuckDB file, stored hourly data."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from test_emergency_store_service import END, NOW, START, _hours, _record

from ecobasin.services import emergency as svc
from ecobasin.store import emergency as db
from ecobasin.store.database import Store
from ecobasin.workflow.emergency import ListVersion
from store_files import new_synced_store_file

#: 200 mg/m³ × 50 m³/s × 3600 s/h × 1e-6 = 36 kg/h = 0.864 t/d at normal production
LIST_T_PER_D = 0.864


def _verdict(tmp_path: Path, with_list_baseline: bool) -> dict[str, object]:
    with Store(new_synced_store_file(tmp_path / "b.duckdb")) as store:
        store.upsert_sites(pd.DataFrame({
            "site_id": ["MNNEW"], "kind": "gas_outlet", "level": "enterprise",
            "city_code": 510100, "name_zh": ["x"], "name_en": ["x"], "lon": 104.0, "lat": 30.6,
        }), "tests")  # fmt: skip
        # a new stack: online since the warning started, nothing in the reference window
        _hours(store, "MNNEW", [200.0] * 24, [20.0] * 24, ["N"] * 24, START)
        rec = _record("NEW", "limit", "青羊区")
        if with_list_baseline:
            rec = replace(rec, baseline_t_per_d={"NOx": LIST_T_PER_D}, baseline_method="permit",
                          baseline_reference={"from": "2024-11-01", "to": "2024-11-30"})  # fmt: skip
        version = ListVersion("510100", 1, START - timedelta(days=30), "annual", (rec,))
        db.save_version(store, version, "tests", START)
        key = svc.activate_for_warning(store, "510100", "orange", START, END, "test", START)
        return svc.end_and_check(store, key, NOW)[0]


def test_a_short_reference_window_falls_back_to_the_lists_baseline(tmp_path: Path) -> None:
    v = _verdict(tmp_path, with_list_baseline=True)
    # 200 mg/m³ × 20 m³/s → 14.4 kg/h against 36 kg/h: a 60 % cut ≥ the 50 % limit
    assert v["verdict"] == "compliant"
    assert v["baseline_method"] == "list:permit"
    assert v["baseline_kg_h"] == pytest.approx(36.0)
    assert v["numbers"]["achieved_reduction"] == pytest.approx(0.6)  # type: ignore[index]
    assert any("list baseline" in r for r in v["reasons"])  # type: ignore[attr-defined]


def test_without_a_list_baseline_it_stays_insufficient_data(tmp_path: Path) -> None:
    v = _verdict(tmp_path, with_list_baseline=False)
    assert v["verdict"] == "insufficient_data" and v["baseline_method"] is None
