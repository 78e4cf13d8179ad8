"""The emission-factor library 排放因子库: versioned data, exact decimals, units checked with pint.

Every factor is one number with its numerator/denominator units, gas, GWP set, region, valid years,
publisher, document and table, kind, confidence and superseded-by (the shape of Climatiq's open
factor database and CityCatalyst's EmissionsFactor table; carbon brief §4). The defaults ship in
``catalog/data/carbon/factors.csv`` with the source of every row; users add their own
(:meth:`FactorLibrary.with_factors`, stored by migration 7).

Units live in ``catalog/data/carbon/units.txt`` (``ecobasin.catalog.units``: a pint registry with :class:`~decimal.Decimal`
magnitudes). Gases are not units: a factor names its gas in its own column. Electricity (kWh) is a
dimension of its own, so a t/TJ factor applied to kWh is a :class:`UnitError`, never a silent
3.6 MJ/kWh conversion (Chinese statistics convert kWh by one of two stated coefficients).

The module is pure: it reads package data, never the database or the network.
"""

from __future__ import annotations

import csv
import io
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources
from typing import Any, cast

from ecobasin.catalog.units import Quantity, parse_unit, unit_registry
from ecobasin.errors import InputError, UnitError

__all__ = [
    "FACTOR_COLUMNS",
    "GASES",
    "GRID_KINDS",
    "KINDS",
    "Factor",
    "FactorError",
    "FactorLibrary",
    "Fuel",
    "Quantity",
    "decimal",
    "default_library",
    "fuel",
    "fuels",
    "gwp",
    "gwp_sets",
    "parameters",
    "parse_factor",
    "quantity",
    "region_chain",
    "region_of_city",
    "sectors",
    "targets",
]

_DATA = resources.files("ecobasin.catalog") / "data" / "carbon"

#: Columns of a factor row (CSV and the ``carbon_factors`` table), in order.
FACTOR_COLUMNS: tuple[str, ...] = (
    "id",
    "factor_set",
    "activity",
    "kind",
    "gas",
    "value",
    "numerator_unit",
    "denominator_unit",
    "region",
    "sector",
    "valid_from",
    "valid_to",
    "publisher",
    "document",
    "table_ref",
    "confidence",
    "superseded_by",
    "note",
)
#: Grid-factor kinds (brief §1.2): which of the published electricity factors a row is.
GRID_KINDS: tuple[str, ...] = (
    "statistical_average",
    "market_reporting",
    "fossil",
    "excl_nonfossil",
)
KINDS: tuple[str, ...] = ("ncv", "carbon_content", "oxidation", "emission_factor", *GRID_KINDS)
#: Gases a factor may name (C = carbon, converted to CO2 by 44/12).
GASES: tuple[str, ...] = ("C", "CO2", "CH4", "N2O", "CO2e")
CONFIDENCE: tuple[str, ...] = ("text", "mem", "verify", "user", "illustrative")


class FactorError(InputError):
    """A factor row is invalid, or no factor fits an activity."""


def decimal(value: Any, what: str = "value") -> Decimal:
    """An exact decimal from a number or text (floats through their shortest repr).

    Raises
    ------
    FactorError
        Not a finite number, naming ``what``.
    """
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool):
        raise FactorError(f"{what}: {value!r} is not a number")
    else:
        try:
            result = Decimal(str(value).strip().replace(",", ""))
        except InvalidOperation:
            raise FactorError(f"{what}: {value!r} is not a number") from None
    if not result.is_finite():
        raise FactorError(f"{what}: {value!r} is not a finite number")
    return result


# ---------------------------------------------------------------------------------------------
# units
# ---------------------------------------------------------------------------------------------


def quantity(amount: Any, unit: str) -> Quantity:
    """``amount`` [``unit``] as a pint quantity with a Decimal magnitude.

    ``unit`` is a pint expression of ``units.txt`` (``t``, ``10^4 Nm3``, ``GJ/t``, ``t/MWh``,
    ``1``) or a Chinese unit word (万立方米, 万千瓦时, 吨标准煤 …).

    Raises
    ------
    UnitError
        Unknown unit, naming it.
    """
    import pint  # loaded with the registry (catalog.units); here for the name

    scale = parse_unit(unit)
    if scale is None:
        return unit_registry().Quantity(decimal(amount), "")
    if not isinstance(scale, pint.Quantity):  # a bare number
        return unit_registry().Quantity(decimal(amount) * decimal(scale), "")
    return cast(Quantity, decimal(amount) * scale)


