"""Emergency control lists and compliance from online data (pure: no I/O, no clock).

Implements ``../shared/reference/emergency.md``: list accounting (§1.4), grades and measures
(§1.2–1.3), mass from HJ 212 online data (§2.1), power cross-checks (§2.2), the checking
algorithm (§2.5) and Sichuan's cement 错峰 settlement (§1.6). Every number from a document is
data in ``catalog/data/emergency`` (and the warning rule in ``catalog/data/air``); the time is
always an argument.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import resources
from typing import Any

__all__ = [
    "LEVELS",
    "POLLUTANTS",
    "Baseline",
    "CouCheck",
    "EnterpriseCheck",
    "Hour",
    "ListAccount",
    "PowerCheck",
    "StaggerResult",
    "baseline_from_reference",
    "check_enterprise",
    "check_power",
    "city_baseline",
    "compliance_config",
    "cou_consistency",
    "cou_hours",
    "emission_kg",
    "expected_reduction",
    "grade_at",
    "grade_entry_at",
    "grade_scheme_at",
    "list_accounting",
    "measure_for",
    "measure_fraction",
    "power_from_hours",
    "required_ratios",
    "staggered_production",
]

LEVELS: tuple[str, ...] = ("yellow", "orange", "red")
POLLUTANTS: tuple[str, ...] = ("SO2", "NOx", "PM", "VOCs")
_EPS = 1e-9  # [1] guards float comparisons of ratios computed from sums


def _data(name: str) -> dict[str, Any]:
    path = resources.files("ecobasin").joinpath("catalog", "data", "emergency", name)
    return tomllib.loads(path.read_text(encoding="utf-8"))


@functools.cache
def compliance_config() -> dict[str, Any]:
    """Thresholds of the online-data check (``compliance.toml``, emergency.md §2.5)."""
    return _data("compliance.toml")


def _as_date(value: date | datetime | str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value)
    return datetime.fromisoformat(text).date() if "T" in text else date.fromisoformat(text)


# ---------------------------------------------------------------------------------------------
# list accounting (§1.4)
# ---------------------------------------------------------------------------------------------
def required_ratios(jurisdiction: str, level: str, at: date | str) -> dict[str, float]:
    """Required reduction ratios [1] per pollutant for a city at a level, in force at ``at``.

    The city's own plan entry applies where it names the level; otherwise the national entry
    (``reduction_ratios.toml``, emergency.md §1.4: 10/20/30 %).
    """
    when = _as_date(at)
    plans = [
        p for p in _data("reduction_ratios.toml")["plan"] if _as_date(p["effective_from"]) <= when
    ]
    for code in (jurisdiction, "CN"):
        own = [p for p in plans if p["jurisdiction"] == code and level in p]
        if own:
            latest = max(own, key=lambda p: _as_date(p["effective_from"]))
            return {k: float(v) for k, v in latest[level].items()}
    raise KeyError(f"no reduction ratios for {jurisdiction!r} at {level!r} on {when}")


def city_baseline(jurisdiction: str, at: date | str) -> dict[str, float] | None:
    """Whole-society daily emission of a city [t/d] in force at ``at`` (``city_baselines.toml``,
    §1.4), or None when none is configured."""
    when = _as_date(at)
    entries = [
        b for b in _data("city_baselines.toml")["baseline"]
        if b["jurisdiction"] == jurisdiction and _as_date(b["effective_from"]) <= when
    ]  # fmt: skip
    if not entries:
        return None
    latest = max(entries, key=lambda b: _as_date(b["effective_from"]))
    return {p: float(v) for p, v in latest["t_per_d"].items()}


def measure_fraction(measure: Mapping[str, Any]) -> float:
    """Share of a source's baseline a measure removes [1] (§1.4 ``f_m,L``): 1 for a stop, the
    ratio for a limit, 0 when exempt; a sector measure states its own ``fraction``."""
    if "fraction" in measure:
        return float(measure["fraction"])
    action = measure.get("action")
    if action == "stop":
        return 1.0
    if action == "limit":
        return float(measure["ratio"])
    return 0.0


def expected_reduction(
    base_t_per_d: Mapping[str, float], fraction: Mapping[str, float], level: str
) -> dict[str, float]:
    """Expected cut of one list record at a level: ``R_p = b_p × f_L`` [t/d] (§1.4)."""
    f = float(fraction.get(level, 0.0))
    if not 0.0 <= f <= 1.0:
        raise ValueError(f"fraction at {level} must be within [0, 1], got {f}")
    return {p: float(b) * f for p, b in base_t_per_d.items()}


@dataclass(frozen=True)
class ListAccount:
    """A list's reductions at one level against the city baseline (§1.4).

    Attributes: ``reduction`` [t/d], ``ratio`` [1], ``meets`` per pollutant, ``shortfall`` [t/d]
    (``req × B − ΣR``, never negative) and ``candidates``: sources ranked by the extra cut they
    could still give on the pollutants that fall short [t/d].
    """

    level: str
    reduction: dict[str, float]
    ratio: dict[str, float]
    meets: dict[str, bool]
    shortfall: dict[str, float]
    candidates: list[dict[str, Any]] = field(default_factory=list)


def list_accounting(
    sources: Sequence[Mapping[str, Any]],
    city_baseline_t_per_d: Mapping[str, float],
    required: Mapping[str, float],
    level: str,
) -> ListAccount:
    """Sum the list's expected cuts per pollutant and compare with the required ratio (§1.4).

    ``sources`` carry ``id``, ``base_t_per_d`` and ``fraction`` per level; A-grade and exempt
    records carry fraction 0 and stay in the list (全覆盖).
    """
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; expected one of {LEVELS}")
    totals = dict.fromkeys(city_baseline_t_per_d, 0.0)
    for src in sources:
        for p, r in expected_reduction(src["base_t_per_d"], src["fraction"], level).items():
            totals[p] = totals.get(p, 0.0) + r
    ratio, meets, short = {}, {}, {}
    for p, base in city_baseline_t_per_d.items():
        if float(base) <= 0:
            raise ValueError(f"city baseline of {p} must be > 0 t/d, got {base}")
        ratio[p] = totals[p] / float(base)
        need = float(required.get(p, 0.0)) * float(base)
        meets[p] = totals[p] >= need - _EPS
        short[p] = max(0.0, need - totals[p])
    gaps = [p for p, s in short.items() if s > _EPS]
    return ListAccount(level, totals, ratio, meets, short, _rank_candidates(sources, level, gaps))


def _rank_candidates(
    sources: Sequence[Mapping[str, Any]], level: str, gaps: Sequence[str]
) -> list[dict[str, Any]]:
    # the extra cut a source could still give is what its measure leaves: b × (1 − f)
    ranked = []
    for src in sources:
        if src.get("grade") in ("A", "A+") or src.get("category") in ("exempt", "保障类"):
            continue  # graded A and exempt records are not asked for more (§1.3)
        f = float(src["fraction"].get(level, 0.0))
        extra = {p: float(src["base_t_per_d"].get(p, 0.0)) * (1.0 - f) for p in gaps}
        if sum(extra.values()) > _EPS:
            ranked.append({"id": src["id"], "extra_t_per_d": extra})
    return sorted(ranked, key=lambda c: -sum(c["extra_t_per_d"].values()))


# ---------------------------------------------------------------------------------------------
# grades and measures (§1.2, §1.3, §1.5)
# ---------------------------------------------------------------------------------------------
def grade_at(history: Sequence[Mapping[str, Any]], at: date | datetime | str) -> str | None:
    """Grade in force at ``at``: the entry with the latest ``effective_from`` ≤ ``at`` (§1.5).

    ``at`` is compared on the local date it names (a warning start in +08:00).
    """
    when = _as_date(at)
    past = [h for h in history if _as_date(h["effective_from"]) <= when]
    if not past:
        return None
    return str(max(past, key=lambda h: _as_date(h["effective_from"]))["grade"])


def grade_entry_at(
    history: Sequence[Mapping[str, Any]], at: date | datetime | str
) -> Mapping[str, Any] | None:
    """The whole grade entry in force at ``at`` (grade, effective date, source document)."""
    when = _as_date(at)
    past = [h for h in history if _as_date(h["effective_from"]) <= when]
    return max(past, key=lambda h: _as_date(h["effective_from"])) if past else None


def grade_scheme_at(at: date | datetime | str) -> dict[str, Any]:
    """The grade scheme (绩效分级 document, §1.2) in force at ``at``: its ``document``,
    ``effective_from``, grade ``order`` and ``fallback``; a grade's default source."""
    when = _as_date(at)
    schemes = [s for s in _data("grade_schemes.toml")["scheme"]
               if _as_date(s["effective_from"]) <= when]  # fmt: skip
    if not schemes:
        raise LookupError(f"no grade scheme in force at {when.isoformat()}")
    return dict(max(schemes, key=lambda s: _as_date(s["effective_from"])))


