"""Emergency lists: what the CLI and the API ask (emergency.md §1.5, §2.5).

Activate the list version in force for a warning, then check every listed outlet from the
stored hourly online data: baseline from the reference window before the warning, verdicts
with their evidence, findings opened for non-compliance and insufficient data. The clock is
an argument (``now``); the computation is :mod:`ecobasin.standards.emergency`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd

from ecobasin.ingest.emergency_list import BadRow
from ecobasin.standards import emergency as em
from ecobasin.store import emergency as db
from ecobasin.store import forecast as forecast_store
from ecobasin.store import queries
from ecobasin.store.database import Store
from ecobasin.store.emergency import (  # stored records the web reads as they are
    activation,
    enterprise_of,
    finding,
    findings,
    link_case,
    verdicts,
)
from ecobasin.workflow.emergency import (
    Activation,
    ListRecord,
    ListVersion,
    activate,
    advance,
    lift,
    measure_at_outlet,
    open_findings,
    process_meters,
    reconcile,
    version_in_force,
)

__all__ = [
    "POLLUTANT_PARAMETERS",
    "account_list",
    "activate_for_recommendation",
    "activate_for_warning",
    "activate_from_warnings",
    "activation",
    "check_activation",
    "close_finding",
    "compliance_report",
    "end_and_check",
    "enterprise_of",
    "enterprise_view",
    "evidence",
    "evidence_bundle",
    "finding",
    "findings",
    "hourly_series",
    "import_report",
    "import_version",
    "lift_warning",
    "link_case",
    "list_overview",
    "meter_series",
    "open_cases",
    "switch_on",
    "verdicts",
]

#: list pollutant → stored flue-gas parameter (measured, not O2-corrected: §2.1)
POLLUTANT_PARAMETERS: dict[str, str] = {
    "SO2": "FG_SO2",
    "NOx": "FG_NOx",
    "PM": "FG_dust",
    "VOCs": "FG_NMHC",
}
_FLOW = "FG_flow"  # [m³/s] stored (HJ 212 a00000); × 3600 → [m³/h]
_COU = "_Cou"  # hourly -Cou amount [kg] stored beside the pollutant (FG_NOx_Cou)
#: sub-meter role → stored parameter [kW] (分表计电, §2.2; parameters.csv EL_*)
METER_PARAMETERS: dict[str, str] = {"production": "EL_production", "treatment": "EL_treatment"}
_REFERENCE_DAYS = 7  # [d] reference window before the warning (§2.5 step 2: 7–14 days)


def activate_for_warning(
    store: Store, city: str, level: str, start: datetime, end: datetime, source: str, now: datetime
) -> str:
    """Switch on the list version in force at ``start`` for the warning window; returns its id
    (a warning at another level upgrades or downgrades the one in force: :func:`switch_on`)."""
    act = activate(db.list_versions(store, city), city, level, start, end)
    return switch_on(store, act, source, now)[0]


def _stored(row: Mapping[str, Any]) -> Activation:
    return Activation(
        str(row["city_code"]), row["level"], row["start_time"], row["end_time"],
        row["list_version"], row["grades"], row["state"],
    )  # fmt: skip


def switch_on(store: Store, act: Activation, source: str, now: datetime) -> tuple[str, bool]:
    """Store a new warning's activation against the one in force for its city
    (:func:`~ecobasin.workflow.emergency.reconcile`: an upgrade or downgrade ends or replaces
    it, the same level extends it). Returns the id of the activation that covers the warning
    and whether it was switched on now (False: the same warning again, or one in force)."""
    key = db.activation_id(act)
    if db.activation(store, key) is not None:
        return key, False  # this warning again: an activation keeps its state
    for row in (r for r in db.activations_of_city(store, act.city) if r["state"] == "active"):
        changed, new = reconcile(_stored(row), act)
        if changed is None and new is act:
            continue  # no overlap with this one
        if changed is not None:
            db.save_activation(store, changed, _changed_note(str(row["source"]), changed, new), now)
        if new is None:
            return str(row["activation_id"]), False
        return db.save_activation(store, new, source, now), True
    return db.save_activation(store, act, source, now), True


def lift_warning(store: Store, city: str, at: datetime, source: str, now: datetime) -> list[str]:
    """End the city's activations in force when its warning is lifted at ``at`` (解除:
    :func:`~ecobasin.workflow.emergency.lift`); returns the ids changed."""
    changed = []
    for row in (r for r in db.activations_of_city(store, city) if r["state"] == "active"):
        ended = lift(_stored(row), at)
        if ended is not None:
            note = f"{row['source']}; lifted 解除 at {at.isoformat()} ({source})"
            changed.append(db.save_activation(store, ended, note, now))
    return changed


def _changed_note(source: str, changed: Activation, new: Activation | None) -> str:
    """The stored source of a warning in force, with what the new warning did to it."""
    if new is None:
        return f"{source}; extended 延长至 {changed.end.isoformat()}"
    return f"{source}; level changed 级别调整 → {new.level} at {new.start.isoformat()}"


def hourly_series(
    store: db.Reader, outlet: str, pollutant: str, start: datetime, end: datetime
) -> list[em.Hour]:
    """Hours in ``(start, end]`` (an hourly value sits at its hour's end) of one outlet: measured
    concentration [mg/m³], flow [m³/h] and the flag; missing hours come back empty."""
    where = queries.ObservationFilter(
        sites=[outlet],
        parameters=[POLLUTANT_PARAMETERS[pollutant], _FLOW, POLLUTANT_PARAMETERS[pollutant] + _COU],
        periods=["1h"],
        start=start + timedelta(hours=1),
        end=end,
    )
    frame = queries.observations(db.cursor_of(store), where)
    wide: dict[pd.Timestamp, dict[str, Any]] = defaultdict(dict)
    for t, param, value, flag in zip(
        frame["time"], frame["parameter"], frame["value"], frame["flag"], strict=True
    ):
        cell = wide[pd.Timestamp(t)]
        cell[str(param)] = value
        if str(param).endswith(_COU):
            continue  # the amount's flag repeats the pollutant's
        # a non-normal flag on either the pollutant or the flow marks the hour
        cell["flag"] = cell.get("flag") if cell.get("flag") not in (None, "N") else flag
    hours = []
    n = int((end - start).total_seconds() // 3600)
    for i in range(n):
        found = wide.get(pd.Timestamp(start + timedelta(hours=i + 1)))
        if not found:
            hours.append(em.Hour(i, None, None, None))
            continue
        flow = _num(found.get(_FLOW))
        flag = str(found.get("flag") or "N")
        conc = _num(found.get(POLLUTANT_PARAMETERS[pollutant]))
        cou = _num(found.get(POLLUTANT_PARAMETERS[pollutant] + _COU))
        hours.append(em.Hour(i, conc, None if flow is None else flow * 3600, flag, cou))
    return hours


def meter_series(
    store: db.Reader, meters: Sequence[Mapping[str, Any]], start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """Hourly sub-meter power of one enterprise in ``(start, end]`` (§2.2): production and
    treatment [kW], each the sum of its meters (None where none of them sent a valid hour)."""
    n = int((end - start).total_seconds() // 3600)
    out: list[dict[str, Any]] = [
        {"h": i, "production_kw": None, "treatment_kw": None} for i in range(n)
    ]
    for meter in meters:
        where = queries.ObservationFilter(
            sites=[str(meter["site"])],
            parameters=[METER_PARAMETERS[str(meter["role"])]],
            periods=["1h"],
            start=start + timedelta(hours=1),
            end=end,
        )
        frame = queries.observations(db.cursor_of(store), where)
        key = f"{meter['role']}_kw"
        for t, value, flag in zip(frame["time"], frame["value"], frame["flag"], strict=True):
            if _num(value) is None or flag not in (None, "N"):
                continue
            i = int((pd.Timestamp(t) - pd.Timestamp(start)).total_seconds() // 3600) - 1
            if 0 <= i < n:
                out[i][key] = (out[i][key] or 0.0) + float(value)
    return out


def _power(
    store: Store, act: Mapping[str, Any], rec: ListRecord, outlet: str
) -> dict[str, Any] | None:
    """The power cross-check of an outlet's measure (§2.2, §2.5 step 6), or None: the meters
    of the targeted process when the measure targets one, else all the enterprise's meters."""
    measure = _measure(act, rec, outlet)
    target = measure.get("target")
    meters = process_meters(rec, str(target)) if target else rec.meters
    if not meters or measure.get("action") == "exempt":
        return None
    start, end = act["start_time"], act["end_time"]
    grace = int(measure.get("grace_hours", 0))
    reference = meter_series(store, meters, start - timedelta(days=_REFERENCE_DAYS), start)
    window = [r for r in meter_series(store, meters, start, end) if r["h"] >= grace]
    result = em.power_from_hours(reference, window, measure)
    result["meters"] = [dict(m) for m in meters]
    return result


def _measure(act: Mapping[str, Any], rec: ListRecord, outlet: str | None = None) -> dict[str, Any]:
    """The measure judged (§1.5): none for exempt and 保障类 enterprises; a stagger (错峰) is
    settled monthly (§1.6), so a warning reports it only."""
    if rec.category in ("exempt", "保障类"):
        return {"action": "exempt", "note": rec.category}
    if outlet is None:
        return dict(rec.measures.get(act["level"], {"action": "exempt"}))
    measure = measure_at_outlet(rec, str(act["level"]), outlet)
    if measure.get("action") == "stagger":
        return {**measure, "action": "exempt", "note": "错峰生产 stagger: settled monthly"}
    return measure


def _grade_in_force(act: Mapping[str, Any], rec: ListRecord) -> dict[str, Any]:
    """The grade frozen at the warning start (§1.5) with its source document and date."""
    info = grade_info(rec, act["start_time"])
    frozen = dict(act.get("grades") or {})
    return {**info, "grade": frozen.get(rec.uscc, info["grade"])}


def grade_info(rec: ListRecord, at: datetime) -> dict[str, Any]:
    """The grade in force at ``at`` (§1.5): ``{grade, source, effective_from}``; a grade stored
    without its source document takes the grade scheme in force at its date."""
    entry = em.grade_entry_at(rec.grades, at) or {}
    source = entry.get("source")
    if entry and not source:
        try:
            source = em.grade_scheme_at(str(entry["effective_from"]))["document"]
        except LookupError:
            source = None
    return {
        "grade": entry.get("grade"),
        "source": source,
        "effective_from": entry.get("effective_from"),
    }


def _with_power(row: dict[str, Any], power: dict[str, Any] | None) -> dict[str, Any]:
    """A compliant data verdict becomes non-compliant when the meters say otherwise (§2.2)."""
    row["power"] = power
    if power is None or power["verdict"] != "non_compliant" or row["verdict"] != "compliant":
        return row
    why = []
    if power.get("treatment_off_while_producing_hours"):
        why.append(
            f"treatment off while producing in hours {power['treatment_off_while_producing_hours']}"
        )
    if power.get("producing_hours_under_stop"):
        why.append(
            f"line producing under a stop order in hours {power['producing_hours_under_stop']}"
        )
    if not power.get("limit_met", True):
        why.append(f"production energy cut {power['achieved_reduction']:.1%} below the measure")
    row["verdict"] = "non_compliant"
    row["reasons"] = [*row["reasons"], *(f"power: {w}" for w in why)]
    return row


def _num(x: Any) -> float | None:
    return None if x is None or pd.isna(x) else float(x)


def _baseline(store: Store, outlet: str, pollutant: str, start: datetime) -> em.Baseline:
    ref_start = start - timedelta(days=_REFERENCE_DAYS)
    hours = hourly_series(store, outlet, pollutant, ref_start, start)
    days: dict[str, list[em.Hour]] = defaultdict(list)
    for h in hours:
        days[(ref_start + timedelta(hours=h.h)).date().isoformat()].append(h)
    return em.baseline_from_reference(days)


def _list_baseline(
    rec: ListRecord, pollutant: str, measure: Mapping[str, Any], why: str
) -> tuple[em.Baseline | None, str]:
    """The list's baseline instead of the online reference window (§2.5 step 2: "record which
    one"): the record's daily baseline [t/d] as a rate [kg/h], for a limit or an exempt measure
    of an enterprise with one outlet (the list's figure is the enterprise's, and a stop test
    needs a baseline flow the list does not give). Else None and why."""
    daily = rec.baseline_t_per_d.get(pollutant)
    if daily is None or len(rec.outlets) != 1 or measure.get("action") == "stop":
        return None, why
    period = "–".join(rec.baseline_reference.get(k, "?") for k in ("from", "to"))
    base = em.Baseline(float(daily) * 1000 / 24, 0.0, [], [],
                       f"list:{rec.baseline_method or 'unknown'}")  # fmt: skip
    return base, (
        f"{why}; the list baseline {float(daily):g} t/d ({rec.baseline_method}, {period}) is "
        "used instead 采用清单基准"
    )


def _check_outlet(
    store: Store, act: Mapping[str, Any], rec: ListRecord, outlet: str, pollutant: str
) -> dict[str, Any]:
    measure = _measure(act, rec, outlet)
    row: dict[str, Any] = {
        "uscc": rec.uscc,
        "outlet": outlet,
        "pollutant": pollutant,
        "measure": measure,
        "process_id": measure.get("target"),
        "grade": _grade_in_force(act, rec),
        "list_version": act["list_version"],
        "thresholds": em.compliance_config()["version"],
    }
    note = None
    base: em.Baseline | None
    try:
        base = _baseline(store, outlet, pollutant, act["start_time"])
    except ValueError as exc:
        base, note = _list_baseline(rec, pollutant, measure, f"baseline: {exc}")
    if base is None:
        return {
            **row,
            "verdict": "insufficient_data",
            "valid_hours": 0,
            "baseline_kg_h": None,
            "baseline_flow": None,
            "baseline_method": None,
            "baseline_days": None,
            "numbers": {},
            "reasons": [note],
            "flagged_hours": {},
        }
    hours = hourly_series(store, outlet, pollutant, act["start_time"], act["end_time"])
    grace = int(measure.get("grace_hours", 0))
    res = em.check_enterprise(
        hours, measure, base.rate_kg_per_h, baseline_flow_m3_h=base.flow_m3_h, grace_hours=grace
    )
    cou = em.cou_hours(
        [h for h in hours if h.h >= grace and h.flag == "N"],
        float(em.compliance_config()["cou_tolerance"]),
    )
    reasons = [*([note] if note else []), *res.reasons]
    if cou["mismatch_hours"]:
        reasons.append(
            f"-Cou differs from Avg × flow by more than {cou['tolerance']:.0%} in hours "
            f"{cou['mismatch_hours']}: the reported amount is not trusted, mass recomputed"
        )
    return {
        **row,
        "verdict": res.verdict,
        "valid_hours": res.valid_hours,
        "baseline_kg_h": base.rate_kg_per_h,
        "baseline_flow": base.flow_m3_h or None,  # the list gives no flow
        "baseline_method": base.method,
        "baseline_days": {"used": base.days_used, "excluded": base.days_excluded},
        "numbers": res.numbers,
        "reasons": reasons,
        "flagged_hours": res.flagged_hours,
        "cou": cou,
    }


def check_activation(store: Store, key: str, now: datetime) -> list[dict[str, Any]]:
    """Check every outlet of every listed enterprise of an ended warning (§2.5), store the
    verdicts and open findings; the warning moves to ``checked``."""
    act = db.activation(store, key)
    if act is None:
        raise LookupError(f"no activation {key!r}")
    version = next(
        v
        for v in db.list_versions(store, str(act["city_code"]))
        if v.version == act["list_version"]
    )
    rows = []
    for rec in version.records:
        if rec.closed:
            continue
        for outlet in rec.outlets:
            power = _power(store, act, rec, outlet)
            rows += [
                _with_power(_check_outlet(store, act, rec, outlet, p), power)
                for p in rec.pollutants
            ]
    db.save_verdicts(store, key, rows, now)
    owners = {r.uscc: r.district for r in version.records}
    db.save_findings(store, key, open_findings(rows, owners), now)
    return rows


def end_and_check(store: Store, key: str, now: datetime) -> list[dict[str, Any]]:
    """Close the warning window and run the check (``active → ended → checked``)."""
    act = db.activation(store, key)
    if act is None:
        raise LookupError(f"no activation {key!r}")
    state = _stored(act)
    rows = check_activation(store, key, now)
    done = advance(advance(state, "ended"), "checked") if state.state == "active" else state
    db.save_activation(store, done, str(act["source"]), now)
    return rows


def account_list(
    sources: list[dict[str, Any]],
    city: str,
    level: str,
    at: datetime,
    city_baseline_t_per_d: Mapping[str, float],
) -> dict[str, Any]:
    """List accounting of a city at a level (§1.4) with the ratios of the plan in force at ``at``."""
    required = em.required_ratios(city, level, at.date())
    acc = em.list_accounting(sources, city_baseline_t_per_d, required, level)
    return {
        "city": city,
        "level": level,
        "required_ratio": required,
        "reduction_t_per_d": acc.reduction,
        "ratio": acc.ratio,
        "meets": acc.meets,
        "shortfall_t_per_d": acc.shortfall,
        "candidates": acc.candidates,
        "share_by_kind": _shares_by_kind(sources, city_baseline_t_per_d, level),
    }


def _shares_by_kind(
    sources: Sequence[Mapping[str, Any]], city_base: Mapping[str, float], level: str
) -> dict[str, dict[str, float]]:
    """The share of the city baseline [1] cut by the enterprises and by the sector measures
    (category ``sector``: construction, non-road machinery, trucks, VOCs work; §1.4)."""
    shares = {kind: dict.fromkeys(city_base, 0.0) for kind in ("enterprises", "sectors")}
    for src in sources:
        kind = "sectors" if src.get("category") == "sector" else "enterprises"
        for p, cut in em.expected_reduction(src["base_t_per_d"], src["fraction"], level).items():
            if p in city_base:
                shares[kind][p] += cut / float(city_base[p])
    return shares


def import_report(version: ListVersion, bad: Sequence[BadRow]) -> dict[str, Any]:
    """What a list import did: the version stored, its enterprises, sector measures,
    baselines and processes, and every row kept aside (sheet, row, column, id, reason), counted per sheet."""
    sectors = [r for r in version.records if r.category == "sector"]
    by_sheet: dict[str, int] = defaultdict(int)
    for b in bad:
        by_sheet[b.sheet] += 1
    return {
        "city": version.city, "version": version.version, "records": len(version.records),
        "enterprises": len(version.records) - len(sectors), "sector_measures": len(sectors),
        "baselines": sum(1 for r in version.records if r.baseline_t_per_d),
        "processes": sum(len(r.processes) for r in version.records),
        "rejected": len(bad), "rejected_by_sheet": dict(by_sheet),
        "rejected_rows": [b._asdict() for b in bad],
    }  # fmt: skip


def import_version(
    store: Store, city: str, document: Mapping[str, Any], created_by: str, now: datetime
) -> ListVersion:
    """Store a list version from its JSON form (``{"version", "effective_from", "reason",
    "records": [...]}``); a bad record raises ``ValueError`` naming it and the reason."""
    records = []
    for i, raw in enumerate(document.get("records", [])):
        if isinstance(raw, ListRecord):
            records.append(raw)
            continue
        try:
            records.append(db.record_from_json(raw))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"record {i} ({raw.get('uscc', '?')}): {exc}") from exc
    version = ListVersion(
        city,
        int(document["version"]),
        datetime.fromisoformat(str(document["effective_from"])),
        str(document.get("reason", "annual")),
        tuple(records),
    )
    db.save_version(store, version, created_by, now)
    return version


