"""Charts of the consultation reports, drawn on the server (matplotlib, Agg) as PNG.

The PDF and the HTML report carry the same picture inline (``data:image/png;base64``, by
:func:`ecobasin.services.pdf.data_uri`), so the stored report needs nothing else to be read.
Chinese labels use the CJK font that :func:`ecobasin.forecast.plots.cjk_font` finds (Noto Sans
CJK SC from ``fonts-noto-cjk``).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Mapping
from typing import Any

from ecobasin.forecast.plots import cjk_font, drawing_one_at_a_time
from ecobasin.workflow.consultation import AQI_LEVEL_TOPS, DayForecast

__all__ = ["consensus_chart_png"]

#: HJ 633-2012 Appendix A level colours (excellent … severe).
_LEVEL_COLOURS = ("#00E400", "#FFFF00", "#FF7E00", "#FF0000", "#99004C", "#7E0023")


#: charts kept drawn (each ~0.1 MB of PNG): drafting and signing a report draw the same chart
_CHARTS_KEPT = 16

_ConsensusItems = tuple[tuple[tuple[int, int], DayForecast], ...]


def consensus_chart_png(
    consensus: Mapping[tuple[int, int], DayForecast],
    names: Mapping[int, str],
    cities: tuple[int, ...],
    lead_days: int,
    title: str,
) -> bytes:
    """One small panel per city: the consensus AQI range [AQI] of each lead day as a bar from
    low to high over the HJ 633 level bands (Table 1 of HJ 633-2012: 50/100/150/200/300).

    The same figures give the same PNG [bytes], drawn once (~1 CPU-s) and then kept: the
    opinion drafted and then signed shows the same chart.
    """
    return _consensus_chart(
        tuple(sorted(consensus.items())),
        tuple(names.get(city, str(city)) for city in cities),
        tuple(cities),
        lead_days,
        title,
    )


@functools.lru_cache(maxsize=_CHARTS_KEPT)
@drawing_one_at_a_time
def _consensus_chart(
    consensus_items: _ConsensusItems,
    city_names: tuple[str, ...],
    cities: tuple[int, ...],
    lead_days: int,
    title: str,
) -> bytes:
    """:func:`consensus_chart_png` of hashable arguments: the consensus as sorted items and
    each city's panel title, in the order of ``cities``."""
    from matplotlib import pyplot as plt

    consensus = dict(consensus_items)

    font = cjk_font()
    family = [font, "DejaVu Sans"] if font else ["DejaVu Sans"]
    cols = 4
    rows = max(1, -(-len(cities) // cols))
    with plt.rc_context({"font.family": family, "font.size": 8}):
        fig, axes = plt.subplots(rows, cols, figsize=(10, 2.2 * rows), squeeze=False, sharey=True)
        top = max([f.aqi_high for f in consensus.values()] + [150])
        for ax, city, name in zip(axes.flat, cities, city_names, strict=False):
            _city_panel(ax, city, consensus, lead_days, top)
            ax.set_title(name if font else str(city))
        for ax in list(axes.flat)[len(cities) :]:
            ax.set_visible(False)
        fig.suptitle(title if font else "Consensus AQI range by lead day")
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _city_panel(
    ax: Any, city: int, consensus: Mapping[tuple[int, int], DayForecast], days: int, top: int
) -> None:
    bottoms = (0, *AQI_LEVEL_TOPS)
    for low, high, colour in zip(bottoms, (*AQI_LEVEL_TOPS, 500), _LEVEL_COLOURS, strict=True):
        if low < top + 20:
            ax.axhspan(low, min(high, top + 20), color=colour, alpha=0.18, linewidth=0)
    for day in range(1, days + 1):
        f = consensus.get((city, day))
        if f is not None:
            ax.bar(day, f.aqi_high - f.aqi_low or 2, bottom=f.aqi_low, width=0.6, color="#335")
    ax.set_xlim(0.4, days + 0.6)
    ax.set_ylim(0, top + 20)
    ax.set_xticks(range(1, days + 1))