@functools.cache
def _fallbacks() -> dict[str, str]:
    merged: dict[str, str] = {}
    for scheme in _data("grade_schemes.toml")["scheme"]:
        merged.update(scheme.get("fallback", {}))
    return merged


def measure_for(
    rule_table: Mapping[str, Mapping[str, Mapping[str, Any]]], grade: str | None, level: str
) -> tuple[dict[str, Any], str]:
    """The measure of an industry's rule table for a grade at a level, and the grade row used.

    A grade without its own row uses its fallback (A+ → A, 环办大气〔2026〕2号, assumption
    of emergency.md §5); an ungraded enterprise uses the lowest row present (C, or D) (§1.2).
    """
    if grade is None:
        order = ["D", "C", "B", "A"]
        used = next((g for g in order if g in rule_table), None)
    else:
        used = grade if grade in rule_table else _fallbacks().get(grade)
    if used is None or used not in rule_table:
        raise KeyError(f"rule table has no row for grade {grade!r}")
    if level not in rule_table[used]:
        raise KeyError(f"rule table row {used!r} has no measure at {level!r}")
    return dict(rule_table[used][level]), used


# ---------------------------------------------------------------------------------------------
# online data (§2.1)
# ---------------------------------------------------------------------------------------------
def emission_kg(avg_mg_m3: float, flow_m3_h: float, hours: float = 1.0) -> float:
    """Mass emitted [kg]: ``C [mg/m³, measured, dry std] × Q [m³/h, dry std] × 10⁻⁶ × h`` (§2.1).

    Use the measured ``-Avg``, never the O2-corrected ``-ZsAvg`` (emergency.md §2.1, §3.2).
    """
    if avg_mg_m3 < 0 or flow_m3_h < 0 or hours < 0:
        raise ValueError("concentration, flow and hours must be >= 0")
    return avg_mg_m3 * flow_m3_h * 1e-6 * hours