def evidence(store: db.Reader, key: str, uscc: str, outlet: str, pollutant: str) -> pd.DataFrame:
    """The evidence of one verdict (§2.5 step 6): the warning's hourly table (measured
    concentration [mg/m³], flow [m³/h], flag, mass [kg], judged after the grace) with the
    verdict, the measure text, the baseline and the list version on every row."""
    act = db.activation(store, key)
    found = [
        v for v in db.verdicts(store, key)
        if (v["uscc"], v["outlet"], v["pollutant"]) == (uscc, outlet, pollutant)
    ]  # fmt: skip
    if act is None or not found:
        raise LookupError(f"no verdict for {uscc} {outlet} {pollutant} in {key!r}")
    verdict = found[0]
    grace = int(verdict["measure"].get("grace_hours", 0))
    hours = hourly_series(store, outlet, pollutant, act["start_time"], act["end_time"])
    frame = pd.DataFrame({
        "hour": [h.h for h in hours],
        "time_end_utc": [act["start_time"] + timedelta(hours=h.h + 1) for h in hours],
        "avg_mg_m3": [h.avg for h in hours],
        "flow_m3_h": [h.flow for h in hours],
        "flag": [h.flag for h in hours],
        "mass_kg": [None if h.avg is None or h.flow is None else em.emission_kg(h.avg, h.flow)
                    for h in hours],
        "judged": [h.h >= grace for h in hours],
    })  # fmt: skip
    record = _record_of(store, act, uscc)
    target = verdict["measure"].get("target")
    meters = () if record is None else process_meters(record, target) if target else record.meters
    if meters:
        power = meter_series(store, meters, act["start_time"], act["end_time"])
        frame["production_kw"] = [p["production_kw"] for p in power]
        frame["treatment_kw"] = [p["treatment_kw"] for p in power]
    for name, value in (
        ("activation", key), ("uscc", uscc), ("outlet", outlet), ("pollutant", pollutant),
        ("verdict", verdict["verdict"]), ("measure", json.dumps(verdict["measure"], ensure_ascii=False)),
        ("baseline_kg_h", verdict["baseline_kg_h"]), ("list_version", verdict["list_version"]),
    ):  # fmt: skip
        frame[name] = value
    return frame


