"""City greenhouse-gas inventory 城市温室气体清单: per-line emissions and GPC-style totals.

Formulas (carbon brief §1; NDRC enterprise guidelines; IPCC 2006 Vol.2 Ch.2):

* fuel, Chinese default chain: energy [TJ] = AD × NCV; CO2 [t] = energy × CC [tC/TJ] × OF × 44/12;
* fuel, IPCC Tier 1: energy [TJ] = AD × NCV [TJ/Gg]; E_gas [t] = energy × EF_gas [kg/TJ];
* CH4 and N2O of fuels: energy × the IPCC stationary factor for the line's sector when the library
  has one, otherwise the gas is reported ``NE`` (not estimated, a GPC notation key);
* purchased electricity (scope 2): (purchased − resold) × EF_grid, the grid factor the inventory
  chose (region, year, kind) and records;
* purchased heat (scope 2): (purchased − resold) [GJ] × EF_heat; steam: mass × (enthalpy −
  83.74 kJ/kg) → GJ first;
* anything else (industrial processes, waste): amount × the emission factors the line names;
* CO2e = Σ_gas E_gas × GWP_gas of the inventory's GWP set (SAR/AR4/AR5/AR6).

Every emission line keeps the ids of the factors it used and the formula with its numbers. Totals
follow GPC 2014: by scope and sector; BASIC = stationary energy and transport (scopes 1 and 2)
plus waste (scopes 1 and 3), without the scope-1 emissions of grid-connected generation inside the
city (GPC I.4.4, counted in scope 2 of the users: no double counting); BASIC+ adds industrial
processes.

Pure: no I/O. Errors name the line (:class:`LineError`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ecobasin.carbon import factors as fx
from ecobasin.carbon.factors import Factor, FactorError, FactorLibrary
from ecobasin.errors import UnitError

__all__ = [
    "C_TO_CO2",
    "ActivityLine",
    "ElectricityChoice",
    "EmissionLine",
    "InventoryResult",
    "InventorySettings",
    "LineError",
    "choose_grid_factor",
    "compute_inventory",
    "compute_line",
    "heat_gj",
    "totals",
]

#: Molecular weight ratio CO2/C (IPCC 2006 Vol.2 Eq. 2.1's 44/12).
C_TO_CO2 = Decimal(44) / Decimal(12)
GASES: tuple[str, ...] = ("CO2", "CH4", "N2O")
GRID_GENERATION = "grid_generation"


class LineError(ValueError):
    """An activity line that cannot be computed; the message names the line and the reason."""

    def __init__(self, line: int, reason_code: str, message: str) -> None:
        prefixed = message.startswith(f"line {line} ")
        super().__init__(message if prefixed else f"line {line}: {message}")
        self.line = line
        self.reason_code = reason_code


@dataclass(frozen=True)
class ActivityLine:
    """One row of activity data 活动水平数据.

    ``amount`` [``unit``] of ``activity`` (a fuel id of ``fuels.csv``, ``electricity``, ``heat``,
    ``steam``, or any activity the named ``factor_ids`` are for) in ``sector``; ``resold`` is
    deducted (electricity and heat, same unit). ``scope`` overrides the default (fuels 1,
    purchased electricity and heat 2). ``subsector`` ``grid_generation`` marks energy-industry
    generation supplied to the grid (GPC I.4.4).
    """

    line: int
    sector: str
    activity: str
    amount: Decimal
    unit: str
    resold: Decimal = Decimal(0)
    subsector: str = ""
    scope: int | None = None
    factor_ids: tuple[str, ...] = ()
    enthalpy_kj_per_kg: Decimal | None = None
    feedwater_kj_per_kg: Decimal | None = None  # default: parameters.toml [heat] (83.74)
    note: str = ""


@dataclass(frozen=True)
class ElectricityChoice:
    """The grid factor an inventory uses for purchased electricity, and why (brief §1.2: the
    choice between provincial and national factors moves Sichuan's scope 2 about 3.8-fold)."""

    factor_id: str
    region: str
    factor_year: int | None
    kind: str
    value: Decimal
    note: str

    @property
    def label(self) -> str:
        year = "" if self.factor_year is None else f" {self.factor_year}"
        return f"{self.region}{year} {self.kind} {self.value} tCO2/MWh ({self.factor_id})"


@dataclass(frozen=True)
class InventorySettings:
    """The choices an inventory records: GWP set, fuel factor set, grid and heat factors."""

    city_code: int
    year: int
    gwp_set: str = "AR5"
    factor_set: str = "cn-enterprise"
    grid_factor_id: str | None = None
    grid_kind: str = "statistical_average"
    heat_factor_id: str = "heat.cn.default"

    @property
    def region(self) -> str:
        return fx.region_of_city(self.city_code)


@dataclass(frozen=True)
class EmissionLine:
    """One gas of one activity line: ``amount_t`` [t of gas], ``co2e_t`` [t CO2e]."""

    line: int
    sector: str
    subsector: str
    gpc_ref: str
    scope: int
    activity: str
    gas: str
    amount_t: Decimal
    co2e_t: Decimal
    energy_tj: Decimal | None
    factor_ids: tuple[str, ...]
    formula: str
    notation: str = ""  # '' = estimated; NE = not estimated (no factor for this gas and sector)
    basic: bool = True

    def as_row(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "sector": self.sector,
            "subsector": self.subsector,
            "gpc_ref": self.gpc_ref,
            "scope": self.scope,
            "activity": self.activity,
            "gas": self.gas,
            "amount_t": self.amount_t,
            "co2e_t": self.co2e_t,
            "energy_tj": self.energy_tj,
            "factor_ids": list(self.factor_ids),
            "formula": self.formula,
            "notation": self.notation,
            "basic": self.basic,
        }


@dataclass
class InventoryResult:
    """Emission lines, the lines that failed (with their reasons) and the electricity choice."""

    settings: InventorySettings
    electricity: ElectricityChoice
    emissions: list[EmissionLine] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)


