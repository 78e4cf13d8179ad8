"""Water wired into the platform (issue 7): section lists, imports, the job, CLI and API.

Everything runs against real DuckDB files (tmp_path), real CSV files, Typer's CliRunner and the
FastAPI app over HTTP (TestClient). Expected numbers come from the engine
(``ecobasin.standards.water``) on the same inputs, or are hand-computed where stated.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from ecobasin import catalog
from ecobasin.cli import app
from ecobasin.ingest.cnemc_water import read_cnemc_water
from ecobasin.jobs.water_quality import refresh_water_quality
from ecobasin.standards import water
from ecobasin.standards.water_tables import load_water_text
from ecobasin.store import Store
from ecobasin.store import water as store_water
from ecobasin.web import create_app

runner = CliRunner()

SECTION_LIST = """site_id,city,name_zh,target_class,name_en,level,river_zh,basin_zh,basin_en,water_body,upstream_city,downstream_city
TW01,成都,测试断面甲,III,Test A,national,府河,岷江流域,Minjiang basin,river,成都,眉山
TW02,眉山,测试断面乙,II,Test B,provincial,岷江,岷江流域,Minjiang basin,river,,
TW03,成都,测试湖心,III,Test lake,provincial,测试湖,岷江流域,Minjiang basin,lake,,
"""
#: Class I–II background of the 21 items [mg/L] (pH dimensionless).
CLEAN = {
    "pH": 7.6, "DO": 8.1, "CODMn": 1.8, "COD": 10.0, "BOD5": 1.5, "NH3N": 0.1, "TP": 0.015,
    "Cu": 0.002, "Zn": 0.01, "F": 0.3, "Se": 0.0002, "As": 0.001, "Hg": 0.00002, "Cd": 0.0005,
    "Cr6": 0.004, "Pb": 0.002, "CN": 0.002, "VPhen": 0.0006, "Petro": 0.01, "LAS": 0.025,
    "S2": 0.005,
}  # fmt: skip
#: TW01 in October 2025: two samples whose means are CODMn 7.2, NH3N 1.5, TP 0.18 — the
#: worked example of the brief §4 (Class III target: m = 0.2, 0.5, 0 → D = 0.7 × 500 000).
TW01_SAMPLES = [
    {"CODMn": 7.0, "NH3N": 1.4, "TP": 0.17},
    {"CODMn": 7.4, "NH3N": 1.6, "TP": 0.19},
]
TW03_LAKE = {"TP": 0.04, "TN": 0.8, "Chla": 12.0, "SD": 1.2}


def _rows(site: str, time: str, values: dict[str, float]) -> list[str]:
    return [f"{site},{item},{time},{value},,sample" for item, value in values.items()]


def tidy_csv(path: Path) -> Path:
    lines = ["site,parameter,time,value,unit,period"]
    lines += _rows("TW01", "2025-10-08T10:00", {**CLEAN, **TW01_SAMPLES[0]})
    lines += _rows("TW01", "2025-10-22T10:00", {**CLEAN, **TW01_SAMPLES[1]})
    lines += _rows("TW02", "2025-10-09T10:00", CLEAN)
    lines += _rows("TW03", "2025-10-10T10:00", {**CLEAN, **TW03_LAKE})
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("water")
    db = folder / "w.duckdb"
    (folder / "sections.csv").write_text(SECTION_LIST, encoding="utf-8")
    result = runner.invoke(
        app, ["water", "sections", "--import", str(folder / "sections.csv"), "--db", str(db)]
    )
    assert result.exit_code == 0, result.output
    data = tidy_csv(folder / "october.csv")
    result = runner.invoke(app, ["water", "import", str(data), "--db", str(db)])
    assert result.exit_code == 0, result.output
    yield db


def engine_section(site_conc: dict[str, float], water_body: str = "river") -> dict[str, object]:
    return water.section_record(site_conc, water_body)


def cli_json(*args: str) -> dict[str, object]:
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_sections_registered_with_attributes(db: Path) -> None:
    body = cli_json("water", "sections", "--db", str(db))
    items = {i["site_id"]: i for i in body["items"]}  # type: ignore[index, union-attr]
    assert set(items) == {"TW01", "TW02", "TW03"}
    assert items["TW01"]["upstream_city"] == 510100
    assert items["TW01"]["downstream_city"] == 511400
    assert items["TW01"]["target_class"] == "III"
    assert items["TW03"]["water_body"] == "lake"
    assert items["TW02"]["upstream_city"] is None


def test_evaluation_equals_the_engine_and_flags_the_section_over_target(db: Path) -> None:
    body = cli_json("water", "evaluate", "--period", "2025-10", "--db", str(db))
    items = {i["site_id"]: i for i in body["items"]}  # type: ignore[index, union-attr]
    tw01 = {**CLEAN, "CODMn": 7.2, "NH3N": 1.5, "TP": 0.18}
    expected = engine_section(tw01)
    assert items["TW01"]["class"] == expected["class"] == "IV"
    assert items["TW01"]["meets_target"] is False
    assert items["TW01"]["main_pollutants"] == ",".join(expected["main_pollutants_display"])
    assert items["TW01"]["main_pollutants"] == "氨氮(0.5),高锰酸盐指数(0.2)"
    frame = pd.DataFrame([tw01])
    cwqi = float(water.cwqi_section(frame).iloc[0])
    assert items["TW01"]["cwqi"] == pytest.approx(round(cwqi, 4), abs=1e-12)
    assert items["TW01"]["NH3N"] == pytest.approx(1.5)
    assert items["TW02"]["class"] == engine_section(CLEAN)["class"] == "I"
    assert items["TW02"]["meets_target"] is True
    lake = {**CLEAN, "TP": 0.04}
    assert items["TW03"]["class"] == engine_section(lake, "lake")["class"] == "III"
    tli = water.tli(chla=12.0, tp=0.04, tn=0.8, sd=1.2, codmn=1.8)["TLI"].iloc[0]
    assert items["TW03"]["tli"] == pytest.approx(round(float(tli), 2))
    assert body["failing_target"] == 1
    region = next(s for s in body["summary"] if s["scope"] == "region")  # type: ignore[union-attr]
    assert region["method"] == "mean"  # 3 sections < 5 (环办〔2011〕22号 §二(二))


def test_rank_equals_engine_city_cwqi(db: Path) -> None:
    body = cli_json("water", "rank", "--period", "2025-10", "--db", str(db))
    by_city = {i["city"]: i for i in body["items"]}  # type: ignore[index, union-attr]
    c = water.cwqi_section(
        pd.DataFrame([{**CLEAN, "CODMn": 7.2, "NH3N": 1.5, "TP": 0.18}, {**CLEAN, "TP": 0.04}]),
        ["river", "lake"],
    )
    chengdu = water.city_cwqi_from_lists([float(c.iloc[0])], [float(c.iloc[1])])
    assert by_city[510100]["cwqi"] == pytest.approx(round(chengdu["CWQI_city"], 4))
    assert by_city[510100]["M_river"] == 1 and by_city[510100]["N_lake"] == 1
    meishan = float(water.cwqi_section(pd.DataFrame([CLEAN])).iloc[0])
    assert by_city[511400]["cwqi"] == pytest.approx(round(meishan, 4))
    assert by_city[511400]["rank"] == 1 and by_city[510100]["rank"] == 2


def test_compensation_rows_carry_rule_set_and_inputs(db: Path) -> None:
    body = cli_json("water", "compensation", "--period", "2025-10", "--db", str(db))
    assert body["rule_set"] == "ecobasin-default" and body["rule_set_version"] == "2025.1"
    (row,) = body["items"]  # type: ignore[misc]
    assert row["site_id"] == "TW01"
    assert row["rule_set"] == "ecobasin-default" and row["method"] == "multiple"
    assert row["CODMn_limit"] == 6.0 and row["NH3N_limit"] == 1.0 and row["TP_limit"] == 0.2
    assert row["CODMn_multiple"] == pytest.approx(0.2)
    assert row["NH3N_multiple"] == pytest.approx(0.5)
    assert row["TP_multiple"] == 0.0
    # brief §4 worked example: D = (0.2 + 0.5) × 500 000 = 350 000 CNY, Chengdu pays Meishan
    assert row["amount_cny"] == pytest.approx(350000.0)
    assert row["payer"].startswith("成都市") and row["payee"].startswith("眉山市")
    (settled,) = body["summary"]  # type: ignore[misc]
    assert settled["amount_cny"] == pytest.approx(350000.0)


def test_compensation_with_another_agreement(db: Path, tmp_path: Path) -> None:
    text = load_water_text("compensation_default.toml")
    other = tmp_path / "other.toml"
    other.write_text(
        text.replace('version = "2025.1"', 'version = "test.2"').replace(
            "NH3N = 500000", "NH3N = 1000000"
        ),
        encoding="utf-8",
    )
    body = cli_json(
        "water", "compensation", "--period", "2025", "--agreement", str(other), "--db", str(db)
    )
    (row,) = body["items"]  # type: ignore[misc]
    assert row["rule_set_version"] == "test.2"
    # 0.2 × 500 000 + 0.5 × 1 000 000
    assert row["amount_cny"] == pytest.approx(600000.0)


def test_refresh_is_idempotent(db: Path) -> None:
    with Store(db) as store:
        before = store_water.section_results(store).drop(columns="computed_at")
        first = refresh_water_quality(store)
        second = refresh_water_quality(store)
        after = store_water.section_results(store).drop(columns="computed_at")
        groups = store_water.group_results(store)
    assert first["section_rows"] == second["section_rows"] == len(after)
    pd.testing.assert_frame_equal(before, after)
    assert groups.duplicated(["scope", "scope_id", "period"]).sum() == 0


def test_api_equals_cli(db: Path) -> None:
    cli_eval = cli_json("water", "evaluate", "--period", "2025-10", "--db", str(db))
    cli_rank = cli_json("water", "rank", "--period", "2025-10", "--db", str(db))
    cli_comp = cli_json("water", "compensation", "--period", "2025-10", "--db", str(db))
    with TestClient(create_app(db)) as client:
        evaluation = client.get("/api/v1/water/evaluation", params={"period": "2025-10"})
        rank = client.get("/api/v1/water/rank", params={"period": "2025-10"})
        comp = client.get("/api/v1/water/compensation", params={"period": "2025-10"})
        sections = client.get("/api/v1/water/sections")
        csv = client.get("/api/v1/water/evaluation", params={"period": "2025-10", "format": "csv"})
        missing = client.get("/api/v1/water/evaluation", params={"period": "2024-01"})
        bad = client.get("/api/v1/water/rank", params={"period": "2025-13"})
    assert evaluation.status_code == 200
    assert evaluation.json()["items"] == cli_eval["items"]
    assert rank.json()["items"] == cli_rank["items"]
    assert comp.json()["items"] == cli_comp["items"]
    assert sections.json()["count"] == 3
    assert csv.headers["content-type"].startswith("text/csv")
    assert "TW01" in csv.text
    assert missing.status_code == 404
    assert bad.status_code == 422 and "YYYY-MM" in bad.text


def test_bad_input_is_rejected_with_a_reason(db: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "site,parameter,time,value,unit,period\n"
        "NOPE,NH3N,2025-11-05T10:00,0.5,,sample\n"  # unknown section
        "TW02,NH3N,2025-11-05T10:00,850,mg/L,sample\n"  # µg/L written as mg/L
        "TW02,TP,2025-11-05T10:00,40,µg/L,sample\n"  # µg/L declared: converted, stored
        "TW02,CODMn,2025-11-05T10:00,2.0,µg/m³,sample\n",  # wrong dimension
        encoding="utf-8",
    )
    nocol = tmp_path / "nocol.csv"
    nocol.write_text("site,parameter,value\nTW02,NH3N,0.2\n", encoding="utf-8")
    result = runner.invoke(app, ["water", "import", str(bad), str(nocol), "--db", str(db)])
    assert result.exit_code == 0, result.output
    with Store(db, read_only=True) as store:
        rejected = store.rejected()
        stored = store.observations(sites=["TW02"], parameters=["TP"])
    reasons = dict(
        zip(rejected["reason_code"] + "|" + rejected["source"], rejected["reason"], strict=True)
    )
    assert "section NOPE is not a registered water section" in reasons["unknown_section|bad.csv"]
    slip = reasons["implausible_for_section|bad.csv"]
    assert "NH3N 850 mg/L at section TW02" in slip and "µg/L written as mg/L? (0.85 mg/L)" in slip
    assert "µg/m³" in reasons["unit_mismatch|bad.csv"]
    assert "missing column(s) ['time']" in reasons["unreadable_file|nocol.csv"]
    november = stored[stored["time"] >= pd.Timestamp("2025-11-01T00:00Z")]
    assert november["value"].tolist() == [pytest.approx(0.04)]


def test_cnemc_water_layout(tmp_path: Path) -> None:
    path = tmp_path / "cnemc.csv"
    path.write_text(
        "省份,流域,断面名称,监测时间,水质类别,水温(℃),pH(无量纲),溶解氧(mg/L),电导率(μS/cm),"
        "浊度(NTU),高锰酸盐指数(mg/L),氨氮(mg/L),总磷(mg/L),总氮(mg/L),叶绿素α(mg/L),"
        "藻密度(cells/L),站点情况\n"
        "四川省,长江流域,测试断面甲,10-21 08:00,Ⅱ,18.2,7.9,8.6,350,12,2.1,0.025L,0.05,1.2,"
        "0.004,120000,正常\n"
        "四川省,长江流域,测试断面甲,10-21 12:00,--,18.5,--,8.4,352,11,2.2,0.06,0.06,1.3,--,--,维护\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="--year"):
        read_cnemc_water(path)
    frame, meta = read_cnemc_water(path, year=2025)
    nh3n = frame[frame["parameter"] == "NH3N"].reset_index(drop=True)
    assert nh3n["value"].tolist() == [0.025, 0.06]
    assert nh3n["flag"].tolist() == ["L", "M"]  # below DL; station in maintenance
    assert nh3n["time"].iloc[0] == pd.Timestamp("2025-10-21T00:00Z")  # 08:00 CST
    chla = frame[frame["parameter"] == "Chla"]
    assert chla["value"].tolist() == [pytest.approx(4.0)]  # mg/L → mg/m³
    assert meta["missing"] == 2 and meta["not_imported"] == 1  # pH, Chla "--"
    assert set(frame["site_id"]) == {"测试断面甲"}
    assert set(frame["period"]) == {"4h"}


def test_cnemc_file_maps_section_names(db: Path, tmp_path: Path) -> None:
    path = tmp_path / "cnemc.csv"
    path.write_text(
        "断面名称,监测时间,氨氮(mg/L),总磷(mg/L)\n"
        "测试断面乙,2025-12-01 08:00,0.2,0.03\n"
        "没有的断面,2025-12-01 08:00,0.2,0.03\n",
        encoding="utf-8",
    )
    result = runner.invoke(
        app, ["water", "import", str(path), "--layout", "cnemc", "--db", str(db)]
    )
    assert result.exit_code == 0, result.output
    with Store(db, read_only=True) as store:
        got = store.observations(sites=["TW02"], periods=["4h"])
        rejected = store.rejected(source="cnemc.csv")
    assert sorted(got["parameter"]) == ["NH3N", "TP"]
    assert (rejected["reason_code"] == "unknown_section").sum() == 2


def test_demo_sections_and_data_are_deterministic_and_realistic() -> None:
    from ecobasin.demo import water as demo_water

    region = catalog.load_region()
    sections = demo_water.generate_sections(region)
    assert len(sections) >= 30 and set(sections["city_code"]) == set(region.cities)
    assert sections.equals(demo_water.generate_sections(region))
    features = {
        f["properties"]["code"]: f["geometry"] for f in catalog.boundaries(region)["features"]
    }
    from ecobasin.demo.region import points_in_geometry

    for row in sections.itertuples():
        assert points_in_geometry([row.lon], [row.lat], features[row.city_code])[0], row.site_id
    rivers = {a["river_zh"] for a in sections["attributes"]}
    assert {"岷江", "沱江", "府河", "青衣江", "大渡河", "球溪河", "绛溪河"} <= rivers
    subset = sections[sections["site_id"].isin(["DW06X02", "DW03P01"])]
    manual, auto = demo_water.generate_water(subset, year=2025, seed=7)
    again, _ = demo_water.generate_water(subset, year=2025, seed=7)
    pd.testing.assert_frame_equal(manual, again)
    assert set(auto["period"]) == {"4h"} and set(manual["period"]) == {"sample"}
    nh3n = manual[(manual["parameter"] == "NH3N") & (manual["site_id"] == "DW06X02")]
    month = nh3n["time"].dt.tz_convert("Asia/Shanghai").dt.month
    dry, wet = nh3n[month.isin([1, 2, 3])]["value"].mean(), nh3n[month.isin([7, 8])]["value"].mean()
    assert dry > 1.5 * wet  # dry-season peak, wet-season dilution
    means = manual.groupby(["site_id", "parameter"])["value"].mean().unstack()
    classes = water.classify(means[[c for c in means.columns if c in water.EVALUATED_ITEMS]])
    assert classes.loc["DW06X02", "class_num"] > 3  # fails its Class III target
    assert classes.loc["DW03P01", "class_num"] <= 2  # meets Class II