def _record_of(store: db.Reader, act: Mapping[str, Any], uscc: str) -> ListRecord | None:
    """The enterprise's record in the list version the warning activated."""
    for version in db.list_versions(store, str(act["city_code"])):
        if version.version == act["list_version"]:
            return next((r for r in version.records if r.uscc == uscc), None)
    return None


def evidence_bundle(
    store: db.Reader, key: str, uscc: str, outlet: str, pollutant: str
) -> dict[str, Any]:
    """Everything one verdict rests on (§2.5 step 6), for its page, CSV and PDF: the warning,
    the enterprise's record, the verdict with its baseline, -Cou and power checks, the measure
    and the list version, and the hourly table (concentration, flow, flag, mass, power)."""
    frame = evidence(store, key, uscc, outlet, pollutant)
    act = db.activation(store, key)
    assert act is not None  # evidence() has found it
    verdict = next(
        v for v in db.verdicts(store, key)
        if (v["uscc"], v["outlet"], v["pollutant"]) == (uscc, outlet, pollutant)
    )  # fmt: skip
    record = _record_of(store, act, uscc)
    hours = frame.drop(
        columns=["activation", "uscc", "outlet", "pollutant", "verdict", "measure",
                 "baseline_kg_h", "list_version"]
    )  # fmt: skip
    return {
        "activation": act, "verdict": verdict, "record": record, "frame": frame,
        "hours": hours.astype(object).where(hours.notna(), None).to_dict("records"),
    }  # fmt: skip


