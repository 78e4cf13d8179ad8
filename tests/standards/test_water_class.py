"""Single-factor classes and main pollutants (GB 3838-2002 Table 1; 环办〔2011〕22号 §二(一))."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecobasin.standards import water


@pytest.mark.parametrize(
    ("item", "value", "expected"),
    [
        ("COD", 15.0, 1),  # Table 1: I and II share 15 → the best class, I
        ("COD", 15.1, 3),
        ("COD", 40.0, 5),
        ("COD", 40.01, 6),  # worse than V → 劣V
        ("DO", 7.5, 1),  # DO is "not less than": 7.5 meets I
        ("DO", 7.49, 2),
        ("DO", 2.0, 5),
        ("DO", 1.99, 6),
        ("pH", 6.0, 1),  # pH 6–9 for every class, bounds inclusive
        ("pH", 9.0, 1),
        ("pH", 5.99, 6),
        ("pH", 9.01, 6),
        ("NH3N", 0.15, 1),
        ("NH3N", 0.151, 2),
        ("Hg", 0.0001, 3),
        ("Hg", 0.00011, 4),
        ("Cu", 0.011, 2),  # Cu: 0.01 / 1.0 / 1.0 / 1.0 / 1.0
        ("CN", 0.21, 6),  # CN III = IV = V = 0.2
    ],
)
def test_table1_boundaries(item: str, value: float, expected: int) -> None:
    assert water.item_class(item, value) == expected


def test_tp_river_and_lake_columns() -> None:
    # Table 1 item 8: rivers 0.02/0.1/0.2/0.3/0.4, 湖、库 0.01/0.025/0.05/0.1/0.2
    assert water.item_class("TP", 0.05, "river") == 2
    assert water.item_class("TP", 0.05, "lake") == 3
    assert water.item_class("TP", 0.05, "reservoir") == 3
    assert water.item_class("TP", 0.05, "河流型水库") == 2  # river-type reservoir → river rules
    assert water.item_class("TP", 0.25, "lake") == 6


def test_tn_has_lake_limits_only_and_never_sets_the_class() -> None:
    # Table 1 item 9 is for 湖、库; the 2011 method reports TN apart
    assert water.item_class("TN", 3.0, "river") == 0
    conc = pd.DataFrame({"TN": [1.2, 1.2], "TP": [0.02, 0.02]})
    res = water.classify(conc, ["lake", "river"])
    assert res["class_num"].tolist() == [2, 1]  # lake TP 0.02 ≤ 0.025 → II; river ≤ 0.02 → I
    assert res["TN_class"].tolist() == [4, 0]


def test_section_class_is_the_worst_item_and_lists_determining_items() -> None:
    conc = pd.DataFrame(
        {"DO": [8.0, 4.0], "CODMn": [5.0, 3.0], "NH3N": [0.9, 0.2], "FC": [50000, 10]}
    )
    res = water.classify(conc)
    # row 0: CODMn 5 → III, NH3N 0.9 → III, DO 8 → I; FC 劣V does not count (reported apart)
    assert res.loc[0, "class"] == "III" and res.loc[0, "determining"] == ["CODMn", "NH3N"]
    assert res.loc[0, "status_zh"] == "良好" and res.loc[0, "colour_en"] == "green"
    # row 1: DO 4 → IV (≥3) → 轻度污染, 黄色
    assert res.loc[1, "class"] == "IV" and res.loc[1, "colour_zh"] == "黄色"
    assert res["FC_class"].tolist() == [6, 1]


def test_missing_items_are_not_evaluated() -> None:
    res = water.classify(pd.DataFrame({"TP": [np.nan, 0.15], "DO": [np.nan, 9.0]}))
    assert res["class_num"].tolist() == [0, 3]
    assert res.loc[0, "determining"] == []


def test_status_and_colour_of_every_class() -> None:
    # 环办〔2011〕22号 Table 1 (断面水质定性评价)
    expected = [
        ("优", "蓝色"),
        ("优", "蓝色"),
        ("良好", "绿色"),
        ("轻度污染", "黄色"),
        ("中度污染", "橙色"),
        ("重度污染", "红色"),
    ]
    got = [(water.class_info(n).status_zh, water.class_info(n).colour_zh) for n in range(1, 7)]
    assert got == expected
    assert water.class_number("劣Ⅴ类") == 6 and water.class_number("Ⅲ") == 3
    with pytest.raises(ValueError, match="not a water class"):
        water.class_number("VII")


def test_exceed_multiple_is_exact_and_rounded_half_even() -> None:
    # (C − C_III)/C_III; GB/T 8170: 0.25 → 0.2, 0.35 → 0.4 (one decimal, the 办法's example)
    assert water.exceed_multiple("NH3N", 1.25, decimals=1) == 0.2
    assert water.exceed_multiple("NH3N", 1.35, decimals=1) == 0.4
    assert water.exceed_multiple("Pb", 0.06) == 0.2  # exact decimal, no 0.19999...
    assert water.exceed_multiple("TP", 0.075, "lake") == 0.5  # lake III = 0.05
    assert water.exceed_multiple("DO", 1.0) is None and water.exceed_multiple("pH", 10) is None


def test_main_pollutants_order_and_cap() -> None:
    conc = pd.DataFrame(
        [
            {
                "CN": 0.25,  # 劣V, priority (cyanide), multiple 0.25
                "COD": 45.0,  # 劣V, multiple 1.25
                "NH3N": 2.6,  # 劣V, multiple 1.6
                "TP": 0.5,  # 劣V, multiple 1.5
                "DO": 1.0,  # 劣V, no multiple
                "CODMn": 12.0,  # V
            }
        ]
    )
    picks = water.main_pollutants(conc).iloc[0]
    # 办法 §二(一)2: cyanide first, then by class and multiple, at most three
    assert [p["indicator"] for p in picks] == ["CN", "NH3N", "TP"]
    assert [p["multiple"] for p in picks] == [0.2, 1.6, 1.5]  # 0.25 → 0.2 (half-even)
    assert all(p["class"] == "劣V" for p in picks)


def test_items_without_multiple_rank_after_same_class_items() -> None:
    conc = pd.DataFrame([{"DO": 2.5, "CODMn": 11.0}])  # both V; CODMn multiple 0.83
    picks = water.main_pollutants(conc).iloc[0]
    assert [p["indicator"] for p in picks] == ["CODMn", "DO"]
    assert picks[1]["multiple"] is None
    assert water.display_pollutants(picks) == ["高锰酸盐指数(0.8)", "溶解氧"]


def test_good_sections_have_no_main_pollutants() -> None:
    picks = water.main_pollutants(pd.DataFrame([{"NH3N": 1.0, "TP": 0.2}])).iloc[0]
    assert picks == []  # Class III (良好): none named


def test_section_record_requires_an_item() -> None:
    with pytest.raises(ValueError, match="nothing to classify"):
        water.section_record({"SD": 1.2})


def test_unknown_water_body_is_named() -> None:
    with pytest.raises(ValueError, match="'sea'"):
        water.item_class("TP", 0.1, "sea")


_ITEMS = list(water.EVALUATED_ITEMS)


@given(
    item=st.sampled_from([i for i in _ITEMS if i != "pH"]),
    a=st.floats(0, 100, allow_nan=False),
    b=st.floats(0, 100, allow_nan=False),
    lake=st.booleans(),
)
def test_worse_concentration_never_gives_a_better_class(
    item: str, a: float, b: float, lake: bool
) -> None:
    wb = "lake" if lake else "river"
    lo, hi = sorted((a, b))
    worse, better = (lo, hi) if item == "DO" else (hi, lo)
    assert water.item_class(item, worse, wb) >= water.item_class(item, better, wb)


@given(
    st.lists(
        st.fixed_dictionaries(
            {i: st.floats(0, 50, allow_nan=False) for i in ("DO", "CODMn", "NH3N", "TP", "Pb")}
        ),
        min_size=1,
        max_size=20,
    )
)
def test_section_class_is_the_worst_item_class(rows: list[dict[str, float]]) -> None:
    conc = pd.DataFrame(rows)
    classes = water.item_classes(conc)
    assert (water.classify(conc)["class_num"] == classes.max(axis=1)).all()
