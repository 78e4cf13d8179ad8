"""Emergency-list conformance kinds: list_ratio, emission_rate, cou_consistency, enterprise_check,
measure_lookup, grade_at_time, warning_level (the ``forecasts`` shape), electricity_check,
staggered_production, expected_reduction.

Self-contained: registered into :data:`ecobasin.conformance.HANDLERS` on import. Each handler
parses the case input, calls :mod:`ecobasin.standards.emergency` and rounds only what it reports
(GB/T 8170: 4 decimals for t/d, kg and ratios); nothing is read from ``expect``.
"""

from __future__ import annotations

from typing import Any

from ecobasin.conformance.registry import HANDLERS, register
from ecobasin.forecast.warning import warning_level
from ecobasin.standards import emergency as em
from ecobasin.standards.rounding import round_gbt8170

__all__: list[str] = []

_DECIMALS = 4  # reported decimals for t/d, kg and ratios [1]

#: warning-rule names as cases write them (document number) → rule key in warning_levels.toml
_RULE_ALIASES = {"环大气〔2024〕6号": "HDQ-2024-6", "环办大气函〔2019〕648号": "HBDQH-2019-648"}


def _r(x: float) -> float:
    value = float(round_gbt8170(float(x), _DECIMALS))
    return value + 0.0  # no negative zero in reports


def _rd(d: dict[str, float]) -> dict[str, float]:
    return {k: _r(v) for k, v in d.items()}


@register("list_ratio")
def _list_ratio(inp: dict[str, Any]) -> dict[str, Any]:
    acc = em.list_accounting(
        inp["sources"], inp["city_baseline_t_per_d"], inp["required_ratio"], str(inp["level"])
    )
    return {
        "reduction_t_per_d": _rd(acc.reduction),
        "ratio": _rd(acc.ratio),
        "meets": acc.meets,
        "shortfall_t_per_d": _rd(acc.shortfall),
        "candidates": [
            {"id": c["id"], "extra_t_per_d": _rd(c["extra_t_per_d"])} for c in acc.candidates
        ],
    }


@register("expected_reduction")
def _expected(inp: dict[str, Any]) -> dict[str, Any]:
    rec = inp["record"]
    cut = em.expected_reduction(rec["base_t_per_d"], rec["fraction"], str(inp["level"]))
    return {"reduction_t_per_d": _rd(cut)}


@register("emission_rate")
def _emission_rate(inp: dict[str, Any]) -> dict[str, Any]:
    kg = em.emission_kg(
        float(inp["avg_mg_m3"]), float(inp["flow_m3_h_dry_std"]), float(inp.get("hours", 1))
    )
    return {"emission_kg": _r(kg)}


@register("cou_consistency")
def _cou(inp: dict[str, Any]) -> dict[str, Any]:
    reported = inp.get("pollutant_cou_kg")
    res = em.cou_consistency(
        None if reported is None else float(reported),
        float(inp["avg_mg_m3"]),
        float(inp["flow_cou_m3"]),
        float(inp.get("tolerance", em.compliance_config()["cou_tolerance"])),
    )
    return {
        "recomputed_kg": _r(res.recomputed_kg),
        "consistent": res.consistent,
        "use": res.use,
        "flag": res.flag,
    }


def _hour(row: dict[str, Any]) -> em.Hour:
    avg, flow = row.get("avg_mg_m3"), row.get("flow_m3_h")
    flag = row.get("flag", "N") if (avg is not None or flow is not None) else row.get("flag")
    return em.Hour(
        int(row["h"]),
        None if avg is None else float(avg),
        None if flow is None else float(flow),
        flag,
    )


@register("enterprise_check")
def _enterprise(inp: dict[str, Any]) -> dict[str, Any]:
    config = {}
    if "min_valid_hours_per_24" in inp:
        config["min_valid_hours_per_24"] = float(inp["min_valid_hours_per_24"])
    flow = inp.get("baseline_flow_m3_h")
    res = em.check_enterprise(
        [_hour(r) for r in inp["hours"]],
        inp["measure"],
        float(inp["baseline_kg_per_h"]),
        baseline_flow_m3_h=None if flow is None else float(flow),
        grace_hours=int(inp.get("grace_hours", 0)),
        config=config,
    )
    return {
        "verdict": res.verdict,
        "valid_hours": res.valid_hours,
        "reasons": res.reasons,
        "flagged_hours": res.flagged_hours,
        **_rd(res.numbers),
    }


@register("measure_lookup")
def _measure(inp: dict[str, Any]) -> dict[str, Any]:
    grade = inp.get("grade")
    measure, used = em.measure_for(
        inp["industry_rule_table"], None if grade is None else str(grade), str(inp["level"])
    )
    return {**measure, "grade_used": used}


@register("grade_at_time")
def _grade_at(inp: dict[str, Any]) -> dict[str, Any]:
    return {"grades": [em.grade_at(inp["history"], q) for q in inp["queries"]]}


@register("electricity_check")
def _electricity(inp: dict[str, Any]) -> dict[str, Any]:
    cfg = em.compliance_config()
    res = em.check_power(
        float(inp["baseline_production_kwh_per_d"]),
        float(inp["warning_production_kwh_per_d"]),
        inp["measure"],
        inp["hourly"],
        float(inp.get("production_on_kw", cfg["production_on_kw"])),
        float(inp.get("treatment_on_kw", cfg["treatment_on_kw"])),
    )
    return {
        "achieved_reduction": _r(res.achieved_reduction),
        "limit_met": res.limit_met,
        "treatment_off_while_producing_hours": res.treatment_off_while_producing_hours,
        "verdict": res.verdict,
    }


@register("staggered_production")
def _stagger(inp: dict[str, Any]) -> dict[str, Any]:
    by = inp["by_date"]
    res = em.staggered_production(
        inp["days"], int(inp["target_stop_days"]), by["date"], int(by["min_stop_days"])
    )
    return {
        "stop_days": res.stop_days,
        f"stop_days_by_{by['date']}": res.stop_days_by,
        "met": res.met,
        "short_data_days": res.short_data_days,
    }


def _rule_key(rule: str) -> str:
    for doc, key in _RULE_ALIASES.items():
        if doc in rule:
            return key
    return rule


#: the air module's handler (single ``forecast_daily_aqi``), kept for that shape
_AIR_WARNING = HANDLERS["warning_level"]


@register("warning_level")
def _warning_levels(inp: dict[str, Any]) -> dict[str, Any]:
    """Both shapes: ``forecast_daily_aqi`` (air module) or ``forecasts`` (a list of sequences,
    one level or None each, emergency cases)."""
    if "forecasts" not in inp:
        return _AIR_WARNING(inp)
    rule = _rule_key(str(inp.get("rule", "HDQ-2024-6")))
    levels = [warning_level(seq, rule) for seq in inp["forecasts"]]
    return {"levels": [None if lv == "none" else lv for lv in levels], "rule": rule}
