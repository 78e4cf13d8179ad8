"""The stored compliance check's cross-checks (emergency.md §2.1, §2.2): hourly ``-Cou`` from
HJ 212 2061 packets kept and compared with Avg × flow, and sub-meter power (production line,
treatment unit) from HJ 212 or an imported CSV judged with every verdict, on a real DuckDB file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from ecobasin import catalog
from ecobasin.cli import app
from ecobasin.gateway.simulator import Control, SimDevice
from ecobasin.ingest.hj212 import read_segment
from ecobasin.ingest.hj212.observations import message_rows
from ecobasin.services import emergency as svc
from ecobasin.standards import emergency as em
from ecobasin.store import emergency as db
from ecobasin.store.database import Store
from ecobasin.workflow.emergency import ListRecord, ListVersion
from store_files import new_store_file

T0 = datetime(2025, 1, 1, tzinfo=UTC)
START = T0 + timedelta(days=7)
END = START + timedelta(hours=24)


# -- pure ------------------------------------------------------------------------------------
def test_cou_hours_names_the_hours_whose_amount_disagrees() -> None:
    # 200 mg/m³ × 180 000 m³/h = 36 kg; hour 1 reports 40 kg (+11 %), hour 2 none
    hours = [
        em.Hour(0, 200.0, 180_000.0, "N", 36.0),
        em.Hour(1, 200.0, 180_000.0, "N", 40.0),
        em.Hour(2, 200.0, 180_000.0, "N", None),
    ]
    got = em.cou_hours(hours, 0.05)
    assert got["consistent"] == 1 and got["mismatch_hours"] == [1] and got["missing_hours"] == [2]


def test_power_treatment_off_while_producing_fails_whatever_the_cut() -> None:
    reference = [{"h": i, "production_kw": 1000.0, "treatment_kw": 150.0} for i in range(48)]
    window = [{"h": i, "production_kw": 400.0, "treatment_kw": 0.0 if i in (3, 4) else 150.0}
              for i in range(24)]  # fmt: skip
    got = em.power_from_hours(reference, window, {"action": "limit", "ratio": 0.5})
    assert got["achieved_reduction"] == pytest.approx(0.6)
    assert got["treatment_off_while_producing_hours"] == [3, 4]
    assert got["verdict"] == "non_compliant"


def test_power_stop_is_judged_on_the_line_drawing_less_than_when_producing() -> None:
    reference = [{"h": i, "production_kw": 1000.0, "treatment_kw": 150.0} for i in range(24)]
    idle = [{"h": i, "production_kw": 12.0, "treatment_kw": 30.0} for i in range(24)]
    assert em.power_from_hours(reference, idle, {"action": "stop"})["verdict"] == "compliant"
    running = [*idle[:20], *({"h": i, "production_kw": 900.0, "treatment_kw": 150.0}
                             for i in range(20, 24))]  # fmt: skip
    got = em.power_from_hours(reference, running, {"action": "stop"})
    assert got["verdict"] == "non_compliant"
    assert got["producing_hours_under_stop"] == [20, 21, 22, 23]


def test_power_without_enough_meter_hours_is_insufficient_data() -> None:
    reference = [{"h": i, "production_kw": 1000.0, "treatment_kw": 150.0} for i in range(24)]
    window = [{"h": i, "production_kw": 400.0 if i < 10 else None, "treatment_kw": None}
              for i in range(24)]  # fmt: skip
    assert (
        em.power_from_hours(reference, window, {"action": "limit", "ratio": 0.5})["verdict"]
        == "insufficient_data"
    )


# -- HJ 212: the simulator's meters and -Cou decode into stored parameters -------------------
def test_a_metered_stack_sends_power_and_hourly_cou_that_decode_to_rows() -> None:
    start = START.timestamp()
    device = SimDevice(
        index=0, seed=1, mn="510100100010000000000001", password="123456", site_id="S1",
        kind="gas_outlet", city_code=510100, protocol="2017", interval_s=60, scale=1.0,
        meters=True, controls=(Control(start, start + 86_400, output=0.4, treatment_off=True),),
    )  # fmt: skip
    packet = next(
        p for p in device.packets(start) if p.cn == "2061" and p.data_time.timestamp() >= start
    )
    rows: list[dict[str, object]] = []
    for frame in packet.frames:
        found, _skipped = message_rows(
            read_segment(frame[6:-6]), site_id="S1", domains=("flue_gas",), source_ref="t"
        )
        rows += found
    values = {str(r["parameter"]): float(r["value"]) for r in rows}  # type: ignore[arg-type]
    assert len(rows) == packet.values
    assert values["EL_treatment"] == 0.0  # treatment unit off in the control window
    assert 0 < values["EL_production"] < 0.5 * 900 * 1.1
    # the reported hourly NOx amount agrees with Avg × flow × 3600 s × 10⁻⁶ [kg]
    recomputed = values["FG_NOx"] * values["FG_flow"] * 3600 * 1e-6
    assert values["FG_NOx_Cou"] == pytest.approx(recomputed, rel=0.01)


# -- the stored check -------------------------------------------------------------------------
def _write(store: Store, site: str, parameter: str, values: list[float], start: datetime,
           flags: list[str] | None = None) -> None:  # fmt: skip
    frame = pd.DataFrame({
        "site_id": site, "parameter": parameter, "period": "1h",
        "time": [start + timedelta(hours=i + 1) for i in range(len(values))],
        "value": values, "flag": flags or ["N"] * len(values),
    })  # fmt: skip
    frame["time"] = frame["time"].astype("datetime64[us, UTC]")
    store.write_observations(frame, store.begin_batch("test", "tests"))


def _seed(opened: Store, treatment_b: bool = True) -> None:
    opened.sync_catalog(catalog.load_region())
    sites = ["MNA", "MNB"]
    opened.upsert_sites(pd.DataFrame({
        "site_id": sites, "kind": "gas_outlet", "level": "enterprise", "city_code": 510100,
        "name_zh": sites, "name_en": sites, "lon": 104.0, "lat": 30.6,
    }), "tests")  # fmt: skip
    for site in sites:  # 7 normal days: 200 mg/m³ × 50 m³/s = 36 kg/h, 1000 kW, 150 kW
        _write(opened, site, "FG_NOx", [200.0] * 168, T0)
        _write(opened, site, "FG_flow", [50.0] * 168, T0)
        _write(opened, site, "EL_production", [1000.0] * 168, T0)
        _write(opened, site, "EL_treatment", [150.0] * 168, T0)
        # the warning: flow −60 % (compliant on the stack data alone), production −60 %
        _write(opened, site, "FG_NOx", [200.0] * 24, START)
        _write(opened, site, "FG_flow", [20.0] * 24, START)
        _write(opened, site, "EL_production", [400.0] * 24, START)
    # A keeps its treatment unit on and reports honest -Cou (200 × 72 000 m³/h = 14.4 kg)
    _write(opened, "MNA", "EL_treatment", [150.0] * 24, START)
    _write(opened, "MNA", "FG_NOx_Cou", [14.4] * 23 + [30.0], START)
    if treatment_b:  # B switches its treatment unit off for hours 5–8 while producing
        _write(opened, "MNB", "EL_treatment", _B_TREATMENT, START)


_B_TREATMENT = [150.0] * 5 + [0.0] * 4 + [150.0] * 15


@pytest.fixture
def store(tmp_path: Path):
    with Store(new_store_file(tmp_path / "store.duckdb")) as opened:
        _seed(opened)
        yield opened


def _record(uscc: str, site: str) -> ListRecord:
    return ListRecord(
        uscc, f"企业{uscc}", "锦江区", "水泥", "key",
        ({"grade": "C", "effective_from": "2024-10-01"},), (site,),
        {"orange": {"action": "limit", "ratio": 0.5}},
        meters=({"site": site, "role": "production", "process": "熟料线 kiln"},
                {"site": site, "role": "treatment", "process": "脱硝 SCR"}),
    )  # fmt: skip


def test_every_verdict_carries_the_cou_and_power_checks(store: Store) -> None:
    version = ListVersion("510100", 1, T0 - timedelta(days=90), "annual",
                          (_record("A", "MNA"), _record("B", "MNB")))  # fmt: skip
    db.save_version(store, version, "tests", T0)
    key = svc.activate_for_warning(store, "510100", "orange", START, END, "tests", START)
    svc.end_and_check(store, key, END + timedelta(hours=1))
    stored = {v["uscc"]: v for v in db.verdicts(store, key)}
    assert stored["A"]["verdict"] == "compliant"
    assert stored["A"]["power"]["verdict"] == "compliant"
    assert stored["A"]["power"]["achieved_reduction"] == pytest.approx(0.6)
    assert stored["A"]["cou"]["mismatch_hours"] == [23]
    assert stored["A"]["cou"]["consistent"] == 23
    assert any("-Cou" in r for r in stored["A"]["reasons"])
    # B cut its stack flow as told but ran without treatment: non-compliant from the meters
    assert stored["B"]["verdict"] == "non_compliant"
    assert stored["B"]["power"]["treatment_off_while_producing_hours"] == [5, 6, 7, 8]
    assert any(r.startswith("power: treatment off") for r in stored["B"]["reasons"])
    assert {f["uscc"] for f in db.findings(store)} == {"B"}


def _check(store: Store) -> dict[str, dict[str, object]]:
    version = ListVersion("510100", 1, T0 - timedelta(days=90), "annual",
                          (_record("A", "MNA"), _record("B", "MNB")))  # fmt: skip
    db.save_version(store, version, "tests", T0)
    key = svc.activate_for_warning(store, "510100", "orange", START, END, "tests", START)
    svc.end_and_check(store, key, END + timedelta(hours=1))
    return {str(v["uscc"]): v for v in db.verdicts(store, key)}


def test_meter_readings_from_an_imported_csv_feed_the_same_check(tmp_path: Path) -> None:
    """B's treatment meter arrives as a tidy CSV (site, parameter, time, value, flag) through
    ``ecobasin import csv``, not over HJ 212: the verdict is the same."""
    path = tmp_path / "store.duckdb"
    with Store(path) as opened:
        _seed(opened, treatment_b=False)
    readings = tmp_path / "meters.csv"
    times = [(START + timedelta(hours=i + 1)).isoformat() for i in range(24)]
    pd.DataFrame({"site": "MNB", "parameter": "EL_treatment", "time": times,
                  "value": _B_TREATMENT, "flag": "N"}).to_csv(readings, index=False)  # fmt: skip
    out = CliRunner().invoke(app, ["import", "csv", str(readings), "--db", str(path)])
    assert out.exit_code == 0, out.output
    with Store(path) as opened:
        stored = _check(opened)
    assert stored["B"]["verdict"] == "non_compliant"
    assert stored["B"]["power"]["treatment_off_while_producing_hours"] == [5, 6, 7, 8]  # type: ignore[index]
