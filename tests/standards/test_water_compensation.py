"""Cross-boundary compensation by a versioned agreement (brief §4 default rule set)."""

from __future__ import annotations

import pandas as pd
import pytest

from ecobasin.standards import water


def _rows(**cols: list[object]) -> pd.DataFrame:
    base: dict[str, list[object]] = {
        "section_id": ["S1"],
        "period": ["2025-10"],
        "upstream": ["成都"],
        "downstream": ["眉山"],
        "target_class": ["III"],
        "CODMn": [7.2],
        "NH3N": [1.5],
        "TP": [0.18],
    }
    base.update(cols)
    return pd.DataFrame(base)


def test_default_agreement_is_versioned_and_marked_unverified() -> None:
    ag = water.agreement()
    assert ag.label == "ecobasin-default@2025.1" and not ag.verified
    assert ag.factors == ("CODMn", "NH3N", "TP")


def test_multiple_method_worked_example() -> None:
    # brief §4: Class III target, CODMn 7.2, NH3-N 1.5, TP 0.18; B = 500 000 each
    # m = (7.2−6)/6 = 0.2, (1.5−1)/1 = 0.5, 0 → D = 0.7 × 500 000 = 350 000 CNY
    res = water.compensate(_rows()).iloc[0]
    assert res["deduction_cny"] == pytest.approx(350_000)
    assert (res["payer"], res["payee"]) == ("成都", "眉山")
    assert (res["CODMn_limit"], res["NH3N_limit"], res["TP_limit"]) == (6.0, 1.0, 0.2)
    assert res["rule_set"] == "ecobasin-default" and res["rule_set_version"] == "2025.1"


def test_flow_method() -> None:
    ag = water.load_agreement({**water.agreement().raw, "method": "flow", "version": "test-flow"})
    res = water.compensate(_rows(flow_m3_s=[10.0]), ag).iloc[0]
    # V = 10 m³/s × 31 d × 86 400 s = 26 784 000 m³
    # CODMn: 1.2 g/m³ × V × 1e-3 = 32 140.8 kg × 20 = 642 816; NH3-N: 0.5 × V × 1e-3 = 13 392 kg
    # × 200 = 2 678 400; TP meets → total 3 321 216 CNY
    assert res["deduction_cny"] == pytest.approx(3_321_216)
    assert res["rule_set_version"] == "test-flow" and res["method"] == "flow"


def test_award_for_classes_better_than_target() -> None:
    # all factors meet III and the section is Class I → k = 2 → 2 × 300 000, downstream pays
    res = water.compensate(_rows(CODMn=[1.9], NH3N=[0.1], TP=[0.02])).iloc[0]
    assert res["classes_better"] == 2 and res["award_cny"] == 600_000
    assert (res["payer"], res["payee"]) == ("眉山", "成都")


def test_settlement_nets_flows_between_two_cities() -> None:
    rows = pd.concat(
        [
            _rows(),  # 成都 → 眉山 350 000
            _rows(
                section_id=["S2"],
                upstream=["眉山"],
                downstream=["成都"],
                CODMn=[6.6],
                NH3N=[1.0],
                TP=[0.2],
            ),  # 眉山 → 成都 0.1 × 500 000
        ],
        ignore_index=True,
    )
    table = water.settlement(water.compensate(rows), "year")
    assert len(table) == 1
    row = table.iloc[0]
    assert (row["period"], row["payer"], row["payee"]) == ("2025", "成都", "眉山")
    assert row["amount_cny"] == pytest.approx(300_000)
    assert row["gross_payee_to_payer"] == pytest.approx(50_000)


def test_bad_inputs_are_named() -> None:
    with pytest.raises(ValueError, match="missing columns"):
        water.compensate(_rows().drop(columns=["TP"]))
    with pytest.raises(ValueError, match="no TP value"):
        water.compensate(_rows(TP=[None]))
    with pytest.raises(ValueError, match="unknown method"):
        water.load_agreement({**water.agreement().raw, "method": "guess"})


def test_fund_split_chishui_pattern() -> None:
    # brief §4: 200 M, contributions 1:5:4, allocations 3:4:3
    res = water.fund_split(200e6, {"YN": 1, "GZ": 5, "SC": 4}, {"YN": 3, "GZ": 4, "SC": 3})
    assert res["contribution"] == pytest.approx({"YN": 20e6, "GZ": 100e6, "SC": 80e6})
    assert res["allocation"] == pytest.approx({"YN": 60e6, "GZ": 80e6, "SC": 60e6})
    assert res["net"]["GZ"] == pytest.approx(-20e6)


def test_xinan_index() -> None:
    # P = 0.85 × (1.05 + 0.95 + 1.10 + 1.00)/4 = 0.85 × 1.025 = 0.87125 ≤ 1 → downstream pays
    res = water.xinan_index([1.05, 0.95, 1.10, 1.00])
    assert res["P"] == pytest.approx(0.87125) and res["payer"] == "downstream"
