"""PNG plots of forecasts and their scores (matplotlib, Agg backend; bilingual labels).

Chinese labels need a CJK font: the first of Noto Sans CJK SC / Noto Sans SC / Source Han Sans /
WenQuanYi that matplotlib's font manager finds is used; without one the labels fall back to
English only, never to boxes. Functions return the PNG bytes (the caller writes or serves them).
"""

from __future__ import annotations

import functools
import importlib
import io
import threading
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec, TypeVar

import numpy as np
import pandas as pd

__all__ = [
    "cjk_font",
    "drawing_one_at_a_time",
    "issue_png",
    "load_matplotlib",
    "score_by_lead_png",
    "series_png",
]

_CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "Noto Serif CJK SC",
)
#: HJ 633 level colours (Appendix A) for the background bands.
_LEVEL_BANDS = (
    (0, 50, "#00E400"),
    (50, 100, "#FFFF00"),
    (100, 150, "#FF7E00"),
    (150, 200, "#FF0000"),
    (200, 300, "#99004C"),
    (300, 500, "#7E0023"),
)
_MODEL_LABELS = {
    "lightgbm": "LightGBM 模型",
    "persistence": "persistence 持续性",
    "climatology": "climatology 气候态",
}
_METRIC_LABELS = {
    "pm25_rmse": "PM2.5 RMSE [µg/m³]",
    "o3_rmse": "O3-8h RMSE [µg/m³]",
    "aqi_rmse": "AQI RMSE",
    "level_acc": "level accuracy 级别准确率",
    "range_hit": "range hit rate 范围命中率",
    "ts_100": "TS (AQI > 100) 污染过程TS评分",
}


#: every part of matplotlib ecobasin draws with, imported together by load_matplotlib()
_MATPLOTLIB_PARTS = (
    "matplotlib.pyplot",
    "matplotlib.figure",
    "matplotlib.colors",
    "matplotlib.cm",
    "matplotlib.patches",
    "matplotlib.lines",
    "matplotlib.font_manager",
)
#: held while matplotlib is imported and while a chart is drawn (re-entrant: charts call helpers)
_MATPLOTLIB_LOCK = threading.RLock()
_P = ParamSpec("_P")
_R = TypeVar("_R")


def load_matplotlib() -> None:
    """Import matplotlib on the Agg backend, with every part ecobasin draws with, under a lock.

    matplotlib's submodules import each other in a cycle: two server threads importing them at
    the same moment each receive a partially initialised module (``ImportError: cannot import
    name 'Transform'``, then ``matplotlib has no attribute 'get_data_path'`` for the life of the
    process), and every chart fails with an HTTP 500. After the first call the imports are
    look-ups in ``sys.modules``.
    """
    with _MATPLOTLIB_LOCK:
        import matplotlib

        matplotlib.use("Agg")
        for part in _MATPLOTLIB_PARTS:
            importlib.import_module(part)


