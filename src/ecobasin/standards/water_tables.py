"""Rule data of the water standards: loaders of the files in ``ecobasin/catalog/data/water``.

Every number (GB 3838 limits, levels and colours, the 2011 method's rules, TLI coefficients, CWQI
parameters, compensation agreements) lives in a data file citing its source; this module only
parses and caches them.

References
----------
.. [1] GB 3838-2002 Table 1 (basic items, Classes I–V).
.. [2] 地表水环境质量评价办法（试行）, 环办〔2011〕22号.
.. [3] 城市地表水环境质量排名技术规定（试行）, 环办监测〔2017〕51号.
"""

from __future__ import annotations

import csv
import functools
import io
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "CLASS_LABELS",
    "EVALUATED_ITEMS",
    "ItemLimits",
    "WaterBody",
    "WaterClass",
    "class_info",
    "class_label",
    "class_number",
    "cwqi_rules",
    "evaluation_rules",
    "item_limits",
    "limit_of",
    "load_water_text",
    "normalise_water_body",
    "share_levels",
    "tli_rules",
]

WaterBody = Literal["river", "lake"]
F64 = npt.NDArray[np.float64]

#: Class labels by number (1..6); 0 means "not evaluated".
CLASS_LABELS: tuple[str, ...] = ("", "I", "II", "III", "IV", "V", "劣V")
_ROMAN_ALIASES = {"Ⅰ": "I", "Ⅱ": "II", "Ⅲ": "III", "Ⅳ": "IV", "Ⅴ": "V"}


def load_water_text(name: str) -> str:
    """Return the text of a data file in ``ecobasin/catalog/data/water``."""
    path = resources.files("ecobasin").joinpath("catalog", "data", "water", name)
    return path.read_text(encoding="utf-8")


def _toml(name: str) -> dict[str, Any]:
    return tomllib.loads(load_water_text(name))


@dataclass(frozen=True)
class ItemLimits:
    """GB 3838-2002 Table 1 limits of one item for one water body.

    Attributes
    ----------
    item : str
        Parameter id (``"NH3N"``, ``"TP"`` ...).
    direction : str
        ``"max"`` (not more than), ``"min"`` (not less than, DO) or ``"range"`` (pH).
    limits : tuple of float
        Class I..V limits [mg/L; pH dimensionless; FC count/L]; for ``"range"`` the bounds (6, 9).
    text : tuple of str
        The limits as written in the standard (decimal strings).
    unit : str
    evaluated : bool
        One of the 21 items of the 2011 method.
    source : str
    """

    item: str
    direction: str
    limits: tuple[float, ...]
    text: tuple[str, ...]
    unit: str
    evaluated: bool
    source: str

    def limit(self, cls: int) -> float:
        """Limit of class ``cls`` (1..5) [unit]; for pH the upper bound 9."""
        if not 1 <= cls <= 5:
            raise ValueError(f"class must be 1..5, got {cls}")
        return self.limits[-1] if self.direction == "range" else self.limits[cls - 1]


@functools.cache
def _limit_rows() -> tuple[dict[str, str], ...]:
    lines = [ln for ln in load_water_text("limits_gb3838.csv").splitlines() if ln and ln[0] != "#"]
    return tuple(csv.DictReader(io.StringIO("\n".join(lines))))


def _parse_limits(row: dict[str, str]) -> ItemLimits:
    cells = tuple(row[c] for c in ("I", "II", "III", "IV", "V"))
    if row["direction"] == "range":
        lo, hi = cells[0].split("~")
        values: tuple[float, ...] = (float(lo), float(hi))
    else:
        values = tuple(float(c) for c in cells)
    return ItemLimits(
        item=row["item"],
        direction=row["direction"],
        limits=values,
        text=cells,
        unit=row["unit"],
        evaluated=row["evaluated"] == "1",
        source=row["source"],
    )


@functools.cache
def item_limits(water_body: WaterBody = "river") -> dict[str, ItemLimits]:
    """All Table 1 items with limits for a water body (TP column; TN for lakes only).

    Parameters
    ----------
    water_body : {"river", "lake"}
        ``"lake"`` covers lakes and reservoirs (湖、库); river-type reservoirs are ``"river"``.

    Returns
    -------
    dict of str to ItemLimits
        In Table 1 order.

    References
    ----------
    .. [1] GB 3838-2002 Table 1 (TP: river and 湖、库 columns; TN: 湖、库).
    """
    out: dict[str, ItemLimits] = {}
    for row in _limit_rows():
        if row["water_body"] in ("all", water_body):
            out[row["item"]] = _parse_limits(row)
    return out