def activate_from_warnings(store: Store, issue_day: date, now: datetime) -> list[str]:
    """Activate the list of every city warned on ``issue_day`` (issue 6's stored city warnings)
    whose city has a list; an activation already made for that warning is left as it is, so a
    rerun changes nothing. Returns the ids activated now."""
    warned = forecast_store.warning_rows(store, start=issue_day, end=issue_day, scopes=["city"])
    made = []
    for w in warned.to_dict("records"):
        city = str(w["scope_id"])
        versions = db.list_versions(store, city)
        if not versions:
            continue  # a city without a stored list: nothing to switch on
        start, end = (
            pd.Timestamp(w["start_time"]).to_pydatetime(),
            pd.Timestamp(w["end_time"]).to_pydatetime(),
        )
        act = activate(versions, city, str(w["level"]), start, end)
        key, now_on = switch_on(store, act, f"warning {w['warning_id']} ({w['rule']})", now)
        if now_on:
            made.append(key)
    return made


def activate_for_recommendation(
    store: Store, city: str, level: str, start: datetime, end: datetime, origin: str, now: datetime
) -> str | None:
    """Activate the city's list for a warning adopted from the joint consultation's
    recommendation (issue 17, "Activation"), exactly as for a forecast warning: the version in
    force at ``start``. One warning in force per city (:func:`switch_on`): the same level
    again changes nothing (or extends the window), another level (an escalation adopted after
    the first) upgrades or downgrades it. Returns the id made now, or None."""
    versions = db.list_versions(store, city)
    if not versions or level not in em.LEVELS:
        return None  # a city without a stored list, or a recommendation of no warning
    key, now_on = switch_on(store, activate(versions, city, level, start, end), origin, now)
    return key if now_on else None


