"""Conformance runner: one JSON case in, one JSON result out.

A case is ``{"kind": ..., "input": {...}, "expect": {...}}``; :func:`run_case` dispatches on
``kind`` through :data:`HANDLERS`, so other modules (water, carbon) add kinds with
:func:`register`. Results are computed by the engines, never read from ``expect``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ecobasin.forecast.warning import warning_level
from ecobasin.standards import air
from ecobasin.standards.air_stats import DECIMALS
from ecobasin.standards.rounding import round_gbt8170

__all__ = ["HANDLERS", "register", "run_case", "run_lines"]

Handler = Callable[[dict[str, Any]], dict[str, Any]]

#: kind -> handler(input) -> output dict
HANDLERS: dict[str, Handler] = {}


def register(kind: str) -> Callable[[Handler], Handler]:
    """Decorator registering a handler for a case kind."""

    def deco(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        return fn

    return deco


def run_case(case: dict[str, Any]) -> dict[str, Any]:
    """Run one case: ``{"output": {...}}`` or ``{"error": "..."}`` (never raises)."""
    try:
        if not isinstance(case, dict):
            return {"error": "case is not a JSON object"}
        kind = case.get("kind")
        handler = HANDLERS.get(str(kind))
        if handler is None:
            return {"error": f"unknown kind {kind!r}"}
        inp = case.get("input")
        if not isinstance(inp, dict):
            return {"error": "case has no 'input' object"}
        return {"output": handler(inp)}
    except Exception as exc:  # a bad case must never stop the run
        return {"error": f"{type(exc).__name__}: {exc}"}


def run_lines(lines: Iterable[str]) -> Iterator[str]:
    """One output JSON line per input line, in order; malformed lines give an error line."""
    for line in lines:
        if not line.strip():
            yield json.dumps({"error": "empty line"})
            continue
        try:
            case = json.loads(line)
        except json.JSONDecodeError as exc:
            yield json.dumps({"error": f"malformed JSON: {exc}"})
            continue
        yield json.dumps(run_case(case), ensure_ascii=False)


def _num(x: float | None) -> float | int | None:
    if x is None:
        return None
    f = float(x)
    if not math.isfinite(f):
        return None
    return int(f) if f.is_integer() else f


# ---------------------------------------------------------------------------------------------
# air kinds
# ---------------------------------------------------------------------------------------------

_FALLBACK_KEYS = {"SO2_1h": ("so2_24h", "SO2_24h"), "O3_8h": ("o3_1h", "O3_1h")}


@register("iaqi")
def _iaqi(inp: dict[str, Any]) -> dict[str, Any]:
    rs_name = str(inp.get("standard", "HJ633-2026"))
    item = str(inp["item"])
    conc = inp.get("conc", inp.get("conc_unrounded"))
    out: dict[str, Any] = {"rule_set": rs_name}
    table = air.rule_set(rs_name).item(item)
    if conc is not None and rs_name.startswith("HJ633"):
        out["conc_rounded"] = _num(round_gbt8170(float(conc), table.decimals))
    fb = None
    src = item
    sub = table.substitute
    if item in _FALLBACK_KEYS:
        key, sub_item = _FALLBACK_KEYS[item]
        fb = inp.get(key)
        if (
            sub is not None
            and conc is not None
            and air.iaqi_array(item, [float(conc)], rs_name)[0][0] == -1
        ):
            src = sub_item  # above 800: reported from the substitute
    codes, over = air.iaqi_array(
        item,
        [float("nan") if conc is None else float(conc)],
        rs_name,
        fallback=None if fb is None else [float(fb)],
    )
    v = int(codes[0])
    out["iaqi"] = None if v < 0 else v
    out["source"] = src
    out["over_range"] = bool(over[0])
    return out


def _report(inp: dict[str, Any], report: air.air_index.Report) -> dict[str, Any]:  # type: ignore[name-defined]
    rs_name = str(inp.get("standard", "HJ633-2026"))
    if "city_from_stations" in inp:
        stations: dict[str, list[float]] = inp["city_from_stations"]
        city: dict[str, Any] = {}
        for pol, values in stations.items():
            vals = [float(v) for v in values if v is not None]
            mean = sum(vals) / len(vals) if vals else float("nan")
            base = "O3" if pol.startswith("O3") else pol
            city[pol] = _num(round_gbt8170(mean, DECIMALS.get(base, 0))) if vals else None
        rec = air.aqi_record(city, rs_name, report)
        only = inp.get("only_pollutant")
        if only is not None:
            label = str(only)
            return {"city_conc": city[label], "iaqi": rec["iaqi"].get(label), "rule_set": rs_name}
        rec["city_conc"] = city
        return rec
    conc: dict[str, Any] = inp["conc"]
    return air.aqi_record(conc, rs_name, report)


@register("aqi_hourly")
def _aqi_hourly(inp: dict[str, Any]) -> dict[str, Any]:
    return _report(inp, "hourly")


@register("aqi_daily")
def _aqi_daily(inp: dict[str, Any]) -> dict[str, Any]:
    return _report(inp, "daily")


_COUNT_KEYS = ("n_valid_hours", "sampling_minutes", "n_valid_days", "n_valid_8h_windows")


@register("daily_validity")
def _validity(inp: dict[str, Any]) -> dict[str, Any]:
    stat = str(inp["stat"])
    count = next((inp[k] for k in _COUNT_KEYS if k in inp), None)
    if count is None:
        raise ValueError(f"no count given (one of {', '.join(_COUNT_KEYS)})")
    value = inp.get("mda8", inp.get("value"))
    valid = air.is_valid(
        stat,
        count,
        pollutant=inp.get("pollutant"),
        month=inp.get("month"),
        value=value,
        limit=inp.get("limit"),
    )
    rule = air.validity_rule(stat, inp.get("pollutant"))
    return {"valid": bool(valid), "min": rule["min"], "rule_source": rule["source"]}


@register("o3_8h")
def _o3_8h(inp: dict[str, Any]) -> dict[str, Any]:
    values = inp.get("hourly_o3_hour_ending_1_to_24", inp.get("values"))
    if values is None:
        raise ValueError("need hourly_o3_hour_ending_1_to_24")
    return air.mda8_day(values, inp.get("limit"))


def _decimals_for(pollutant: str | None) -> int | None:
    if pollutant is None:
        return None
    base = pollutant.split("_", 1)[0]
    return DECIMALS.get(base)


@register("annual_eval")
def _annual_eval(inp: dict[str, Any]) -> dict[str, Any]:
    stat = str(inp["stat"])
    if stat == "percentile":
        raw = air.percentile(inp["values"], float(inp["p"]))
        dec = _decimals_for(inp.get("pollutant"))
        value = raw if dec is None else round_gbt8170(raw, dec)
        out: dict[str, Any] = {"value_unrounded": _num(raw), "value": _num(value)}
        if inp.get("limit") is not None:
            lim = float(inp["limit"])
            out["compliant"] = bool(value <= lim)
            out["exceed_multiple"] = air.exceed_multiple(value, lim)
        return out
    if stat == "compliance":
        pol = str(inp["pollutant"])
        stats: dict[str, float | None] = {
            k: inp[k] for k in ("annual_mean", "p98_daily", "p95_daily", "p90_mda8") if k in inp
        }
        std = str(inp.get("standard", "GB3095-2012"))
        return air.compliance(
            pol, stats, standard=std, zone_class=int(inp.get("class", 2)), phase=inp.get("phase")
        )
    if stat == "exceed_multiple":
        return {"value": air.exceed_multiple(float(inp["conc"]), float(inp["limit"]))}
    if stat == "attainment_rate":
        return {"percent": air.attainment_rate(inp["n_compliant_days"], inp["n_valid_days"])}
    if stat == "good_days_ratio":
        return air.good_day_ratio(inp["daily_aqi"])
    if stat == "composite_index":
        method = "CNEMC-2018"
        m = str(inp.get("method", ""))
        if "2026" in m and "unverified" in m.lower():
            method = "HJ663-2026-unverified"
        conc = {
            "SO2": inp["SO2"],
            "NO2": inp["NO2"],
            "PM10": inp["PM10"],
            "PM2.5": inp["PM2.5"],
            "CO": inp.get("CO_p95", inp.get("CO")),
            "O3": inp.get("O3_8h_p90", inp.get("O3")),
        }
        res = air.composite_index(conc, method).iloc[0]
        single = {p: _num(res[f"I_{p}"]) for p in ("SO2", "NO2", "PM10", "PM2.5", "CO", "O3")}
        return {
            "index": _num(res["index"]),
            "max_single_index_pollutant": str(res["max_single_index_pollutant"]),
            "single": single,
            "method": method,
        }
    raise ValueError(f"unknown annual_eval stat {stat!r}")


@register("warning_level")
def _warning(inp: dict[str, Any]) -> dict[str, Any]:
    rule = str(inp.get("rule", "HBDQH-2019-648"))
    level = warning_level(inp["forecast_daily_aqi"], rule, float(inp.get("hours_per_value", 24)))
    return {"level": level, "rule": rule}


# water kinds (section_class, main_pollutants, basin_share, cwqi, tli) and carbon kinds
# (fuel_combustion, electricity, heat, sink, peak_tracking, ...) register themselves on import
from ecobasin import (  # noqa: E402, F401
    conformance_carbon,
    conformance_emergency,
    conformance_water,
)