def limit_of(item: str, cls: int, water_body: WaterBody = "river") -> float:
    """Limit of ``item`` for class ``cls`` (1..5) [mg/L], GB 3838-2002 Table 1."""
    try:
        return item_limits(water_body)[item].limit(cls)
    except KeyError:
        raise KeyError(f"{item!r} has no GB 3838 Table 1 limit for a {water_body}") from None


@functools.cache
def evaluation_rules() -> dict[str, Any]:
    """Rules of the 2011 method (items, main pollutants, river shares, statistics), as data."""
    return _toml("evaluation.toml")


EVALUATED_ITEMS: tuple[str, ...] = tuple(evaluation_rules()["items"])


def normalise_water_body(value: str | None) -> WaterBody:
    """Map ``"river"``, ``"lake"``, ``"reservoir"``, ``"河流型水库"`` ... to the column used.

    Raises
    ------
    ValueError
        Unknown water-body type (naming it).
    """
    key = "river" if value is None else str(value).strip()
    table: dict[str, str] = evaluation_rules()["water_body"]
    found = table.get(key, table.get(key.lower()))
    if found is None:
        raise ValueError(f"unknown water body {value!r}; known: {', '.join(table)}")
    return "lake" if found == "lake" else "river"


@dataclass(frozen=True)
class WaterClass:
    """One water-quality class with its qualitative status and colour (环办〔2011〕22号 表1)."""

    num: int
    label: str
    label_zh: str
    status_zh: str
    status_en: str
    colour_zh: str
    colour_en: str
    hex: str
    function_zh: str
    function_en: str


@functools.cache
def _classes() -> tuple[WaterClass, ...]:
    rows = _toml("levels.toml")["class"]
    return tuple(sorted((WaterClass(**row) for row in rows), key=lambda c: c.num))


def class_info(cls: int | str) -> WaterClass:
    """Class 1..6 (or its label ``"I"`` .. ``"劣V"``) with status and colour, zh and en."""
    num = class_number(cls) if isinstance(cls, str) else int(cls)
    if not 1 <= num <= 6:
        raise ValueError(f"water class must be 1..6, got {cls!r}")
    return _classes()[num - 1]


def class_label(num: int) -> str:
    """``"I"`` .. ``"V"``, ``"劣V"`` for 1..6."""
    return class_info(num).label


def class_number(label: str | int) -> int:
    """1..6 for a label (``"III"``, ``"Ⅲ"``, ``"Ⅲ类"``, ``"劣V"``, ``"劣Ⅴ类"``, ``3``).

    Raises
    ------
    ValueError
        The label is not a water class.
    """
    if isinstance(label, int) and not isinstance(label, bool):
        if 1 <= label <= 6:
            return label
        raise ValueError(f"water class must be 1..6, got {label}")
    text = str(label).strip().removesuffix("类")
    for k, v in _ROMAN_ALIASES.items():
        text = text.replace(k, v)
    text = text.upper()
    if text.isdigit() and 1 <= int(text) <= 6:
        return int(text)
    if text in ("劣V", ">V", "WORSE THAN V", "VI"):
        return 6
    try:
        return CLASS_LABELS.index(text)
    except ValueError:
        raise ValueError(f"not a water class: {label!r} (I, II, III, IV, V or 劣V)") from None


@functools.cache
def share_levels() -> tuple[dict[str, Any], ...]:
    """Share-method rows (river/basin level by the I–III and 劣V shares), in the order tried."""
    return tuple(_toml("levels.toml")["share_level"])


@functools.cache
def tli_rules() -> dict[str, Any]:
    """TLI(Σ) parameters (r, a, b) and trophic levels."""
    return _toml("tli.toml")


@functools.cache
def cwqi_rules() -> dict[str, Any]:
    """CWQI items, pH bounds and decimals (环办监测〔2017〕51号)."""
    return _toml("cwqi.toml")
