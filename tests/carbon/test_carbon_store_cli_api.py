"""``ecobasin carbon …`` against real DuckDB files, the stored tables (migration 8), the demo
inventory, and ``GET /api/v1/carbon/…`` over a real app."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from ecobasin import catalog
from ecobasin.cli import app
from ecobasin.demo import carbon as demo_carbon
from ecobasin.store import Store
from ecobasin.store import carbon as store_carbon
from ecobasin.web import create_app
from store_files import new_synced_store_file

runner = CliRunner()

ACTIVITY_CSV = """city,year,sector,activity,amount,unit,resold,subsector,note
成都,2022,energy_industries,天然气,100,10^4 Nm3,,grid_generation,gas plant
Chengdu,2022,manufacturing,原煤,1000,t,,,
510100,2022,commercial,electricity,10000,MWh,,,
510100,2022,transport,diesel,5,kWh,,,wrong unit for a fuel
510100,2022,transport,柴油,100,t,,,
510100,2022,economy,gdp,20000,亿元,,,
Atlantis,2022,transport,diesel,1,t,,,
510100,2023,commercial,electricity,5000,MWh,1000,,
510100,2023,economy,gdp,21000,亿元,,,
"""


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    """A new database as `ecobasin init` makes it (creating one is test_data_cli's)."""
    return new_synced_store_file(tmp_path / "carbon.duckdb")


def _import(db: Path, tmp_path: Path, *extra: str) -> str:
    path = tmp_path / "activity.csv"
    path.write_text(ACTIVITY_CSV, encoding="utf-8")
    result = runner.invoke(
        app, ["carbon", "inventory", "import", str(path), "--db", str(db), *extra]
    )
    assert result.exit_code == 0, result.output
    return result.output


def _report(db: Path, by: str, *extra: str) -> list[dict[str, object]]:
    args = ["carbon", "inventory", "report", "--by", by, "--format", "json", "--db", str(db)]
    result = runner.invoke(app, [*args, *extra])
    assert result.exit_code == 0, result.output
    records: list[dict[str, object]] = json.loads(result.stdout)
    return records


def test_import_compute_report(db: Path, tmp_path: Path) -> None:
    output = _import(db, tmp_path)
    assert "2 inventories" in output and "1 rows rejected" in output
    lines = _report(db, "line", "--year", "2022")
    by_line = {(r["line"], r["gas"]): r for r in lines}
    # line 3: 1000 t raw coal → 1900.2988488 t CO2 (hand computation in test_inventory)
    assert by_line[(3, "CO2")]["amount_t"] == pytest.approx(1900.2988488, abs=1e-9)
    assert by_line[(4, "CO2")]["co2e_t"] == 1404.0  # 10 000 MWh × Sichuan 2022 0.1404
    assert by_line[(2, "CO2")]["gpc_ref"] == "I.4.4" and by_line[(2, "CO2")]["basic"] is False
    assert (5, "CO2") not in by_line  # the kWh diesel line was rejected, not computed
    with Store(db, read_only=True) as store:
        rejected = store.rejected()
        inv = store_carbon.inventories(store, years=[2022]).iloc[0]
    reasons = dict(zip(rejected["record_ref"], rejected["reason_code"], strict=True))
    assert reasons == {"line 8": "unknown_city", "line 5": "unit_mismatch"}
    choice = json.loads(inv["electricity_choice"])
    assert choice["factor_id"] == "grid.sichuan.2022.avg" and choice["value"] == "0.1404"
    assert inv["gdp_10k_cny"] == 200_000_000 and inv["gdp_price_base"] == 2020
    # re-importing the same file changes nothing
    _import(db, tmp_path)
    assert _report(db, "line", "--year", "2022") == lines


def test_recompute_with_national_grid_factor_changes_scope2(db: Path, tmp_path: Path) -> None:
    _import(db, tmp_path)
    before = {r["scope"]: r["co2e_t"] for r in _report(db, "scope", "--year", "2022")}
    result = runner.invoke(
        app,
        ["carbon", "inventory", "compute", "--year", "2022", "--grid-factor",
         "grid.national.2022.avg", "--gwp", "SAR", "--db", str(db)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    after = {r["scope"]: r["co2e_t"] for r in _report(db, "scope", "--year", "2022")}
    assert before[2] == pytest.approx(1404.0) and after[2] == pytest.approx(5366.0)
    assert after[1] != before[1]  # SAR weights the coal plant's CH4/N2O differently
    bad = runner.invoke(
        app, ["carbon", "inventory", "compute", "--grid-factor", "nope", "--db", str(db)]
    )
    assert bad.exit_code == 1 and "unknown factor" in bad.output


def test_factors_add_and_list(db: Path, tmp_path: Path) -> None:
    _import(db, tmp_path)
    args = ["carbon", "factors", "add", "--id", "cd.grid.2024", "--activity", "electricity",
            "--kind", "statistical_average", "--value", "0.15", "--unit", "t/MWh",
            "--factor-region", "CN-SC", "--year", "2024", "--db", str(db)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    listed = runner.invoke(
        app,
        ["carbon", "factors", "list", "--activity", "电力", "--format", "json", "--db", str(db)],
    )
    rows = {r["id"]: r for r in json.loads(listed.stdout)}
    assert rows["cd.grid.2024"]["origin"] == "user" and rows["cd.grid.2024"]["value"] == "0.15"
    assert rows["grid.sichuan.2022.avg"]["document"].startswith("公告2024年第33号")
    wrong = runner.invoke(app, [*args[:-2], "--unit", "t/GJ", "--id", "x", "--db", str(db)])
    assert wrong.exit_code == 1 and "per kWh" in wrong.output
    clash = runner.invoke(app, [*args[:4], "heat.cn.default", *args[5:]])
    assert clash.exit_code == 1 and "shipped factor" in clash.output


def test_peak_command(db: Path, tmp_path: Path) -> None:
    _import(db, tmp_path)
    result = runner.invoke(app, ["carbon", "peak", "--format", "json", "--db", str(db)])
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.stdout)
    rows = {r["year"]: r for r in report["rows"]}
    # 2023: (5000 − 1000) MWh × 0.1564 = 625.6 t over GDP 2.1e8 10⁴ CNY
    assert Decimal(rows[2023]["co2_t"]) == Decimal("625.6")
    assert Decimal(rows[2023]["intensity_t_per_10k_cny"]) == Decimal("625.6") / 210_000_000
    assert report["peak"]["status"] == "rising" or report["peak"]["status"] == "plateau"


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = new_synced_store_file(tmp_path_factory.mktemp("carbon_demo") / "demo.duckdb")
    with Store(path) as store:
        counts = demo_carbon.install(store, catalog.load_region().cities)
    assert counts["failed_lines"] == 0 and counts["rejected"] == 0
    assert counts["inventories"] == 8 * len(demo_carbon.DEMO_YEARS)
    yield path


def test_demo_inventory_is_plausible(demo_db: Path) -> None:
    with Store(demo_db, read_only=True) as store:
        totals = store_carbon.yearly_totals(store)
        sinks = store_carbon.sinks(store)
    chengdu = totals[(totals.city_code == 510100) & (totals.year == 2020)].iloc[0]
    # sized near the brief's peak example (~50 Mt energy CO2 for ~1 770 bn CNY)
    assert 30e6 < chengdu.energy_co2_t < 60e6
    assert 0.15 < chengdu.energy_co2_t / chengdu.gdp_10k_cny < 0.35
    chengdu_2020 = sinks[(sinks.city_code == 510100) & (sinks.year == 2020)]
    # the 2020 report: "ecosystem carbon sink over 2 Mt" (forest + greenways here)
    assert 2e6 < chengdu_2020.removal_tco2.sum() < 2.5e6
    assert set(totals.city_code) == set(catalog.load_region().cities)


def test_sector_totals_match_lines(demo_db: Path) -> None:
    with Store(demo_db, read_only=True) as store:
        lines = store_carbon.emissions(store, [510600], [2021])
        sectors = store_carbon.sector_totals(store, [510600], [2021])
    by_sector = lines.groupby("sector")["co2e_t"].sum()
    merged = sectors.groupby("sector")["co2e_t"].sum()
    pd.testing.assert_series_equal(by_sector, merged, check_names=False)


@pytest.fixture(scope="module")
def client(demo_db: Path) -> Iterator[TestClient]:
    with TestClient(create_app(demo_db)) as test_client:
        yield test_client


def test_api_public_reads(client: TestClient) -> None:
    inv = client.get("/api/v1/carbon/inventories", params={"city": "成都"}).json()
    assert inv["count"] == len(demo_carbon.DEMO_YEARS)
    assert inv["results"][0]["electricity_choice"]["region"] == "CN-SC"
    sectors = client.get("/api/v1/carbon/emissions", params={"city": "Chengdu", "year": 2022})
    body = sectors.json()
    assert sectors.status_code == 200 and body["unit"] == "t CO2e"
    assert {"transport", "manufacturing"} <= {r["sector"] for r in body["results"]}
    assert all(r["sector_zh"] for r in body["results"])
    lines = client.get(
        "/api/v1/carbon/emissions", params={"city": "510100", "year": 2022, "by": "line"}
    ).json()
    assert all(isinstance(r["factor_ids"], list) and r["formula"] for r in lines["results"])
    factors = client.get("/api/v1/carbon/factors", params={"activity": "diesel"}).json()
    assert {r["id"] for r in factors["results"]} >= {"cn.ncv.diesel", "ipcc.ncv.diesel"}
    peak = client.get("/api/v1/carbon/peak", params={"city": "Chengdu"}).json()
    (chengdu,) = peak["results"]
    assert [r["year"] for r in chengdu["rows"]] == list(demo_carbon.DEMO_YEARS)
    assert chengdu["peak"]["status"] in ("rising", "plateau", "peaked")
    sinks = client.get("/api/v1/carbon/sinks", params={"city": "Ya'an", "year": 2023}).json()
    assert {r["sink_id"] for r in sinks["results"]} == {"forest", "greenways"}
    bad = client.get("/api/v1/carbon/emissions", params={"city": "Atlantis"})
    assert bad.status_code == 422
    assert client.get("/api/v1/carbon/factors", params={"kind": "magic"}).status_code == 422
