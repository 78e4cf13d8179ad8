"""Single-factor classes (GB 3838-2002) and main pollutants (环办〔2011〕22号), vectorised.

A frame of concentrations has one row per section (or point, or period) and one column per item
id (``pH``, ``DO``, ``CODMn`` ... as in ``catalog/data/parameters.csv``); missing items are NaN
and simply not evaluated.

References
----------
.. [1] GB 3838-2002 Table 1.
.. [2] 环办〔2011〕22号 §一(一) (the 21 items), §二(一) (single-factor method, qualitative status,
   main pollutants).
.. [3] GB/T 8170-2008 §3 (rounding of reported multiples), §4.3 (full-value comparison with limits).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ecobasin.standards.water_tables import (
    CLASS_LABELS,
    EVALUATED_ITEMS,
    F64,
    ItemLimits,
    WaterBody,
    class_info,
    evaluation_rules,
    item_limits,
    normalise_water_body,
)

__all__ = [
    "STATUS_BY_CLASS",
    "classify",
    "display_pollutants",
    "exceed_multiple",
    "item_class",
    "item_classes",
    "lake_mask",
    "main_pollutants",
    "section_record",
]

I8 = npt.NDArray[np.int8]

#: Qualitative status 1..5 (优, 良好, 轻度, 中度, 重度污染) of classes 0..6 (0 = not evaluated).
STATUS_BY_CLASS = np.array([0, 1, 1, 2, 3, 4, 5], dtype=np.int8)


def _class_of(lim: ItemLimits, x: F64) -> I8:
    """Best class whose limit the value meets (boundaries inclusive); worse than V → 6; NaN → 0."""
    lims = np.asarray(lim.limits, dtype=np.float64)
    if lim.direction == "range":  # pH: one range for Classes I–V
        cls = np.where((x >= lims[0]) & (x <= lims[1]), 1, 6)
    elif lim.direction == "min":  # DO: not less than
        cls = 1 + (x[:, None] < lims[None, :]).sum(axis=1)
    else:  # not more than; COD 15 meets I because I and II share 15
        cls = 1 + (x[:, None] > lims[None, :]).sum(axis=1)
    return np.where(np.isnan(x), 0, cls).astype(np.int8)


def lake_mask(water_body: str | Sequence[str] | pd.Series, n: int) -> npt.NDArray[np.bool_]:
    """Boolean mask of lake/reservoir rows from one water-body name or one per row."""
    if isinstance(water_body, str) or water_body is None:
        return np.full(n, normalise_water_body(water_body) == "lake")
    names = list(water_body)
    if len(names) != n:
        raise ValueError(f"{len(names)} water-body values for {n} rows")
    lut = {v: normalise_water_body(v) == "lake" for v in set(names)}
    return np.array([lut[v] for v in names], dtype=bool)


def item_class(item: str, values: npt.ArrayLike, water_body: WaterBody | str = "river") -> I8 | int:
    """Class (1..6; 0 = missing or no limit) of one item's concentrations.

    Parameters
    ----------
    item : str
        Item id, e.g. ``"NH3N"``.
    values : float or array-like of float
        Concentrations [mg/L] (pH dimensionless, FC [count/L]).
    water_body : str, default "river"
        ``"river"`` or ``"lake"`` (reservoir); chooses the TP column; TN has limits for lakes only.

    Returns
    -------
    int or numpy.ndarray of int8

    References
    ----------
    .. [1] GB 3838-2002 Table 1; 劣V = worse than Class V.
    """
    x = np.atleast_1d(np.asarray(values, dtype=np.float64))
    lim = item_limits(normalise_water_body(water_body)).get(item)
    out = np.zeros(x.shape, dtype=np.int8) if lim is None else _class_of(lim, x)
    return int(out[0]) if np.ndim(values) == 0 else out


def item_classes(
    conc: pd.DataFrame, water_body: str | Sequence[str] | pd.Series = "river"
) -> pd.DataFrame:
    """Class of every item column with a GB 3838 limit (int8, 0 = missing), same index.

    Parameters
    ----------
    conc : pandas.DataFrame
        One row per section, one column per item [mg/L].
    water_body : str or sequence of str
        One water body for all rows or one per row.

    Returns
    -------
    pandas.DataFrame of int8
        Columns in the order of ``conc``; items without any limit are left out.
    """
    lake = lake_mask(water_body, len(conc))
    river_lims, lake_lims = item_limits("river"), item_limits("lake")
    out: dict[str, I8] = {}
    for item in conc.columns:
        if item not in river_lims and item not in lake_lims:
            continue
        x = pd.to_numeric(conc[item], errors="coerce").to_numpy(dtype=np.float64)
        cls = np.zeros(x.shape, dtype=np.int8)
        for lims, mask in ((river_lims, ~lake), (lake_lims, lake)):
            if item in lims and mask.any():
                cls[mask] = _class_of(lims[item], x[mask])
        out[str(item)] = cls
    return pd.DataFrame(out, index=conc.index)


def _evaluated_columns(classes: pd.DataFrame) -> list[str]:
    return [c for c in EVALUATED_ITEMS if c in classes.columns]


def classify(
    conc: pd.DataFrame, water_body: str | Sequence[str] | pd.Series = "river"
) -> pd.DataFrame:
    """Section class by the single-factor method, with status, colour and determining items.

    The class is the worst class among the evaluated items (the 21 of the 2011 method); TN and
    fecal coliform get their own class columns (``TN_class``, ``FC_class``) and never set it.

    Parameters
    ----------
    conc : pandas.DataFrame
        One row per section, one column per item [mg/L].
    water_body : str or sequence of str
        ``"river"`` / ``"lake"`` for all rows, or one per row.

    Returns
    -------
    pandas.DataFrame
        ``class_num`` (0 when no item was measured), ``class``, ``status_num`` (1 优 .. 5 重度污染),
        ``status_zh``, ``status_en``, ``colour_zh``, ``colour_en``, ``hex``, ``determining``
        (sorted list of the items at the section's class), ``n_items``, and
        ``TN_class`` / ``FC_class`` when measured.

    References
    ----------
    .. [1] 环办〔2011〕22号 §一(一)1 (21 items), §二(一)1 (单因子评价法, Table 1 status and colour).
    """
    classes = item_classes(conc, water_body)
    cols = _evaluated_columns(classes)
    grid = classes[cols].to_numpy(dtype=np.int8) if cols else np.zeros((len(conc), 0), np.int8)
    worst = grid.max(axis=1, initial=0).astype(np.int8)
    out = pd.DataFrame(index=conc.index)
    out["class_num"] = worst
    out["class"] = np.asarray(CLASS_LABELS, dtype=object)[worst]
    out["status_num"] = STATUS_BY_CLASS[worst]
    for key in ("status_zh", "status_en", "colour_zh", "colour_en", "hex"):
        lut = np.array([""] + [getattr(class_info(c), key) for c in range(1, 7)], dtype=object)
        out[key] = lut[worst]
    names = np.array(cols, dtype=object)
    hits = (grid == worst[:, None]) & (worst[:, None] > 0)
    out["determining"] = [sorted(names[row].tolist()) for row in hits]
    out["n_items"] = (grid > 0).sum(axis=1)
    for apart in evaluation_rules()["reported_apart"]:
        if apart in classes.columns:
            out[f"{apart}_class"] = classes[apart].to_numpy()
    return out


def _class3_limits(items: Sequence[str], lake: npt.NDArray[np.bool_]) -> F64:
    """Class III limit per row and item (lake TP 0.05 on lake rows); NaN where none."""
    ref = int(evaluation_rules()["main_pollutants"]["reference_class"])
    out = np.full((lake.size, len(items)), np.nan)
    for j, item in enumerate(items):
        for wb, mask in (("river", ~lake), ("lake", lake)):
            lim = item_limits(wb).get(item)
            if lim is not None and lim.direction == "max":
                out[mask, j] = lim.limit(ref)
    return out


def exceed_multiple(
    item: str, value: float, water_body: WaterBody | str = "river", decimals: int | None = None
) -> float | None:
    """Exceedance multiple over Class III, ``(C − C_III)/C_III`` (None for 水温, pH, DO).

    Computed in decimal arithmetic on the values as written, so a reported multiple is rounded
    exactly (GB/T 8170 half-even).

    Parameters
    ----------
    item : str
    value : float
        Concentration [mg/L].
    water_body : str, default "river"
        Lake rows use the lake TP limit 0.05.
    decimals : int, optional
        Round to this many decimals (GB/T 8170); default: unrounded.

    Returns
    -------
    float or None
        Negative when the value meets Class III.

    References
    ----------
    .. [1] 环办〔2011〕22号 §二(一)2 (超标倍数; not computed for 水温, pH and DO).
    """
    rules = evaluation_rules()["main_pollutants"]
    if item in rules["no_multiple"]:
        return None
    lim = item_limits(normalise_water_body(water_body)).get(item)
    if lim is None or lim.direction != "max":
        return None
    s = Decimal(lim.text[int(rules["reference_class"]) - 1])
    m = (Decimal(repr(float(value))) - s) / s
    if decimals is not None:
        m = m.quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_EVEN)
    return float(m)


@cache
def _names_zh() -> dict[str, str]:
    from ecobasin import catalog

    frame = catalog.parameters("water")
    return dict(zip(frame["parameter"], frame["name_zh"], strict=True))


def main_pollutants(
    conc: pd.DataFrame,
    water_body: str | Sequence[str] | pd.Series = "river",
    *,
    priority: Sequence[str] | None = None,
    max_items: int | None = None,
) -> pd.Series:
    """Main pollutants (主要污染指标) of each section, vectorised over rows.

    Sections rated 优/良好 (Class I–III) have none. Otherwise the items worse than Class III are
    ranked: cyanide and heavy metals first (configurable set), then by class (worst first), then
    by exceedance multiple (unrounded; items without one — pH, DO — after those with one), then by
    Table 1 order; at most three.

    Parameters
    ----------
    conc : pandas.DataFrame
        One row per section, one column per item [mg/L].
    water_body : str or sequence of str
    priority : sequence of str, optional
        Items named first when worse than Class III; default from ``evaluation.toml``.
    max_items : int, optional
        Default 3.

    Returns
    -------
    pandas.Series of list
        Per row, a list of ``{"indicator", "class", "multiple"}`` (multiple rounded per GB/T 8170
        to the method's one decimal; None for pH and DO).

    References
    ----------
    .. [1] 环办〔2011〕22号 §二(一)2 (断面主要污染指标): worse than Class III, worst three,
       cyanide and heavy metals 优先.
    """
    rules = evaluation_rules()["main_pollutants"]
    prio = set(rules["priority"] if priority is None else priority)
    cap = int(rules["max_items"] if max_items is None else max_items)
    ref = int(rules["reference_class"])
    decimals = int(rules["multiple_decimals"])
    lake = lake_mask(water_body, len(conc))
    classes = item_classes(conc, water_body)
    cols = _evaluated_columns(classes)
    if not cols:
        return pd.Series([[] for _ in range(len(conc))], index=conc.index, dtype=object)
    cls = classes[cols].to_numpy(dtype=np.int64)
    x = conc[cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    s3 = _class3_limits(cols, lake)
    no_mult = np.array([c in rules["no_multiple"] for c in cols])
    with np.errstate(invalid="ignore", divide="ignore"):
        mult = np.where(no_mult[None, :], np.nan, (x - s3) / s3)
    section_bad = cls.max(axis=1) > ref
    cand = (cls > ref) & section_bad[:, None]
    is_prio = np.array([c in prio for c in cols])[None, :] & cand
    order = np.broadcast_to(np.arange(len(cols)), cls.shape)
    keys = (order, -np.nan_to_num(mult, nan=0.0), np.isnan(mult), -cls, ~is_prio, ~cand)
    ranked = np.lexsort(keys, axis=-1)[:, :cap]
    lake_flags = lake.tolist()
    result: list[list[dict[str, Any]]] = []
    for i, row in enumerate(ranked):
        picks: list[dict[str, Any]] = []
        for j in row:
            if not cand[i, j]:
                break
            item = cols[j]
            m = exceed_multiple(item, x[i, j], "lake" if lake_flags[i] else "river", decimals)
            picks.append({"indicator": item, "class": CLASS_LABELS[cls[i, j]], "multiple": m})
        result.append(picks)
    return pd.Series(result, index=conc.index, dtype=object)


def display_pollutants(picks: Sequence[Mapping[str, Any]]) -> list[str]:
    """Display strings such as ``高锰酸盐指数(1.2)`` (办法 §二(一)2), pH/DO without a multiple."""
    names = _names_zh()
    out = []
    for p in picks:
        name = names.get(str(p["indicator"]), str(p["indicator"]))
        m = p.get("multiple")
        out.append(name if m is None else f"{name}({m})")
    return out


def section_record(
    concentrations: Mapping[str, float | None], water_body: WaterBody | str = "river"
) -> dict[str, Any]:
    """Class, status, colour, determining items and main pollutants of one section.

    Parameters
    ----------
    concentrations : mapping of item to float
        Period-mean concentrations [mg/L]; None or missing items are not evaluated; items
        outside Table 1 (SD, Chla ...) are ignored.
    water_body : str, default "river"

    Returns
    -------
    dict
        ``class``, ``class_num``, ``status`` (zh), ``status_en``, ``colour`` (zh), ``colour_en``,
        ``hex``, ``determining``, ``item_classes``, ``main_pollutants``,
        ``main_pollutants_display``, and ``TN_class`` / ``FC_class`` when measured.

    References
    ----------
    .. [1] GB 3838-2002 Table 1; 环办〔2011〕22号 §二(一).
    """
    row = {k: (np.nan if v is None else float(v)) for k, v in concentrations.items()}
    frame = pd.DataFrame([row])
    res = classify(frame, water_body).iloc[0]
    if int(res["class_num"]) == 0:
        raise ValueError("no GB 3838 Table 1 item with a value: nothing to classify")
    picks = main_pollutants(frame, water_body).iloc[0]
    classes = item_classes(frame, water_body).iloc[0]
    out: dict[str, Any] = {
        "class": str(res["class"]),
        "class_num": int(res["class_num"]),
        "status": str(res["status_zh"]),
        "status_en": str(res["status_en"]),
        "colour": str(res["colour_zh"]),
        "colour_en": str(res["colour_en"]),
        "hex": str(res["hex"]),
        "determining": list(res["determining"]),
        "item_classes": {k: CLASS_LABELS[int(v)] for k, v in classes.items() if int(v) > 0},
        "main_pollutants": picks,
        "main_pollutants_display": display_pollutants(picks),
    }
    for apart in evaluation_rules()["reported_apart"]:
        v = int(classes.get(apart, 0))
        if v > 0:
            out[f"{apart}_class"] = CLASS_LABELS[v]
    return out