def convert(value: Quantity, unit: str, what: str) -> Decimal:
    """The magnitude of ``value`` in ``unit``.

    Raises
    ------
    UnitError
        The dimensions differ, with ``what`` (the line and factor) in the message.
    """
    import pint  # loaded with the registry (catalog.units); here for the name

    try:
        target = quantity(1, unit)
        magnitude = (value / target).to("").magnitude
    except pint.DimensionalityError:
        have = f"{value.units:~}" or "1"
        raise UnitError(
            f"{what}: a quantity in {have} ({value.dimensionality}) cannot be converted to "
            f"{unit} ({quantity(1, unit).dimensionality})"
        ) from None
    return decimal(magnitude)


# ---------------------------------------------------------------------------------------------
# factors
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Factor:
    """One emission factor or factor parameter (a row of ``factors.csv``).

    ``value`` [``numerator_unit`` / ``denominator_unit``] of ``gas``; ``kind`` says what it is
    (ncv, carbon_content, oxidation, emission_factor, or a grid kind). ``valid_from``/``valid_to``
    are the years it describes (None = open). ``origin`` is ``builtin`` or ``user``.
    """

    id: str
    factor_set: str
    activity: str
    kind: str
    gas: str
    value: Decimal
    numerator_unit: str
    denominator_unit: str
    region: str = "*"
    sector: str = ""
    valid_from: int | None = None
    valid_to: int | None = None
    publisher: str = ""
    document: str = ""
    table_ref: str = ""
    confidence: str = "user"
    superseded_by: str = ""
    note: str = ""
    origin: str = "builtin"

    @property
    def per_unit(self) -> Quantity:
        """The factor as a quantity (value × numerator / denominator)."""
        numerator = quantity(self.value, self.numerator_unit)
        return cast(Quantity, numerator / quantity(1, self.denominator_unit))

    @property
    def unit_label(self) -> str:
        gas = self.gas if self.gas and self.gas != "CO2e" else ""
        if self.numerator_unit in ("", "1") and self.denominator_unit in ("", "1"):
            return "1"
        return f"{self.numerator_unit}{gas}/{self.denominator_unit}"

    def valid_in(self, year: int | None) -> bool:
        if year is None:
            return True
        low_ok = self.valid_from is None or year >= self.valid_from
        return low_ok and (self.valid_to is None or year <= self.valid_to)

    def as_row(self) -> dict[str, Any]:
        """A plain dict (value as its exact decimal text) for tables, CSV and JSON."""
        row = {name: getattr(self, name) for name in FACTOR_COLUMNS}
        row["value"] = str(self.value)
        row["origin"] = self.origin
        return row


def _year(value: Any, what: str) -> int | None:
    text = "" if value is None else str(value).strip()
    if text in ("", "nan", "None"):
        return None
    try:
        return int(float(text))
    except ValueError:
        raise FactorError(f"{what}: {value!r} is not a year") from None


def _text(row: Mapping[str, Any], name: str, default: str = "") -> str:
    value = row.get(name)
    if value is None:
        return default
    text = str(value).strip()
    return default if text in ("", "nan", "None") else text


def parse_factor(row: Mapping[str, Any], origin: str = "user") -> Factor:
    """A :class:`Factor` from a mapping of :data:`FACTOR_COLUMNS`, validated.

    Raises
    ------
    FactorError
        Missing id, unknown kind or gas, a value that is not a number, a kind that needs a gas.
    UnitError
        Units pint cannot parse, or units of the wrong dimension for the kind (an NCV must be
        heat per amount, a carbon content mass per heat, an oxidation rate dimensionless).
    """
    fid = _text(row, "id")
    if not fid:
        raise FactorError("a factor needs an id")
    kind = _text(row, "kind", "emission_factor")
    if kind not in KINDS:
        raise FactorError(f"factor {fid}: unknown kind {kind!r} (one of {', '.join(KINDS)})")
    gas = _text(row, "gas")
    if gas and gas not in GASES:
        raise FactorError(f"factor {fid}: unknown gas {gas!r} (one of {', '.join(GASES)})")
    if kind in ("emission_factor", *GRID_KINDS) and not gas:
        raise FactorError(f"factor {fid}: an emission factor must name its gas")
    if kind == "carbon_content":
        gas = gas or "C"
    factor = Factor(
        id=fid,
        factor_set=_text(row, "factor_set", "user"),
        activity=_text(row, "activity"),
        kind=kind,
        gas=gas,
        value=decimal(row.get("value"), f"factor {fid} value"),
        numerator_unit=_text(row, "numerator_unit", "1"),
        denominator_unit=_text(row, "denominator_unit", "1"),
        region=_text(row, "region", "*"),
        sector=_text(row, "sector"),
        valid_from=_year(row.get("valid_from"), f"factor {fid} valid_from"),
        valid_to=_year(row.get("valid_to"), f"factor {fid} valid_to"),
        publisher=_text(row, "publisher"),
        document=_text(row, "document"),
        table_ref=_text(row, "table_ref"),
        confidence=_text(row, "confidence", "user"),
        superseded_by=_text(row, "superseded_by"),
        note=_text(row, "note"),
        origin=origin,
    )
    if not factor.activity:
        raise FactorError(f"factor {fid}: name the activity (fuel, electricity, heat …) it is for")
    _check_dimensions(factor)
    return factor