def enterprise_view(store: db.Reader, uscc: str, now: datetime) -> dict[str, Any] | None:
    """What one listed enterprise sees (issue 17, read-only): its record in the list version in
    force at ``now`` with its grade and measures at each level, the warning active now (if
    any), every warning that listed it with its verdicts, and its findings. None: not listed."""
    versions = db.versions_with(store, uscc)
    if not versions:
        return None
    city = versions[-1].city
    own = [v for v in versions if v.city == city]
    current = version_in_force(own, now) if any(v.effective_from <= now for v in own) else own[0]
    rec = next(r for r in current.records if r.uscc == uscc)
    warnings = []
    for act in db.activations_of_city(store, city):
        if uscc not in act["grades"]:
            continue
        mine = [v for v in db.verdicts(store, act["activation_id"]) if v["uscc"] == uscc]
        warnings.append({
            "activation_id": act["activation_id"], "level": act["level"],
            "start": act["start_time"], "end": act["end_time"], "state": act["state"],
            "list_version": act["list_version"], "grade": act["grades"].get(uscc),
            "measure": _measure({"level": act["level"]}, rec), "verdicts": mine,
        })  # fmt: skip
    active = next(
        (w for w in warnings if w["state"] == "active" and w["start"] <= now < w["end"]), None
    )
    findings = [f for f in db.findings(store, status=None) if f["uscc"] == uscc]
    return {
        "uscc": uscc, "name": rec.name, "city": city, "district": rec.district,
        "industry": rec.industry, "category": rec.category, "grade": em.grade_at(rec.grades, now),
        "list_version": current.version, "outlets": list(rec.outlets),
        "meters": [dict(m) for m in rec.meters], "pollutants": list(rec.pollutants),
        "measures": {lv: _measure({"level": lv}, rec) for lv in em.LEVELS},
        "active_warning": active, "warnings": warnings, "findings": findings,
    }  # fmt: skip


