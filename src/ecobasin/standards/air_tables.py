"""Rule-set data for the air standards: loaders of the files in ``ecobasin/catalog/data/air``.

Every table (breakpoints, limits, levels, validity thresholds, composite-index weights) is a
data file citing its source; this module only parses them and caches the result. Adding a rule
set (for example the optional ``"EPA-2024"``) is adding a file and naming it in
:data:`RULE_SET_FILES`.

References
----------
.. [1] HJ 633-2012 Table 1, Table 2; HJ 633-2026 Table 1, Table 3.
.. [2] GB 3095-2012 Table 1, Table 2, Table 4; GB 3095-2026 §4.4 Table 1, Table 2, §6.4 Table 4.
.. [3] 环办监测〔2018〕19号 (city ranking composite index).
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "DEFAULT_SWITCH_DATE",
    "RULE_SETS",
    "ItemTable",
    "LevelInfo",
    "RuleSet",
    "composite_method",
    "levels",
    "limit",
    "load_data_text",
    "rule_set",
    "rule_set_for_date",
    "validity_rule",
]

#: First local (China Standard Time) date on which HJ 633-2026 / GB 3095-2026 apply.
DEFAULT_SWITCH_DATE = dt.date(2026, 3, 1)

RULE_SET_FILES: dict[str, str] = {
    "HJ633-2012": "breakpoints_hj633_2012.toml",
    "HJ633-2026": "breakpoints_hj633_2026.toml",
    "EPA-2024": "breakpoints_epa_2024.toml",
}
RULE_SETS: tuple[str, ...] = tuple(RULE_SET_FILES)

#: Codes used inside int16 IAQI arrays.
NA_CODE = -1
SUBSTITUTE_CODE = -2
OVER_CODE = 501

IntArray = npt.NDArray[np.int64]


def load_data_text(name: str) -> str:
    """Return the text of a data file in ``ecobasin/catalog/data/air``."""
    path = resources.files("ecobasin").joinpath("catalog", "data", "air", name)
    return path.read_text(encoding="utf-8")


def _load_toml(name: str) -> dict[str, Any]:
    return tomllib.loads(load_data_text(name))


@dataclass(frozen=True)
class ItemTable:
    """Breakpoints of one IAQI item (e.g. ``"PM2.5_24h"``) in one rule set.

    Attributes
    ----------
    item : str
        Item name, pollutant plus averaging period.
    pollutant : str
        Pollutant name.
    decimals : int
        Decimals the concentration is rounded (China) or truncated (EPA) to.
    bp : numpy.ndarray of int64
        Concentration breakpoints scaled by ``10**decimals`` (China rule sets).
    iaqi : numpy.ndarray of int64
        IAQI at each breakpoint.
    above_top : str
        ``"over_range"``, ``"fixed:<n>"`` or ``"substitute:<item>"``.
    segments : numpy.ndarray of int64
        EPA-style segments ``[C_lo, C_hi, I_lo, I_hi]`` with scaled concentrations (or empty).
    lut : numpy.ndarray of int16
        IAQI for every scaled integer concentration ``0 .. top``, then the above-top code, then
        the missing code ``-1`` (indexed with ``mode="wrap"`` so ``-1`` reaches it).
    """

    item: str
    pollutant: str
    decimals: int
    bp: IntArray
    iaqi: IntArray
    above_top: str
    segments: IntArray
    lut: npt.NDArray[np.int16] = field(repr=False)

    @property
    def top(self) -> int:
        """Highest scaled concentration of the table."""
        return int(self.bp[-1]) if self.bp.size else int(self.segments[-1, 1])

    @property
    def substitute(self) -> str | None:
        """Item whose IAQI replaces this one above the top of the table, if any."""
        return self.above_top.split(":", 1)[1] if self.above_top.startswith("substitute:") else None


@dataclass(frozen=True)
class RuleSet:
    """One generation of AQI rules (breakpoints plus its companion standards).

    Attributes
    ----------
    name : str
        ``"HJ633-2012"``, ``"HJ633-2026"`` or ``"EPA-2024"``.
    source : str
        Citation of the table.
    ambient_standard, assessment_standard : str
        Companion standards (GB 3095 / HJ 663 generation).
    concentration_rounding : str
        ``"gbt8170"`` or ``"truncate"``.
    index_rounding : str
        ``"ceil"`` (HJ 633 §6.2 / §4.2.6) or ``"nearest"`` (EPA).
    exceeding_pollutant : bool
        Whether the rule set defines exceeding pollutants (HJ 633-2012 §3.4 only).
    items : dict of str to ItemTable
    """

    name: str
    source: str
    ambient_standard: str
    assessment_standard: str
    concentration_rounding: str
    index_rounding: str
    exceeding_pollutant: bool
    items: dict[str, ItemTable]

    def item(self, name: str) -> ItemTable:
        """Return the table of ``name`` or raise ``KeyError`` naming the rule set."""
        try:
            return self.items[name]
        except KeyError:
            raise KeyError(
                f"item {name!r} is not defined in rule set {self.name}; "
                f"known: {', '.join(self.items)}"
            ) from None


def _ceil_div(num: IntArray, den: IntArray) -> IntArray:
    return np.asarray(-((-num) // den), dtype=np.int64)


def _build_lut_ceil(bp: IntArray, iaqi: IntArray, above_top: str) -> npt.NDArray[np.int16]:
    top = int(bp[-1])
    c = np.arange(top + 1, dtype=np.int64)
    seg = np.clip(np.searchsorted(bp, c, side="right") - 1, 0, bp.size - 2)
    lo, hi = bp[seg], bp[seg + 1]
    ilo, ihi = iaqi[seg], iaqi[seg + 1]
    # HJ 633-2012 §4.2 formula (1), carried up (§6.2): exact integer ceil division
    values = ilo + _ceil_div((ihi - ilo) * (c - lo), hi - lo)
    if above_top == "over_range":
        above = OVER_CODE
    elif above_top.startswith("fixed:"):
        above = int(above_top.split(":", 1)[1])
    elif above_top.startswith("substitute:"):
        above = SUBSTITUTE_CODE
    else:
        raise ValueError(f"unknown above_top rule {above_top!r}")
    return np.concatenate([values, [above, NA_CODE]]).astype(np.int16)


def _parse_rule_set(name: str, data: dict[str, Any]) -> RuleSet:
    items: dict[str, ItemTable] = {}
    for item_name, spec in data["items"].items():
        decimals = int(spec["decimals"])
        scale = 10**decimals
        if "bp" in spec:
            bp = np.array([round(float(v) * scale) for v in spec["bp"]], dtype=np.int64)
            iaqi = np.array(data["iaqi"][: bp.size], dtype=np.int64)
            above = str(spec.get("above_top", "over_range"))
            lut = _build_lut_ceil(bp, iaqi, above)
            segments = np.zeros((0, 4), dtype=np.int64)
        else:
            segs = spec["segments"]
            segments = np.array(
                [[round(s[0] * scale), round(s[1] * scale), s[2], s[3]] for s in segs],
                dtype=np.int64,
            )
            bp = np.zeros(0, dtype=np.int64)
            iaqi = np.zeros(0, dtype=np.int64)
            above = "extrapolate"
            lut = np.zeros(0, dtype=np.int16)
        items[item_name] = ItemTable(
            item=item_name,
            pollutant=str(spec["pollutant"]),
            decimals=decimals,
            bp=bp,
            iaqi=iaqi,
            above_top=above,
            segments=segments,
            lut=lut,
        )
    return RuleSet(
        name=name,
        source=str(data["source"]),
        ambient_standard=str(data.get("ambient_standard", "")),
        assessment_standard=str(data.get("assessment_standard", "")),
        concentration_rounding=str(data["concentration_rounding"]),
        index_rounding=str(data["index_rounding"]),
        exceeding_pollutant=bool(data.get("exceeding_pollutant", False)),
        items=items,
    )


@functools.cache
def rule_set(name: str) -> RuleSet:
    """Return the parsed :class:`RuleSet` called ``name``.

    Parameters
    ----------
    name : str
        ``"HJ633-2012"``, ``"HJ633-2026"`` or ``"EPA-2024"``.

    Returns
    -------
    RuleSet
    """
    try:
        file = RULE_SET_FILES[name]
    except KeyError:
        raise KeyError(f"unknown rule set {name!r}; known: {', '.join(RULE_SET_FILES)}") from None
    return _parse_rule_set(name, _load_toml(file))


def rule_set_for_date(date: dt.date | dt.datetime | str) -> str:
    """Name of the Chinese rule set in force on a local (China Standard Time) date.

    Parameters
    ----------
    date : datetime.date, datetime.datetime or ISO string
        Local date of the data (for an hour-ending instant, the local day it belongs to).

    Returns
    -------
    str
        ``"HJ633-2012"`` before 2026-03-01, ``"HJ633-2026"`` from then on.

    References
    ----------
    .. [1] HJ 633-2026 and GB 3095-2026, in force 2026-03-01 (brief §0).
    """
    if isinstance(date, str):
        date = dt.date.fromisoformat(date[:10])
    if isinstance(date, dt.datetime):
        date = date.date()
    return "HJ633-2012" if date < DEFAULT_SWITCH_DATE else "HJ633-2026"


@dataclass(frozen=True)
class LevelInfo:
    """One AQI level (HJ 633-2012 Table 2; HJ 633-2026 Table 1; Appendix A Table A.1)."""

    level: int
    aqi_min: int
    aqi_max: int
    level_zh: str
    level_en: str
    category_zh: str
    category_en: str
    colour_zh: str
    colour_en: str
    hex: str
    rgb: tuple[int, int, int]
    cmyk: tuple[int, int, int, int]
    effect_zh: str
    effect_zh_2026: str
    effect_en: str
    advice_zh: str
    advice_zh_2026: str
    advice_en: str


@functools.cache
def levels() -> tuple[LevelInfo, ...]:
    """The six AQI levels, ordered from level 1 to 6."""
    data = _load_toml("levels.toml")
    out = []
    for row in data["level"]:
        rgb = tuple(int(v) for v in row["rgb"])
        cmyk = tuple(int(v) for v in row["cmyk"])
        kw = {k: v for k, v in row.items() if k not in ("rgb", "cmyk")}
        out.append(
            LevelInfo(rgb=(rgb[0], rgb[1], rgb[2]), cmyk=(cmyk[0], cmyk[1], cmyk[2], cmyk[3]), **kw)
        )
    return tuple(sorted(out, key=lambda lv: lv.level))


@functools.cache
def _limits() -> dict[tuple[str, str, int, str, str], float]:
    text = load_data_text("limits_gb3095.csv")
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    table: dict[tuple[str, str, int, str, str], float] = {}
    for row in csv.DictReader(io.StringIO("\n".join(lines))):
        key = (row["standard"], row["phase"], int(row["class"]), row["pollutant"], row["period"])
        table[key] = float(row["value"])
    return table


def limit(
    pollutant: str,
    period: str,
    *,
    standard: str = "GB3095-2012",
    zone_class: int = 2,
    phase: str | None = None,
) -> float:
    """Concentration limit of GB 3095.

    Parameters
    ----------
    pollutant : str
        ``"SO2"``, ``"NO2"``, ``"CO"``, ``"O3"``, ``"PM10"``, ``"PM2.5"``, ``"TSP"``, ``"NOx"``,
        ``"Pb"`` or ``"BaP"``.
    period : str
        ``"annual"``, ``"daily"``, ``"mda8"``, ``"hourly"`` or ``"quarterly"``.
    standard : str, default "GB3095-2012"
        ``"GB3095-2012"`` or ``"GB3095-2026"``.
    zone_class : int, default 2
        Functional zone class 1 or 2.
    phase : str, optional
        For GB 3095-2026: ``"transition"`` (to 2030-12-31, the default) or ``"final"``.

    Returns
    -------
    float
        The limit [µg/m³] ([mg/m³] for CO).

    References
    ----------
    .. [1] GB 3095-2012 Table 1, Table 2. GB 3095-2026 §4.4 Table 1, Table 2.
    """
    ph = "" if standard == "GB3095-2012" else (phase or "transition")
    key = (standard, ph, int(zone_class), pollutant, period)
    try:
        return _limits()[key]
    except KeyError:
        raise KeyError(f"no limit for {key}") from None


@functools.cache
def _validity() -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = _load_toml("validity.toml")["rule"]
    return rules


def validity_rule(stat: str, pollutant: str | None = None) -> dict[str, Any]:
    """Validity rule (GB 3095 Table 4 / HJ 663 §6) for a statistic and pollutant."""
    default: dict[str, Any] | None = None
    for r in _validity():
        if r["stat"] != stat:
            continue
        if pollutant is not None and pollutant in r["pollutants"]:
            return r
        if r.get("default"):
            default = r
    if default is None:
        raise KeyError(f"no validity rule for stat={stat!r}, pollutant={pollutant!r}")
    return default


@functools.cache
def _composite() -> dict[str, Any]:
    methods: dict[str, Any] = _load_toml("composite_index.toml")["methods"]
    return methods


def composite_method(name: str = "CNEMC-2018") -> dict[str, Any]:
    """Weights, limits and decimals of a composite-index method (data, configurable)."""
    try:
        return dict(_composite()[name])
    except KeyError:
        raise KeyError(
            f"unknown composite-index method {name!r}; known: {list(_composite())}"
        ) from None
