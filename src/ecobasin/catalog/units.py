"""Units and their conversions: the one units module of the platform, with one :class:`UnitError`.

Two tables, one per kind of number, both data files in ``catalog/data/``:

* ``units.csv``: the units observations arrive in (air µg/m³ and mg/m³, water mg/L, met hPa, °C…),
  each with a linear conversion to its dimension's canonical unit; vectorised float conversion
  for millions of values (:func:`convert_units`).
* ``carbon/units.txt``: a pint registry with :class:`~decimal.Decimal` magnitudes for carbon
  accounting, where factors and activity data must stay exact and electricity (kWh) is a
  dimension of its own (:func:`unit_registry`, :func:`parse_unit`).

Both raise :class:`ecobasin.errors.UnitError`, naming the unit. The module is pure: it reads
package data only.
"""

from __future__ import annotations

import io
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd

from ecobasin.errors import UnitError

if TYPE_CHECKING:
    import pint

__all__ = [
    "UNIT_WORDS",
    "Quantity",
    "UnitError",
    "canonical_unit_name",
    "convert_units",
    "parse_unit",
    "unit_registry",
    "unit_table",
]

#: A pint quantity with a Decimal magnitude.
Quantity: TypeAlias = "pint.Quantity[Any]"
Registry: TypeAlias = "pint.UnitRegistry[Any]"

_DATA = resources.files("ecobasin.catalog") / "data"

# ---------------------------------------------------------------------------------------------
# observation units (units.csv): float, vectorised
# ---------------------------------------------------------------------------------------------


@cache
def _units() -> tuple[pd.DataFrame, dict[str, str]]:
    text = (_DATA / "units.csv").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    frame = pd.read_csv(io.StringIO("\n".join(lines)), keep_default_na=False, dtype=str)
    frame["factor"] = frame["factor"].astype(float)
    frame["offset"] = frame["offset"].astype(float)
    frame = frame.set_index("unit", drop=False)
    alias: dict[str, str] = {}
    for unit, aliases in zip(frame["unit"], frame["aliases"], strict=True):
        for name in [unit, *filter(None, aliases.split("|"))]:
            alias[name.replace(" ", "")] = unit
    return frame, alias


def unit_table() -> pd.DataFrame:
    """The unit table: unit, dimension, factor and offset to the dimension's base, aliases."""
    return _units()[0].copy()


def canonical_unit_name(unit: str) -> str:
    """The registry spelling of ``unit``.

    >>> canonical_unit_name("ug/m3")
    'µg/m³'

    Raises
    ------
    UnitError
        When the unit is not in ``units.csv``.
    """
    _, alias = _units()
    key = unit.strip().replace(" ", "")
    if key in alias:
        return alias[key]
    if key.lower() in alias:  # tolerate MG/L-style capitals only where unambiguous
        return alias[key.lower()]
    raise UnitError(f"unknown unit {unit!r}")


def convert_units(values: npt.ArrayLike, from_unit: str, to_unit: str) -> npt.NDArray[np.float64]:
    """Convert values between two units of the same dimension.

    Parameters
    ----------
    values : array-like
        Values in ``from_unit``.
    from_unit, to_unit : str
        Unit names or aliases from ``units.csv``.

    Returns
    -------
    numpy.ndarray
        Values in ``to_unit``.

    Raises
    ------
    UnitError
        When either unit is unknown or the dimensions differ (mg/L for an air pollutant).

    Examples
    --------
    >>> convert_units([1.2], "mg/m3", "µg/m³").tolist()
    [1200.0]
    """
    table, _ = _units()
    source, target = canonical_unit_name(from_unit), canonical_unit_name(to_unit)
    array = np.asarray(values, dtype=np.float64)
    if source == target:
        return array
    a, b = table.loc[source], table.loc[target]
    if a["dimension"] != b["dimension"]:
        raise UnitError(
            f"cannot convert {from_unit!r} ({a['dimension']}) to {to_unit!r} ({b['dimension']})"
        )
    factor_a, offset_a = float(str(a["factor"])), float(str(a["offset"]))
    factor_b, offset_b = float(str(b["factor"])), float(str(b["offset"]))
    return np.asarray((array * factor_a + offset_a - offset_b) / factor_b, dtype=np.float64)


# ---------------------------------------------------------------------------------------------
# carbon units (carbon/units.txt): pint, exact decimals
# ---------------------------------------------------------------------------------------------

#: Chinese unit words → pint expressions (energy statistics tables use them).
UNIT_WORDS: dict[str, str] = {
    "万吨": "10^4 t",
    "吨": "t",
    "千克": "kg",
    "公斤": "kg",
    "万千瓦时": "10^4 kWh",
    "亿千瓦时": "10^8 kWh",
    "千瓦时": "kWh",
    "度": "kWh",
    "兆瓦时": "MWh",
    "吉焦": "GJ",
    "百万千焦": "GJ",
    "太焦": "TJ",
    "万立方米": "10^4 Nm3",
    "亿立方米": "10^8 Nm3",
    "立方米": "Nm3",
    "升": "L",
    "吨标准煤": "tce",
    "万吨标准煤": "10^4 tce",
    "公顷": "ha",
    "亩": "mu",
    "万元": "10^4 CNY",
    "亿元": "10^8 CNY",
    "元": "CNY",
}


@cache
def unit_registry() -> Registry:
    """The carbon unit registry (definitions in ``catalog/data/carbon/units.txt``)."""
    # here, not at the top: pint (with dask through its compat module) costs every process
    # that imports the catalog ~0.4 s of CPU, and only carbon accounting needs it
    import pint

    registry: Registry = pint.UnitRegistry(None, non_int_type=Decimal)
    for line in (_DATA / "carbon" / "units.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            registry.define(line)
    return registry


def _unit_text(unit: str) -> str:
    text = str(unit).strip()
    if text in UNIT_WORDS:
        return UNIT_WORDS[text]
    return text.replace("³", "3").replace("²", "2").replace("·", " ")


def parse_unit(unit: str) -> Quantity | Decimal | None:
    """One ``unit`` of the carbon registry: a quantity of 1 [unit], or a bare scale.

    ``unit`` is a pint expression of ``units.txt`` (``t``, ``10^4 Nm3``, ``GJ/t``, ``t/MWh``)
    or a Chinese unit word (万立方米, 万千瓦时, 吨标准煤 …). ``None`` means dimensionless
    (``""``, ``"1"``, ``"-"``); a bare number (``"10^4"``) comes back as a Decimal.

    >>> str(parse_unit("万吨"))
    '10000 t'

    Raises
    ------
    UnitError
        Unknown unit, naming it.
    """
    import pint  # loaded with the registry; here for the name

    text = _unit_text(unit)
    if text in ("", "1", "-"):
        return None
    try:
        scale = unit_registry().parse_expression(text)
    except Exception as error:  # pint raises several types for bad expressions
        raise UnitError(f"unknown unit {unit!r} ({error})") from None
    if isinstance(scale, pint.Quantity):
        return scale
    return Decimal(str(scale))
