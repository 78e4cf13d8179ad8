"""GB/T 8170 rounding (brief §1.2, §3.4; HJ 633-2026 §4.2.2)."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ecobasin.standards.rounding import round_gbt8170


def _ref(x: float, d: int) -> float:
    return float(Decimal(str(x)).quantize(Decimal(10) ** -d, ROUND_HALF_EVEN))


def test_gbt8170_examples_brief_1_2() -> None:
    # 35.5 -> 36 (5 then nothing, 5 is odd -> up to even 36); 36.5 -> 36; 2.25 -> 2.2
    assert round_gbt8170(35.5) == 36.0
    assert round_gbt8170(36.5) == 36.0
    assert round_gbt8170(2.25, 1) == 2.2
    # 0.15 is stored as 0.1499999..., but its decimal is an exact tie -> even 0.2
    assert round_gbt8170(0.15, 1) == 0.2
    assert round_gbt8170(0.35, 1) == 0.4
    # a 5 followed by non-zero digits goes up: 2.251 -> 2.3
    assert round_gbt8170(2.251, 1) == 2.3


def test_gbt8170_nan_inf_and_vector() -> None:
    out = round_gbt8170(np.array([np.nan, np.inf, 1.45, 1e300]), 1)
    assert np.isnan(out[0]) and out[1] == np.inf and out[2] == 1.4 and out[3] == 1e300
    # one float at a time: the same values, and the sign of a zero as numpy.rint keeps it
    assert np.isnan(round_gbt8170(np.nan, 1)) and round_gbt8170(-np.inf, 2) == -np.inf
    assert round_gbt8170(1.45, 1) == 1.4 and round_gbt8170(1e300, 1) == 1e300
    assert str(round_gbt8170(-0.4)) == "-0.0" and str(round_gbt8170(-0.04, 1)) == "0.0"


@settings(max_examples=3000, deadline=None)
@given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False), st.integers(0, 3))
def test_gbt8170_equals_decimal_any_float(x: float, d: int) -> None:
    assert round_gbt8170(x, d) == _ref(x, d)


@settings(max_examples=3000, deadline=None)
@given(st.integers(-(10**7), 10**7), st.integers(0, 3))
def test_gbt8170_equals_decimal_on_decimal_ties(k: int, d: int) -> None:
    # x = k.5 * 10**-d exactly in decimal: the float lands a hair off the tie
    x = float(Decimal(2 * k + 1) / 2 * Decimal(10) ** -d)
    assert round_gbt8170(x, d) == _ref(x, d)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(min_value=0, max_value=1e4, allow_nan=False), min_size=1, max_size=50),
    st.integers(0, 2),
)
def test_gbt8170_vector_equals_scalar(xs: list[float], d: int) -> None:
    vec = round_gbt8170(np.array(xs), d)
    assert list(vec) == [_ref(x, d) for x in xs]
