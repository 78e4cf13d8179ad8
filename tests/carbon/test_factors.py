"""The factor library: shipped defaults with sources, units checked by pint, user factors."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ecobasin.carbon import factors as fx
from ecobasin.errors import UnitError


def test_every_shipped_factor_has_its_source() -> None:
    lib = fx.default_library()
    assert len(lib) > 100
    for f in lib.all():
        assert f.publisher and f.document, f.id
        assert f.confidence in ("text", "mem", "verify"), f.id
        assert isinstance(f.value, Decimal) and f.value > 0, f.id
        if f.superseded_by:
            assert f.superseded_by in lib, f.id


def test_brief_values_are_shipped_exactly() -> None:
    lib = fx.default_library()
    # carbon brief §1.2 table and §1 heat default
    assert lib.get("grid.sichuan.2022.avg").value == Decimal("0.1404")
    assert lib.get("grid.sichuan.2023.avg").value == Decimal("0.1564")
    assert lib.get("grid.national.2022.avg").value == Decimal("0.5366")
    assert lib.get("grid.national.2023.avg").value == Decimal("0.5306")
    assert lib.get("grid.national.market.0570").kind == "market_reporting"
    assert lib.get("grid.national.market.0581").superseded_by == "grid.national.market.0570"
    assert lib.get("heat.cn.default").value == Decimal("0.11")
    assert str(lib.get("cn.ncv.natural_gas").value) == "389.31"  # the decimal text as given


def test_default_ef_at_stated_oxidation_matches_the_brief_table() -> None:
    # brief §1.1 "EF at that OF": diesel 3.096, gasoline 2.925, LPG 3.101 tCO2/t (3 decimals)
    lib = fx.default_library()
    for fuel, ef in (("diesel", "3.096"), ("gasoline", "2.925"), ("lpg", "3.101")):
        ncv, cc, of = (lib.get(f"cn.{k}.{fuel}").value for k in ("ncv", "cc", "of"))
        value = ncv / 1000 * cc * of * 44 / 12
        assert round(value, 3) == Decimal(ef), fuel


def test_units_registry_keeps_electricity_apart_from_heat() -> None:
    assert fx.convert(fx.quantity(1, "tce"), "GJ", "x") == Decimal("29.307")
    assert fx.convert(fx.quantity(2, "万千瓦时"), "MWh", "x") == Decimal(20)
    assert fx.convert(fx.quantity(1, "亩"), "ha", "x").quantize(Decimal("0.0001")) == Decimal(
        "0.0667"
    )
    with pytest.raises(UnitError, match=r"kWh .*cannot be converted to TJ"):
        fx.convert(fx.quantity(5, "kWh"), "TJ", "line 3")
    with pytest.raises(UnitError, match="unknown unit"):
        fx.quantity(1, "furlong")


def test_parse_factor_checks_kind_gas_and_units() -> None:
    good = {
        "id": "my.ef", "activity": "biogas", "kind": "emission_factor", "gas": "CH4",
        "value": "0.5", "numerator_unit": "kg", "denominator_unit": "Nm3",
    }  # fmt: skip
    f = fx.parse_factor(good)
    assert f.origin == "user" and f.per_unit.magnitude == Decimal("0.5")
    bad_cases = [
        ({**good, "kind": "magic"}, "unknown kind"),
        ({**good, "gas": "SF7"}, "unknown gas"),
        ({**good, "gas": ""}, "must name its gas"),
        ({**good, "value": "abc"}, "not a number"),
        ({**good, "numerator_unit": "GJ"}, "not a mass"),
        ({**good, "kind": "ncv", "numerator_unit": "t"}, "heat per unit"),
        ({**good, "kind": "oxidation", "numerator_unit": "t"}, "dimensionless"),
        ({**good, "denominator_unit": "parsec"}, "unknown unit"),
        ({**good, "activity": ""}, "activity"),
    ]
    for row, message in bad_cases:
        with pytest.raises(ValueError, match=message):
            fx.parse_factor(row)


def test_find_prefers_region_sector_and_year() -> None:
    lib = fx.default_library()
    assert fx.region_chain("CN-SC") == ("CN-SC", "CN", "*")
    ncv = lib.find("diesel", "ncv", factor_set="cn-enterprise", region="CN-SC")
    assert ncv is not None and ncv.id == "cn.ncv.diesel"  # national factor serves Sichuan
    ch4 = lib.find("raw_coal", "emission_factor", gas="CH4", sector="energy_industries")
    assert ch4 is not None and ch4.value == Decimal(1)
    assert lib.find("raw_coal", "emission_factor", gas="CH4", sector="transport") is None
    grid = lib.find("electricity", "statistical_average", region="CN-SC", year=2022)
    assert grid is not None and grid.id == "grid.sichuan.2022.avg"
    # a user factor with its own id joins the library; the same id replaces it
    mine = fx.parse_factor(
        {"id": "grid.sichuan.2024.mine", "activity": "electricity", "kind": "statistical_average",
         "gas": "CO2", "value": "0.15", "numerator_unit": "t", "denominator_unit": "MWh",
         "region": "CN-SC", "valid_from": 2024, "valid_to": 2024}
    )  # fmt: skip
    extended = lib.with_factors([mine])
    found = extended.find("electricity", "statistical_average", region="CN-SC", year=2024)
    assert found is not None and found.id == "grid.sichuan.2024.mine"


def test_gwp_sets_and_fuels() -> None:
    assert fx.gwp_sets() == ("SAR", "AR4", "AR5", "AR6")
    assert fx.gwp("SAR", "CH4") == 21 and fx.gwp("AR5", "N2O") == 265
    assert fx.gwp("AR6", "CH4") == Decimal("27.9")
    assert fx.fuel("柴油").id == fx.fuel("gas/diesel oil").id == "diesel"
    with pytest.raises(fx.FactorError, match="unknown fuel"):
        fx.fuel("unobtainium")
