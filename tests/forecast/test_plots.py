"""PNG plots: valid images, Chinese labels in a CJK font (a missing glyph would warn, and
warnings are errors in this suite)."""

from __future__ import annotations

import pandas as pd

from ecobasin.forecast.backtest import backtest
from ecobasin.forecast.models import GBMConfig
from ecobasin.forecast.plots import _text, cjk_font, score_by_lead_png, series_png

PNG = b"\x89PNG\r\n\x1a\n"


def test_series_and_score_plots_render(region_data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    daily, met = region_data
    cfg = GBMConfig(leads=(1, 2), rounds=30, num_leaves=7)
    # PM2.5 alone: the plots' plumbing (pairs and scores of every model) needs one pollutant
    pm25 = daily[["city", "day", "PM2.5"]]
    result = backtest(pm25, met, test_from="2015-01-01", test_to="2015-03-31", config=cfg)
    series = series_png(result.pairs, city="510100", lead=1, title="test")
    scores = score_by_lead_png(result.scores, title="test")
    assert series.startswith(PNG) and len(series) > 10_000
    assert scores.startswith(PNG) and len(scores) > 10_000


def test_chinese_is_kept_only_with_a_cjk_font() -> None:
    label = _text("observed 实况")
    if cjk_font() is None:
        assert label == "observed"
    else:
        assert "CJK" in cjk_font() or "Han" in cjk_font() or "Hei" in cjk_font()
        assert label == "observed 实况"
