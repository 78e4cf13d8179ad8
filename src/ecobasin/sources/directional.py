"""Where pollution at a station comes from, by wind direction and speed (查源头).

Brief ``../shared/reference/nonroad_and_source.md`` Part B: shared conventions B1 (type-7
percentiles, openair sector rounding, strict ">" thresholds, calms a parameter), the pollution
rose B2, CPF B3 (Ashbaugh, Malm & Sadeh 1985, Atmos. Environ. 19:1263), CBPF B4
(Uria-Tellaetxe & Carslaw 2014, Environ. Model. Softw. 59:1) and the binned steps of the
bivariate polar plot B5 (weights, u/v coordinates, the square-root transform). openair (R, GPL)
is the reference implementation of these methods; this module follows the formulas of the brief
and the papers, not its code.

Wind direction ``wd`` [°] is where the wind comes **from** (0/360 north); wind speed ``ws`` [m/s];
concentrations in the station's unit. These are **likely source directions**, never source
shares (B8).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ecobasin.errors import InputError

#: a series of numbers: a sequence or a numpy array
Values = Sequence[float] | np.ndarray

__all__ = [
    "CARDINAL",
    "Sectors",
    "bin_weights",
    "cbpf",
    "cpf",
    "percentile_type7",
    "pollution_rose",
    "sector_of",
    "sqrt_response",
    "wind_uv",
]


def percentile_type7(values: Values, p: float | Sequence[float]) -> np.ndarray:
    """Percentiles by R's ``quantile`` type 7 (numpy ``method="linear"``): h = (n−1)·p, linear
    between order statistics (B1). ``p`` in [%]."""
    array = np.asarray(values, dtype=float)
    array = array[np.isfinite(array)]
    if array.size == 0:
        raise InputError("no finite value to take a percentile of")
    shares = np.atleast_1d(np.asarray(p, dtype=float)) / 100.0
    if ((shares < 0) | (shares > 1)).any():
        raise InputError(f"percentiles must lie in [0, 100], got {p}")
    result: np.ndarray = np.quantile(array, shares, method="linear")
    return result


def sector_of(wd: Values, angle: float = 10.0) -> np.ndarray:
    """openair's sector of each direction: angle·⌈wd/angle − 0.5⌉ with 0 as 360, so the sector
    centred on c covers (c − angle/2, c + angle/2] and a half-way value rounds down (B1)."""
    if not (angle > 0 and 360.0 % angle == 0):
        raise InputError(f"sector angle {angle} must divide 360")
    directions = np.asarray(wd, dtype=float)
    bad = ~np.isfinite(directions) | (directions < 0) | (directions > 360)
    if bad.any():
        raise InputError(f"wind directions outside [0, 360]: {directions[bad][:5].tolist()}")
    sectors = angle * np.ceil(directions / angle - 0.5)
    return np.where(sectors == 0, 360.0, sectors)


@dataclass(frozen=True)
class Sectors:
    """Named direction sectors as half-open intervals (start, end] [°], wrapping through north."""

    names: tuple[str, ...]
    bounds: tuple[tuple[float, float], ...]

    def of(self, wd: np.ndarray) -> np.ndarray:
        """The sector name of each direction (None where none contains it)."""
        out = np.full(wd.shape, None, dtype=object)
        for name, (start, end) in zip(self.names, self.bounds, strict=True):
            wraps = start >= end  # through north: (315, 45]
            inside = ((wd > start) | (wd <= end)) if wraps else ((wd > start) & (wd <= end))
            out[inside & (out == None)] = name  # noqa: E711 (element-wise on an object array)
        return out


#: the four cardinal 90° sectors, each centred on its direction: N = (315, 45], …
CARDINAL = Sectors(
    ("N", "E", "S", "W"), ((315.0, 45.0), (45.0, 135.0), (135.0, 225.0), (225.0, 315.0))
)


def _labels(wd: np.ndarray, sectors: Sectors | float) -> np.ndarray:
    if isinstance(sectors, Sectors):
        return sectors.of(wd)
    return np.array([f"{s:g}" for s in sector_of(wd, float(sectors))], dtype=object)


def _valid(
    wd: Values, conc: Values, ws: Values | None, calm_ws: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """(wd, conc) of the valid non-calm hours and the calm share [1] (B1: calms a parameter)."""
    wd_a, c_a = np.asarray(wd, dtype=float), np.asarray(conc, dtype=float)
    if wd_a.shape != c_a.shape:
        raise InputError(f"{wd_a.size} directions but {c_a.size} concentrations")
    keep = np.isfinite(wd_a) & np.isfinite(c_a)
    calm = np.zeros_like(keep)
    if ws is not None:
        ws_a = np.asarray(ws, dtype=float)
        calm = keep & (ws_a < calm_ws)
    share = float(calm.sum() / keep.sum()) if keep.sum() else 0.0
    keep &= ~calm
    return wd_a[keep], c_a[keep], share


def pollution_rose(wd: Values, conc: Values, sectors: Sectors | float = 30.0) -> pd.DataFrame:
    """Per sector: n, prop_count_pct = 100·n_s/N (share of hours) and prop_mean_pct = 100·ΣC_s/ΣC
    (share of the overall mean carried by the sector) (B2)."""
    wd_a, c_a, _ = _valid(wd, conc, None, 0.0)
    labels = _labels(wd_a, sectors)
    frame = pd.DataFrame({"sector": labels, "conc": c_a}).dropna(subset=["sector"])
    total = float(frame["conc"].sum())
    grouped = frame.groupby("sector")["conc"].agg(["size", "sum"])
    return pd.DataFrame({
        "n": grouped["size"],
        "prop_count_pct": 100.0 * grouped["size"] / len(frame),
        "prop_mean_pct": 100.0 * grouped["sum"] / total if total else np.nan,
    })  # fmt: skip


def cpf(
    wd: Values,
    conc: Values,
    percentile: float = 75.0,
    sectors: Sectors | float = 10.0,
    ws: Values | None = None,
    calm_ws: float = 0.5,
    min_n: int = 1,
) -> tuple[float, pd.DataFrame, float]:
    """CPF per sector (B3): (threshold x, table of n, m, cpf, calm share [1]). x is the
    ``percentile`` of the whole valid series; m counts C > x (strict); sectors with n < ``min_n``
    get cpf NaN (not 0)."""
    wd_a, c_a, calm = _valid(wd, conc, ws, calm_ws)
    threshold = float(percentile_type7(c_a, percentile)[0])
    frame = pd.DataFrame({"sector": _labels(wd_a, sectors), "high": c_a > threshold})
    table = frame.dropna(subset=["sector"]).groupby("sector")["high"].agg(n="size", m="sum")
    table["cpf"] = np.where(table["n"] >= min_n, table["m"] / table["n"], np.nan)
    return threshold, pd.DataFrame(table), calm


def cbpf(
    wd: Values,
    ws: Values,
    conc: Values,
    percentile: float | Sequence[float] = 75.0,
    ws_edges: Sequence[float] = (0.0, 3.0, 6.0),
    sectors: Sectors | float | None = None,
) -> tuple[tuple[float, float | None], pd.DataFrame]:
    """CBPF per (direction, speed) bin (B4): m/n with m counting C > P (one percentile) or
    P_low < C ≤ P_high (two). Speed bins are [edge_i, edge_i+1); ``sectors`` None keeps each
    direction value as its own bin. Returns ((P_low, P_high or None), table of n, m, cbpf)."""
    wd_a, ws_a, c_a = (np.asarray(x, dtype=float) for x in (wd, ws, conc))
    if not (wd_a.shape == ws_a.shape == c_a.shape):
        raise InputError("wd, ws and conc must have the same length")
    levels = percentile_type7(c_a, percentile)
    if levels.size == 1:
        low, high = float(levels[0]), None
        hit = c_a > low
    else:
        low, high = float(levels[0]), float(levels[1])
        hit = (c_a > low) & (c_a <= high)
    edges = np.asarray(ws_edges, dtype=float)
    speed_bin = np.digitize(ws_a, edges, right=False) - 1
    inside = (speed_bin >= 0) & (speed_bin < len(edges) - 1)
    direction = (
        np.array([f"{d:g}" for d in wd_a], dtype=object)
        if sectors is None
        else _labels(wd_a, sectors)
    )
    names = [f"{edges[i]:g}-{edges[i + 1]:g}" for i in range(len(edges) - 1)]
    frame = pd.DataFrame({
        "bin": [f"{d}|{names[b]}" for d, b in zip(direction[inside], speed_bin[inside], strict=True)],
        "hit": hit[inside],
    })  # fmt: skip
    table = frame.groupby("bin", sort=False)["hit"].agg(n="size", m="sum")
    table["cbpf"] = table["m"] / table["n"]
    return (low, high), pd.DataFrame(table)


def bin_weights(
    counts: Sequence[int], weights: Sequence[float] = (0.25, 0.5, 0.75), min_bin: int = 1
) -> list[float | None]:
    """The GAM weight of each polar bin (B5 step 3): bins holding 1, 2, 3 … observations get
    ``weights`` in turn, fuller bins 1, bins under ``min_bin`` None (left out of the fit)."""
    out: list[float | None] = []
    for count in counts:
        if count < min_bin:
            out.append(None)
        elif 1 <= count <= len(weights):
            out.append(float(weights[count - 1]))
        else:
            out.append(1.0)
    return out


def sqrt_response(bin_means: Sequence[float], force_positive: bool = True) -> list[float]:
    """The response the surface is fitted to (B5 step 5): √mean when ``force_positive`` (the
    prediction is squared back, so it cannot be negative), else the mean."""
    means = np.asarray(bin_means, dtype=float)
    if force_positive and (means < 0).any():
        raise InputError("force_positive needs non-negative bin means")
    response: list[float] = (np.sqrt(means) if force_positive else means).tolist()
    return response


def wind_uv(ws: Values, wd: Values) -> np.ndarray:
    """Polar-plot coordinates (B5 step 4): u = ws·sin(π·wd/180), v = ws·cos(π·wd/180); a wind
    from the east plots at +u. Returns an (n, 2) array [m/s]."""
    speed, direction = np.asarray(ws, dtype=float), np.radians(np.asarray(wd, dtype=float))
    uv = np.column_stack([speed * np.sin(direction), speed * np.cos(direction)])
    return np.where(np.abs(uv) < 1e-12, 0.0, uv)


def parse_sectors(
    text: str | float | Mapping[str, Sequence[float]] | None,
) -> Sectors | float | None:
    """Sectors from their written forms: an angle (``10``), the cardinal four (``"N,E,S,W"``) or
    named intervals (``"N=(315,45], E=(45,135]"``)."""
    if text is None or isinstance(text, int | float):
        return None if text is None else float(text)
    if isinstance(text, Mapping):
        return Sectors(tuple(text), tuple((float(a), float(b)) for a, b in text.values()))
    named = [part.strip() for part in str(text).split("]") if "=" in part]
    if named:
        names, bounds = [], []
        for part in named:
            name, interval = part.lstrip(",").strip().split("=", 1)
            start, end = interval.strip().lstrip("(").split(",")
            names.append(name.strip())
            bounds.append((float(start), float(end)))
        return Sectors(tuple(names), tuple(bounds))
    if str(text).replace(" ", "").startswith("N,E,S,W"):
        return CARDINAL
    try:
        return float(str(text))
    except ValueError:
        raise InputError(f"cannot read sectors {text!r}") from None


def parse_edges(text: str | Sequence[float]) -> list[float]:
    """Speed-bin edges from ``"[0,3),[3,6)"`` or a list of edges."""
    if not isinstance(text, str):
        return [float(x) for x in text]
    edges: list[float] = []
    for part in text.replace(" ", "").split("),"):
        start, end = part.strip("[)").split(",")
        if not edges:
            edges.append(float(start))
        elif not math.isclose(edges[-1], float(start)):
            raise InputError(f"speed bins {text!r} are not contiguous")
        edges.append(float(end))
    return edges