def choose_grid_factor(
    library: FactorLibrary,
    region: str,
    year: int,
    kind: str = "statistical_average",
    factor_id: str | None = None,
) -> ElectricityChoice:
    """The grid factor for ``region`` and inventory ``year``: ``factor_id`` when given, else the
    factor of that region, kind and year, else the latest earlier year's (noted), else the
    national one (noted).

    Raises
    ------
    FactorError
        Unknown ``factor_id``, a factor that is not for electricity, or no grid factor at all.
    """
    if factor_id:
        chosen = library.get(factor_id)
        if chosen.activity != "electricity":
            raise FactorError(f"factor {factor_id} is for {chosen.activity}, not electricity")
        return _choice(chosen, year, "chosen explicitly 指定")
    for where in (region, "CN"):
        factor = library.find("electricity", kind, region=where, year=year)
        if factor is not None and factor.region == where:
            if factor.valid_in(year):
                note = "same year 同年"
            elif (factor.valid_from or 0) > year:
                note = "earliest published 最早发布"
            else:
                note = "latest published 最新发布"
            if where != region:
                note += f"; no {region} factor, national used 无省级因子，用全国"
            return _choice(factor, year, note)
    raise FactorError(f"no {kind} grid factor for {region} or CN")


def _choice(factor: Factor, year: int, note: str) -> ElectricityChoice:
    factor_year = factor.valid_from if factor.valid_from == factor.valid_to else None
    if factor_year is not None and factor_year != year:
        note = f"{note}: {factor_year} factor for {year}"
    return ElectricityChoice(factor.id, factor.region, factor_year, factor.kind, factor.value, note)


# ---------------------------------------------------------------------------------------------
# one line
# ---------------------------------------------------------------------------------------------


def _fmt(value: Decimal, places: int = 6) -> str:
    """A number for formulas: at most ``places`` decimals, no trailing zeros."""
    text = f"{value.quantize(Decimal(1).scaleb(-places)).normalize():f}"
    return text


@dataclass
class _Context:
    line: ActivityLine
    settings: InventorySettings
    library: FactorLibrary
    electricity: ElectricityChoice

    @property
    def where(self) -> str:
        return f"line {self.line.line} ({self.line.activity}, {self.line.sector})"

    def convert(self, value: fx.Quantity, unit: str, factor: Factor | None) -> Decimal:
        what = self.where
        if factor is not None:
            what += f" with factor {factor.id} [{factor.numerator_unit}/{factor.denominator_unit}]"
        try:
            return fx.convert(value, unit, what)
        except UnitError as error:
            raise LineError(self.line.line, "unit_mismatch", str(error)) from None

    def apply(self, amount: fx.Quantity, factor: Factor, unit: str) -> Decimal:
        """``amount`` × ``factor`` in ``unit``; the amount must first fit the factor's
        denominator (so the error names the activity's unit, not a product of units)."""
        base = self.convert(amount, factor.denominator_unit, factor)
        product = fx.quantity(base, factor.denominator_unit) * factor.per_unit
        return self.convert(product, unit, factor)

    def factor(self, factor_id: str) -> Factor:
        try:
            return self.library.get(factor_id)
        except FactorError as error:
            raise LineError(self.line.line, "unknown_factor", str(error)) from None


