"""PNG plots of the source-analysis methods (matplotlib, Agg backend; bilingual labels).

Every figure carries n per sector or bin, greys the sectors and bins under the minimum count and
prints the guardrail of B8 (``../shared/reference/nonroad_and_source.md``): these show a **likely
source direction 可能来源方向, not a source share**. North is up and directions run clockwise
(the direction the wind comes **from**). Functions return PNG bytes; the caller serves them.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ecobasin.forecast.plots import cjk_font, drawing_one_at_a_time
from ecobasin.sources.directional import sector_of
from ecobasin.sources.polar import PolarSurface

__all__ = [
    "CAPTION",
    "cpf_rose_png",
    "percentile_rose_png",
    "polar_png",
    "pollution_rose_png",
]

#: B8: the words every plot carries
CAPTION = "likely source direction 可能来源方向, not source share 非来源贡献占比"
_GREY = "#bdbdbd"


def _text(zh_en: str) -> str:
    """Keep the Chinese only when a CJK font is installed (never draw boxes)."""
    if cjk_font():
        return zh_en
    return " ".join("".join(ch for ch in zh_en if ord(ch) < 0x2E80).split())


def _figure(polar: bool = True) -> tuple[Any, Any]:
    from matplotlib import pyplot as plt
    from matplotlib.figure import Figure

    font = cjk_font()
    # a Figure of its own, not pyplot's registry of figures: the server renders plots in
    # several threads at once, and pyplot's registry is not safe across threads
    with plt.rc_context({"font.family": [font, "DejaVu Sans"] if font else ["DejaVu Sans"]}):
        fig = Figure(figsize=(7.2, 7.4))
        ax = fig.add_subplot(111, projection="polar" if polar else None)
    if polar:
        ax.set_theta_zero_location("N")  # type: ignore[attr-defined]
        ax.set_theta_direction(-1)  # type: ignore[attr-defined]
        ax.set_xticks(np.radians([0, 90, 180, 270]))
        ax.set_xticklabels([_text(t) for t in ("N 北", "E 东", "S 南", "W 西")])
        ax.tick_params(axis="x", pad=14)  # clear of the n written on the sectors' rim
    return fig, ax


def _finish(fig: Any, ax: Any, title: str, note: str) -> bytes:
    ax.set_title(_text(title), pad=22)
    fig.text(0.5, 0.035, _text(note), ha="center", fontsize=8.5, color="#444444")
    fig.text(0.5, 0.01, _text(CAPTION), ha="center", fontsize=10, weight="bold", color="#b2182b")
    font = cjk_font()
    for item in fig.findobj(lambda o: hasattr(o, "set_fontfamily")):
        item.set_fontfamily([font, "DejaVu Sans"] if font else ["DejaVu Sans"])
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return buf.getvalue()


def _n_labels(ax: Any, sectors: Sequence[float], counts: Sequence[int], radius: float) -> None:
    for sector, count in zip(sectors, counts, strict=True):
        ax.text(np.radians(sector), radius, f"{count}", ha="center", va="center", fontsize=6.5)


@drawing_one_at_a_time
def pollution_rose_png(
    wd: np.ndarray,
    conc: np.ndarray,
    *,
    title: str,
    unit: str,
    breaks: Sequence[float] = (0, 35, 75, 115, 150, 250),
    angle: float = 30.0,
    min_n: int = 10,
) -> bytes:
    """The pollution rose (B2): share of hours [%] per ``angle`` sector stacked by concentration
    class (default the GB 3095/HJ 633 PM2.5 breakpoints [µg/m³]); sectors under ``min_n`` grey."""
    from matplotlib import colormaps

    sectors = sector_of(wd, angle)
    edges = [*breaks, np.inf]
    classes = np.digitize(conc, edges[1:-1], right=True)
    centres = np.arange(angle, 360.0 + angle / 2, angle)
    total = len(conc)
    fig, ax = _figure()
    bottom = np.zeros(centres.size)
    colours = colormaps["YlOrRd"](np.linspace(0.15, 0.95, len(breaks)))
    counts = np.array([(sectors == c).sum() for c in centres])
    for k in range(len(breaks)):
        share = np.array([((sectors == c) & (classes == k)).sum() for c in centres]) * 100 / total
        colour = [colours[k] if n >= min_n else _GREY for n in counts]
        label = f"{edges[k]:g}–{edges[k + 1]:g}" if np.isfinite(edges[k + 1]) else f">{edges[k]:g}"
        ax.bar(np.radians(centres), share, width=np.radians(angle) * 0.9, bottom=bottom,
               color=colour, edgecolor="white", label=label)  # fmt: skip
        bottom += share
    _n_labels(ax, centres.tolist(), counts.tolist(), float(bottom.max()) * 1.08)
    ax.legend(title=f"[{unit}]", loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8)
    note = f"n = {total} h; bar = share of hours 小时占比 [%]; n per sector 各扇区样本数; grey: n < {min_n}"
    return _finish(fig, ax, title, note)


@drawing_one_at_a_time
def percentile_rose_png(rose: pd.DataFrame, *, title: str, unit: str, min_n: int = 10) -> bytes:
    """The percentile rose: each type-7 percentile [conc unit] per sector as a closed line; the
    sectors under ``min_n`` hours marked grey."""
    fig, ax = _figure()
    columns = [c for c in rose.columns if c.startswith("p")]
    theta = np.radians(np.append(rose["sector"], rose["sector"].iloc[:1]))
    for column in columns:
        ax.plot(theta, np.append(rose[column], rose[column].iloc[:1]), lw=1.4, label=column.upper())
    top = float(rose[columns].to_numpy().max()) * 1.1
    thin = rose[rose["n"] < min_n]
    ax.bar(np.radians(thin["sector"]), top, width=np.radians(10), color=_GREY, alpha=0.5)
    _n_labels(ax, rose["sector"].tolist(), rose["n"].tolist(), top)
    ax.legend(title=f"[{unit}]", loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8)
    note = f"percentiles by sector 分扇区百分位数; n per sector 各扇区样本数; grey: n < {min_n}"
    return _finish(fig, ax, title, note)


@drawing_one_at_a_time
def cpf_rose_png(
    table: pd.DataFrame, *, title: str, threshold: float, unit: str, min_n: int
) -> bytes:
    """CPF per sector (B3) as bars [1]; sectors with n < ``min_n`` (CPF NA) drawn grey."""
    fig, ax = _figure()
    sectors = table.index.astype(float)
    width = np.radians(360.0 / max(len(table), 36))
    thin = table["n"] < min_n
    top = max(float(table["cpf"].max(skipna=True) or 0.0), 0.05) * 1.25  # scale to the data
    heights = np.where(thin, top * 0.1, table["cpf"].fillna(0.0))
    colours = [_GREY if t else "#d6604d" for t in thin]
    ax.bar(np.radians(sectors), heights, width=width, color=colours, edgecolor="white")
    ax.set_ylim(0, top)
    _n_labels(ax, sectors.tolist(), table["n"].tolist(), top * 0.95)
    note = (
        f"CPF = m/n, C > {threshold:.1f} {unit}; n per sector 各扇区样本数; grey: n < {min_n} (NA)"
    )
    return _finish(fig, ax, title, note)


@drawing_one_at_a_time
def polar_png(
    bins: pd.DataFrame,
    surface: PolarSurface,
    *,
    title: str,
    label: str,
    min_bin: int,
) -> bytes:
    """The bivariate polar plot (B5) or CBPF surface: the smoothed surface over u/v [m/s], the
    bins under ``min_bin`` as grey dots, the n of the busiest bins written on them."""
    from matplotlib.patches import Circle

    fig, ax = _figure(polar=False)
    mesh = ax.pcolormesh(surface.axis, surface.axis, surface.z, cmap="turbo", shading="auto")
    fig.colorbar(mesh, ax=ax, shrink=0.8, label=_text(label))
    thin = bins["weight"].isna()
    # n per bin: an open circle of area ∝ n on every bin; bins under min_bin grey and filled
    area = 60.0 * bins["n"] / max(int(bins["n"].max()), 1)
    ax.scatter(bins["u"][~thin], bins["v"][~thin], s=area[~thin], facecolors="none",
               edgecolors="#222222", linewidths=0.4, alpha=0.5)  # fmt: skip
    ax.scatter(bins["u"][thin], bins["v"][thin], s=8, color=_GREY, label=f"n < {min_bin}")
    busiest = bins.iloc[int(np.argmax(bins["n"].to_numpy()))]
    ax.annotate(f"n = {int(busiest['n'])}", (busiest["u"], busiest["v"]), xytext=(12, -14),
                textcoords="offset points", fontsize=7, arrowprops={"arrowstyle": "-", "lw": 0.5})  # fmt: skip
    for radius in np.linspace(0, surface.upper, 4)[1:]:
        ax.add_patch(Circle((0, 0), radius, fill=False, lw=0.5, ls=":", color="#555555"))
        ax.text(radius * 0.71, radius * 0.71, f"{radius:.0f} m/s", fontsize=7, color="#333333")
    ax.set_aspect("equal")
    ax.set_xlim(-surface.upper, surface.upper)
    ax.set_ylim(-surface.upper, surface.upper)
    ax.set_xlabel(_text("← W 西    wind from 风向来自    E 东 →"))
    ax.set_ylabel(_text("← S 南        N 北 →"))
    n_total = int(bins["n"].sum())
    note = (
        f"n = {n_total} h in {len(bins)} bins 个分箱; circle area ∝ n per bin 圆面积表示样本数; "
        f"grey dots: n < {min_bin}"
    )
    return _finish(fig, ax, title, note)