@dataclass(frozen=True)
class CouCheck:
    """A reported pollutant ``-Cou`` [kg] against ``Avg × flow-Cou × 10⁻⁶`` [kg] (§2.1)."""

    recomputed_kg: float
    consistent: bool
    use: str
    flag: str | None


def cou_consistency(
    pollutant_cou_kg: float | None, avg_mg_m3: float, flow_cou_m3: float, tolerance: float
) -> CouCheck:
    """Trust a reported ``-Cou`` only within ``tolerance`` [1] of the recomputed mass (§2.1)."""
    recomputed = emission_kg(avg_mg_m3, flow_cou_m3)
    if pollutant_cou_kg is None:
        return CouCheck(recomputed, False, "recomputed_kg", "cou_missing")
    scale = max(abs(recomputed), 1e-12)
    ok = abs(float(pollutant_cou_kg) - recomputed) <= tolerance * scale + _EPS
    return CouCheck(
        recomputed, ok, "reported_kg" if ok else "recomputed_kg", None if ok else "cou_mismatch"
    )


# ---------------------------------------------------------------------------------------------
# the checking algorithm (§2.5)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Hour:
    """One hourly record of an outlet: measured ``avg`` [mg/m³], dry standard ``flow`` [m³/h]
    and the HJ 212 data flag (None when the hour is missing)."""

    h: int
    avg: float | None
    flow: float | None
    flag: str | None = "N"
    cou_kg: float | None = None  # reported hourly -Cou [kg], when the logger sends it


@dataclass(frozen=True)
class EnterpriseCheck:
    """Verdict of one outlet and pollutant during a warning (§2.5) with its numbers [kg, 1, h]."""

    verdict: str
    valid_hours: int
    reasons: list[str]
    numbers: dict[str, float]
    flagged_hours: dict[str, list[int]]


def _classify(hour: Hour, cfg: Mapping[str, Any]) -> str:
    """``valid``, ``stopflag`` (F: valid only with ~0 flow, decided later), ``excluded`` or ``missing``."""
    if hour.flag is None and hour.avg is None and hour.flow is None:
        return "missing"
    flag = hour.flag or "N"
    if flag in cfg["stop_flags"]:
        return "stopflag"
    if flag in cfg["valid_flags"] and hour.avg is not None and hour.flow is not None:
        return "valid"
    return "excluded" if flag in cfg["excluded_flags"] else "missing"