def _activity_quantity(ctx: _Context) -> fx.Quantity:
    line = ctx.line
    if line.amount < 0 or line.resold < 0:
        raise LineError(line.line, "negative_amount", "amount and resold must not be negative")
    if line.resold > line.amount:
        raise LineError(
            line.line, "negative_amount", f"resold {line.resold} exceeds purchased {line.amount}"
        )
    try:
        return fx.quantity(line.amount - line.resold, line.unit)
    except UnitError as error:
        raise LineError(line.line, "unknown_unit", f"{ctx.where}: {error}") from None


def _emission(
    ctx: _Context,
    gas: str,
    amount_t: Decimal,
    factors: Sequence[Factor],
    formula: str,
    *,
    energy_tj: Decimal | None = None,
    scope: int = 1,
    notation: str = "",
) -> EmissionLine:
    line = ctx.line
    sector = fx.sectors().get(line.sector, {})
    try:
        co2e = amount_t * fx.gwp(ctx.settings.gwp_set, gas)
    except FactorError as error:
        raise LineError(line.line, "unknown_gwp", str(error)) from None
    scope = line.scope or scope
    basic = bool(sector.get("basic", False)) and line.subsector != GRID_GENERATION
    if scope == 3 and sector.get("gpc_sector") != "III":
        basic = False  # BASIC counts scope 3 only for waste (GPC Table 4.1)
    gpc_ref = str(sector.get("gpc_ref", ""))
    if line.subsector == GRID_GENERATION:
        gpc_ref = "I.4.4"
    return EmissionLine(
        line=line.line,
        sector=line.sector,
        subsector=line.subsector,
        gpc_ref=gpc_ref,
        scope=scope,
        activity=line.activity,
        gas=gas,
        amount_t=amount_t,
        co2e_t=co2e,
        energy_tj=energy_tj,
        factor_ids=tuple(f.id for f in factors),
        formula=formula,
        notation=notation,
        basic=basic,
    )


def _fuel_factors(ctx: _Context) -> dict[str, Factor]:
    """ncv, carbon_content, oxidation, ef_CO2 (those found) for a fuel line."""
    line, lib = ctx.line, ctx.library
    chosen: dict[str, Factor] = {}
    if line.factor_ids:
        for fid in line.factor_ids:
            factor = ctx.factor(fid)
            key = f"ef_{factor.gas}" if factor.kind == "emission_factor" else factor.kind
            chosen[key] = factor
        return chosen
    fs = ctx.settings.factor_set
    for kind in ("ncv", "carbon_content", "oxidation"):
        found = lib.find(line.activity, kind, factor_set=fs, region=ctx.settings.region)
        if found is not None:
            chosen[kind] = found
    ef = lib.find(
        line.activity, "emission_factor", gas="CO2", factor_set=fs, region=ctx.settings.region
    )
    if ef is not None:
        chosen["ef_CO2"] = ef
    return chosen


def _fuel(ctx: _Context) -> list[EmissionLine]:
    line = ctx.line
    chosen = _fuel_factors(ctx)
    ncv = chosen.get("ncv")
    if ncv is None or ("carbon_content" not in chosen and "ef_CO2" not in chosen):
        raise LineError(
            line.line,
            "no_factor",
            f"{ctx.where}: no {ctx.settings.factor_set} factors (NCV and carbon content or CO2 "
            "emission factor) for this fuel; choose another factor set, name factor ids on "
            "the line, or add factors (`ecobasin carbon factors add`)",
        )
    activity = _activity_quantity(ctx)
    energy_tj = ctx.apply(activity, ncv, "TJ")
    energy = fx.quantity(energy_tj, "TJ")
    head = (
        f"{_fmt(line.amount - line.resold)} {line.unit} × {ncv.value} {ncv.numerator_unit}/"
        f"{ncv.denominator_unit} = {_fmt(energy_tj)} TJ"
    )
    out: list[EmissionLine] = []
    if "carbon_content" in chosen:
        cc = chosen["carbon_content"]
        of = chosen.get("oxidation")
        carbon_t = ctx.apply(energy, cc, "t")
        rate = of.value if of is not None else Decimal(1)
        co2 = carbon_t * rate * C_TO_CO2
        used = [f for f in (ncv, cc, of) if f is not None]
        formula = f"{head}; × {cc.value} tC/TJ × {rate} × 44/12 = {_fmt(co2)} t CO2"
        out.append(_emission(ctx, "CO2", co2, used, formula, energy_tj=energy_tj))
    else:
        ef = chosen["ef_CO2"]
        co2 = ctx.apply(energy, ef, "t")
        formula = f"{head}; × {ef.value} {ef.unit_label} = {_fmt(co2)} t CO2"
        out.append(_emission(ctx, "CO2", co2, [ncv, ef], formula, energy_tj=energy_tj))
    for gas in ("CH4", "N2O"):
        out.append(_non_co2(ctx, gas, chosen.get(f"ef_{gas}"), energy, energy_tj, ncv))
    return out


