"""TLI(Σ) (环办〔2011〕22号 附件) and CWQI (环办监测〔2017〕51号), hand-computed."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from ecobasin.standards import water


def test_tli_weights_from_correlations() -> None:
    # W_j = r_j² / Σ r_j², Σ r² = 1 + 0.7056 + 0.6724 + 0.6889 + 0.6889 = 3.7558
    w = water.tli_weights()
    assert w["chla"] == pytest.approx(1 / 3.7558)
    assert w["TP"] == pytest.approx(0.7056 / 3.7558)
    assert sum(w.values()) == pytest.approx(1.0)


def test_tli_components_at_unit_concentrations() -> None:
    # ln 1 = 0 → TLI(j) = 10·a_j: 25, 94.36, 54.53, 51.18, 1.09
    res = water.tli(chla=1.0, tp=1.0, tn=1.0, sd=1.0, codmn=1.0).iloc[0]
    assert [round(res[f"TLI_{n}"], 2) for n in water.TLI_PARAMETERS] == [
        25.0,
        94.36,
        54.53,
        51.18,
        1.09,
    ]
    expected = (25 * 1 + 94.36 * 0.7056 + 54.53 * 0.6724 + 51.18 * 0.6889 + 1.09 * 0.6889) / 3.7558
    assert res["TLI"] == pytest.approx(expected)


def test_tli_chla_formula() -> None:
    # TLI(chla) = 10·(2.5 + 1.086·ln 10) = 25 + 10.86·2.302585 = 50.006
    res = water.tli(chla=10.0).iloc[0]
    assert res["TLI_chla"] == pytest.approx(25 + 10.86 * math.log(10))
    assert res["TLI"] == res["TLI_chla"]  # one parameter → weight 1
    assert res["level_zh"] == "轻度富营养"  # 50.006 > 50


@pytest.mark.parametrize(
    ("value", "level"),
    [(29.99, 1), (30.0, 2), (50.0, 2), (50.01, 3), (60.0, 3), (70.0, 4), (70.01, 5)],
)
def test_tli_level_bounds(value: float, level: int) -> None:
    # < 30 贫营养; 30–50 中营养; (50, 60] 轻度; (60, 70] 中度; > 70 重度富营养
    assert int(water.tli_level(value)[0]) == level


def test_cwqi_item_formulas() -> None:
    conc = pd.DataFrame({"pH": [6.5, 8.0, 7.0], "DO": [10.0, 2.5, 5.0], "TP": [0.1, 0.1, 0.1]})
    items = water.cwqi_items(conc, ["river", "river", "lake"])
    # pH ≤ 7: (7 − pH)/(7 − 6); pH > 7: (pH − 7)/(9 − 7); DO: 5/C; TP/0.2 (lake 0.05)
    assert items["pH"].tolist() == [0.5, 0.5, 0.0]
    assert items["DO"].tolist() == [0.5, 2.0, 1.0]
    assert items["TP"].tolist() == pytest.approx([0.5, 0.5, 2.0])
    assert water.cwqi_section(conc, "river").tolist() == pytest.approx([1.5, 3.0, 1.5])


def test_city_cwqi_weights_river_and_lake_by_counts() -> None:
    frame = pd.DataFrame(
        {
            "city": ["X", "X", "X", "Y"],
            "water_body": ["river", "river", "lake", "river"],
            "CWQI": [4.0, 6.0, 8.0, 3.0],
        }
    )
    res = water.cwqi_city(frame)
    # X: river mean 5 (M = 2), lake 8 (N = 1) → (5·2 + 8·1)/3 = 6
    assert res.loc["X", "CWQI_city"] == pytest.approx(6.0)
    assert res.loc["Y", "CWQI_city"] == 3.0 and res.loc["Y", "N"] == 0


def test_ranking_ascending_with_shared_ranks() -> None:
    ranking = water.cwqi_ranking({"甲": 4.5, "乙": 3.2, "丙": 4.5, "丁": 6.0})
    assert ranking["name"].tolist()[0] == "乙"
    assert ranking["rank"].tolist() == [1, 2, 2, 4]
    assert water.ties(ranking) == [sorted(["甲", "丙"])]


def test_cwqi_change_percent() -> None:
    # (4 − 5)/5 × 100 = −20 % (improvement)
    assert water.cwqi_change(4.0, 5.0) == pytest.approx(-20.0)