def close_finding(store: Store, fid: str, note: str, by: str, now: datetime) -> dict[str, Any]:
    """Close an open finding with a note (who closed it and why, kept with it)."""
    if not note.strip():
        raise ValueError(f"finding {fid}: closing needs a note 关闭需填写说明")
    found = db.finding(store, fid)
    if found is None:
        raise LookupError(f"no finding {fid!r}")
    if not db.close_finding(store, fid, note.strip(), by, now):
        raise ValueError(f"finding {fid} is {found['status']}, not open")
    closed = db.finding(store, fid)
    assert closed is not None
    return closed


def open_cases(store: Store, opener: Callable[[dict[str, Any]], str]) -> dict[str, str]:
    """The finding → case hook of the supervision workflow (issue 17, docs/emergency.md):
    for every open finding without a case, ``opener(finding)`` opens a case and returns its id,
    which is stored with the finding. Returns finding id → case id of the cases opened now.
    Until the workflow exists, findings stay the list of open items with their owners."""
    made = {}
    for found in db.findings(store):
        if found.get("case_id"):
            continue
        case_id = str(opener(found))
        db.link_case(store, str(found["finding_id"]), case_id)
        made[str(found["finding_id"])] = case_id
    return made


def list_overview(
    store: db.Reader, city: str, level: str, at: datetime, version: int | None = None
) -> dict[str, Any] | None:
    """A city's list at a level (§1.4, §1.5): the version (in force at ``at`` unless one is
    named), every record with its grade, measure, fraction and expected cut [t/d], the
    accounting against the city baseline (when one is configured) and the city's warnings.
    None when the city has no stored list."""
    versions = db.list_versions(store, city)
    if not versions:
        return None
    if version is None:
        past = [v for v in versions if v.effective_from <= at]
        chosen = version_in_force(versions, at) if past else versions[-1]
    else:
        chosen = next((v for v in versions if v.version == version), versions[-1])
    rows, sources = [], []
    for rec in chosen.records:
        if rec.closed:
            continue
        measure = _measure({"level": level}, rec)
        fraction = em.measure_fraction(measure)
        info = grade_info(rec, at)
        grade = info["grade"]
        cut = {p: float(b) * fraction for p, b in rec.baseline_t_per_d.items()}
        rows.append({"record": rec, "grade": grade, "grade_info": info, "measure": measure,
                     "fraction": fraction, "reduction_t_per_d": cut})  # fmt: skip
        if rec.baseline_t_per_d:
            sources.append({"id": rec.uscc, "grade": grade, "category": rec.category,
                            "base_t_per_d": dict(rec.baseline_t_per_d),
                            "fraction": {level: fraction}})  # fmt: skip
    base = em.city_baseline(city, at.date())
    accounting = account_list(sources, city, level, at, base) if base and sources else None
    return {
        "city": city, "level": level, "version": chosen, "versions": [v.version for v in versions],
        "rows": rows, "accounting": accounting, "city_baseline_t_per_d": base,
        "activations": db.activations_of_city(store, city),
    }  # fmt: skip


