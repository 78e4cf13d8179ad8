"""Sudden water-pollution incidents as pure decisions: impact, grade, notices, escalation, the
joint monitoring plan and the score of a drill.

Brief ``../shared/reference/incidents.md``: grades §1.1, reporting §1.2 and §1.6, the 2020
joint-response guidance §1.3 (tell downstream at once, monitor jointly), HJ 589-2021 emergency
monitoring §1.5 (points and windows from the forecast, design), data model §3. No I/O and no
clock: every time is an argument; the rules are the rule sets of
``catalog/data/incidents/rules.json`` handed in.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from ecobasin.rivers.grading import Grade, grade_incident, report_deadline

__all__ = [
    "INTAKE_LEVELS",
    "SOURCE_TYPES",
    "Notice",
    "ack_deadline",
    "affected",
    "escalations",
    "grade_with_forecast",
    "monitoring_points",
    "notice_states",
    "notices_for",
    "score_drill",
]

INTAKE_LEVELS = ("township", "county_city", "prefecture_city")
#: what released the pollutant (brief §3 ``incident.source_type``), with its bilingual label
SOURCE_TYPES = {
    "enterprise": "企业排放或泄漏 enterprise discharge or leak",
    "transport": "交通运输事故 transport accident",
    "pipeline": "管道泄漏 pipeline leak",
    "sewage": "污水处理设施 sewage works",
    "tailings": "尾矿库 tailings dam",
    "other": "其他 other",
    "unknown": "不明 unknown",
}


def province_of(city: str | int | None) -> str | None:
    """The province of a GB/T 2260 city code: its first two digits (51 Sichuan, 50 Chongqing)."""
    return None if city in (None, "") else str(city)[:2]


def affected(forecast: pd.DataFrame, threshold_mg_L: float) -> pd.DataFrame:
    """The rows of a plume forecast where the high end of the band reaches the threshold."""
    peak = forecast[["C_peak_mg_L_low", "C_peak_mg_L_high"]].max(axis=1)
    return forecast[peak >= threshold_mg_L]


def cross_boundary_level(source_city: str, cities: Sequence[str]) -> str | None:
    """How far the impact crosses (the grade table's last row): ``provincial`` when a city of
    another province is affected, ``prefecture`` when another city is, else None (a county
    boundary cannot be told from city codes: the reporter states it)."""
    others = [c for c in cities if c and c != source_city]
    if any(province_of(c) != province_of(source_city) for c in others):
        return "provincial"
    return "prefecture" if others else None


def intake_level(rows: pd.DataFrame) -> str | None:
    """The highest level of a drinking-water intake forecast above its threshold, or None."""
    levels = [str(x) for x in rows.get("intake_level", pd.Series(dtype=str)).dropna()]
    ranked = [lv for lv in INTAKE_LEVELS if lv in levels]
    return ranked[-1] if ranked else None


def grade_with_forecast(
    reported: Mapping[str, Any],
    source_city: str,
    forecast: pd.DataFrame,
    threshold_mg_L: float,
    rule: Mapping[str, Any],
) -> tuple[Grade, dict[str, Any]]:
    """The preliminary grade from the reported facts and the forecast's impact (an intake to shut,
    a boundary crossed), with the facts the rule was applied to (the row that decided shows in
    ``Grade.triggered``). Reported facts win where they are more severe."""
    hit = affected(forecast, threshold_mg_L)
    facts = dict(reported)
    crossing = cross_boundary_level(source_city, [str(c) for c in hit["city"]])
    facts["cross_boundary"] = _worse(
        facts.get("cross_boundary"), crossing, rule.get("cross_boundary_levels", [])
    )
    intakes = hit[hit["kind"] == "intake"]
    facts["intake_interrupted"] = _worse(
        facts.get("intake_interrupted"), intake_level(intakes), rule.get("intake_levels", [])
    )
    return grade_incident(facts, rule), facts


def _worse(a: str | None, b: str | None, levels: Sequence[str]) -> str | None:
    order = list(levels)
    known = [x for x in (a, b) if x is not None and x in order]
    return max(known, key=lambda level: order.index(level)) if known else (a or b)


@dataclass(frozen=True)
class Notice:
    """One notice to send: kind (initial, cross_boundary, followup), the recipient (an office
    and, for cities, its code), the deadline (UTC) and the rule and reason behind it."""

    kind: str
    to_org: str
    to_city: str | None
    deadline: datetime
    rule: str
    reason: str
    external: bool = False
    details: Mapping[str, Any] = field(default_factory=dict)


def notices_for(
    source_city: str,
    determined_at: datetime,
    grade: str,
    forecast: pd.DataFrame,
    threshold_mg_L: float,
    reporting: Mapping[str, Any],
    cross_boundary: Mapping[str, Any],
    region_cities: Sequence[str],
) -> list[Notice]:
    """The notices an incident owes (brief §1.6): the first report to the recipients of Art. 3
    within the rule's hours of the preliminary determination, and a cross-boundary notice to
    every downstream city on the forecast path within ``notice_hours`` — at once
    (``urgent_minutes``) when the plume reaches one of its intakes within
    ``urgent_if_arrival_within_hours``. Cities outside the region (e.g. Chongqing's districts)
    are external recipients."""
    first = report_deadline(determined_at, grade, reporting["body"])
    notices = [
        Notice("initial", org, source_city, first.deadline, reporting["name"], f"grade {grade}: Art. 3, {first.hours:g} h")
        for org in first.recipients
    ]  # fmt: skip
    body = cross_boundary["body"]
    hit = affected(forecast, float(body["notify_fraction"]) * threshold_mg_L)
    for city, rows in hit.groupby("city", sort=False):
        if str(city) == source_city:
            continue
        intake_fronts = rows.loc[rows["kind"] == "intake", "front_h"]
        urgent = bool((intake_fronts <= float(body["urgent_if_arrival_within_hours"])).any())
        due = determined_at + (
            timedelta(minutes=float(body["urgent_minutes"]))
            if urgent
            else timedelta(hours=float(body["notice_hours"]))
        )
        reason = (
            "plume reaches an intake within {:g} h".format(
                float(body["urgent_if_arrival_within_hours"])
            )
            if urgent
            else "downstream on the forecast path"
        )
        notices.append(
            Notice(
                "cross_boundary", str(body["recipient_org"]), str(city), due, cross_boundary["name"], reason,
                external=str(city) not in region_cities,
                details={"front_h": float(rows["front_h"].min()), "nodes": [str(n) for n in rows["node_id"]]},
            )
        )  # fmt: skip
    return notices


def ack_deadline(sent_at: datetime, cross_boundary: Mapping[str, Any]) -> datetime:
    """When the receiving duty officer must acknowledge (brief §1.6: 30 min by default)."""
    return sent_at + timedelta(minutes=float(cross_boundary["body"]["ack_minutes"]))


def escalations(
    notices: pd.DataFrame, now: datetime, cross_boundary: Mapping[str, Any]
) -> list[int]:
    """The ids of sent notices not acknowledged by their acknowledgement deadline and not yet
    escalated (columns notification_id, sent_at, acked_at, escalated_at)."""
    minutes = timedelta(minutes=float(cross_boundary["body"]["ack_minutes"]))
    due: list[int] = []
    for row in _records(notices):
        if _missing(row["sent_at"]) or not _missing(row["acked_at"]):
            continue
        if not _missing(row["escalated_at"]):
            continue
        if pd.Timestamp(row["sent_at"]).to_pydatetime() + minutes <= now:
            due.append(int(row["notification_id"]))
    return due


def monitoring_points(
    forecast: pd.DataFrame,
    window_forecast: pd.DataFrame,
    spill_node: str,
    upstream_node: str | None,
    spill_city: str,
    threshold_mg_L: float,
    monitoring: Mapping[str, Any],
) -> list[dict[str, Any]]:
    """The joint emergency-monitoring points (HJ 589-2021 practice, brief §1.5, design): the
    upstream control point, the incident point, every downstream intake and site until the
    forecast peak (high end) falls below ``stop_fraction``·threshold, every provincial-boundary
    point, and the mixed section below each confluence on the way; each with its sampling
    window (from when the forecast first exceeds ``window_fraction``·threshold to when it falls
    below it, widest of the band), its frequency and the city responsible. The fractions and
    frequencies are the ``monitoring`` rule set's body. ``window_forecast`` is the same forecast
    made with window_fraction·threshold as its threshold (its above_* columns are the windows)."""
    body = monitoring["body"]
    frequencies = (str(body["inside_frequency"]), str(body["outside_frequency"]))
    points: list[dict[str, Any]] = []
    if upstream_node:
        points.append(_point(upstream_node, "control", spill_city, None, None, frequencies))
    points.append(_point(spill_node, "incident", spill_city, 0.0, None, frequencies))
    windows = _windows(window_forecast)
    peak = forecast[["C_peak_mg_L_low", "C_peak_mg_L_high"]].max(axis=1)
    province = province_of(spill_city)
    for row, top in zip(_records(forecast), peak, strict=True):
        kind, city = row["kind"], str(row["city"])
        if kind == "boundary" and province_of(city) != province:
            role = "boundary"
        elif top < float(body["stop_fraction"]) * threshold_mg_L or kind not in (
            "intake", "site", "junction",
        ):  # fmt: skip
            continue
        else:
            role = {"intake": "intake", "site": "downstream", "junction": "confluence"}[kind]
        start, end = windows.get(str(row["node_id"]), (None, None))
        points.append(_point(str(row["node_id"]), role, city, start, end, frequencies))
    return points


def _point(
    node: str,
    role: str,
    city: str,
    start: float | None,
    end: float | None,
    frequencies: tuple[str, str],
) -> dict[str, Any]:
    """One point; ``frequencies``: (inside the window, outside it)."""
    return {
        "node_id": node, "role": role, "responsible_city": city,
        "window_from_h": start, "window_to_h": end,
        "frequency": frequencies[0] if start is not None else frequencies[1],
    }  # fmt: skip


def _windows(forecast: pd.DataFrame) -> dict[str, tuple[float | None, float | None]]:
    """Per node, the widest window of the band above the forecast's threshold [h] (columns
    above_from_h_*/above_to_h_*)."""
    out: dict[str, tuple[float | None, float | None]] = {}
    for row in _records(forecast):
        starts = [
            float(row[k]) for k in ("above_from_h_low", "above_from_h_high") if not _missing(row[k])
        ]
        ends = [
            float(row[k]) for k in ("above_to_h_low", "above_to_h_high") if not _missing(row[k])
        ]
        if starts:
            out[str(row["node_id"])] = (min(starts), max(ends) if ends else None)
    return out


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in r.items()} for r in frame.to_dict("records")]


def _missing(value: Any) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def notice_states(
    notices: pd.DataFrame, now: datetime, cross_boundary: Mapping[str, Any]
) -> pd.DataFrame:
    """The notice board's state of each notice by ``now`` (brief §1.6): ``ack_due_at`` (a
    cross-boundary notice: sent + ``ack_minutes``) and ``state``: acknowledged, overdue (past
    that deadline unacknowledged, escalated or not), sent, or waiting (not yet sent)."""
    minutes = timedelta(minutes=float(cross_boundary["body"]["ack_minutes"]))
    out = notices.copy()
    due, states = [], []
    for row in _records(notices):
        sent = None if _missing(row["sent_at"]) else pd.Timestamp(row["sent_at"]).to_pydatetime()
        limit = sent + minutes if sent is not None and row["kind"] == "cross_boundary" else None
        due.append(limit)
        if not _missing(row["acked_at"]):
            states.append("acknowledged")
        elif limit is not None and now > limit:
            states.append("overdue")
        else:
            states.append("sent" if sent is not None else "waiting")
    out["ack_due_at"] = pd.Series(due, index=notices.index, dtype=object)
    out["state"] = pd.Series(states, index=notices.index, dtype=object)
    return out


def _minutes_after(later: Any, earlier: Any) -> float | None:
    if _missing(later) or _missing(earlier):
        return None
    return max(0.0, (pd.Timestamp(later) - pd.Timestamp(earlier)).total_seconds() / 60.0)


def _notice_delays(notices: pd.DataFrame, ack_minutes: float) -> list[dict[str, Any]]:
    """Per notice: how late it was sent past its deadline and, for a cross-boundary notice, how
    late it was acknowledged past sent + ``ack_minutes`` [min] (None: never acknowledged)."""
    window = timedelta(minutes=ack_minutes)
    delays = []
    for row in _records(notices):
        cross = row["kind"] == "cross_boundary"
        due = None if _missing(row["sent_at"]) else pd.Timestamp(row["sent_at"]) + window
        delays.append({
            "notice_id": int(row["notice_id"]), "kind": str(row["kind"]),
            "to_city": None if _missing(row["to_city"]) else str(row["to_city"]),
            "send_delay_min": _minutes_after(row["sent_at"], row["deadline"]),
            "ack_delay_min": _minutes_after(row["acked_at"], due) if cross else None,
            "acknowledged": not _missing(row["acked_at"]),
        })  # fmt: skip
    return delays


def score_drill(
    notices: pd.DataFrame, arrivals: pd.DataFrame, ack_minutes: float
) -> dict[str, Any]:
    """The score of a drill (brief §6 step 5): per notice the delay past its sending deadline
    and, for cross-boundary notices, past the acknowledgement window of ``ack_minutes`` [min]
    (columns notice_id, kind, to_city, deadline, sent_at, acked_at); per station the forecast
    error of the peak time [h] (columns node_id, forecast_h, observed_h), signed
    (forecast − observed: positive when the forecast was late)."""
    delays = _notice_delays(notices, ack_minutes)
    sent = [d["send_delay_min"] for d in delays if d["send_delay_min"] is not None]
    acks = [d["ack_delay_min"] for d in delays if d["kind"] == "cross_boundary"]
    errors = (
        (arrivals["forecast_h"] - arrivals["observed_h"])
        if not arrivals.empty
        else pd.Series(dtype=float)
    )
    stations = [
        {"node_id": str(r["node_id"]), "forecast_peak_h": float(r["forecast_h"]),
         "observed_peak_h": float(r["observed_h"]), "error_h": float(e)}
        for r, e in zip(_records(arrivals), errors, strict=True)
    ]  # fmt: skip
    unsent = int(notices["sent_at"].isna().sum()) if not notices.empty else 0
    return {
        "notices": len(notices), "unsent": unsent,
        "late": sum(1 for x in sent if x > 0), "max_delay_min": max(sent, default=0.0),
        "ack_late": sum(1 for x in acks if x is not None and x > 0),
        "unacknowledged": sum(1 for x in acks if x is None),
        "max_ack_delay_min": max((x for x in acks if x is not None), default=0.0),
        "mean_arrival_error_h": float(errors.abs().mean()) if len(errors) else None,
        "max_arrival_error_h": float(errors.abs().max()) if len(errors) else None,
        "notice_delays": delays,
        "stations": stations,
    }  # fmt: skip
