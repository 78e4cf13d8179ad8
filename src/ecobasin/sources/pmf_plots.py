"""Figures of a PMF solution (brief ``../shared/reference/nonroad_and_source.md`` B7), PNG or SVG
bytes from matplotlib's Agg backend with bilingual labels: the factor profiles (one bar chart per
factor, species on x: the concentration F [unit per unit contribution] as bars on a log axis and
the factor's share of each species [%] as dots, as EPA PMF 5 draws them) and the contributions
over the samples, stacked (each factor's mass G·ΣF [unit]).

Every figure says that the factors are statistical and named by the analyst from their marker
species (B7: "name factors from marker species"), not sources the model identified.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd

from ecobasin.forecast.plots import cjk_font, drawing_one_at_a_time

__all__ = ["FACTOR_CAPTION", "pmf_contributions_figure", "pmf_profiles_figure", "species_share"]

#: the words every PMF figure carries
FACTOR_CAPTION = (
    "因子为统计结果，由分析人员依据标识组分命名 · factors are statistical, named by the analyst "
    "from their marker species"
)
FORMATS = ("png", "svg")
#: decades of concentration under a factor's largest value drawn on its log axis
LOG_DECADES_SHOWN = 4


def _text(zh_en: str) -> str:
    """Keep the Chinese only when a CJK font is installed (never draw boxes)."""
    if cjk_font():
        return zh_en
    return " ".join("".join(ch for ch in zh_en if ord(ch) < 0x2E80).split())


def species_share(profiles: pd.DataFrame, contributions: pd.DataFrame) -> pd.DataFrame:
    """Each factor's share of each species' modelled total [%]: F_kj·ΣG_k / Σ_k F_kj·ΣG_k."""
    mass = profiles.mul(contributions.sum(axis=0).reindex(profiles.index), axis=0)
    total = mass.sum(axis=0).replace(0.0, np.nan)
    return (100.0 * mass / total).fillna(0.0)


def _pyplot() -> Any:
    from matplotlib import pyplot as plt

    return plt


def _save(fig: Any, title: str, fmt: str) -> bytes:
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r}: one of {', '.join(FORMATS)}")
    plt = _pyplot()
    fig.suptitle(_text(title))
    # below the axes' labels: the tight bounding box grows to take it
    fig.text(0.5, -0.01, _text(FACTOR_CAPTION), ha="center", va="top", fontsize=9.5,
             weight="bold", color="#b2182b")  # fmt: skip
    font = cjk_font()
    for item in fig.findobj(lambda o: hasattr(o, "set_fontfamily")):
        item.set_fontfamily([font, "DejaVu Sans"] if font else ["DejaVu Sans"])
    buf = io.BytesIO()
    with plt.rc_context({"svg.fonttype": "none"}):  # SVG text stays text: searchable, CJK kept
        fig.savefig(buf, format=fmt, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


@drawing_one_at_a_time
def pmf_profiles_figure(
    profiles: pd.DataFrame, contributions: pd.DataFrame, *, title: str, fmt: str = "png"
) -> bytes:
    """One panel per factor: F as bars (log axis) and the factor's share of each species as
    dots on a second axis [%]."""
    plt = _pyplot()
    shares = species_share(profiles, contributions)
    species = list(profiles.columns)
    fig, axes = plt.subplots(len(profiles), 1, figsize=(max(7.0, 0.45 * len(species)), 2.3 * len(profiles) + 1), sharex=True, squeeze=False)  # fmt: skip
    x = np.arange(len(species))
    for ax, factor in zip(axes[:, 0], profiles.index, strict=True):
        values = profiles.loc[factor].to_numpy(dtype=float)
        floor = max(values.max(), 1e-12) / 10.0**LOG_DECADES_SHOWN
        ax.bar(x, np.where(values > floor, values, np.nan), color="#4393c3")
        ax.set_yscale("log")
        ax.set_ylim(bottom=floor)  # numerical zeros (1e-20) would squash the real ones
        ax.set_ylabel(_text("浓度 conc."), fontsize=8)
        twin = ax.twinx()
        twin.plot(x, shares.loc[factor].to_numpy(), "o", color="#d6604d", markersize=4)
        twin.set_ylim(0, 105)
        twin.set_ylabel(_text("占该组分 % of species"), fontsize=8)
        ax.set_title(_text(f"{factor} 因子"), fontsize=9, loc="left")
    axes[-1, 0].set_xticks(x, species, rotation=60, fontsize=8)
    axes[-1, 0].set_xlabel(_text("组分 species"))
    return _save(fig, title, fmt)


@drawing_one_at_a_time
def pmf_contributions_figure(
    contributions: pd.DataFrame, profiles: pd.DataFrame, *, title: str, fmt: str = "png"
) -> bytes:
    """Each factor's modelled mass per sample, G_ik·Σ_j F_kj [unit], stacked in sample order."""
    plt = _pyplot()
    mass = contributions.mul(profiles.sum(axis=1).reindex(contributions.columns), axis=1)
    fig, ax = plt.subplots(figsize=(10, 4.2))
    x = np.arange(len(mass))
    ax.stackplot(x, mass.to_numpy(dtype=float).T, labels=list(mass.columns), alpha=0.85)
    step = max(1, len(mass) // 12)
    ax.set_xticks(x[::step], [str(s) for s in mass.index[::step]], rotation=45, fontsize=7)
    ax.set_xlabel(_text("样品 sample"))
    ax.set_ylabel(_text("因子贡献 factor contribution (mass)"))
    ax.legend(loc="upper left", fontsize=8, ncol=min(6, len(mass.columns)))
    ax.set_xlim(0, max(1, len(mass) - 1))
    return _save(fig, title, fmt)
