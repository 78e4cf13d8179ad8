"""Units of HJ 212 items (HJ 212-2017 Appendix B 表B.1/B.2): every meteorological, flue-gas state
and flow item, with a value as a device sends it, lands in the store's registry unit."""

from __future__ import annotations

import pytest

from ecobasin import catalog
from ecobasin.ingest.hj212 import build_segment, read_segment
from ecobasin.ingest.hj212.observations import message_observations
from ecobasin.ingest.validate import validate_observations

AIR = ("air", "met")
GAS = ("flue_gas",)
WATER = ("water",)

#: code, domains, value as sent, parameter, stored value [registry unit], Appendix B unit.
ITEMS = [
    ("a01001", AIR, "25.3", "temperature", 25.3, "°C"),
    ("a01002", AIR, "65.2", "humidity", 65.2, "%"),
    ("a01006", AIR, "95.62", "pressure", 956.2, "kPa"),  # 表B.2: kPa; stored in hPa
    ("a01007", AIR, "2.3", "wind_speed", 2.3, "m/s"),
    ("a01008", AIR, "135", "wind_direction", 135.0, "°"),
    ("a00000", GAS, "140.5", "FG_flow", 140.5, "m³/s"),
    ("a01011", GAS, "11.52", "FG_velocity", 11.52, "m/s"),
    ("a01012", GAS, "52.3", "FG_temp", 52.3, "°C"),
    ("a01013", GAS, "0.352", "FG_pressure", 0.352, "kPa"),
    ("a01014", GAS, "8.5", "FG_humidity", 8.5, "%"),
    ("a01017", GAS, "0.185", "FG_dynamic_pressure", 0.185, "kPa"),  # 表B.2 动压, 2005: S04
    ("a19001", GAS, "8.5", "FG_O2", 8.5, "%"),
    ("w00000", WATER, "24.35", "WW_flow", 24.35, "L/s"),
    ("w01010", WATER, "18.5", "WT", 18.5, "°C"),
]


def hourly(code: str, value: str):
    head = {"QN": "20240101100000000", "ST": "22", "CN": "2061", "PW": "1", "MN": "M", "Flag": "4"}
    return read_segment(
        build_segment(head, [("DataTime", "20240101100000"), (f"{code}-Avg", value)])
    )


@pytest.mark.parametrize(("code", "domains", "sent", "parameter", "stored", "unit"), ITEMS)
def test_item_as_sent_is_stored_in_the_registry_unit(
    code, domains, sent, parameter, stored, unit
) -> None:
    frame, skipped = message_observations(
        hourly(code, sent), site_id="S1", domains=domains, source_ref="raw:1"
    )
    assert skipped == []
    result = validate_observations(frame, {"S1"}, catalog.parameters())
    assert result.rejected.empty, result.rejected["reason"].tolist()
    (row,) = result.good.itertuples()
    assert row.parameter == parameter
    assert row.value == pytest.approx(stored, rel=1e-12)


@pytest.mark.parametrize(("code", "domains", "sent", "parameter", "stored", "unit"), ITEMS)
def test_registry_names_the_appendix_b_unit(code, domains, sent, parameter, stored, unit) -> None:
    registry = catalog.parameters()
    assert registry.loc[parameter, "hj212_2017"] == code
    assert catalog.canonical_unit_name(registry.loc[parameter, "hj212_unit"]) == unit


def test_conversion_is_data_and_identity_where_units_agree() -> None:
    assert catalog.hj212_unit_conversion("pressure") == pytest.approx((10.0, 0.0))
    assert catalog.hj212_unit_conversion("FG_pressure") is None
    assert catalog.hj212_unit_conversion("PM2.5") is None  # station reference data decides


def test_a_real_pressure_in_hpa_is_now_impossible() -> None:
    # 956.2 sent as if in hPa is 9562 hPa after the kPa conversion: rejected, with the reason
    frame, _ = message_observations(
        hourly("a01006", "956.2"), site_id="S1", domains=AIR, source_ref="raw:1"
    )
    result = validate_observations(frame, {"S1"}, catalog.parameters())
    assert result.good.empty
    assert "9562 hPa" in result.rejected["reason"].iloc[0]


def test_flue_gas_dynamic_pressure_is_decoded_from_both_code_tables() -> None:
    """a01017 (HJ 212-2017 表B.2) and its 2005 code S04 are the same parameter, in kPa."""
    assert catalog.parameter_for_code("a01017", GAS) == "FG_dynamic_pressure"
    assert catalog.parameter_for_code("S04", GAS) == "FG_dynamic_pressure"
    frame, skipped = message_observations(
        hourly("a01017", "-0.010"), site_id="S1", domains=GAS, source_ref="raw:1"
    )
    assert skipped == []
    result = validate_observations(frame, {"S1"}, catalog.parameters())
    assert result.good.empty  # a dynamic pressure below 0 kPa is impossible: kept aside
    assert "-0.01 kPa is impossible" in result.rejected["reason"].iloc[0]
