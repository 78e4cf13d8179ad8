"""River-incident conformance kinds: travel_time, manning_velocity, dispersion_coefficient,
instantaneous_release, peak_at, duration_above_threshold, continuous_release_steady,
continuous_release_transient, confluence_dilution, incident_grade, notification_deadline.

Shapes: ``../shared/testdata/incidents/incident_cases_public.jsonl`` (brief
``../shared/reference/incidents.md`` §5). Inputs carry their units in their key names; a handler
reads the key in whichever unit the case gives (kg or g, per day or per second, hours or
seconds, km or m), converts to SI and calls :mod:`ecobasin.rivers`. Nothing is read from
``expect``. ``incident_grade`` and ``notification_deadline`` apply the rule the case hands in.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ecobasin.conformance.registry import register
from ecobasin.errors import InputError
from ecobasin.rivers import grading, hydraulics, transport

__all__: list[str] = []

#: key suffix -> factor to the SI unit of its quantity
_TO_SI = {
    # mass -> g
    "_kg": 1e3,
    "_g": 1.0,
    "_t": 1e6,
    "_mg": 1e-3,
    # length -> m
    "_m": 1.0,
    "_km": 1e3,
    # time -> s
    "_s": 1.0,
    "_h": 3600.0,
    "_min": 60.0,
    "_d": 86400.0,
    # rates
    "_per_s": 1.0,
    "_per_day": 1.0 / 86400.0,
    "_per_d": 1.0 / 86400.0,
    "_per_h": 1.0 / 3600.0,
    "_kg_h": 1e3 / 3600.0,
    "_kg_s": 1e3,
    "_g_s": 1.0,
    "_kg_d": 1e3 / 86400.0,
    "_t_d": 1e6 / 86400.0,
}


def _si(
    inp: Mapping[str, Any], stem: str, units: tuple[str, ...], default: float | None = None
) -> float:
    """The value of ``stem`` + one of ``units`` in SI (the first present key wins)."""
    for unit in units:
        value = inp.get(stem + unit)
        if value is not None:
            return float(value) * _TO_SI[unit]
    if default is not None:
        return default
    names = " or ".join(stem + u for u in units)
    raise InputError(f"the case needs {names}")


def _mass_g(inp: Mapping[str, Any]) -> float:
    return _si(inp, "M", ("_kg", "_g", "_t"))


def _decay(inp: Mapping[str, Any]) -> float:
    return _si(inp, "k", ("_per_day", "_per_d", "_per_s", "_per_h"), default=0.0)


def _x_m(inp: Mapping[str, Any]) -> float:
    return _si(inp, "x", ("_m", "_km"))


def _t_s(inp: Mapping[str, Any]) -> float:
    return _si(inp, "t", ("_h", "_s", "_min"))


def _load_g_s(inp: Mapping[str, Any]) -> float:
    return _si(inp, "W", ("_kg_h", "_g_s", "_kg_s", "_kg_d", "_t_d"))


def _velocity(inp: Mapping[str, Any]) -> float:
    """u [m/s]: given, or Q/A (brief §2.2 item 2)."""
    if inp.get("u_m_s") is not None:
        return float(inp["u_m_s"])
    if inp.get("Q_m3_s") is not None and inp.get("A_m2") is not None:
        return float(inp["Q_m3_s"]) / float(inp["A_m2"])
    raise InputError("the case needs u_m_s, or Q_m3_s with A_m2")


def _area(inp: Mapping[str, Any], velocity: float) -> float:
    if inp.get("A_m2") is not None:
        return float(inp["A_m2"])
    if inp.get("Q_m3_s") is not None:
        return float(inp["Q_m3_s"]) / velocity
    raise InputError("the case needs A_m2, or Q_m3_s with u_m_s")


def _slug_args(inp: Mapping[str, Any]) -> tuple[float, float, float, float, float, float]:
    u = _velocity(inp)
    return (_mass_g(inp), _area(inp, u), u, float(inp["D_m2_s"]), _decay(inp), _x_m(inp))


def _reach_velocity(reach: Mapping[str, Any]) -> float:
    """A reach's velocity by the brief's order of preference (§2.2)."""
    if reach.get("u_m_s") is not None or reach.get("A_m2") is not None:
        return _velocity(reach)
    if reach.get("n") is not None:
        return float(_manning(reach)["u_m_s"])
    if reach.get("Q_m3_s") is not None:
        k = float(reach.get("k", 0.194))
        m = float(reach.get("m", 0.285))
        return hydraulics.hydraulic_geometry_velocity_m_s(float(reach["Q_m3_s"]), k, m)
    raise InputError(f"reach {reach.get('id')!r} has no velocity, Q/A, Manning or discharge")


@register("travel_time")
def _travel_time(inp: dict[str, Any]) -> dict[str, Any]:
    reaches = inp.get("reaches") or []
    legs = []
    total = 0.0
    for reach in reaches:
        u = _reach_velocity(reach)
        hours = _si(reach, "length", ("_km", "_m")) / u / 3600.0
        total += hours
        legs.append({"id": reach.get("id"), "u_m_s": u, "hours": hours, "cumulative_h": total})
    return {"hours": total, "reaches": legs}


def _section(inp: Mapping[str, Any]) -> hydraulics.Section:
    sec = inp.get("section") or {}
    shape = str(sec.get("shape", "rectangular"))
    width = sec.get("B_m", sec.get("b_m", sec.get("bottom_width_m")))
    if width is None:
        raise InputError("a section needs its width B_m")
    if shape == "rectangular":
        return hydraulics.Section(float(width))
    if shape == "trapezoidal":
        return hydraulics.Section(float(width), float(sec.get("z", sec.get("side_slope", 0.0))))
    raise InputError(f"unknown section shape {shape!r} (rectangular, trapezoidal, wide)")


def _manning(inp: Mapping[str, Any]) -> dict[str, Any]:
    n, slope = float(inp["n"]), float(inp["S"])
    sec = inp.get("section") or {}
    if sec.get("shape") == "wide":
        depth = float(sec["h_m"])
        radius, area = depth, None
    else:
        section = _section(inp)
        if sec.get("h_m") is not None:
            depth = float(sec["h_m"])
        else:
            depth = hydraulics.manning_depth_m(float(inp["Q_m3_s"]), n, slope, section)
        radius, area = section.hydraulic_radius_m(depth), section.area_m2(depth)
    u = hydraulics.manning_velocity_m_s(n, slope, radius)
    out: dict[str, Any] = {"R_m": radius, "u_m_s": u, "h_m": depth}
    if area is not None:
        out |= {"A_m2": area, "Q_m3_s": area * u}
    return out


@register("manning_velocity")
def _manning_velocity(inp: dict[str, Any]) -> dict[str, Any]:
    return _manning(inp)


def _u_star(inp: Mapping[str, Any], depth: float, width: float) -> float:
    if inp.get("u_star_m_s") is not None:
        return float(inp["u_star_m_s"])
    g = float(inp.get("g", hydraulics.G_M_S2))
    formula = str(inp.get("u_star_formula", "sqrt(g*h*S)")).replace(" ", "")
    if formula == "sqrt(g*R*S)":
        radius = inp.get("R_m")
        depth = float(radius) if radius is not None else width * depth / (width + 2 * depth)
    elif formula != "sqrt(g*h*S)":
        raise InputError(f"unknown u_star_formula {formula!r}")
    return hydraulics.shear_velocity_m_s(depth, float(inp["S"]), g)


@register("dispersion_coefficient")
def _dispersion(inp: dict[str, Any]) -> dict[str, Any]:
    u, width, depth = float(inp["u_m_s"]), float(inp["B_m"]), float(inp["h_m"])
    u_star = _u_star(inp, depth, width)
    methods = inp.get("methods") or list(hydraulics.BAND_FORMULAS)
    values = {m: hydraulics.dispersion_m2_s(m, u, width, depth, u_star) for m in methods}
    return {
        "u_star_m_s": u_star,
        "D_m2_s": values,
        "D_low_m2_s": min(values.values()),
        "D_high_m2_s": max(values.values()),
    }


@register("instantaneous_release")
def _instantaneous(inp: dict[str, Any]) -> dict[str, Any]:
    return {"C_mg_L": transport.slug_concentration_mg_L(*_slug_args(inp), _t_s(inp))}


@register("peak_at")
def _peak_at(inp: dict[str, Any]) -> dict[str, Any]:
    t_peak, c_peak = transport.slug_peak(*_slug_args(inp))
    return {"t_peak_h": t_peak / 3600.0, "t_peak_s": t_peak, "C_peak_mg_L": c_peak}


@register("duration_above_threshold")
def _duration_above(inp: dict[str, Any]) -> dict[str, Any]:
    window = transport.slug_window_above_s(float(inp["threshold_mg_L"]), *_slug_args(inp))
    if window is None:
        return {"t_start_h": None, "t_end_h": None, "duration_h": 0.0, "exceeds": False}
    start, end = window
    return {
        "t_start_h": start / 3600.0,
        "t_end_h": end / 3600.0,
        "duration_h": (end - start) / 3600.0,
        "exceeds": True,
    }


def _load_and_background(inp: Mapping[str, Any]) -> tuple[float, float, float]:
    """(W [g/s], Q [m³/s], C_b [mg/L]); an effluent (C_p, Q_p) mixes into the river (C_h, Q_h)."""
    if inp.get("Q_p_m3_s") is not None:
        q_p, c_p = float(inp["Q_p_m3_s"]), float(inp["C_p_mg_L"])
        q_h, c_h = float(inp["Q_h_m3_s"]), float(inp.get("C_h_mg_L", 0.0))
        return q_p * c_p, q_p + q_h, q_h * c_h / (q_p + q_h)
    return _load_g_s(inp), float(inp["Q_m3_s"]), float(inp.get("C_background_mg_L", 0.0))


@register("continuous_release_steady")
def _continuous_steady(inp: dict[str, Any]) -> dict[str, Any]:
    load, discharge, background = _load_and_background(inp)
    u, k, x = float(inp["u_m_s"]), _decay(inp), _x_m(inp)
    c0, c_adv = transport.steady_advective_mg_L(load, discharge, background, u, k, x)
    model = str(inp.get("model", "advective")).replace("-", "_")
    if model == "advective":
        return {"C0_mg_L": c0, "C_mg_L": c_adv}
    if model in ("advective_dispersive", "dispersive"):
        total_load = load + discharge * background
        m, c = transport.steady_dispersive_mg_L(
            total_load, discharge, u, float(inp["D_m2_s"]), k, x
        )
        return {"C0_mg_L": c0, "m": m, "C_mg_L": c}
    raise InputError(f"unknown model {model!r} (advective, advective_dispersive)")


@register("continuous_release_transient")
def _continuous_transient(inp: dict[str, Any]) -> dict[str, Any]:
    u = _velocity(inp)
    args = (_load_g_s(inp), _area(inp, u), u, float(inp["D_m2_s"]), _decay(inp), _x_m(inp))
    t = _t_s(inp)
    duration = inp.get("duration_h", inp.get("duration_s"))
    if duration is None:
        return {"C_mg_L": transport.step_source_mg_L(*args, t)}
    seconds = _si(inp, "duration", ("_h", "_s", "_min"))
    return {"C_mg_L": transport.finite_release_mg_L(args[0], seconds, *args[1:], t)}


@register("confluence_dilution")
def _confluence(inp: dict[str, Any]) -> dict[str, Any]:
    branches = [(float(b["Q_m3_s"]), float(b["C_mg_L"])) for b in inp.get("branches") or []]
    discharge, conc = transport.confluence_mg_L(branches)
    return {"Q_m3_s": discharge, "C_mg_L": conc}


@register("incident_grade")
def _incident_grade(inp: dict[str, Any]) -> dict[str, Any]:
    facts = {k: v for k, v in inp.items() if k != "rule"}
    grade = grading.grade_incident(facts, inp["rule"])
    return {"grade": grade.grade, "triggered": list(grade.triggered), "rule": grade.rule}


@register("notification_deadline")
def _notification_deadline(inp: dict[str, Any]) -> dict[str, Any]:
    determined = datetime.fromisoformat(str(inp["determined_at"]).replace("Z", "+00:00"))
    due = grading.report_deadline(determined, str(inp["grade"]), inp["rule"])
    return {
        "deadline": due.deadline.isoformat(),
        "hours": due.hours,
        "recipients": list(due.recipients),
    }
