"""The inventory engine against hand computations from the formulas of the carbon brief §1
(NDRC enterprise guidelines: E = AD × NCV × CC × OF × 44/12; IPCC 2006 Vol.2 Ch.2 Tier 1;
purchased electricity and heat; GPC 2014 scopes and BASIC)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ecobasin.carbon import factors as fx
from ecobasin.carbon.inventory import (
    ActivityLine,
    InventorySettings,
    LineError,
    choose_grid_factor,
    compute_inventory,
    compute_line,
    totals,
)

CHENGDU_2022 = InventorySettings(city_code=510100, year=2022)


def _line(n: int, sector: str, activity: str, amount: str, unit: str, **kw: object) -> ActivityLine:
    return ActivityLine(n, sector, activity, Decimal(amount), unit, **kw)  # type: ignore[arg-type]


def _one(line: ActivityLine, settings: InventorySettings = CHENGDU_2022) -> dict[str, Decimal]:
    result = compute_inventory([line], settings)
    assert not result.errors, result.errors
    return {x.gas: x.amount_t for x in result.emissions if not x.notation}


def test_raw_coal_by_hand() -> None:
    # brief §1.1: 1000 t × 20.908 GJ/t = 20.908 TJ; × 26.37 tC/TJ = 551.34396 tC;
    # × 0.94 = 518.2633224 tC; × 44/12 = 1900.2988488 t CO2
    out = _one(_line(2, "manufacturing", "raw_coal", "1000", "t"))
    assert out["CO2"].quantize(Decimal("0.0000001")) == Decimal("1900.2988488")
    assert set(out) == {"CO2"}  # CH4/N2O: no manufacturing factor → NE, not invented


def test_natural_gas_in_10k_nm3_and_chinese_unit_word() -> None:
    # 100 × 10^4 Nm3 × 389.31 GJ/10^4 Nm3 = 38.931 TJ; × 15.3 × 0.99 × 44/12 = 2162.19 t
    a = _one(_line(2, "commercial", "natural_gas", "100", "10^4 Nm3"))
    b = _one(_line(2, "commercial", "natural_gas", "100", "万立方米"))
    expected = Decimal("38.931") * Decimal("15.3") * Decimal("0.99") * 44 / 12
    assert a["CO2"] == b["CO2"] == expected
    assert round(a["CO2"], 2) == Decimal("2162.19")


def test_energy_and_factor_ids_recorded_on_the_line() -> None:
    result = compute_inventory([_line(7, "transport", "diesel", "100", "t")], CHENGDU_2022)
    co2 = next(x for x in result.emissions if x.gas == "CO2")
    assert co2.energy_tj == Decimal("4.2652")
    assert co2.factor_ids == ("cn.ncv.diesel", "cn.cc.diesel", "cn.of.diesel")
    assert "42.652" in co2.formula and "44/12" in co2.formula
    assert {x.gas: x.notation for x in result.emissions} == {"CO2": "", "CH4": "NE", "N2O": "NE"}


def test_ipcc_tier1_with_ch4_n2o_and_gwp_sets() -> None:
    # IPCC 2006 Vol.2: 500 t = 0.5 Gg × 43.0 TJ/Gg = 21.5 TJ; CO2 21.5 × 74 100 kg = 1593.15 t;
    # CH4 21.5 × 3 kg = 0.0645 t; N2O 21.5 × 0.6 kg = 0.0129 t (energy industries, Table 2.2)
    line = _line(2, "energy_industries", "diesel", "500", "t")
    ipcc = InventorySettings(510100, 2022, gwp_set="AR5", factor_set="ipcc-2006")
    out = _one(line, ipcc)
    assert out == {"CO2": Decimal("1593.15"), "CH4": Decimal("0.0645"), "N2O": Decimal("0.0129")}
    co2e = {
        gwp: sum(x.co2e_t for x in compute_inventory([line], ipcc_set(ipcc, gwp)).emissions)
        for gwp in ("SAR", "AR5")
    }
    # AR5: 1593.15 + 0.0645 × 28 + 0.0129 × 265 = 1598.375; SAR: + 0.0645 × 21 + 0.0129 × 310
    assert co2e["AR5"] == Decimal("1598.3745")
    assert co2e["SAR"] == Decimal("1593.15") + Decimal("1.3545") + Decimal("3.999")


def ipcc_set(settings: InventorySettings, gwp: str) -> InventorySettings:
    return InventorySettings(settings.city_code, settings.year, gwp, settings.factor_set)


def test_grid_factor_choice_changes_scope2_as_expected() -> None:
    line = _line(3, "commercial", "electricity", "10000", "MWh")
    sichuan = compute_inventory([line], CHENGDU_2022)
    national = compute_inventory(
        [line], InventorySettings(510100, 2022, grid_factor_id="grid.national.2022.avg")
    )
    # brief §1.2: Sichuan 2022 0.1404, national 2022 0.5366 tCO2/MWh
    assert sichuan.emissions[0].amount_t == Decimal("1404")
    assert national.emissions[0].amount_t == Decimal("5366")
    assert sichuan.emissions[0].scope == national.emissions[0].scope == 2
    assert sichuan.electricity.factor_id == "grid.sichuan.2022.avg"
    assert national.electricity.note.startswith("chosen explicitly")
    ratio = national.emissions[0].amount_t / sichuan.emissions[0].amount_t
    assert Decimal("3.8") < ratio < Decimal("3.9")  # "moves scope 2 about 3.8-fold"


def test_grid_factor_year_fallback_is_noted() -> None:
    lib = fx.default_library()
    later = choose_grid_factor(lib, "CN-SC", 2025)
    earlier = choose_grid_factor(lib, "CN-SC", 2019)
    assert later.factor_id == "grid.sichuan.2023.avg" and "latest published" in later.note
    assert earlier.factor_id == "grid.sichuan.2021.avg" and "earliest published" in earlier.note
    beijing = choose_grid_factor(lib, "CN", 2022)
    assert beijing.factor_id == "grid.national.2022.avg"


def test_resold_electricity_and_market_factor() -> None:
    # (5000 − 1000) MWh × 0.1564 = 625.6 t (Sichuan 2023)
    out = _one(
        _line(2, "commercial", "electricity", "5000", "MWh", resold=Decimal(1000)),
        InventorySettings(510100, 2023),
    )
    assert out["CO2"] == Decimal("625.6")
    market = _one(
        _line(2, "commercial", "electricity", "2000000", "kWh"),
        InventorySettings(510100, 2023, grid_factor_id="grid.national.market.0570"),
    )
    assert market["CO2"] == Decimal("1140.6")  # 2000 MWh × 0.5703


def test_heat_and_steam() -> None:
    assert _one(_line(2, "manufacturing", "heat", "10000", "GJ"))["CO2"] == Decimal("1100")
    # 500 t × (2800 − 83.74) kJ/kg = 1 358 130 000 kJ = 1358.13 GJ; × 0.11 = 149.3943 t
    steam = _line(2, "manufacturing", "steam", "500", "t", enthalpy_kj_per_kg=Decimal(2800))
    assert _one(steam)["CO2"] == Decimal("149.3943")


def test_unit_error_names_the_line_and_units() -> None:
    # a factor in t/TJ applied to activity in kWh: refused, never converted at 3.6 MJ/kWh
    lib = fx.default_library().with_factors(
        [
            fx.parse_factor(
                {"id": "u.ef", "activity": "diesel", "kind": "emission_factor", "gas": "CO2",
                 "value": "74.1", "numerator_unit": "t", "denominator_unit": "TJ"}
            )
        ]
    )  # fmt: skip
    bad = _line(12, "transport", "steam_plant_x", "500", "kWh", factor_ids=("u.ef",))
    with pytest.raises(LineError) as info:
        compute_line(bad, CHENGDU_2022, lib, choose_grid_factor(lib, "CN-SC", 2022))
    text = str(info.value)
    assert text.startswith("line 12") and "u.ef" in text and "kWh" in text and "TJ" in text
    assert info.value.reason_code == "unit_mismatch"
    # a fuel given in kWh against its NCV in GJ/t
    fuel_in_kwh = _line(13, "transport", "diesel", "5", "kWh")
    result = compute_inventory(
        [fuel_in_kwh, _line(14, "transport", "diesel", "1", "t")], CHENGDU_2022
    )
    assert [e.line for e in result.errors] == [13]
    assert "cn.ncv.diesel" in str(result.errors[0]) and "[mass]" in str(result.errors[0])
    assert {x.line for x in result.emissions} == {14}  # the good line is still computed


def test_bad_lines_are_collected_not_dropped() -> None:
    lines = [
        _line(2, "nowhere", "diesel", "1", "t"),
        _line(3, "transport", "diesel", "1", "furlong"),
        _line(4, "transport", "lignite", "1", "t"),  # no cn-enterprise lignite factors
        _line(5, "commercial", "electricity", "1", "MWh", resold=Decimal(2)),
        _line(6, "transport", "diesel", "1", "t"),
    ]
    result = compute_inventory(lines, CHENGDU_2022)
    codes = {e.line: e.reason_code for e in result.errors}
    assert codes == {
        2: "unknown_sector",
        3: "unknown_unit",
        4: "no_factor",
        5: "negative_amount",
    }
    assert all(str(e).startswith(f"line {e.line}") for e in result.errors)


def test_gpc_totals_basic_excludes_grid_generation() -> None:
    lines = [
        _line(
            2, "energy_industries", "natural_gas", "100", "10^4 Nm3", subsector="grid_generation"
        ),
        _line(3, "commercial", "electricity", "10000", "MWh"),
        _line(4, "transport", "diesel", "100", "t"),
    ]
    result = compute_inventory(lines, InventorySettings(510100, 2022, gwp_set="AR5"))
    t = totals(result.emissions)
    gas_plant = sum(x.co2e_t for x in result.emissions if x.line == 2)
    diesel = sum(x.co2e_t for x in result.emissions if x.line == 4)
    assert t["scope"][2] == Decimal("1404")
    assert t["territorial"] == gas_plant + diesel  # scope 1 inside the boundary
    assert t["basic"] == diesel + Decimal("1404")  # GPC I.4.4 not in BASIC
    assert next(x for x in result.emissions if x.line == 2).gpc_ref == "I.4.4"
    assert ("transport", "CH4") in t["not_estimated"]


def test_unknown_gwp_set_fails_the_inventory() -> None:
    with pytest.raises(fx.FactorError, match="GWP set"):
        compute_inventory([], InventorySettings(510100, 2022, gwp_set="AR9"))