def _enough_data(kinds: Sequence[str], min_per_24: float) -> bool:
    # every 24 h block from the warning start (the last block prorated) needs min_per_24 hours
    for start in range(0, len(kinds), 24):
        block = kinds[start : start + 24]
        good = sum(k in ("valid", "stopflag") for k in block)
        if good < min_per_24 * len(block) / 24 - _EPS:
            return False
    return True


def check_enterprise(
    hours: Sequence[Hour],
    measure: Mapping[str, Any],
    baseline_kg_per_h: float,
    *,
    baseline_flow_m3_h: float | None = None,
    grace_hours: int = 0,
    config: Mapping[str, Any] | None = None,
) -> EnterpriseCheck:
    """Check one outlet's hours of a warning window against its measure (§2.5 steps 3–5).

    ``hours`` run from the warning start, one per hour. The first ``grace_hours`` are counted
    for data completeness but not judged. Verdicts: ``compliant``, ``non_compliant``,
    ``insufficient_data`` (fewer than ``min_valid_hours_per_24`` valid hours in a 24 h block: a
    case to open) and ``exempt`` (report only). Mass uses the measured concentration.
    """
    cfg = {**compliance_config(), **(config or {})}
    action = str(measure.get("action", ""))
    kinds = [_classify(h, cfg) for h in hours]
    flagged: dict[str, list[int]] = {}
    for h in hours:
        if h.flag and h.flag not in cfg["valid_flags"]:
            flagged.setdefault(h.flag, []).append(h.h)
    valid = sum(k in ("valid", "stopflag") for k in kinds)
    judged = [(h, k) for h, k in zip(hours, kinds, strict=True) if h.h >= grace_hours]
    if action == "exempt":
        return EnterpriseCheck("exempt", valid, ["exempt: report only"], {}, flagged)
    if not _enough_data(kinds, float(cfg["min_valid_hours_per_24"])):
        reason = f"fewer than {cfg['min_valid_hours_per_24']} valid hours per 24 h"
        return EnterpriseCheck("insufficient_data", valid, [reason], {}, flagged)
    if action == "limit":
        return _check_limit(judged, measure, baseline_kg_per_h, valid, flagged, cfg)
    if action == "stop":
        if not baseline_flow_m3_h or baseline_flow_m3_h <= 0:
            raise ValueError("a stop check needs the baseline flow [m³/h] > 0")
        return _check_stop(judged, measure, baseline_flow_m3_h, valid, flagged, cfg)
    raise ValueError(f"unknown measure action {action!r} (limit, stop, exempt)")


def _check_limit(
    judged: Sequence[tuple[Hour, str]],
    measure: Mapping[str, Any],
    baseline_kg_per_h: float,
    valid: int,
    flagged: dict[str, list[int]],
    cfg: Mapping[str, Any],
) -> EnterpriseCheck:
    ratio = float(measure["ratio"])
    reasons = []
    if any(k == "stopflag" and (h.flow or 0) > 0 for h, k in judged):
        reasons.append("F flag while flow is normal: the monitor was stopped, not the process")
    counted = [h for h, k in judged if k in ("valid", "stopflag")]
    actual = sum(emission_kg(h.avg or 0.0, h.flow or 0.0) for h in counted)
    baseline = baseline_kg_per_h * len(counted)
    achieved = 1.0 - actual / baseline if baseline > 0 else 0.0
    ok = achieved >= ratio - float(cfg["limit_tolerance"]) - _EPS and not reasons
    if achieved < ratio - float(cfg["limit_tolerance"]) - _EPS:
        reasons.append(f"achieved reduction {achieved:.1%} < required {ratio:.0%}")
    numbers = {
        "baseline_kg": baseline,
        "actual_kg": actual,
        "allowed_kg": baseline * (1.0 - ratio),
        "achieved_reduction": achieved,
    }
    return EnterpriseCheck("compliant" if ok else "non_compliant", valid, reasons, numbers, flagged)