_EXPECTED_DIMENSIONS = {
    "ncv": ("[heat]", "heat per unit of fuel"),
    "carbon_content": ("[mass] / [heat]", "mass of carbon per heat"),
    "oxidation": ("", "dimensionless"),
    **{kind: ("[mass] / [electricity]", "a mass of gas per kWh") for kind in GRID_KINDS},
}


def _check_dimensions(factor: Factor) -> None:
    try:
        per = factor.per_unit
    except UnitError as error:
        raise UnitError(f"factor {factor.id}: {error}") from None
    numerator = quantity(1, factor.numerator_unit)
    if factor.kind == "ncv":
        ok = str(numerator.dimensionality) == "[heat]"
    elif factor.kind == "carbon_content":
        ok = str(per.dimensionality) == "[mass] / [heat]"
    elif factor.kind == "oxidation":
        ok = per.dimensionless
    elif factor.kind in GRID_KINDS:
        ok = str(per.dimensionality) == "[mass] / [electricity]"
    else:
        ok = str(numerator.dimensionality) == "[mass]"
    if not ok:
        expected = _EXPECTED_DIMENSIONS.get(factor.kind, ("", "a mass of gas per unit of activity"))
        raise UnitError(
            f"factor {factor.id}: units {factor.numerator_unit}/{factor.denominator_unit} are "
            f"not {expected[1]} as a {factor.kind} must be"
        )


def _read_csv(name: str) -> list[dict[str, str]]:
    text = (_DATA / name).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    return list(csv.DictReader(io.StringIO("\n".join(lines))))


@dataclass(frozen=True)
class FactorLibrary:
    """A set of factors with look-ups by id and by what they are for."""

    factors: tuple[Factor, ...]
    _by_id: dict[str, Factor] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_id: dict[str, Factor] = {}
        for factor in self.factors:
            by_id[factor.id] = factor  # later (user) rows win over earlier (builtin) ones
        object.__setattr__(self, "_by_id", by_id)

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, factor_id: object) -> bool:
        return factor_id in self._by_id

    def all(self) -> list[Factor]:
        """Every factor, a user factor replacing a builtin one of the same id."""
        return list(self._by_id.values())

    def get(self, factor_id: str) -> Factor:
        """The factor ``factor_id``.

        Raises
        ------
        FactorError
            Unknown id, naming it.
        """
        try:
            return self._by_id[factor_id]
        except KeyError:
            raise FactorError(
                f"unknown factor {factor_id!r} (`ecobasin carbon factors list` shows them)"
            ) from None

    def with_factors(self, extra: Iterable[Factor]) -> FactorLibrary:
        """This library plus ``extra`` (same id: ``extra`` wins)."""
        return FactorLibrary((*self.factors, *extra))

    def find(
        self,
        activity: str,
        kind: str,
        *,
        gas: str | None = None,
        factor_set: str | None = None,
        region: str | None = None,
        year: int | None = None,
        sector: str | None = None,
    ) -> Factor | None:
        """The best current factor for an activity: matching set, sector (a sector-specific
        factor wins over a general one), region (the region itself, else its country ``CN``,
        else ``*``), valid in ``year`` (else the latest earlier one), not superseded."""
        regions = region_chain(region) if region is not None else ()
        candidates = [
            f
            for f in self._by_id.values()
            if f.activity == activity
            and f.kind == kind
            and (gas is None or f.gas == gas)
            and (factor_set is None or f.factor_set == factor_set)
            and (f.sector in ("", sector) if sector is not None else f.sector == "")
            and (region is None or f.region in regions)
            and not f.superseded_by
        ]
        if not candidates:
            return None

        def rank(f: Factor) -> tuple[int, int, int, int]:
            valid = f.valid_in(year)
            start = f.valid_to or f.valid_from or 0
            earlier = year is None or start <= year
            return (
                int(bool(f.sector)),
                -regions.index(f.region) if f.region in regions else 0,
                int(valid) * 2 + int(earlier),
                start if earlier else -start,
            )

        return max(candidates, key=rank)