def _non_co2(
    ctx: _Context,
    gas: str,
    named: Factor | None,
    energy: fx.Quantity,
    energy_tj: Decimal,
    ncv: Factor,
) -> EmissionLine:
    line = ctx.line
    ef = named or ctx.library.find(
        line.activity, "emission_factor", gas=gas, sector=line.sector, region=ctx.settings.region
    )
    if ef is None:
        return _emission(
            ctx,
            gas,
            Decimal(0),
            [ncv],
            f"no {gas} factor for {line.activity} in {line.sector}",
            energy_tj=energy_tj,
            notation="NE",
        )
    amount = ctx.apply(energy, ef, "t")
    formula = f"{_fmt(energy_tj)} TJ × {ef.value} {ef.unit_label} = {_fmt(amount, 9)} t {gas}"
    return _emission(ctx, gas, amount, [ncv, ef], formula, energy_tj=energy_tj)


def _electricity(ctx: _Context) -> list[EmissionLine]:
    line = ctx.line
    factor = ctx.factor(line.factor_ids[0] if line.factor_ids else ctx.electricity.factor_id)
    net = _activity_quantity(ctx)
    co2 = ctx.apply(net, factor, "t")
    formula = (
        f"({_fmt(line.amount)} − {_fmt(line.resold)}) {line.unit} × {factor.value} "
        f"{factor.unit_label} = {_fmt(co2)} t CO2"
    )
    return [_emission(ctx, "CO2", co2, [factor], formula, scope=2)]


def heat_gj(line: ActivityLine) -> tuple[Decimal, str]:
    """Net purchased heat of a heat or steam line [GJ] and how it was found.

    Steam: mass × (enthalpy − feedwater enthalpy, default 83.74 kJ/kg) (NDRC enterprise
    guidelines; brief §1).

    Raises
    ------
    LineError
        Missing steam enthalpy, a unit that is not heat (or mass for steam), bad amounts.
    """
    ctx = _Context(line, InventorySettings(0, 0), FactorLibrary(()), _NO_GRID)
    net = _activity_quantity(ctx)
    if line.activity != "steam":
        value = ctx.convert(net, "GJ", None)
        return value, f"({_fmt(line.amount)} − {_fmt(line.resold)}) {line.unit} = {_fmt(value)} GJ"
    if line.enthalpy_kj_per_kg is None:
        raise LineError(
            line.line, "missing_value", f"{ctx.where}: steam needs its enthalpy [kJ/kg]"
        )
    feed = line.feedwater_kj_per_kg
    if feed is None:
        feed = fx.decimal(fx.parameters()["heat"]["feedwater_enthalpy_kj_per_kg"])
    value = ctx.convert(net * fx.quantity(line.enthalpy_kj_per_kg - feed, "kJ/kg"), "GJ", None)
    how = (
        f"{_fmt(line.amount - line.resold)} {line.unit} × ({line.enthalpy_kj_per_kg} − {feed}) "
        f"kJ/kg = {_fmt(value)} GJ"
    )
    return value, how


_NO_GRID = ElectricityChoice("", "*", None, "statistical_average", Decimal(0), "")


def _heat(ctx: _Context) -> list[EmissionLine]:
    line = ctx.line
    factor = ctx.factor(line.factor_ids[0] if line.factor_ids else ctx.settings.heat_factor_id)
    heat, head = heat_gj(line)
    co2 = ctx.apply(fx.quantity(heat, "GJ"), factor, "t")
    formula = f"{head}; × {factor.value} {factor.unit_label} = {_fmt(co2)} t CO2"
    return [_emission(ctx, "CO2", co2, [factor], formula, scope=2)]


