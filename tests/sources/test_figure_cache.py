"""Figures drawn once per distinct input (ecobasin.services.figure_cache): a figure asked again
comes from the cache, a change of any input (a value read from the store, an option) draws it
anew, and the cache stays within its budget, least recently used dropped first."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest

from ecobasin.services import sources as service
from ecobasin.services.figure_cache import DigestCache, digest
from ecobasin.sources.wind import WindSeries


class Drawer:
    """A drawing that counts its calls and returns ``size`` bytes naming its key."""

    def __init__(self, size: int = 10) -> None:
        self.calls: list[str] = []
        self.size = size

    def __call__(self, name: str) -> bytes:
        self.calls.append(name)
        return name.encode().ljust(self.size, b".")


def test_a_figure_asked_again_is_not_drawn_again() -> None:
    cache, draw = DigestCache(budget=100), Drawer()
    first = cache.get_or_draw(b"a", lambda: draw("a"))
    again = cache.get_or_draw(b"a", lambda: draw("a"))
    other = cache.get_or_draw(b"b", lambda: draw("b"))
    assert (first, again, other) == (b"a.........", b"a.........", b"b.........")
    assert draw.calls == ["a", "b"]


def test_the_least_recently_used_figure_leaves_first_beyond_the_budget() -> None:
    cache, draw = DigestCache(budget=30), Drawer()
    for name in ("a", "b", "c"):
        cache.get_or_draw(name.encode(), functools.partial(draw, name))
    cache.get_or_draw(b"a", lambda: draw("a"))  # a used again: b is now the oldest
    cache.get_or_draw(b"d", lambda: draw("d"))  # 40 bytes > 30: b leaves
    assert len(cache) == 3
    cache.get_or_draw(b"a", lambda: draw("a"))
    cache.get_or_draw(b"b", lambda: draw("b"))
    assert draw.calls == ["a", "b", "c", "d", "b"]


def test_a_figure_over_the_budget_is_returned_and_not_kept() -> None:
    cache, draw = DigestCache(budget=5), Drawer(size=10)
    assert cache.get_or_draw(b"a", lambda: draw("a")) == b"a........."
    assert len(cache) == 0


def test_a_failed_drawing_keeps_nothing() -> None:
    cache = DigestCache()

    def fail() -> bytes:
        raise ValueError("no such method")

    with pytest.raises(ValueError, match="no such method"):
        cache.get_or_draw(b"a", fail)
    assert len(cache) == 0


def _frame(value: float) -> pd.DataFrame:
    times = pd.date_range("2025-01-01", periods=3, freq="h", tz="UTC")
    return pd.DataFrame({"time": times, "conc": [1.0, 2.0, value]})


def test_the_key_changes_with_any_value_name_or_option() -> None:
    key = digest(("rose", 75.0, _frame(3.0)))
    assert digest(("rose", 75.0, _frame(3.0))) == key
    changed = [
        digest(("rose", 75.0, _frame(3.5))),  # a value read from the store
        digest(("rose", 90.0, _frame(3.0))),  # an option
        digest(("cpf", 75.0, _frame(3.0))),  # the method
        digest(("rose", 75.0, _frame(3.0).rename(columns={"conc": "c"}))),  # a column's name
        digest(("rose", 75.0, _frame(3.0).set_index("time"))),  # the index
        digest(("rose", "75.0", _frame(3.0))),  # the same text, another type
        digest(("rose7", 5.0, _frame(3.0))),  # parts do not run into each other
    ]
    assert key not in changed
    assert len(set(changed)) == len(changed)


def _source_data(peak: float) -> service.SourceData:
    rng = np.random.default_rng(3)
    times = pd.date_range("2025-01-01", periods=240, freq="h", tz="UTC")
    frame = pd.DataFrame({
        "time": times, "conc": np.round(rng.gamma(2.0, 20.0, 240), 1),
        "ws": np.round(rng.gamma(2.0, 1.5, 240), 1), "wd": rng.integers(1, 37, 240) * 10.0,
    })  # fmt: skip
    frame.loc[frame["wd"] == 90.0, "conc"] = peak
    wind = WindSeries(frame[["time", "ws", "wd"]], "station", "OWN")
    return service.SourceData("OWN", "站OWN", "Station OWN", "PM2.5", "μg/m³", times[0],
                              times[-1], frame, wind)  # fmt: skip


def _served(data: service.SourceData) -> bytes:
    return service.plot_png(data, "rose", percentile=75.0, calm_ws=0.5, min_n=1, min_bin=1)


def _drawn(data: service.SourceData) -> bytes:
    return service._draw_plot(data, "rose", percentile=75.0, upper_percentile=None,
                              calm_ws=0.5, min_n=1, min_bin=1)  # fmt: skip


@pytest.mark.slow
def test_the_source_plot_is_drawn_anew_when_the_data_change() -> None:
    """The served plot is the drawn one, the same again, and another one when a value changed."""
    before, after = _source_data(peak=150.0), _source_data(peak=400.0)
    served = _served(before)
    assert served == _drawn(before)
    assert _served(before) == served
    changed = _served(after)
    assert changed != served
    assert changed == _drawn(after)
