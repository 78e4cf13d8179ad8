"""The shared machinery registry on a real DuckDB file: imports, mutual recognition, spot checks
with their follow-up, zones and the stored findings of checks C1–C11 (issue 18)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import shapely

from ecobasin import catalog
from ecobasin.errors import InputError
from ecobasin.services import machinery as service
from ecobasin.store import Store
from store_files import new_store_file

AT = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
HEADER = (
    "registration_code,issuer_city,registered_at,machine_type,fuel,stage_declared,owner_name,"
    "current_city,machine_serial,engine_serial,manufacture_date,rated_power_kw,terminal_id\n"
)
ROWS = [
    "CD·0001,510100,2025-01-05T09:00,挖掘机,diesel,国三,成都建工,510100,M1,E1,2019-03-01,37,",
    "DY-0002,510600,2025-02-01,装载机,diesel,G2,德阳路桥,510100,M2,E2,2012-05-01,90,",
    "MY-0003,510700,2025-02-01,叉车,electric,,绵阳物流,510700,M3,E3,2021-01-01,30,",
    "SN-0009,510900,2025-03-01,挖掘机,diesel,G3,遂宁机械,510900,M1,E1,2019-03-01,37,",  # C9
    "BAD CODE!,510100,2025-01-01,挖掘机,diesel,G3,x,510100,,,,50,",  # malformed code
    "XX-1,440100,2025-01-01,挖掘机,diesel,G3,x,440100,,,,50,",  # Guangzhou: not the region
    "CD-0004,510100,2025-01-01,挖掘机,diesel,国五,x,510100,,,,50,",  # unknown stage
    "CD-0001,510100,2025-01-01,挖掘机,diesel,G3,x,510100,,,,50,",  # twice in the file
    ",510100,2025-01-01,挖掘机,diesel,G3,x,510100,,,,50,",  # no code
]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    db = Store(new_store_file(tmp_path / "nrmm.duckdb"))
    db.sync_catalog(catalog.load_region())
    return db


def write_registry(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "registry.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_import_keeps_every_bad_row_aside_with_line_and_reason(
    store: Store, tmp_path: Path
) -> None:
    done = service.import_registry(store, write_registry(tmp_path, ROWS))
    assert (done.added, done.updated) == (4, 0)
    reasons = {row["record_ref"]: row["reason"] for row in done.rejected}
    assert set(reasons) == {"line 6", "line 7", "line 8", "line 9", "line 10"}
    assert "1–20 characters" in reasons["line 6"]
    assert "440100" in reasons["line 7"]
    assert "国五" in reasons["line 8"]
    assert "twice" in reasons["line 9"]
    assert "registration_code" in reasons["line 10"]
    kept = store.rejected(source="machinery:registry.csv")
    assert sorted(kept["record_ref"]) == sorted(reasons)
    machines = service.registry(store)
    by_code = {m["code_norm"]: m for m in machines}
    assert by_code["CD0001"]["registration_code"] == "CD·0001"  # kept as issued
    assert by_code["CD0001"]["stage_declared"] == "G3"
    assert by_code["MY0003"]["stage_declared"] == "ELEC"
    # again: updated, not added, and the rejected rows are not counted twice
    again = service.import_registry(store, write_registry(tmp_path, ROWS))
    assert (again.added, again.updated) == (0, 4)
    assert len(store.rejected(source="machinery:registry.csv")) == 5


def test_import_from_xlsx(store: Store, tmp_path: Path) -> None:
    frame = pd.read_csv(write_registry(tmp_path, ROWS[:2]), dtype=str, keep_default_na=False)
    # Excel keeps dates and times as date cells, not text
    frame["manufacture_date"] = pd.to_datetime(frame["manufacture_date"])
    frame["registered_at"] = pd.to_datetime(frame["registered_at"], format="ISO8601")
    path = tmp_path / "registry.xlsx"
    frame.to_excel(path, index=False)
    done = service.import_registry(store, path)
    assert (done.added, done.rejected) == (2, [])
    made = {m["code_norm"]: m["manufacture_date"] for m in service.registry(store)}
    assert str(made["CD0001"]) == "2019-03-01"


def test_import_refuses_rows_of_a_city_the_caller_may_not_write(
    store: Store, tmp_path: Path
) -> None:
    def only_chengdu(city: int, what: str) -> None:
        if city != 510100:
            raise PermissionError(f"editor of 510100 may not write {what} of {city}")

    done = service.import_registry(
        store, write_registry(tmp_path, ROWS[:3]), may_write=only_chengdu
    )
    assert done.added == 1
    assert [r["record_ref"] for r in done.rejected] == ["line 3", "line 4"]
    assert "may not write machine DY-0002 of 510600" in done.rejected[0]["reason"]


def test_mutual_recognition_and_failed_spot_check_with_follow_up(
    store: Store, tmp_path: Path
) -> None:
    service.import_registry(store, write_registry(tmp_path, ROWS[:4]))
    service.add_site(
        store, {"site_id": "S1", "city": 510100, "name": "天府工地", "lon": 104.05, "lat": 30.65}
    )
    # Deyang's machine checked by Chengdu: recognised, judged at its registered 90 kW, class I
    failed = service.record_spot_check(store, service.SpotCheck(
        "DY 0002", 510100, "成都市生态环境局", AT, readings_k=(1.7, 1.65, 1.62), site_id="S1"),
        recorded_by="cd_editor")  # fmt: skip
    assert failed.machine_id is not None and failed.result == "fail"
    assert (failed.limit_class, failed.k_limit) == ("I", 1.61)
    assert [f["rule"] for f in failed.findings if f["rule"] == "C5"] == ["C5"]
    assert len(failed.violations) == 1
    # the check is visible from any city's view of the machine
    detail = service.machine_detail(store, "dy-0002")
    assert [i["city"] for i in detail["inspections"]] == [510100]
    assert any(f["rule"] == "C5" for f in detail["findings"])
    # past the deadline without a closing inspection: C10
    late = AT + timedelta(days=16)
    assert service.run_registry_checks(store, late, only=["C10"])["by_rule"] == {"C10": 1}
    # a passing follow-up closes the violation, so C10 no longer fires
    passed = service.record_spot_check(store, service.SpotCheck(
        "DY-0002", 510100, "成都市生态环境局", AT + timedelta(days=10),
        readings_k=(1.2, 1.1, 1.0), follow_up_of=1), recorded_by="cd_editor")  # fmt: skip
    assert (passed.result, passed.closed) == ("pass", 1)
    assert service.run_registry_checks(store, late, only=["C10"])["findings"] == 0


def test_unregistered_machine_and_duplicates_found_across_cities(
    store: Store, tmp_path: Path
) -> None:
    service.import_registry(store, write_registry(tmp_path, ROWS[:4]))
    result = service.record_spot_check(store, service.SpotCheck(
        "ZZ-404", 511400, "眉山市生态环境局", AT, method="visual_only", label_present=False),
        recorded_by="ms")  # fmt: skip
    assert result.result == "not_tested" and result.machine_id is None
    assert {f["rule"] for f in result.findings} == {"C1"}
    service.run_registry_checks(store, AT)  # the registry-wide run finds the duplicates
    stored = service.finding_list(store, rule="C9")
    assert len(stored) == 1 and stored[0]["evidence"]["cities"] == [510100, 510900]
    assert stored[0]["title"].startswith("跨市重复登记")
    # findings seen again move last_seen, they are not added twice
    again = service.run_registry_checks(store, AT + timedelta(hours=1), only=["C9"])
    assert (again["new"], again["seen_again"]) == (0, 1)


def test_a_spot_check_runs_only_the_checks_of_that_machine(store: Store, tmp_path: Path) -> None:
    """Issue 18, item 4: a spot check re-runs the checks concerning the machine it checked (its
    code, its serial twins of other cities for C9), not C1–C11 over the whole registry."""
    service.import_registry(store, write_registry(tmp_path, ROWS[:4]))
    failed = service.record_spot_check(store, service.SpotCheck(
        "DY 0002", 510100, "成都市生态环境局", AT, readings_k=(1.7, 1.65, 1.62)),
        recorded_by="cd_editor")  # fmt: skip
    assert "C5" in {f["rule"] for f in failed.findings}
    stored = service.finding_list(store, status=None)
    assert {f["code_norm"] for f in stored} == {"DY0002"}  # nothing of the other machines
    assert not [f for f in stored if f["rule"] in ("C9", "C11")]
    # Suining's machine shares its serials with Chengdu's CD·0001: its check finds the twin
    service.record_spot_check(store, service.SpotCheck(
        "SN-0009", 510900, "遂宁市生态环境局", AT, method="visual_only"), recorded_by="sn")  # fmt: skip
    c9 = service.finding_list(store, rule="C9")
    assert len(c9) == 1 and c9[0]["evidence"]["cities"] == [510100, 510900]


def test_zones_import_versions_and_class_iii_inside(store: Store, tmp_path: Path) -> None:
    square = shapely.geometry.mapping(shapely.box(104.0, 30.6, 104.1, 30.7))

    def feature(valid_from: str, **props: object) -> dict[str, object]:
        return {"type": "Feature", "geometry": square, "properties": {
            "zone_id": "CD-Z1", "city": 510100, "name": "绕城内", "valid_from": valid_from,
            "min_stage": "G3", **props}}  # fmt: skip

    path = tmp_path / "zones.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        feature("2026-01-01T00:00:00+08:00"), feature("2026-05-01T00:00:00+08:00", min_stage="G4"),
        {"type": "Feature", "geometry": square, "properties": {"zone_id": "bad"}},
    ]}))  # fmt: skip
    done = service.import_zones(store, path)
    assert done["added"] == 2 and "'city'" in done["rejected"][0]["reason"]
    active = service.zone_features(store, AT)["features"]
    assert [f["properties"]["min_stage"] for f in active] == ["G4"]  # the first version closed
    service.import_registry(store, write_registry(tmp_path, ROWS[:1]))
    service.add_site(
        store, {"site_id": "S1", "city": 510100, "name": "工地", "lon": 104.1, "lat": 30.65}
    )
    assert service.site_list(store, AT)[0]["in_zone"]  # on the boundary: inside
    check = service.record_spot_check(store, service.SpotCheck(
        "CD0001", 510100, "成都市生态环境局", AT, readings_k=(0.6, 0.6, 0.6), site_id="S1"),
        recorded_by="cd")  # fmt: skip
    assert (check.limit_class, check.k_limit, check.result) == ("III", 0.5, "fail")
    service.record_presence(
        store,
        [
            {
                "code_observed": "CD-0001",
                "site_id": "S1",
                "entered_at": AT - timedelta(days=2),
                "source": "gate",
            }
        ],
    )
    assert service.run_registry_checks(store, AT, only=["C6"])["by_rule"] == {"C6": 1}


def test_spot_check_bad_input_names_the_field(store: Store) -> None:
    with pytest.raises(InputError, match="3 readings"):
        service.record_spot_check(store, service.SpotCheck(
            "X", 510100, "a", AT, readings_k=(0.5,), rated_power_kw=50), recorded_by="x")  # fmt: skip
    with pytest.raises(InputError, match="site_id"):
        service.record_spot_check(store, service.SpotCheck(
            "X", 510100, "a", AT, site_id="nowhere"), recorded_by="x")  # fmt: skip


def test_public_counts_are_aggregates_per_city(store: Store, tmp_path: Path) -> None:
    service.import_registry(store, write_registry(tmp_path, ROWS[:4]))
    counts = {row["city"]: row for row in service.public_counts(store)}
    assert len(counts) == 8
    assert counts[510100]["machines"] == 2 and counts[510100]["machines_g2_or_below"] == 1
    assert counts[510700]["machines_electric"] == 1
    assert "registration_code" not in counts[510100]


def test_a_failed_spot_check_opens_a_rectification_case_linked_to_its_finding(
    store: Store, tmp_path: Path
) -> None:
    """Issue 18: "each firing is a finding that can open a case" — a spot check over the smoke
    limit opens a case of the mobile-sources campaign linked to the C5 finding (not copied),
    once; a review flag (C4) opens none."""
    from ecobasin.services import cases as case_service
    from ecobasin.store import machinery as machinery_store

    service.import_registry(store, write_registry(tmp_path, ROWS[:4]))
    failed = service.record_spot_check(store, service.SpotCheck(
        "DY 0002", 510100, "成都市生态环境局", AT, readings_k=(1.7, 1.65, 1.62)),
        recorded_by="cd_editor")  # fmt: skip
    assert failed.result == "fail"
    c5 = machinery_store.findings(store, rule="C5")
    assert len(c5) == 1 and isinstance(c5.iloc[0]["case_ref"], str)
    case = case_service.load(store, str(c5.iloc[0]["case_ref"]))
    assert case.category == "mobile_sources" and case.state == "registered"
    assert [(link.source_kind, link.source_id) for link in case.links] == [
        ("machinery_finding", str(c5.iloc[0]["finding_id"]))
    ]
    assert service.open_finding_cases(store, "again", AT) == {}  # one case per finding
    c4 = machinery_store.findings(store, rule="C4")
    assert c4.empty or c4["case_ref"].isna().all()