def _direct(ctx: _Context) -> list[EmissionLine]:
    """amount × each named emission factor (industrial processes, waste, anything else)."""
    line = ctx.line
    named = [ctx.factor(fid) for fid in line.factor_ids]
    if not named:
        found = [
            ctx.library.find(line.activity, "emission_factor", gas=gas, sector=line.sector)
            for gas in GASES
        ]
        named = [f for f in found if f is not None]
    if not named:
        raise LineError(
            line.line,
            "no_factor",
            f"{ctx.where}: no emission factor for activity {line.activity!r}; name factor ids "
            "on the line or add factors",
        )
    amount = _activity_quantity(ctx)
    out = []
    for factor in named:
        if factor.kind not in ("emission_factor", *fx.GRID_KINDS):
            raise LineError(
                line.line, "wrong_factor", f"{ctx.where}: factor {factor.id} is a {factor.kind}"
            )
        value = ctx.apply(amount, factor, "t")
        gas = "CO2" if factor.gas == "C" else factor.gas
        if factor.gas == "C":
            value *= C_TO_CO2
        formula = (
            f"{_fmt(line.amount - line.resold)} {line.unit} × {factor.value} "
            f"{factor.unit_label} = {_fmt(value)} t {gas}"
        )
        out.append(_emission(ctx, gas, value, [factor], formula))
    return out


def compute_line(
    line: ActivityLine,
    settings: InventorySettings,
    library: FactorLibrary,
    electricity: ElectricityChoice,
) -> list[EmissionLine]:
    """The emission lines (one per gas) of one activity line.

    Raises
    ------
    LineError
        Unknown sector, unit or factor; a unit that does not fit the factor (e.g. kWh against
        a t/TJ factor); negative amounts; missing factors. The message names the line.
    """
    if line.sector not in fx.sectors():
        raise LineError(
            line.line,
            "unknown_sector",
            f"unknown sector {line.sector!r} (one of {', '.join(fx.sectors())})",
        )
    ctx = _Context(line, settings, library, electricity)
    family = fx.fuels()[line.activity].family if line.activity in fx.fuels() else ""
    if family == "electricity":
        return _electricity(ctx)
    if family == "heat":
        return _heat(ctx)
    if family in ("coal", "oil", "gas"):
        return _fuel(ctx)
    return _direct(ctx)


def compute_inventory(
    lines: Iterable[ActivityLine],
    settings: InventorySettings,
    library: FactorLibrary | None = None,
) -> InventoryResult:
    """Every line's emissions; lines that fail are collected in ``errors`` (never dropped).

    Raises
    ------
    FactorError
        The inventory's own choices are invalid (GWP set, grid factor).
    """
    lib = library or fx.default_library()
    fx.gwp(settings.gwp_set, "CO2")  # an unknown GWP set fails the inventory, not each line
    electricity = choose_grid_factor(
        lib, settings.region, settings.year, settings.grid_kind, settings.grid_factor_id
    )
    result = InventoryResult(settings, electricity)
    for line in lines:
        try:
            result.emissions.extend(compute_line(line, settings, lib, electricity))
        except LineError as error:
            result.errors.append(error)
    return result


# ---------------------------------------------------------------------------------------------
# totals
# ---------------------------------------------------------------------------------------------


def _sum(lines: Iterable[EmissionLine]) -> Decimal:
    return sum((x.co2e_t for x in lines), Decimal(0))


def totals(emissions: Sequence[EmissionLine]) -> dict[str, Any]:
    """GPC-style totals [t CO2e] (and t per gas).

    Returns ``{"territorial", "basic", "basic_plus", "scope": {1: …}, "sector": {id: {scope: …}},
    "gas": {gas: t of gas}, "not_estimated": [(sector, gas)]}``. ``territorial`` is scope 1 (all
    emissions inside the boundary, grid generation included); ``basic`` is the GPC BASIC total
    (scope 2 of electricity users, without the grid generation it would double count);
    ``basic_plus`` adds industrial processes and AFOLU.
    """
    sectors = fx.sectors()
    by_scope: dict[int, Decimal] = {}
    by_sector: dict[str, dict[int, Decimal]] = {}
    by_gas: dict[str, Decimal] = {}
    for x in emissions:
        by_scope[x.scope] = by_scope.get(x.scope, Decimal(0)) + x.co2e_t
        cell = by_sector.setdefault(x.sector, {})
        cell[x.scope] = cell.get(x.scope, Decimal(0)) + x.co2e_t
        by_gas[x.gas] = by_gas.get(x.gas, Decimal(0)) + x.amount_t
    basic = _sum(x for x in emissions if x.basic)
    plus = _sum(
        x
        for x in emissions
        if sectors.get(x.sector, {}).get("gpc_sector") in ("IV", "V") and x.scope == 1
    )
    not_estimated = sorted({(x.sector, x.gas) for x in emissions if x.notation == "NE"})
    return {
        "territorial": _sum(x for x in emissions if x.scope == 1),
        "basic": basic,
        "basic_plus": basic + plus,
        "scope": dict(sorted(by_scope.items())),
        "sector": by_sector,
        "gas": by_gas,
        "not_estimated": not_estimated,
    }
