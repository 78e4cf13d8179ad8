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
    "Notice",
    "ack_deadline",
    "affected",
    "escalations",
    "grade_with_forecast",
    "monitoring_points",
    "notices_for",
    "score_drill",
]

INTAKE_LEVELS = ("township", "county_city", "prefecture_city")


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
    hit = affected(forecast, 0.1 * threshold_mg_L)
    for city, rows in hit.groupby("city", sort=False):
        if str(city) == source_city:
            continue
        intake_fronts = rows.loc[rows["kind"] == "intake", "front_h"]
        urgent = bool((intake_fronts <= float(body["urgent_if_arrival_within_hours"])).any())
        due = determined_at + (
            timedelta(minutes=float(body.get("urgent_minutes", 15)))
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
                "cross_boundary", "ecology-environment bureau", str(city), due, cross_boundary["name"], reason,
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
) -> list[dict[str, Any]]:
    """The joint emergency-monitoring points (HJ 589-2021 practice, brief §1.5, design): the
    upstream control point, the incident point, every downstream intake and site until the
    forecast peak (high end) falls below 0.5·threshold, every provincial-boundary point, and
    the mixed section below each confluence on the way; each with its sampling window (from
    when the forecast first exceeds 0.1·threshold to when it falls below it, widest of the band)
    and the city responsible. ``window_forecast`` is the same forecast made with 0.1·threshold
    as its threshold (its above_* columns are the windows)."""
    points: list[dict[str, Any]] = []
    if upstream_node:
        points.append(_point(upstream_node, "control", spill_city, None, None))
    points.append(_point(spill_node, "incident", spill_city, 0.0, None))
    windows = _windows(window_forecast)
    peak = forecast[["C_peak_mg_L_low", "C_peak_mg_L_high"]].max(axis=1)
    province = province_of(spill_city)
    for row, top in zip(_records(forecast), peak, strict=True):
        kind, city = row["kind"], str(row["city"])
        if kind == "boundary" and province_of(city) != province:
            role = "boundary"
        elif top < 0.5 * threshold_mg_L or kind not in ("intake", "site", "junction"):
            continue
        else:
            role = {"intake": "intake", "site": "downstream", "junction": "confluence"}[kind]
        start, end = windows.get(str(row["node_id"]), (None, None))
        points.append(_point(str(row["node_id"]), role, city, start, end))
    return points


def _point(
    node: str, role: str, city: str, start: float | None, end: float | None
) -> dict[str, Any]:
    inside = "automatic station ≤ 1 h, manual every 1–2 h 自动站≤1小时、人工每1–2小时"
    return {
        "node_id": node, "role": role, "responsible_city": city,
        "window_from_h": start, "window_to_h": end,
        "frequency": inside if start is not None else "every 6 h, then daily 每6小时，后每日",
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


def score_drill(notices: pd.DataFrame, arrivals: pd.DataFrame) -> dict[str, Any]:
    """The score of a drill (brief §6 step 5): per notice the delay past its deadline [min]
    (columns deadline, sent_at, acked_at) and per station the forecast error of the arrival
    [h] (columns node_id, forecast_h, observed_h)."""
    late = [
        max(0.0, (pd.Timestamp(r["sent_at"]) - pd.Timestamp(r["deadline"])).total_seconds() / 60.0)
        for r in _records(notices)
        if not _missing(r["sent_at"])
    ]
    errors = (
        (arrivals["forecast_h"] - arrivals["observed_h"]).abs()
        if not arrivals.empty
        else pd.Series(dtype=float)
    )
    unsent = int(notices["sent_at"].isna().sum()) if not notices.empty else 0
    return {
        "notices": len(notices), "unsent": unsent,
        "late": sum(1 for x in late if x > 0), "max_delay_min": max(late, default=0.0),
        "mean_arrival_error_h": float(errors.mean()) if len(errors) else None,
        "max_arrival_error_h": float(errors.max()) if len(errors) else None,
    }  # fmt: skip