def compliance_report(store: db.Reader, key: str) -> dict[str, Any]:
    """The compliance report of one warning (§2.5): the warning, the list version, and the
    verdicts grouped as people read them: non-compliant, insufficient data (cases to open),
    flagged (F/M/D/C… hours), compliant and exempt, each row with its enterprise."""
    act = db.activation(store, key)
    if act is None:
        raise LookupError(f"no activation {key!r}")
    names = {}
    for version in db.list_versions(store, str(act["city_code"])):
        if version.version == act["list_version"]:
            names = {r.uscc: r for r in version.records}
    verdicts = db.verdicts(store, key)
    for v in verdicts:
        rec = names.get(v["uscc"])
        v["name"], v["district"] = (rec.name, rec.district) if rec else (v["uscc"], "")
    groups = {g: [v for v in verdicts if v["verdict"] == g]
              for g in ("non_compliant", "insufficient_data", "compliant", "exempt")}  # fmt: skip
    flagged = [v for v in verdicts if v["flagged_hours"]]
    counts = {g: len(rows) for g, rows in groups.items()}
    return {"activation": act, "groups": groups, "flagged": flagged, "counts": counts,
            "total": len(verdicts),
            "findings": [f for f in db.findings(store, status=None) if f["activation_id"] == key]}  # fmt: skip


def open_finding_cases(store: Store, actor: str, at: datetime) -> dict[str, str]:
    """Open a rectification case for every open emergency-list finding without one, linked to
    it (non-compliance and insufficient data, §2.5: a case to open, not a verdict), through the
    supervision workflow's finding link; returns finding id → case id of those opened."""
    from ecobasin.services import cases as case_service  # the workflow the hook feeds

    def opener(found: dict[str, Any]) -> str:
        reasons = json.loads(found.get("reasons") or "[]")
        facts = {
            "title": f"应急减排核查 {found['kind']} {found['uscc']} ({found['outlet']}) "
            "Emergency-list compliance finding",
            "problem_text": "; ".join(str(r) for r in reasons) or str(found["kind"]),
            "category": "other",
            "city_code": int(found["city_code"]),
            "medium": "air",
        }
        case, _ = case_service.open_from_finding(
            store, "emergency_finding", str(found["finding_id"]), "", facts, actor,
            "supervision_office", at,
        )  # fmt: skip
        return case.case_id

    return open_cases(store, opener)