def _check_stop(
    judged: Sequence[tuple[Hour, str]],
    measure: Mapping[str, Any],
    baseline_flow: float,
    valid: int,
    flagged: dict[str, list[int]],
    cfg: Mapping[str, Any],
) -> EnterpriseCheck:
    limit = float(measure.get("max_flow_fraction", cfg["stop_max_flow_fraction"]))
    counted = [h for h, k in judged if k in ("valid", "stopflag")]
    fractions = [(h.flow or 0.0) / baseline_flow for h in counted]
    running = [h.h for h, f in zip(counted, fractions, strict=True) if f > limit + _EPS]
    reasons = [f"flow above {limit:.0%} of the baseline in hours {running}"] if running else []
    numbers = {
        "actual_kg_after_grace": sum(emission_kg(h.avg or 0.0, h.flow or 0.0) for h in counted),
        "max_flow_fraction_after_grace": max(fractions, default=0.0),
    }
    verdict = "non_compliant" if running else "compliant"
    return EnterpriseCheck(verdict, valid, reasons, numbers, flagged)


@dataclass(frozen=True)
class Baseline:
    """Baseline of an outlet and pollutant from a reference window of normal production (§2.5
    step 2): mean hourly mass [kg/h] and flow [m³/h] over the valid hours of the complete days,
    with the days used and the days left out (stored with every verdict)."""

    rate_kg_per_h: float
    flow_m3_h: float
    days_used: list[str]
    days_excluded: list[str]
    method: str = "online_data"


def baseline_from_reference(
    days: Mapping[str, Sequence[Hour]],
    warning_days: Sequence[str] = (),
    config: Mapping[str, Any] | None = None,
) -> Baseline:
    """Mean hourly mass and flow over the reference days (e.g. the 7–14 days before the
    warning), leaving out earlier warning days, flagged hours and days with fewer than
    ``min_valid_hours_per_24`` valid hours (§2.5 step 2). ``days`` maps ISO dates to hours."""
    cfg = {**compliance_config(), **(config or {})}
    used, excluded, masses, flows = [], [], [], []
    for day, hours in sorted(days.items()):
        good = [h for h in hours if _classify(h, cfg) == "valid"]
        if day in warning_days or len(good) < float(cfg["min_valid_hours_per_24"]):
            excluded.append(day)
            continue
        used.append(day)
        masses += [emission_kg(h.avg or 0.0, h.flow or 0.0) for h in good]
        flows += [h.flow or 0.0 for h in good]
    if not masses:
        raise ValueError("no complete day of normal production in the reference window")
    return Baseline(sum(masses) / len(masses), sum(flows) / len(flows), used, excluded)


# ---------------------------------------------------------------------------------------------
# power cross-check (§2.2) and cement 错峰 settlement (§1.6)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PowerCheck:
    """Production energy cut [1] and hours the treatment unit was off while the line ran."""

    achieved_reduction: float
    limit_met: bool
    treatment_off_while_producing_hours: list[int]
    verdict: str


def check_power(
    baseline_kwh_per_d: float,
    warning_kwh_per_d: float,
    measure: Mapping[str, Any],
    hourly: Sequence[Mapping[str, Any]],
    production_on_kw: float,
    treatment_on_kw: float,
) -> PowerCheck:
    """Electricity cross-check (§2.2): the production cut [1] must reach the measure's ratio,
    and production on with treatment off is a violation whatever the cut [ecobasin]."""
    if baseline_kwh_per_d <= 0:
        raise ValueError("baseline production energy must be > 0 kWh/d")
    achieved = 1.0 - warning_kwh_per_d / baseline_kwh_per_d
    action = measure.get("action")
    need = 0.0 if action == "exempt" else 1.0 if action == "stop" else float(measure["ratio"])
    met = achieved >= need - _EPS
    off = [
        int(r["h"])
        for r in hourly
        if float(r["production_kw"]) >= production_on_kw
        and float(r["treatment_kw"]) < treatment_on_kw
    ]
    verdict = "compliant" if met and not off else "non_compliant"
    return PowerCheck(achieved, met, off, verdict)


@dataclass(frozen=True)
class StaggerResult:
    """Stop days of a month's 错峰 plan, those by the interim date, and whether both are met."""

    stop_days: int
    stop_days_by: int
    met: bool
    short_data_days: list[str]