def drawing_one_at_a_time(draw: Callable[_P, _R]) -> Callable[_P, _R]:
    """Make ``draw`` (a function drawing a chart) load matplotlib first and draw alone.

    matplotlib's state is per process: pyplot numbers its figures in one registry and
    ``rc_context`` changes the global rcParams, so two server threads drawing at once could
    share a figure number or each other's fonts. A chart is CPU work under the GIL anyway, so
    drawing one at a time costs the server little.
    """

    @functools.wraps(draw)
    def alone(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with _MATPLOTLIB_LOCK:
            load_matplotlib()
            return draw(*args, **kwargs)

    return alone


@functools.cache
def cjk_font() -> str | None:
    """The family name of an installed CJK font matplotlib can use, or None."""
    load_matplotlib()
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    return next((f for f in _CJK_FAMILIES if f in names), None)


def _figure(rows: int = 1, cols: int = 1, size: tuple[float, float] = (11, 4.5)) -> Any:
    from matplotlib import pyplot as plt

    font = cjk_font()
    rc: dict[Any, Any] = {"font.family": [font, "DejaVu Sans"] if font else ["DejaVu Sans"]}
    with plt.rc_context(rc):
        fig, axes = plt.subplots(rows, cols, figsize=size, squeeze=False)
    for ax in axes.flat:
        for label in (*ax.get_xticklabels(), *ax.get_yticklabels()):
            label.set_fontfamily(rc["font.family"])
    return fig, axes


def _text(zh_en: str) -> str:
    """Keep the Chinese part only when a CJK font is available (never draw boxes)."""
    if cjk_font():
        return zh_en
    return "".join(ch for ch in zh_en if ord(ch) < 0x2E80).strip()


def _png(fig: Any) -> bytes:
    from matplotlib import pyplot as plt

    font = cjk_font()
    for text in fig.findobj(lambda o: hasattr(o, "set_fontfamily")):
        text.set_fontfamily([font, "DejaVu Sans"] if font else ["DejaVu Sans"])
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


@drawing_one_at_a_time
def series_png(
    pairs: pd.DataFrame,
    *,
    city: str,
    lead: int = 1,
    models: Sequence[str] = ("lightgbm", "persistence"),
    title: str = "",
) -> bytes:
    """Observed daily AQI and the forecasts of one lead, the first model with its range.

    Parameters
    ----------
    pairs : pandas.DataFrame
        From :func:`ecobasin.forecast.verify.pair_with_observations`.
    """
    sel = pairs[(pairs["city"].astype(str) == city) & (pairs["lead"] == lead)]
    fig, axes = _figure()
    ax = axes[0, 0]
    top = float(np.nanmax(sel[["aqi_upper", "obs_aqi"]].to_numpy())) if len(sel) else 100.0
    for lo, hi, colour in _LEVEL_BANDS:
        if lo < top * 1.05:
            ax.axhspan(lo, min(hi, top * 1.05), color=colour, alpha=0.12, lw=0)
    obs = sel[sel["model"] == models[0]].sort_values("target_day")
    ax.plot(obs["target_day"], obs["obs_aqi"], color="black", lw=1.2, label=_text("observed 实况"))
    for k, model in enumerate(models):
        m = sel[sel["model"] == model].sort_values("target_day")
        if m.empty:
            continue
        ax.plot(
            m["target_day"],
            m["aqi"],
            lw=1.0,
            ls="-" if k == 0 else "--",
            label=_text(_MODEL_LABELS.get(model, model)),
        )
        if k == 0:
            ax.fill_between(
                m["target_day"],
                m["aqi_lower"],
                m["aqi_upper"],
                alpha=0.25,
                label=_text("forecast range 预报范围"),
            )
    ax.set_ylabel("AQI")
    ax.set_title(_text(f"{title} AQI 日预报 daily forecast, day +{lead}, city {city}"))
    ax.legend(loc="upper right", fontsize=8)
    return _png(fig)


@drawing_one_at_a_time
def score_by_lead_png(
    scores: pd.DataFrame,
    metrics: Sequence[str] = ("pm25_rmse", "aqi_rmse", "level_acc", "range_hit", "ts_100"),
    title: str = "",
) -> bytes:
    """Scores by lead, one panel per metric, one line per model."""
    metrics = [m for m in metrics if m in scores]
    fig, axes = _figure(1, len(metrics), (3.4 * len(metrics), 3.4))
    for ax, metric in zip(axes[0], metrics, strict=True):
        for model, g in scores.groupby("model"):
            g = g.sort_values("lead")
            ax.plot(
                g["lead"],
                g[metric],
                marker="o",
                label=_text(_MODEL_LABELS.get(str(model), str(model))),
            )
        ax.set_xlabel(_text("lead 预报时效 [day]"))
        ax.set_title(_text(_METRIC_LABELS.get(metric, metric)), fontsize=9)
    axes[0][0].legend(fontsize=7)
    fig.suptitle(_text(f"{title} 预报评分 scores by lead"), y=1.05)
    return _png(fig)


@drawing_one_at_a_time
def issue_png(forecasts: pd.DataFrame, *, city: str, title: str = "") -> bytes:
    """The AQI forecasts of one issue day for one city: one line per model, the first (a
    LightGBM model) with its range, and a forecaster's adjusted range when there is one.

    Parameters
    ----------
    forecasts : pandas.DataFrame
        Stored forecast rows (``store.forecast.forecast_rows``) with parameter ``AQI``:
        ``scope_id``, ``target_day``, ``model``, ``value``, ``lower``, ``upper`` and optionally
        ``adjusted_lower``/``adjusted_upper``.
    """
    rows = forecasts[(forecasts["scope_id"].astype(str) == city)]
    rows = rows[rows["parameter"] == "AQI"].sort_values("target_day")
    fig, axes = _figure(size=(8, 4))
    ax = axes[0, 0]
    top = float(np.nanmax(rows["upper"].to_numpy())) if len(rows) else 100.0
    for lo, hi, colour in _LEVEL_BANDS:
        if lo < top * 1.1:
            ax.axhspan(lo, min(hi, top * 1.1), color=colour, alpha=0.12, lw=0)
    models = sorted(rows["model"].unique(), key=lambda m: (not str(m).startswith("lightgbm"), m))
    for k, model in enumerate(models):
        m = rows[rows["model"] == model]
        days = pd.to_datetime(m["target_day"])
        name = _MODEL_LABELS.get(str(model).split(":")[0], str(model))
        ax.plot(days, m["value"], marker="o", ls="-" if k == 0 else "--", label=_text(name))
        if k == 0:
            ax.fill_between(days, m["lower"], m["upper"], alpha=0.25, label=_text("range 预报范围"))
            if "adjusted_lower" in m and m["adjusted_lower"].notna().any():
                adj = m[m["adjusted_lower"].notna()]
                ax.errorbar(
                    pd.to_datetime(adj["target_day"]),
                    (adj["adjusted_lower"] + adj["adjusted_upper"]) / 2,
                    yerr=(adj["adjusted_upper"] - adj["adjusted_lower"]) / 2,
                    fmt="s",
                    color="black",
                    capsize=4,
                    label=_text("adjusted 人工订正"),
                )
    ax.set_ylabel("AQI")
    ax.set_title(_text(f"{title} AQI 预报 forecast, city {city}"))
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    return _png(fig)