@cache
def default_library() -> FactorLibrary:
    """The factors shipped in ``catalog/data/carbon/factors.csv``."""
    return FactorLibrary(tuple(parse_factor(row, "builtin") for row in _read_csv("factors.csv")))


# ---------------------------------------------------------------------------------------------
# other reference tables
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fuel:
    """An activity of the inventory: a fuel, electricity, heat or steam."""

    id: str
    name_zh: str
    name_en: str
    family: str
    aliases: tuple[str, ...]


@cache
def fuels() -> dict[str, Fuel]:
    """Fuels and activities by id (``catalog/data/carbon/fuels.csv``)."""
    out: dict[str, Fuel] = {}
    for row in _read_csv("fuels.csv"):
        aliases = tuple(a.strip().lower() for a in row["aliases"].split("|") if a.strip())
        out[row["id"]] = Fuel(row["id"], row["name_zh"], row["name_en"], row["family"], aliases)
    return out


def fuel(name: str) -> Fuel:
    """The fuel an id, Chinese or English name names (``柴油``, ``diesel``, ``gas/diesel oil``).

    Raises
    ------
    FactorError
        Unknown fuel, naming it.
    """
    key = str(name).strip().lower()
    table = fuels()
    if key in table:
        return table[key]
    for item in table.values():
        if key in item.aliases or key in (item.name_zh.lower(), item.name_en.lower()):
            return item
    raise FactorError(f"unknown fuel or activity {name!r} (known: {', '.join(table)})")


@cache
def sectors() -> dict[str, dict[str, Any]]:
    """Inventory sectors by id with names, GPC sector and reference, BASIC membership."""
    out: dict[str, dict[str, Any]] = {}
    for row in _read_csv("sectors.csv"):
        out[row["id"]] = {**row, "basic": row["basic"].strip().lower() == "true"}
    return out


@cache
def _gwp_table() -> dict[str, dict[str, Decimal]]:
    table: dict[str, dict[str, Decimal]] = {}
    for row in _read_csv("gwp.csv"):
        table.setdefault(row["gwp_set"], {})[row["gas"]] = decimal(row["value"])
    return table


def gwp_sets() -> tuple[str, ...]:
    """The GWP sets shipped (SAR, AR4, AR5, AR6)."""
    return tuple(_gwp_table())


def gwp(gwp_set: str, gas: str) -> Decimal:
    """The 100-year GWP of ``gas`` in ``gwp_set`` (``catalog/data/carbon/gwp.csv``).

    Raises
    ------
    FactorError
        Unknown set or gas.
    """
    table = _gwp_table()
    if gwp_set not in table:
        raise FactorError(f"unknown GWP set {gwp_set!r} (one of {', '.join(table)})")
    if gas not in table[gwp_set]:
        raise FactorError(f"no GWP for {gas!r} in {gwp_set}")
    return table[gwp_set][gas]


@cache
def parameters() -> dict[str, Any]:
    """``catalog/data/carbon/parameters.toml`` (heat, defaults, peak rule, sink parameters)."""
    return tomllib.loads((_DATA / "parameters.toml").read_text(encoding="utf-8"))


@cache
def targets() -> tuple[dict[str, Any], ...]:
    """Carbon targets (``catalog/data/carbon/targets.toml``)."""
    data = tomllib.loads((_DATA / "targets.toml").read_text(encoding="utf-8"))
    return tuple(data.get("target", []))


#: Province part of a GB/T 2260 city code → factor region.
_PROVINCE_REGION = {"51": "CN-SC", "50": "CN-CQ", "53": "CN-YN"}


def region_chain(region: str) -> tuple[str, ...]:
    """A region and the regions containing it, nearest first (``CN-SC`` → CN-SC, CN, *)."""
    chain = [region]
    if "-" in region:
        chain.append(region.split("-", 1)[0])
    if region != "*":
        chain.append("*")
    return tuple(chain)


def region_of_city(city_code: int) -> str:
    """The factor region of a city (its province; ``CN`` when no provincial factors exist)."""
    return _PROVINCE_REGION.get(str(city_code)[:2], "CN")


def with_value(factor: Factor, value: Any) -> Factor:
    """A copy of ``factor`` with another value (for stated-in-the-input factors)."""
    return replace(factor, value=decimal(value))
