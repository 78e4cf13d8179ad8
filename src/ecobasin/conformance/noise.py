"""Noise conformance kinds: leq, percentile_levels, ldn, lden, day_night_from_hourly,
zone_compliance, regional_grade, traffic_length_weighted, compliance_rate, boundary_noise.

Registered into :data:`ecobasin.conformance.HANDLERS` on import (``conformance`` imports this
module at its end). Each handler parses the case input, calls :mod:`ecobasin.standards.noise`
and rounds only what is reported (GB/T 8170, 0.1 dB; emission values whole dB); nothing is
read from ``expect``. Self-contained so that it can move into a ``conformance`` package as is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ecobasin.conformance.registry import register
from ecobasin.standards import noise
from ecobasin.standards.noise_tables import noise_rules

__all__ = ["flat_params"]

_THRESHOLD_KEYS = (
    "min_vdr",
    "min_valid_fraction",
    "min_valid_ratio",
    "validity_threshold",
    "valid_fraction_min",
    "min_valid_rate",
    "vdr_threshold",
    "min_valid_pct",
    "min_vdr_pct",
)
_EXPECTED_KEYS = ("n_expected", "expected_n", "expected_minutes", "expected_seconds", "expected")


def flat_params(inp: Mapping[str, Any]) -> dict[str, Any]:
    """The case input with one level of nested objects (e.g. ``validity``) merged in."""
    out: dict[str, Any] = {}
    for key, value in inp.items():
        if isinstance(value, Mapping) and key in ("validity", "rule", "rules", "params"):
            out.update(value)
        else:
            out[key] = value
    return out


def _first(params: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    return next((params[k] for k in keys if params.get(k) is not None), None)


def _db(value: float | None, decimals: int = 1) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return noise.round_db(value, decimals)


def _level(value: Any) -> float | None:
    return None if value is None else float(value)


def _threshold(params: Mapping[str, Any], n_expected: int) -> float | None:
    thr = _first(params, _THRESHOLD_KEYS)
    if thr is not None:
        t = float(thr)
        return t / 100.0 if t > 1 else t
    count = _first(params, ("min_valid", "min_valid_n", "min_valid_minutes", "min_valid_seconds"))
    if count is not None and n_expected > 0:
        return float(count) / n_expected
    return None


def _readings(params: Mapping[str, Any]) -> list[Any]:
    keys = (
        "levels_dBA",
        "samples_dBA",
        "seconds_dBA",
        "second_levels_dBA",
        "minute_leq_dBA",
        "minutes_dBA",
        "minute_levels_dBA",
        "hourly_leq_dBA",
        "levels",
        "values",
    )
    found = _first(params, keys)
    if found is None:
        raise ValueError(f"no readings: expected one of {', '.join(keys)}")
    return list(found.values()) if isinstance(found, Mapping) else list(found)


@register("leq")
def _leq(inp: dict[str, Any]) -> dict[str, Any]:
    params = flat_params(inp)
    raw = _readings(params)
    nested = any(isinstance(v, list) for v in raw)
    sub_out: list[float | None] = []
    if nested:  # seconds grouped by minute: each minute judged on its own first (HJ 906)
        per = params.get("seconds_per_minute", params.get("expected_per_minute", 60))
        for group in raw:
            p = noise.leq_valid(
                [_level(v) for v in group or []],
                n_expected=int(per),
                min_vdr=_threshold(params, int(per)),
            )
            sub_out.append(p.leq)
        levels: list[float | None] = sub_out
    else:
        levels = [_level(v) for v in raw]
    expected = int(_first(params, _EXPECTED_KEYS) or len(levels))
    durations = params.get("durations_s")
    period = noise.leq_valid(
        levels,
        n_expected=expected,
        min_vdr=_threshold(params, expected),
        durations=None if durations is None or nested else [float(d) for d in durations],
    )
    finite = [v for v in levels if v is not None and math.isfinite(v)]
    out: dict[str, Any] = {
        "Leq_dBA": _db(period.leq),
        "Leq_unrounded": period.leq,
        "valid": period.valid,
        "n_valid": period.n_valid,
        "n_expected": period.n_expected,
        "vdr": period.vdr,
        "vdr_pct": _db(100.0 * period.vdr),
        "Lmax_dBA": _db(period.lmax),
        "Lmin_dBA": _db(period.lmin),
        "arithmetic_mean_wrong_dBA": sum(finite) / len(finite) if finite else None,
    }
    # the same answers under the names a minute → hour case may use
    out["hour_Leq_dBA"] = out["Leq_hour_dBA"] = out["hourly_Leq_dBA"] = out["Leq_dBA"]
    out["n_valid_minutes"] = period.n_valid
    out["n_missing"] = period.n_expected - period.n_valid
    out["valid_data_rate"] = period.vdr
    if nested:
        out["minute_Leq_dBA"] = [_db(v) for v in sub_out]
    return out


@register("percentile_levels")
def _percentiles(inp: dict[str, Any]) -> dict[str, Any]:
    samples = [float(v) for v in _readings(inp) if v is not None]
    percents = [float(p) for p in inp.get("percents", (5, 10, 50, 90, 95))]
    stats = noise.percentile_levels(samples, percents)
    out: dict[str, Any] = {k: _db(v) for k, v in stats.items()}
    out["Leq_unrounded"] = stats["Leq"]
    if {"L10", "L50", "L90"} <= stats.keys():
        spread = stats["L10"] - stats["L90"]
        out["Leq_gauss_approx"] = _db(stats["L50"] + spread**2 / 60.0)
    out["n"] = len(samples)
    return out


@register("ldn")
def _ldn(inp: dict[str, Any]) -> dict[str, Any]:
    value = noise.ldn(
        float(inp["Ld_dBA"]),
        float(inp["Ln_dBA"]),
        float(inp.get("day_hours", 16)),
        float(inp.get("night_hours", 8)),
        float(inp.get("night_penalty_dB", 10)),
    )
    return {"Ldn_dBA": _db(value), "Ldn_unrounded": value}


@register("lden")
def _lden(inp: dict[str, Any]) -> dict[str, Any]:
    levels = [float(inp["Lday_dBA"]), float(inp["Levening_dBA"]), float(inp["Lnight_dBA"])]
    hours = [float(h) for h in inp.get("hours", (12, 4, 8))]
    penalties = [float(p) for p in inp.get("penalties_dB", (0, 5, 10))]
    value = noise.lden(levels, hours, penalties)
    return {"Lden_dBA": _db(value), "Lden_unrounded": value}


def _window(text: Any) -> tuple[int, int] | None:
    if not text:
        return None
    start, end = str(text).split("-")
    return noise.hour_label(start) % 24, noise.hour_label(end)


@register("day_night_from_hourly")
def _day_night(inp: dict[str, Any]) -> dict[str, Any]:
    params = flat_params(inp)
    hourly = params["hourly_leq_dBA"]
    window = _window(params.get("day"))
    dn = noise.day_night_from_hourly(
        {k: _level(v) for k, v in hourly.items()},
        day_start=None if window is None else window[0],
        day_end=None if window is None else window[1],
        min_day_hours=params.get("min_day_hours"),
        min_night_hours=params.get("min_night_hours"),
    )
    out: dict[str, Any] = {
        "day_labels": dn.day_labels,
        "night_labels": dn.night_labels,
        "Ld_dBA": _db(dn.ld),
        "Ln_dBA": _db(dn.ln),
        "Ld_unrounded": dn.ld,
        "Ln_unrounded": dn.ln,
        "n_day_hours": dn.n_day,
        "n_night_hours": dn.n_night,
        "day_valid": dn.day_valid,
        "night_valid": dn.night_valid,
        "Ldn_dBA": None if dn.ld is None or dn.ln is None else _db(noise.ldn(dn.ld, dn.ln)),
    }
    lmax_hourly = params.get("hourly_lmax_dBA")
    night_lmax = params.get("night_Lmax_dBA")
    if lmax_hourly:
        night_set = set(dn.night_labels)
        values = [
            float(v)
            for k, v in lmax_hourly.items()
            if v is not None and f"{noise.hour_label(k):02d}:00" in night_set
        ]
        night_lmax = max(values) if values else None
        out["night_Lmax_dBA"] = _db(night_lmax)
    if params.get("zone_class") is not None:
        verdict = noise.zone_compliance(params["zone_class"], dn.ld, dn.ln, _level(night_lmax))
        out.update(_verdict_fields(verdict))
    return out


def _verdict_fields(v: noise.ZoneVerdict) -> dict[str, Any]:
    return {
        "day_limit": _num(v.day_limit),
        "night_limit": _num(v.night_limit),
        "night_lmax_limit": _num(v.night_lmax_limit),
        "day_pass": v.day_pass,
        "night_pass": v.night_pass,
        "night_lmax_pass": v.night_lmax_pass,
        "day_exceed_dB": v.day_exceed,
        "night_exceed_dB": v.night_exceed,
        "night_lmax_exceed_dB": v.night_lmax_exceed,
        "overall_pass": v.overall_pass,
        "rule_version": v.rule_version,
    }


def _num(x: float) -> float | int:
    return int(x) if float(x).is_integer() else x


@register("zone_compliance")
def _zone(inp: dict[str, Any]) -> dict[str, Any]:
    verdict = noise.zone_compliance(
        inp["zone_class"],
        _level(inp.get("Ld_dBA")),
        _level(inp.get("Ln_dBA")),
        _level(inp.get("night_Lmax_dBA")),
    )
    return {"zone_class": verdict.zone_class, **_verdict_fields(verdict)}


def _grade_fields(result: noise.SurveyResult) -> dict[str, Any]:
    return {
        "mean_dBA": result.mean,
        "mean_unrounded": result.mean_unrounded,
        "grade": result.grade.grade_zh,
        "rating": result.grade.rating_zh,
        "rating_en": result.grade.rating_en,
    }


def _grid_levels(inp: Mapping[str, Any]) -> list[float]:
    if "grids" in inp:  # objects with an optional validity flag (HJ 640: invalid grids left out)
        return [
            float(g.get("leq_dBA", g.get("Leq_dBA")))
            for g in inp["grids"]
            if g.get("valid", True) and g.get("leq_dBA", g.get("Leq_dBA")) is not None
        ]
    return [float(v) for v in inp["grid_leq_dBA"] if v is not None]


@register("regional_grade")
def _regional(inp: dict[str, Any]) -> dict[str, Any]:
    result = noise.regional_result(_grid_levels(inp), str(inp.get("period", "day")))
    return {
        "n_grids": result.n,
        "n_invalid": len(inp.get("grids", [])) - result.n if "grids" in inp else 0,
        **_grade_fields(result),
        "grid_counts_by_rating": result.counts,
        "grid_share_by_rating_pct": result.shares_pct,
    }


@register("traffic_length_weighted")
def _traffic(inp: dict[str, Any]) -> dict[str, Any]:
    segments = inp["segments"]
    result = noise.traffic_result(
        [float(s.get("leq_dBA", s.get("Leq_dBA"))) for s in segments],
        [float(s["length_km"]) for s in segments],
        str(inp.get("period", "day")),
    )
    return {
        "n_segments": result.n,
        "total_length_km": result.total_length_km,
        "weighted_mean_dBA": result.mean,
        "weighted_unrounded": result.mean_unrounded,
        **_grade_fields(result),
        "length_over_70_km": result.length_over_km,
        "share_over_70_pct": result.share_over_pct,
        "length_share_by_rating_pct": result.shares_pct,
        "segment_counts_by_rating": result.counts,
    }


def _point_times(rows: list[dict[str, Any]]) -> dict[str, Any]:
    by_class: dict[str, dict[str, int]] = {}
    totals = {"day_compliant": 0, "night_compliant": 0, "n_day": 0, "n_night": 0}
    for row in rows:
        v = noise.zone_compliance(
            row["zone_class"], _level(row.get("Ld_dBA")), _level(row.get("Ln_dBA"))
        )
        c = by_class.setdefault(
            v.zone_class, {"n": 0, "n_day": 0, "n_night": 0, "day": 0, "night": 0}
        )
        c["n"] += 1
        for part, verdict in (("day", v.day_pass), ("night", v.night_pass)):
            if verdict is None:
                continue  # a missing level is not a monitored point-time
            c[f"n_{part}"] += 1
            c[part] += int(verdict)
            totals[f"n_{part}"] += 1
            totals[f"{part}_compliant"] += int(verdict)
    order = list(noise_rules().zones)
    return {
        **totals,
        "day_rate_pct": noise.compliance_rate(totals["day_compliant"], totals["n_day"]),
        "night_rate_pct": noise.compliance_rate(totals["night_compliant"], totals["n_night"]),
        "by_class": {
            k: {
                "n": c["n"],
                "day_pct": noise.compliance_rate(c["day"], c["n_day"]),
                "night_pct": noise.compliance_rate(c["night"], c["n_night"]),
            }
            for k, c in sorted(by_class.items(), key=lambda kv: order.index(kv[0]))
        },
    }


@register("compliance_rate")
def _rates(inp: dict[str, Any]) -> dict[str, Any]:
    if "point_times" in inp:
        return _point_times(list(inp["point_times"]))
    out: dict[str, Any] = {}
    for part in ("day", "night"):
        if part in inp:
            counts = inp[part]
            out[f"{part}_rate_pct"] = noise.compliance_rate(
                int(counts["compliant"]), int(counts["monitored"])
            )
    if not out:
        raise ValueError("compliance_rate needs point_times or day/night counts")
    return out


@register("boundary_noise")
def _boundary(inp: dict[str, Any]) -> dict[str, Any]:
    lmax = inp.get("night_Lmax_dBA", inp.get("Lmax_dBA"))
    r = noise.boundary_noise(
        standard=str(inp.get("standard", "GB 12348-2008")),
        zone_class=str(inp.get("zone_class", "")),  # GB 12523 has one limit for all classes
        period=str(inp.get("period", "day")),
        measured=float(inp["measured_Leq_dBA"]),
        background=_level(inp.get("background_Leq_dBA")),
        night_lmax=_level(lmax),
        lmax_type=str(inp.get("lmax_type", "occasional")),
        indoor=bool(inp.get("indoor_sensitive_building", False)),
    )
    return {
        "standard": r.standard,
        "status": r.status,
        "background_skipped": r.status == "background_skipped",
        "not_evaluable": r.status == "not_evaluable",
        "difference_dB": r.difference,
        "difference_rounded_dB": r.difference_rounded,
        "correction_dB": r.correction,
        "emission_dBA": r.emission,
        "limit_dBA": _num(r.limit),
        "pass": r.passed,
        "exceed_dB": r.exceed,
        "lmax_limit_dBA": None if r.lmax_limit is None else _num(r.lmax_limit),
        "lmax_pass": r.lmax_pass,
        "rule_version": r.rule_version,
    }