def staggered_production(
    days: Sequence[Mapping[str, Any]],
    target_stop_days: int,
    by_date: date | str,
    min_stop_days_by: int,
    min_valid_hours: int = 20,
) -> StaggerResult:
    """Settle a clinker line's 错峰 month from online data (emergency.md §1.6, "10+X").

    A stop day has ≥ ``min_valid_hours`` valid kiln-flow hours, none above the flow threshold
    [ecobasin]; a day with fewer valid hours is not a stop day and is listed for follow-up.
    """
    cutoff = _as_date(by_date)
    stops: list[date] = []
    short: list[str] = []
    for d in days:
        if int(d["kiln_flow_valid_hours"]) < min_valid_hours:
            short.append(str(d["date"]))
        elif int(d["hours_flow_above_threshold"]) == 0:
            stops.append(_as_date(d["date"]))
    by = sum(s <= cutoff for s in stops)
    met = len(stops) >= target_stop_days and by >= min_stop_days_by
    return StaggerResult(len(stops), by, met, short)


# ---------------------------------------------------------------------------------------------
# the stored check's cross-checks: -Cou (§2.1) and power meters (§2.2)
# ---------------------------------------------------------------------------------------------
def cou_hours(hours: Sequence[Hour], tolerance: float) -> dict[str, Any]:
    """``-Cou`` consistency of an outlet's valid hours (§2.1): each reported hourly amount [kg]
    against ``Avg × flow × 1 h × 10⁻⁶`` [kg] (the flow's own amount is ``flow`` × 1 h).

    Returns the hours checked, those that agree within ``tolerance`` [1], the hours that do
    not (``mismatch_hours``) and the valid hours without a ``-Cou`` (``missing_hours``).
    """
    agree, mismatch, missing = 0, [], []
    for h in hours:
        if h.avg is None or h.flow is None or h.flag is None:
            continue
        result = cou_consistency(h.cou_kg, h.avg, h.flow, tolerance)
        if result.flag == "cou_missing":
            missing.append(h.h)
        elif result.consistent:
            agree += 1
        else:
            mismatch.append(h.h)
    return {
        "checked": agree + len(mismatch),
        "consistent": agree,
        "mismatch_hours": mismatch,
        "missing_hours": missing,
        "tolerance": tolerance,
    }


def power_from_hours(
    reference: Sequence[Mapping[str, Any]],
    window: Sequence[Mapping[str, Any]],
    measure: Mapping[str, Any],
    config: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Power cross-check of an enterprise (§2.2, §2.5 step 6) from hourly meter readings.

    ``reference`` and ``window`` hold ``{"h", "production_kw", "treatment_kw"}`` per hour
    [kW] (None where a meter sent nothing); ``window`` holds the judged hours only (after the
    grace). Daily energies [kWh/d] are the mean hourly power of the hours present × 24; the
    verdict is :func:`check_power`'s. Too few hours (fewer than ``min_valid_hours_per_24`` per
    24 h on either side) give ``insufficient_data``.
    """
    cfg = {**compliance_config(), **(config or {})}
    ref = [r for r in reference if r.get("production_kw") is not None]
    win = [r for r in window if r.get("production_kw") is not None]
    need = float(cfg["min_valid_hours_per_24"]) / 24
    if not ref or len(ref) < need * len(reference) or len(win) < need * len(window) or not win:
        return {"verdict": "insufficient_data", "hours": len(win), "reference_hours": len(ref)}
    base = 24 * sum(float(r["production_kw"]) for r in ref) / len(ref)
    during = 24 * sum(float(r["production_kw"]) for r in win) / len(win)
    both = [r for r in win if r.get("treatment_kw") is not None]
    on_kw = float(cfg["production_on_kw"])
    stop = measure.get("action") == "stop"
    # a stop is met when the line draws less than it does producing in every judged hour: an
    # idle draw remains, so the energy cut of a stopped line never reaches 100 %
    judged = {"action": "exempt"} if stop else measure
    res = check_power(base, during, judged, both, on_kw, float(cfg["treatment_on_kw"]))
    running = [int(r["h"]) for r in win if float(r["production_kw"]) >= on_kw] if stop else []
    verdict = "non_compliant" if running else res.verdict
    return {
        "verdict": verdict,
        "producing_hours_under_stop": running,
        "baseline_kwh_per_d": base,
        "warning_kwh_per_d": during,
        "achieved_reduction": res.achieved_reduction,
        "limit_met": res.limit_met and not running,
        "treatment_off_while_producing_hours": res.treatment_off_while_producing_hours,
        "hours": len(win),
        "reference_hours": len(ref),
    }
