"""Emission limits as data (catalog/data/emission/): the numbers of the standards, checked by
hand against the clauses cited in limits.csv, and the permit-limit checks."""

from __future__ import annotations

import pandas as pd
import pytest

from ecobasin import catalog
from ecobasin.catalog import emission


def limit(category: str, parameter: str) -> float:
    rows = catalog.emission_limits(category)
    return float(rows.loc[rows["parameter"] == parameter, "limit"].iloc[-1])


@pytest.mark.parametrize(
    ("category", "parameter", "value"),
    [
        # 超低排放 (发改能源〔2014〕2093号, 环发〔2015〕164号): 10 / 35 / 50 mg/m³ at 6 % O2
        ("coal_boiler_ultra_low", "FG_dust_Zs", 10),
        ("coal_boiler_ultra_low", "FG_SO2_Zs", 35),
        ("coal_boiler_ultra_low", "FG_NOx_Zs", 50),
        # GB 13223-2011 Table 1, coal-fired boilers: SO2 new 100 / existing 200, NOx 100
        ("thermal_power_coal_new", "FG_SO2_Zs", 100),
        ("thermal_power_coal_existing", "FG_SO2_Zs", 200),
        ("thermal_power_coal_new", "FG_NOx_Zs", 100),
        # GB 13271-2014 Table 2, new gas-fired boilers: SO2 50, NOx 200
        ("industrial_boiler_gas_new", "FG_SO2_Zs", 50),
        ("industrial_boiler_gas_new", "FG_NOx_Zs", 200),
        # GB 18918-2002 Table 1 Class 1A: COD 50, BOD5 10, SS 10, TN 15, NH3-N 5, TP 0.5
        ("municipal_wwtp_1a", "COD", 50),
        ("municipal_wwtp_1a", "NH3N", 5),
        ("municipal_wwtp_1a", "TP", 0.5),
        ("municipal_wwtp_1a", "TN", 15),
    ],
)
def test_standard_values(category: str, parameter: str, value: float) -> None:
    assert limit(category, parameter) == value


def test_reference_oxygen_and_basis() -> None:
    rows = catalog.emission_limits()
    flue = rows[rows["parameter"].str.endswith("_Zs")]
    assert set(flue["basis"]) == {"1h"} and flue["reference_o2"].notna().all()
    water = rows[~rows["parameter"].str.endswith("_Zs")]
    assert set(water["basis"]) == {"1d"} and water["reference_o2"].isna().all()
    by_category = flue.groupby("source_category")["reference_o2"].first()
    assert by_category["coal_boiler_ultra_low"] == 6  # GB 13223-2011: coal boilers 6 %
    assert by_category["thermal_power_gas_turbine"] == 15  # gas turbines 15 %
    assert by_category["industrial_boiler_coal_new"] == 9  # GB 13271-2014: coal 9 %


def test_every_row_names_its_source_and_unverified_rows_say_why() -> None:
    rows = catalog.emission_limits()
    assert (rows["standard_id"] != "").all() and (rows["clause"] != "").all()
    unverified = rows[~rows["verified"]]
    assert len(unverified) > 0 and (unverified["note"].str.len() > 0).all()
    assert set(unverified[unverified["standard_id"] == "DB51/2311-2016"]["parameter"]) == {
        "COD", "NH3N", "TN", "TP",
    }  # fmt: skip
    categories = catalog.source_categories()
    assert set(rows["source_category"]) <= set(categories.index)
    assert (categories["name_zh"] != "").all() and (categories["name_en"] != "").all()


def test_rules_name_their_source() -> None:
    rules = catalog.alarm_rules()
    assert rules.min_coverage == 0.75 and rules.flag_hours["D"] == 2
    assert rules.silent_multiple == 3 and rules.interval_s("water_section") == 14400
    assert "HJ 212-2017" in rules.sources["min_coverage"]
    assert "ecobasin default" in rules.sources["silent"]


def test_permit_rows_are_checked_and_bad_ones_named() -> None:
    frame = pd.DataFrame(
        [
            ("GAS1", "FG_SO2_Zs", "35000", "µg/m³", "", "P-1", ""),  # converted to 35 mg/m³
            ("GAS1", "FG_NOx_Zs", "50", "", "1h", "P-1", "permit"),
            ("NOPE", "FG_SO2_Zs", "35", "", "", "", ""),
            ("GAS1", "FG_XYZ", "35", "", "", "", ""),
            ("GAS1", "FG_dust_Zs", "-3", "", "", "", ""),
            ("GAS1", "FG_dust_Zs", "5", "mg/L", "", "", ""),
            ("GAS1", "FG_dust_Zs", "5", "", "8h", "", ""),
            ("GAS1", "FG_NOx_Zs", "40", "", "", "", ""),
        ],
        columns=list(emission.PERMIT_COLUMNS),
    )
    good, bad = emission.check_permit_limits(frame, {"GAS1"}, source="permits.csv")
    assert good[["parameter", "limit", "unit"]].values.tolist() == [
        ["FG_SO2_Zs", 35.0, "mg/m³"],
        ["FG_NOx_Zs", 50.0, "mg/m³"],
    ]
    assert bad["reason_code"].tolist() == [
        "unknown_site", "unknown_parameter", "bad_limit", "unit_mismatch", "bad_basis", "duplicate",
    ]  # fmt: skip
    assert bad["record_ref"].tolist() == [f"line {n}" for n in (4, 5, 6, 7, 8, 9)]
    assert "NOPE" in bad["reason"].iloc[0] and "FG_XYZ" in bad["reason"].iloc[1]
