"""Maps of the source-analysis and bulletin figures (matplotlib, Agg backend; bilingual labels).

- :func:`cell_map_png`: PSCF or CWT per grid cell (brief ``../shared/reference/nonroad_and_source.md``
  B6) over the region's city boundaries, the receptor marked, cells under the minimum count
  greyed, and the B8 caption: these show **likely source regions 可能的潜在源区, not source
  shares**.
- :func:`station_map_png`: stations coloured by a class (e.g. the AQI level of their mean, HJ
  633-2012 Table 2) over the city boundaries, for the bulletins.

Boundaries are GeoJSON geometries (dicts, lon/lat) that the caller reads from the catalog; this
module draws, it reads no file. Functions return PNG bytes.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ecobasin.forecast.plots import cjk_font, drawing_one_at_a_time
from ecobasin.sources.plots import _text

__all__ = ["TRAJECTORY_CAPTION", "Outline", "bbox", "cell_map_png", "station_map_png"]

#: B8 for trajectory methods: where air arriving on polluted hours passed, not a share
TRAJECTORY_CAPTION = "likely source regions 可能的潜在源区, not source shares 非来源贡献占比"
_GREY = "#bdbdbd"


@dataclass(frozen=True)
class Outline:
    """A boundary to draw: its GeoJSON geometry, a label (or ''), and whether it is a city of
    the region (drawn dark) or context (drawn light)."""

    geometry: dict[str, Any]
    label: str = ""
    in_region: bool = True
    label_at: tuple[float, float] | None = None  # (lon, lat)


def _rings(geometry: dict[str, Any]) -> Iterable[np.ndarray]:
    """The outer and inner rings of a Polygon or MultiPolygon as (n, 2) lon/lat arrays."""
    polygons = (
        [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    )
    for polygon in polygons:
        for ring in polygon:
            yield np.asarray(ring, dtype=float)


def bbox(geometry: dict[str, Any]) -> tuple[float, float, float, float]:
    """(west, south, east, north) of a geometry [°]."""
    points = np.concatenate(list(_rings(geometry)))
    return (
        float(points[:, 0].min()), float(points[:, 1].min()),
        float(points[:, 0].max()), float(points[:, 1].max()),
    )  # fmt: skip


def _draw_outlines(ax: Any, outlines: Sequence[Outline]) -> None:
    """Each ring a line, added as ``ax.plot`` would add it: a map holds some hundred rings, and
    ``ax.plot``'s parsing of its arguments was a third of the map's drawing. The callers plot
    the receptor or the stations after, which asks for the same autoscaling ``ax.plot`` did."""
    from matplotlib.lines import Line2D

    for outline in outlines:
        colour, width = ("#333333", 0.9) if outline.in_region else ("#9e9e9e", 0.5)
        for ring in _rings(outline.geometry):
            ax.add_line(Line2D(ring[:, 0], ring[:, 1], color=colour, linewidth=width, zorder=3))
        if outline.label and outline.label_at is not None:
            ax.text(*outline.label_at, _text(outline.label), fontsize=7, ha="center",
                    va="center", color="#222222", zorder=5)  # fmt: skip


def _new_axes(size: tuple[float, float] = (8.0, 7.6)) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    # a Figure of its own, not pyplot's registry (not safe across the server's threads)
    fig = Figure(figsize=size)
    ax = fig.add_subplot(111)
    return fig, ax


def _save(fig: Any, ax: Any, title: str, notes: Sequence[tuple[str, str]]) -> bytes:
    """Title, notes under the map (text, colour) and the fonts; PNG bytes."""
    ax.set_title(_text(title), pad=12)
    ax.set_xlabel(_text("经度 longitude [°E]"))
    ax.set_ylabel(_text("纬度 latitude [°N]"))
    for row, (note, colour) in enumerate(notes):
        fig.text(0.5, 0.01 + 0.028 * (len(notes) - 1 - row), _text(note), ha="center",
                 fontsize=9, color=colour, weight="bold" if row == len(notes) - 1 else None)  # fmt: skip
    font = cjk_font()
    for item in fig.findobj(lambda o: hasattr(o, "set_fontfamily")):
        item.set_fontfamily([font, "DejaVu Sans"] if font else ["DejaVu Sans"])
    fig.subplots_adjust(bottom=0.08 + 0.028 * len(notes))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


@drawing_one_at_a_time
def cell_map_png(
    cells: pd.DataFrame,
    *,
    column: str,
    inc: float,
    title: str,
    value_label: str,
    receptor: tuple[float, float, str],
    outlines: Sequence[Outline],
    min_n: int = 1,
    probability: bool = False,
) -> bytes:
    """A map of ``cells`` (columns lat, lon [°, cell centres], N and ``column``) as ``inc`` ×
    ``inc`` squares; cells with N < ``min_n`` grey; the receptor (lon, lat, name) a star."""
    from matplotlib import colormaps
    from matplotlib.colors import Normalize
    from matplotlib.patches import Rectangle

    fig, ax = _new_axes()
    values = cells[column].astype(float)
    top = 1.0 if probability else float(np.nanmax(values)) if values.notna().any() else 1.0
    norm, cmap = Normalize(0.0, top or 1.0), colormaps["YlOrRd"]
    columns = (cells[c].to_numpy(float) for c in ("lon", "lat", "N"))
    for lon_c, lat_c, n, value in zip(*columns, values.to_numpy(), strict=True):
        low = n < min_n or not np.isfinite(value)
        face = _GREY if low else cmap(norm(value))
        corner = (float(lon_c) - inc / 2, float(lat_c) - inc / 2)
        ax.add_patch(Rectangle(corner, inc, inc, facecolor=face, edgecolor="white",
                               linewidth=0.2, zorder=2))  # fmt: skip
    _draw_outlines(ax, outlines)
    lon, lat, name = receptor
    ax.plot([lon], [lat], marker="*", markersize=14, color="#1f78b4", markeredgecolor="white",
            zorder=6)  # fmt: skip
    ax.annotate(_text(name), (lon, lat), xytext=(6, 6), textcoords="offset points", fontsize=8,
                zorder=6)  # fmt: skip
    west, east = cells["lon"].min() - inc, cells["lon"].max() + inc
    south, north = cells["lat"].min() - inc, cells["lat"].max() + inc
    ax.set_xlim(min(west, lon - inc), max(east, lon + inc))
    ax.set_ylim(min(south, lat - inc), max(north, lat + inc))
    ax.set_aspect(1.0 / np.cos(np.radians(lat)))
    bar = fig.colorbar(_mappable(norm, cmap), ax=ax, shrink=0.75)
    bar.set_label(_text(value_label))
    grey = f"灰色：端点数 N < {min_n} · grey: fewer than {min_n} endpoints in the cell"
    notes = [(grey, "#444444")] if min_n > 1 else []
    notes.append((TRAJECTORY_CAPTION, "#b2182b"))
    return _save(fig, ax, title, notes)


def _mappable(norm: Any, cmap: Any) -> Any:
    from matplotlib.cm import ScalarMappable

    mappable = ScalarMappable(norm=norm, cmap=cmap)
    mappable.set_array([])
    return mappable


@drawing_one_at_a_time
def station_map_png(
    stations: pd.DataFrame,
    *,
    title: str,
    outlines: Sequence[Outline],
    legend: Sequence[tuple[str, str]],
    note: str,
) -> bytes:
    """Stations (columns lon, lat, colour, label) as dots over the outlines; ``legend``: (colour,
    bilingual class name) in order; ``note`` under the map (what the colour means)."""
    from matplotlib.lines import Line2D

    fig, ax = _new_axes((8.0, 7.2))
    _draw_outlines(ax, outlines)
    placed = stations.dropna(subset=["lon", "lat"])
    ax.scatter(placed["lon"], placed["lat"], c=list(placed["colour"]), s=46,
               edgecolors="#222222", linewidths=0.6, zorder=6)  # fmt: skip
    handles = [
        Line2D([], [], marker="o", linestyle="", markerfacecolor=colour, markeredgecolor="#222222",
               label=_text(name))
        for colour, name in legend
    ]  # fmt: skip
    ax.legend(handles=handles, loc="lower left", fontsize=7.5, framealpha=0.9)
    boxes = [bbox(o.geometry) for o in outlines if o.in_region]
    if boxes:
        ax.set_xlim(min(b[0] for b in boxes) - 0.1, max(b[2] for b in boxes) + 0.1)
        ax.set_ylim(min(b[1] for b in boxes) - 0.1, max(b[3] for b in boxes) + 0.1)
    middle = float(placed["lat"].mean()) if not placed.empty else 30.0
    ax.set_aspect(1.0 / np.cos(np.radians(middle)))
    return _save(fig, ax, title, [(note, "#444444")])
