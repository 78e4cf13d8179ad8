"""Carbon conformance kinds: fuel_combustion, electricity, heat, sink, peak_tracking,
behaviour_reduction, points, project_reduction.

Registered into :data:`ecobasin.conformance.registry.HANDLERS` on import (the runner,
``ecobasin.conformance``, imports this module). Every factor a case states becomes a
:class:`~ecobasin.carbon.factors.Factor` and goes through the inventory engine (units checked by pint); a case that names only a fuel
uses the default library. Reported values are rounded half-even (GB/T 8170) to the precision of
their key (tonnes to 0.001 t = 1 kg, CH4/N2O to 0.0001 t, TJ to 0.0001, GJ to 0.01, intensity to
0.0001 t/10⁴ CNY, percentages to 0.01); nothing is read from ``expect``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from ecobasin.carbon import factors as fx
from ecobasin.carbon import peak, quantify, sinks
from ecobasin.carbon.factors import Factor, FactorLibrary, decimal
from ecobasin.carbon.inventory import (
    ActivityLine,
    ElectricityChoice,
    InventorySettings,
    LineError,
    compute_line,
    heat_gj,
)
from ecobasin.conformance.registry import register

__all__ = ["rate_units", "report"]

#: Reporting decimals by output key (suffix match, longest first).
_DECIMALS: dict[str, int] = {
    "CH4_t": 4,
    "N2O_t": 4,
    "energy_TJ": 4,
    "heat_GJ": 2,
    "intensity_t_per_10k_CNY": 4,
    "_pct": 2,
    "_kgCO2": 3,
    "_gCO2": 1,
    "_tCO2": 3,
    "_tC": 3,
    "_t": 3,
    "points": 2,
    "points_total": 2,
    "g_per_point": 3,
}
_GAS_IN_UNIT = re.compile(r"^(k?g|t|kt|Mt)(CO2e|CO2|C|CH4|N2O)$")


def _places(key: str) -> int:
    for suffix in sorted(_DECIMALS, key=len, reverse=True):
        if key.endswith(suffix):
            return _DECIMALS[suffix]
    return 6


def _round(value: Decimal, places: int) -> float | int:
    rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    number = float(rounded)
    return int(number) if places == 0 else number


def report(values: Mapping[str, Any]) -> dict[str, Any]:
    """Decimals rounded by their key (nested dicts keep their parent's key)."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Decimal):
            out[key] = _round(value, _places(key))
        elif isinstance(value, Mapping):
            out[key] = {
                str(k): _round(v, _places(key)) if isinstance(v, Decimal) else v
                for k, v in value.items()
            }
        else:
            out[key] = value
    return out


def rate_units(key: str, prefix: str) -> tuple[str, str, str]:
    """(numerator unit, denominator unit, gas) of a key like ``EF_tCO2_per_MWh``.

    ``prefix`` is what comes before the units (``EF``, ``grid_EF``, ``NCV``). ``10^4 Nm3`` may be
    written ``10^4_Nm3`` or ``10k_Nm3``.
    """
    rest = key[len(prefix) :].lstrip("_")
    if "_per_" not in rest:
        raise ValueError(f"{key!r}: expected <unit>_per_<unit> after {prefix}")
    num, den = rest.split("_per_", 1)
    gas = ""
    match = _GAS_IN_UNIT.match(num)
    if match:
        num, gas = match.group(1), match.group(2)
    return num, _unit(den), gas


def _unit(text: str) -> str:
    t = text.replace("10k_", "10^4 ").replace("10^4_", "10^4 ").replace("_", " ")
    return t.strip()


def _suffix_value(inp: Mapping[str, Any], prefix: str) -> tuple[Decimal, str] | None:
    """A value stated as ``prefix_<unit>`` (``purchased_MWh``) → (value, unit)."""
    for key, value in inp.items():
        if key.startswith(prefix + "_") and not isinstance(value, Mapping | list):
            return decimal(value, key), _unit(key[len(prefix) + 1 :])
    return None


def _factor(fid: str, activity: str, kind: str, gas: str, value: Any, num: str, den: str) -> Factor:
    return fx.parse_factor(
        {
            "id": fid,
            "factor_set": "case",
            "activity": activity,
            "kind": kind,
            "gas": gas,
            "value": value,
            "numerator_unit": num,
            "denominator_unit": den,
            "confidence": "user",
        },
        origin="case",
    )


def _settings(gwp_set: str = "AR5") -> InventorySettings:
    return InventorySettings(city_code=510100, year=2023, gwp_set=gwp_set, factor_set="case")


def _no_grid() -> ElectricityChoice:
    return ElectricityChoice("none", "*", None, "statistical_average", Decimal(0), "case")


def _run(line: ActivityLine, factors: list[Factor], gwp_set: str = "AR5") -> list[Any]:
    try:
        return compute_line(line, _settings(gwp_set), FactorLibrary(tuple(factors)), _no_grid())
    except LineError as error:
        raise ValueError(str(error)) from None


# ---------------------------------------------------------------------------------------------
# fuel combustion
# ---------------------------------------------------------------------------------------------


def _case_fuel_factors(inp: Mapping[str, Any], fuel: str) -> list[Factor]:
    out: list[Factor] = []
    if "NCV" in inp:
        ncv_unit = str(inp.get("NCV_unit", "GJ/t"))
        num, _, den = ncv_unit.partition("/")
        out.append(_factor("case.ncv", fuel, "ncv", "", inp["NCV"], num.strip(), den.strip()))
    if "carbon_content_tC_per_TJ" in inp:
        out.append(
            _factor(
                "case.cc", fuel, "carbon_content", "C", inp["carbon_content_tC_per_TJ"], "t", "TJ"
            )
        )
        out.append(
            _factor("case.of", fuel, "oxidation", "", inp.get("oxidation_rate", 1), "1", "1")
        )
    for key, table in inp.items():
        if key.startswith("EF_") and isinstance(table, Mapping):
            num, den, _ = rate_units(key, "EF")
            for gas, value in table.items():
                out.append(_factor(f"case.ef.{gas}", fuel, "emission_factor", gas, value, num, den))
        elif key.startswith("EF_") and "_per_" in key:
            num, den, gas = rate_units(key, "EF")
            out.append(
                _factor("case.ef.CO2", fuel, "emission_factor", gas or "CO2", table, num, den)
            )
    return out


@register("fuel_combustion")
def _fuel_combustion(inp: dict[str, Any]) -> dict[str, Any]:
    fuel = fx.fuel(str(inp["fuel"]).split("(")[0].strip()).id
    stated = _case_fuel_factors(inp, fuel)
    gwp_in = inp.get("GWP") or {}
    gwp_set = str(gwp_in.get("set", "AR5"))
    line = ActivityLine(
        line=1,
        sector="energy_industries",
        activity=fuel,
        amount=decimal(inp["activity"], "activity"),
        unit=str(inp.get("activity_unit", "t")),
        factor_ids=tuple(f.id for f in stated),
    )
    if stated:
        lines = _run(line, stated, gwp_set)
    else:  # only the fuel named: the default Chinese chain
        settings = InventorySettings(510100, 2023, gwp_set, "cn-enterprise")
        lines = compute_line(line, settings, fx.default_library(), _no_grid())
    out: dict[str, Any] = {"energy_TJ": lines[0].energy_tj}
    co2e = Decimal(0)
    for x in lines:
        if x.notation:
            continue
        out[f"{x.gas}_t"] = x.amount_t
        weight = decimal(gwp_in[x.gas]) if x.gas in gwp_in else fx.gwp(gwp_set, x.gas)
        co2e += x.amount_t * weight
    out["CO2e_t"] = co2e
    out = report(out)
    out["gwp_set"] = gwp_set
    out["factor_ids"] = sorted({fid for x in lines for fid in x.factor_ids})
    out["formula"] = lines[0].formula
    return out


# ---------------------------------------------------------------------------------------------
# purchased electricity and heat
# ---------------------------------------------------------------------------------------------


def _ef_key(inp: Mapping[str, Any], *prefixes: str) -> tuple[Any, str, str, str]:
    for key, value in inp.items():
        for prefix in prefixes:
            if key.startswith(prefix + "_") and "_per_" in key:
                num, den, gas = rate_units(key, prefix)
                return value, num, den, gas or "CO2"
    raise ValueError(f"no emission factor given (a key like {prefixes[0]}_tCO2_per_MWh)")


@register("electricity")
def _electricity(inp: dict[str, Any]) -> dict[str, Any]:
    purchased = _suffix_value(inp, "purchased")
    if purchased is None:
        raise ValueError("need purchased_<unit> (e.g. purchased_MWh)")
    resold = _suffix_value(inp, "resold")
    value, num, den, gas = _ef_key(inp, "grid_EF", "EF")
    factor = _factor("case.grid", "electricity", "statistical_average", gas, value, num, den)
    line = ActivityLine(
        1,
        "commercial",
        "electricity",
        purchased[0],
        purchased[1],
        resold=_in_unit(resold, purchased[1]),
        factor_ids=(factor.id,),
    )
    (x,) = _run(line, [factor])
    return {**report({"CO2_t": x.amount_t}), "formula": x.formula, "factor": inp.get("factor")}


def _in_unit(value: tuple[Decimal, str] | None, unit: str) -> Decimal:
    if value is None:
        return Decimal(0)
    return fx.convert(fx.quantity(value[0], value[1]), unit, "resold")


@register("heat")
def _heat(inp: dict[str, Any]) -> dict[str, Any]:
    value, num, den, gas = _ef_key(inp, "EF")
    factor = _factor("case.heat", "heat", "emission_factor", gas, value, num, den)
    steam = _suffix_value(inp, "purchased_steam")
    if steam is not None:
        enthalpy = _suffix_value(inp, "steam_enthalpy")
        feed = _suffix_value(inp, "feedwater_enthalpy")
        if enthalpy is None:
            raise ValueError("steam needs steam_enthalpy_kJ_per_kg")
        line = ActivityLine(
            1,
            "manufacturing",
            "steam",
            steam[0],
            steam[1],
            factor_ids=(factor.id,),
            enthalpy_kj_per_kg=_per_kg(enthalpy),
            feedwater_kj_per_kg=None if feed is None else _per_kg(feed),
        )
    else:
        purchased = _suffix_value(inp, "purchased")
        if purchased is None:
            raise ValueError("need purchased_<unit> (e.g. purchased_GJ) or purchased_steam_t")
        resold = _in_unit(_suffix_value(inp, "resold"), purchased[1])
        line = ActivityLine(
            1, "manufacturing", "heat", purchased[0], purchased[1], resold, factor_ids=(factor.id,)
        )
    (x,) = _run(line, [factor])
    try:
        heat, _ = heat_gj(line)
    except LineError as error:
        raise ValueError(str(error)) from None
    return {**report({"heat_GJ": heat, "CO2_t": x.amount_t}), "formula": x.formula}


def _per_kg(value: tuple[Decimal, str]) -> Decimal:
    amount, unit = value
    return fx.convert(fx.quantity(amount, unit.replace(" per ", "/")), "kJ/kg", "enthalpy")


# ---------------------------------------------------------------------------------------------
# sinks, peak
# ---------------------------------------------------------------------------------------------


def _chain(inp: Mapping[str, Any]) -> sinks.BiomassChain:
    return sinks.BiomassChain(
        decimal(inp["SVD_t_per_m3"], "SVD_t_per_m3"),
        decimal(inp["BEF"], "BEF"),
        decimal(inp.get("root_shoot_R", 0), "root_shoot_R"),
        decimal(inp.get("CF_tC_per_t", "0.5"), "CF_tC_per_t"),
    )


def _opt(inp: Mapping[str, Any], *keys: str) -> Decimal | None:
    for key in keys:
        if inp.get(key) is not None:
            return decimal(inp[key], key)
    return None


@register("sink")
def _sink(inp: dict[str, Any]) -> dict[str, Any]:
    method = str(inp.get("method", "")).lower()
    if "area" in method:
        result = sinks.area_rate(
            decimal(inp["area_ha"], "area_ha"),
            decimal(inp["rate_tCO2_per_ha_yr"], "rate_tCO2_per_ha_yr"),
        )
        return {**report({"removal_tCO2": result.removal_tco2}), "formula": result.formula}
    if "gain" in method:
        result = sinks.gain_loss(
            decimal(inp["standing_volume_m3"], "standing_volume_m3"),
            decimal(inp["growth_rate"], "growth_rate"),
            _chain(inp),
            consumption_rate=_opt(inp, "consumption_rate"),
            harvest_volume_m3=_opt(inp, "harvest_volume_m3", "consumption_volume_m3"),
            disturbance_volume_m3=_opt(inp, "disturbance_volume_m3") or Decimal(0),
        )
        values = {
            "gain_tC": result.parts["gain_tc"],
            "loss_tC": result.parts["loss_tc"],
            "delta_C_t": result.delta_c_t,
            "net_removal_tCO2": result.removal_tco2,
        }
        return {**report(values), "formula": result.formula}
    if "stock" in method:
        result = sinks.stock_difference(
            decimal(inp["V_start_m3"], "V_start_m3"),
            decimal(inp["V_end_m3"], "V_end_m3"),
            decimal(inp.get("years", 1), "years"),
            _chain(inp),
        )
        values = {"delta_C_t": result.delta_c_t, "removal_tCO2": result.removal_tco2}
        return {**report(values), "formula": result.formula}
    raise ValueError(
        f"unknown sink method {inp.get('method')!r} (stock difference, gain-loss, area)"
    )


_MASS_TO_T = {"t": Decimal(1), "kt": Decimal(10**3), "Mt": Decimal(10**6), "Gt": Decimal(10**9)}
_CNY_TO_10K = {
    "CNY": Decimal("0.0001"),
    "10k_CNY": Decimal(1),
    "100m_CNY": Decimal(10**4),
    "bn_CNY": Decimal(10**5),
    "tn_CNY": Decimal(10**8),
}


def _yearly(
    inp: Mapping[str, Any], prefix: str, scales: Mapping[str, Decimal]
) -> dict[int, Decimal]:
    for key, table in inp.items():
        if not key.startswith(prefix + "_") or not isinstance(table, Mapping):
            continue
        unit = key[len(prefix) + 1 :].split("_constant")[0]
        if unit not in scales:
            raise ValueError(f"{key}: unknown unit {unit!r} (one of {', '.join(scales)})")
        return {int(y): decimal(v, f"{key}[{y}]") * scales[unit] for y, v in table.items()}
    raise ValueError(f"need {prefix}_<unit> by year (e.g. {prefix}_{next(iter(scales))})")


@register("peak_tracking")
def _peak_tracking(inp: dict[str, Any]) -> dict[str, Any]:
    co2 = _yearly(inp, "CO2", _MASS_TO_T)
    gdp = _yearly(inp, "GDP", _CNY_TO_10K)
    base = int(inp.get("base_year", min(co2)))
    rows = peak.track(co2, gdp, base)
    status = peak.detect_peak(co2)
    intensities = {str(r.year): r.intensity for r in rows if r.intensity is not None}
    last = rows[-1]
    out: dict[str, Any] = {
        "intensity_t_per_10k_CNY": intensities,
        "intensity_change_pct": last.intensity_change_pct,
    }
    out = report(out)
    out.update(peak=status.status, peak_year=status.peak_year, rule=status.rule)
    target = inp.get("target_intensity_reduction_pct")
    if target is not None and last.intensity_change_pct is not None:
        out["target_met"] = bool(last.intensity_change_pct <= -decimal(target))
    return out


# ---------------------------------------------------------------------------------------------
# behaviours, points, projects (the formulas of the carbon-inclusive ledger)
# ---------------------------------------------------------------------------------------------


@register("behaviour_reduction")
def _behaviour(inp: dict[str, Any]) -> dict[str, Any]:
    if "steps" in inp:
        rule = inp.get("rule") or {}
        if "points_per_step" in rule:  # the points-per-step shape (碳碳星球: 0.02 pt/step, 1 g/pt)
            grams, points = quantify.step_points_rule(
                int(inp["steps"]),
                decimal(rule["points_per_step"], "points_per_step"),
                decimal(rule.get("g_per_point", 1), "g_per_point"),
            )
            return report({"reduction_gCO2": grams, "points": points})
        block = next((k for k in rule if k.startswith("g_per_") and k.endswith("_steps")), None)
        if block is None:
            raise ValueError(
                "a step rule needs g_per_<N>_steps, or points_per_step and g_per_point"
            )
        size = int(block[len("g_per_") : -len("_steps")])
        grams, points = quantify.step_rule(
            int(inp["steps"]),
            decimal(rule[block]),
            decimal(rule.get(f"points_per_{size}_steps", 0)),
            size,
        )
        return report({"reduction_gCO2": grams, "points": points})
    if "avoided_km" in inp:
        kg = quantify.car_free_day(
            decimal(inp["avoided_km"]),
            decimal(inp["fuel_L_per_100km"]),
            decimal(inp["fuel_EF_kgCO2_per_L"]),
        )
        return report({"reduction_kgCO2": kg})
    kg = quantify.trip_substitution(
        decimal(inp["distance_km"], "distance_km"),
        decimal(inp["baseline_EF_kgCO2_per_pkm"], "baseline_EF_kgCO2_per_pkm"),
        decimal(inp["project_EF_kgCO2_per_pkm"], "project_EF_kgCO2_per_pkm"),
    )
    return report({"reduction_kgCO2": kg})


_PROPORTIONAL = re.compile(r"([\d.]+)\s*points?\s*=\s*([\d.]+)\s*(k?g)", re.IGNORECASE)


@register("points")
def _points(inp: dict[str, Any]) -> dict[str, Any]:
    raw = inp["reduction_gCO2"]
    grams = [decimal(g) for g in (raw if isinstance(raw, list) else [raw])]
    total_g = sum(grams, Decimal(0))
    rule = inp.get("rule")
    if isinstance(rule, Mapping) and "points_per_event" in rule:
        per_event = decimal(rule["points_per_event"])
        points = per_event * len(grams)
    else:
        if isinstance(rule, Mapping):
            per_g = decimal(rule.get("points_per_g", 1))
        else:
            match = _PROPORTIONAL.search(str(rule or "1 point = 1 g"))
            if match is None:
                raise ValueError(f"cannot read points rule {rule!r}")
            grams_per = decimal(match.group(2)) * (1000 if match.group(3).lower() == "kg" else 1)
            per_g = decimal(match.group(1)) / grams_per
        points = total_g * per_g
    out: dict[str, Any] = {"reduction_kgCO2": total_g / 1000}
    out["points_total" if isinstance(raw, list) else "points"] = points
    if points:
        out["g_per_point"] = total_g / points
    return report(out)


@register("project_reduction")
def _project(inp: dict[str, Any]) -> dict[str, Any]:
    if "baseline_emissions_t" in inp:
        baseline = decimal(inp["baseline_emissions_t"])
    else:
        baseline = quantify.grid_displacement(
            decimal(inp["net_generation_MWh"], "net_generation_MWh"),
            decimal(inp["baseline_EF_tCO2_per_MWh"], "baseline_EF_tCO2_per_MWh"),
        )
    reduction = quantify.project_reduction(
        baseline,
        decimal(inp.get("project_emissions_t", 0)),
        decimal(inp.get("leakage_t", 0)),
    )
    return report({"baseline_tCO2": baseline, "reduction_tCO2": reduction})
