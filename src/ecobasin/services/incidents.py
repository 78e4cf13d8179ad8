"""Sudden water-pollution incidents on shared rivers: what the CLI and the API both do.

Brief ``../shared/reference/incidents.md``. Opening an incident runs the whole first hour of
the joint response at once: the plume forecast on the stored river network (the dispersion
band), the preliminary grade from the rule set in force with the forecast's impact, the notices
owed (first report and cross-boundary notices with their deadlines), sent in-app at once, and
the joint monitoring plan. Later steps: acknowledgements, escalation of overdue notices, plan
approvals, results entered or imported, the refit of velocity and dispersion once two stations
have seen the plume (a new forecast run), materials, and the score of a drill.

The clock is an argument (``now``); the computations are :mod:`ecobasin.rivers` and
:mod:`ecobasin.workflow.incidents`.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ecobasin.catalog import incidents as rules
from ecobasin.errors import Conflict, InputError, NotFound
from ecobasin.rivers.network import (
    Network,
    Release,
    build_network,
    check_network,
    downstream_path,
    passage_to,
    plume_forecast,
    release_curve_mg_L,
)
from ecobasin.rivers.refit import refit_passage, scaled_network
from ecobasin.store import Connection
from ecobasin.store import incidents as db
from ecobasin.store.database import Store
from ecobasin.workflow import incidents as wf

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "acknowledge",
    "add_results",
    "approve_plan",
    "curves",
    "dispatch_material",
    "escalate_overdue",
    "graph_of",
    "import_network",
    "incident_view",
    "list_incidents",
    "material_requests",
    "network_names",
    "network_tables",
    "notice_board",
    "open_incident",
    "refit",
    "replay",
    "request_material",
    "score",
    "set_stocks",
    "stocks",
    "substance_choices",
]

#: results more than this far in the future of the server clock are implausible
_FUTURE_SLACK = timedelta(minutes=10)


def read_network_files(nodes_csv: Path, reaches_csv: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The node and reach tables of the documented CSV layout (docs/incidents.md; ``#`` lines
    are comments)."""
    nodes = pd.read_csv(nodes_csv, comment="#", dtype={"city": str, "node_id": str})
    reaches = pd.read_csv(reaches_csv, comment="#", dtype={"reach_id": str})
    return nodes, reaches


def import_network(
    store: Store, network: str, nodes: pd.DataFrame, reaches: pd.DataFrame, now: datetime
) -> dict[str, Any]:
    """Build, check and store a network; refused rows are kept aside with their reasons. A
    network that breaks an invariant (a cycle, two outlets in a basin, a site that does not
    reach its outlet) is refused whole."""
    net: Network = build_network(nodes, reaches)
    problems = check_network(net.graph)
    if problems:
        raise InputError(f"network {network!r} is not sound: " + "; ".join(problems))
    kept_nodes = nodes[nodes["node_id"].astype(str).isin(list(net.graph.nodes))]
    kept_ids = {d["reach_id"] for _, _, d in net.graph.edges(data=True)}
    kept_reaches = reaches[reaches["reach_id"].astype(str).isin(kept_ids)]
    db.save_network(store, network, kept_nodes, kept_reaches, net.rejected, now)
    return {
        "network": network,
        "nodes": net.graph.number_of_nodes(),
        "reaches": net.graph.number_of_edges(),
        "rejected": net.rejected.to_dict("records"),
    }


def graph_of(where: Connection, network: str) -> nx.DiGraph:
    """The stored network as a graph."""
    nodes, reaches = db.network_tables(where, network)
    if nodes.empty:
        raise NotFound(f"no river network {network!r}")
    return build_network(nodes, reaches).graph


def _release(raw: Mapping[str, Any]) -> Release:
    unknown = set(raw) - {"mode", "mass_kg", "rate_kg_h", "duration_h", "decay_per_day"}
    if unknown:
        raise InputError(f"release: unknown fields {sorted(unknown)}")
    try:
        amounts = {k: float(v) for k, v in raw.items() if k != "mode" and v is not None}
    except (TypeError, ValueError) as exc:
        raise InputError(f"release: {exc}") from exc
    return Release(
        str(raw.get("mode")),
        amounts.get("mass_kg", 0.0),
        amounts.get("rate_kg_h", 0.0),
        amounts.get("duration_h", 0.0),
        amounts.get("decay_per_day", 0.0),
    )


def _upstream(graph: nx.DiGraph, node: str) -> str | None:
    above = list(graph.predecessors(node))
    return above[0] if len(above) == 1 else None


def _notice_text(notice: wf.Notice, title: str, grade: str, spill_city: str) -> str:
    if notice.kind == "cross_boundary":
        front = notice.details.get("front_h")
        when = f"约 {front:.1f} 小时后到达 / front in about {front:.1f} h" if front else ""
        return (
            f"【跨界通报 Cross-boundary notice】{title}（{spill_city}，{grade}级 grade {grade}）"
            f"可能影响贵市 may affect your city: {when}；请确认收到 please acknowledge."
        )
    return f"【初报 Initial report】{title}：初判 {grade} 级 preliminary grade {grade}."


def open_incident(
    store: Store,
    *,
    title: str,
    network: str,
    node_id: str,
    city: str,
    substance: str,
    release: Mapping[str, Any],
    facts: Mapping[str, Any],
    occurred_at: datetime,
    discovered_at: datetime,
    determined_at: datetime,
    actor: str,
    region_cities: Sequence[str],
    now: datetime,
    threshold_mg_L: float | None = None,
    drill: bool = False,
    source_type: str = "unknown",
    source: str = "",
) -> str:
    """Open an incident with its forecast, grade, notices (sent in-app at once) and monitoring
    plan; returns its id. ``source_type`` (one of :data:`~ecobasin.workflow.incidents.SOURCE_TYPES`)
    and ``source`` say what released the pollutant (brief §3)."""
    _check_times(occurred_at, discovered_at, determined_at, now)
    _check_source(source_type, source)
    graph = graph_of(store, network)
    if node_id not in graph:
        raise InputError(f"node {node_id!r} is not on network {network!r}")
    node_city = str(graph.nodes[node_id].get("city") or "")
    if node_city != city:
        raise InputError(
            f"node {node_id} lies in city {node_city}, not {city}: the source city reports "
            "incidents at its own points 事发点不在本市"
        )
    spill = _release(release)
    threshold = threshold_mg_L if threshold_mg_L is not None else rules.threshold_mg_L(substance)
    if not (math.isfinite(threshold) and threshold > 0):
        raise InputError(f"threshold {threshold!r} mg/L must be positive")
    day = determined_at.date()
    monitoring = _rules_in_force("monitoring", day)
    forecast = plume_forecast(graph, node_id, spill, threshold)
    windows = plume_forecast(
        graph, node_id, spill, float(monitoring["body"]["window_fraction"]) * threshold
    )
    grading = _rules_in_force("grading", day)
    rule = {**grading["body"], "name": grading["name"]}  # the grade names its rule set
    grade, applied = wf.grade_with_forecast(facts, city, forecast, threshold, rule)
    notices = wf.notices_for(
        city, determined_at, grade.grade, forecast, threshold,
        _rules_in_force("reporting", day), _rules_in_force("cross_boundary_notice", day),
        region_cities,
    )  # fmt: skip
    points = wf.monitoring_points(
        forecast, windows, node_id, _upstream(graph, node_id), city, threshold, monitoring
    )
    incident_id = f"INC-{determined_at:%Y%m%d}-{secrets.token_hex(3)}"
    with store.transaction():
        db.save_incident(store, {
            "incident_id": incident_id, "title": title, "network": network, "node_id": node_id,
            "city_code": city, "substance": substance, "threshold_mg_L": threshold,
            "release": asdict(spill), "facts": applied, "occurred_at": occurred_at,
            "discovered_at": discovered_at, "determined_at": determined_at,
            "grade": grade.grade, "grade_rule": grade.rule, "grade_triggers": list(grade.triggered),
            "status": "monitoring", "drill": drill, "created_by": actor, "created_at": now,
            "source_type": source_type, "source": source,
        })  # fmt: skip
        db.add_forecast(
            store, incident_id, {"release": asdict(spill), "factors": None}, forecast, now
        )
        ids = db.add_notices(store, incident_id, [
            {**asdict(n), "content": _notice_text(n, title, grade.grade, city)} for n in notices
        ])  # fmt: skip
        db.mark_sent(store, ids, now, "in-app")
        db.save_plan(store, incident_id, points)
        db.add_event(store, incident_id, now, actor, "opened", {
            "grade": grade.grade, "triggered": list(grade.triggered), "rule": grade.rule,
            "notices": len(ids), "monitoring_points": len(points),
        })  # fmt: skip
    return incident_id


def _check_times(
    occurred: datetime, discovered: datetime, determined: datetime, now: datetime
) -> None:
    for name, value in (
        ("occurred_at", occurred),
        ("discovered_at", discovered),
        ("determined_at", determined),
    ):
        if value.tzinfo is None:
            raise InputError(f"{name} {value.isoformat()} has no UTC offset")
        if value > now + _FUTURE_SLACK:
            raise InputError(f"{name} {value.isoformat()} is in the future")
    if not occurred <= discovered <= determined:
        raise InputError("times must run occurred_at ≤ discovered_at ≤ determined_at")


def _rules_in_force(kind: str, day: date) -> dict[str, Any]:
    """The rule set of ``kind`` in force on ``day``; a day outside every one is bad input."""
    try:
        return rules.ruleset_in_force(kind, day)
    except NotFound as exc:
        raise InputError(
            f"{exc}: the determination must fall within a rule set's validity"
        ) from exc


def _check_source(source_type: str, source: str) -> None:
    if source_type not in wf.SOURCE_TYPES:
        raise InputError(
            f"source_type {source_type!r} is not one of {sorted(wf.SOURCE_TYPES)} 排放源类型不正确"
        )
    if len(source) > 500:
        raise InputError(f"source is {len(source)} characters long; at most 500")


def _incident_or_404(where: Connection, incident_id: str) -> dict[str, Any]:
    found = db.incident(where, incident_id)
    if found is None:
        raise NotFound(f"no incident {incident_id!r}")
    return found


def involved_cities(where: Connection, incident_id: str) -> list[str]:
    """The source city and every city a notice went to (who may read and act on the incident)."""
    found = _incident_or_404(where, incident_id)
    to = [str(c) for c in db.notices(where, incident_id)["to_city"].dropna()]
    return list(dict.fromkeys([str(found["city_code"]), *to]))


def acknowledge(
    store: Store, incident_id: str, notice_id: int, city: str | None, by: str, now: datetime
) -> None:
    """The receiving city acknowledges its notice (``city`` None: a province user for any)."""
    table = db.notices(store, incident_id)
    row = table[table["notice_id"] == notice_id]
    if row.empty:
        raise NotFound(f"no notice {notice_id} in incident {incident_id}")
    if city is not None and str(row.iloc[0]["to_city"]) != city:
        raise Conflict(f"notice {notice_id} is addressed to {row.iloc[0]['to_city']}, not {city}")
    with store.transaction():
        if not db.ack_notice(store, notice_id, by, now):
            raise Conflict(f"notice {notice_id} is already acknowledged")
        db.add_event(store, incident_id, now, by, "acknowledged", {"notice_id": notice_id})


def escalate_overdue(store: Store, now: datetime) -> list[int]:
    """Escalate every sent cross-boundary notice not acknowledged in time (all open incidents)
    to the provincial office; returns the notice ids escalated."""
    rule = rules.ruleset_in_force("cross_boundary_notice", now.date())
    escalated: list[int] = []
    for incident_id in db.incidents(store).query("status != 'closed'")["incident_id"]:
        table = db.notices(store, incident_id)
        table = table[table["kind"] == "cross_boundary"].rename(
            columns={"notice_id": "notification_id"}
        )
        due = wf.escalations(table, now, rule)
        if due:
            with store.transaction():
                db.escalate_notices(store, due, str(rule["body"]["escalate_to"]), now)
                db.add_event(store, incident_id, now, "system", "escalated", {"notice_ids": due})
            escalated += due
    return escalated


def approve_plan(
    store: Store, incident_id: str, city: str, by: str, now: datetime
) -> dict[str, Any]:
    """A city involved approves the latest monitoring plan; the plan is joint once every city
    responsible for a point has approved."""
    version, points, _ = db.plan(store, incident_id)
    if version == 0:
        raise NotFound(f"incident {incident_id} has no monitoring plan")
    parties = sorted(set(points["responsible_city"].astype(str)))
    if city not in parties:
        raise Conflict(f"city {city} has no point in plan v{version} (parties {parties})")
    with store.transaction():
        db.approve_plan(store, incident_id, version, city, by, now)
        db.add_event(
            store, incident_id, now, by, "plan approved", {"version": version, "city": city}
        )
    _, _, approvals = db.plan(store, incident_id)
    approved = sorted(set(approvals["city_code"].astype(str)))
    return {
        "version": version,
        "parties": parties,
        "approved": approved,
        "joint": approved == parties,
    }


def add_results(
    store: Store, incident_id: str, results: pd.DataFrame, city: str | None, by: str, now: datetime
) -> dict[str, Any]:
    """Store monitoring results (node_id, sampled_at, value_mg_L, method); a row on a node
    outside the incident's path, in another city's reach (unless ``city`` is None), before the
    release, in the future, or with an impossible value is refused with its reason."""
    found = _incident_or_404(store, incident_id)
    graph = graph_of(store, str(found["network"]))
    path = set(downstream_path(graph, str(found["node_id"])))
    occurred = pd.Timestamp(found["occurred_at"])
    accepted, rejected = [], []
    for i, record in enumerate(results.to_dict("records")):
        row = {str(k): v for k, v in record.items()}
        reason = _result_problem(row, graph, path, city, occurred, now)
        if reason:
            rejected.append({"row": i + 1, "node_id": row.get("node_id"), "reason": reason})
        else:
            node = str(row["node_id"])
            accepted.append({
                "node_id": node, "sampled_at": pd.Timestamp(row["sampled_at"]).to_pydatetime(),
                "value_mg_L": float(row["value_mg_L"]), "method": str(row.get("method") or "auto"),
                "city_code": str(graph.nodes[node].get("city")), "reported_by": by, "reported_at": now,
            })  # fmt: skip
    with store.transaction():
        if accepted:
            db.add_samples(store, incident_id, pd.DataFrame(accepted))
        db.add_event(
            store,
            incident_id,
            now,
            by,
            "results",
            {"accepted": len(accepted), "rejected": rejected},
        )
    return {"accepted": len(accepted), "rejected": rejected}


def _result_problem(
    row: Mapping[str, Any],
    graph: nx.DiGraph,
    path: set[str],
    city: str | None,
    occurred: pd.Timestamp,
    now: datetime,
) -> str | None:
    node = str(row.get("node_id"))
    if node not in path:
        return f"node {node} is not on the incident's path"
    if city is not None and str(graph.nodes[node].get("city")) != city:
        return f"node {node} is in city {graph.nodes[node].get('city')}, not {city}"
    try:
        at = pd.Timestamp(row["sampled_at"])
        value = float(row["value_mg_L"])
    except (KeyError, TypeError, ValueError) as exc:
        return f"unreadable row: {exc}"
    if at.tzinfo is None:
        return f"sampled_at {at} has no UTC offset"
    if at < occurred or at > pd.Timestamp(now + _FUTURE_SLACK):
        return f"sampled_at {at.isoformat()} is before the release or in the future"
    if not (math.isfinite(value) and 0 <= value < 1e5):
        return f"value {value} mg/L is impossible"
    if str(row.get("method") or "auto") not in ("auto", "field", "lab"):
        return f"method {row.get('method')!r} is not auto/field/lab"
    return None


def refit(store: Store, incident_id: str, actor: str, now: datetime) -> dict[str, Any]:
    """Refit velocity, dispersion and mass to the results of two or more stations and store the
    updated forecast as a new run."""
    found = _incident_or_404(store, incident_id)
    graph = graph_of(store, str(found["network"]))
    results = db.samples(store, incident_id)
    spill_node = str(found["node_id"])
    results = results[results["node_id"] != spill_node]
    if results["node_id"].nunique() < 2:
        raise Conflict("the refit needs the plume seen at two stations below the spill")
    occurred = pd.Timestamp(found["occurred_at"])
    observed = pd.DataFrame({
        "node_id": results["node_id"],
        "time_h": (pd.to_datetime(results["sampled_at"], utc=True) - occurred).dt.total_seconds() / 3600.0,
        "C_mg_L": results["value_mg_L"],
    })  # fmt: skip
    release = _release(found["release"])
    fit = refit_passage(graph, spill_node, release, observed)
    scaled = scaled_network(graph, fit.velocity_factor, fit.dispersion_factor)
    mass = release.mass_kg * fit.mass_factor if release.mode == "instantaneous" else release.mass_kg
    rate = (
        release.rate_kg_h * fit.mass_factor
        if release.mode != "instantaneous"
        else release.rate_kg_h
    )
    fitted = Release(release.mode, mass, rate, release.duration_h, release.decay_per_day)
    table = plume_forecast(scaled, spill_node, fitted, float(found["threshold_mg_L"]))
    factors = asdict(fit)
    with store.transaction():
        run = db.add_forecast(
            store, incident_id, {"release": asdict(fitted), "factors": factors}, table, now
        )
        db.add_event(store, incident_id, now, actor, "refit", {"run": run, **factors})
    return {"run": run, **factors}


def incident_view(where: Connection, incident_id: str) -> dict[str, Any]:
    """Everything the incident page and the API show: the record, every forecast run (the latest
    last), notices, the plan with approvals, results, materials and the timeline."""
    found = _incident_or_404(where, incident_id)
    version, points, approvals = db.plan(where, incident_id)
    return {
        "incident": found,
        "forecasts": db.forecasts(where, incident_id),
        "notices": db.notices(where, incident_id),
        "plan_version": version,
        "plan": points,
        "approvals": approvals,
        "samples": db.samples(where, incident_id),
        "materials": db.material_requests(where, incident_id),
        "events": db.events(where, incident_id),
    }


def request_material(
    store: Store,
    incident_id: str,
    from_city: str,
    to_city: str,
    item: str,
    quantity: float,
    unit: str,
    by: str,
    now: datetime,
) -> int:
    """A city asks another city that keeps ``item`` in one of its depots for materials during
    an incident."""
    _incident_or_404(store, incident_id)
    if not (math.isfinite(quantity) and quantity > 0):
        raise InputError(f"quantity {quantity} must be positive")
    if from_city == to_city:
        raise InputError(f"city {from_city} asks its own city: use its own depots 不能向本市请求")
    kept = db.stocks(store)
    if not ((kept["city_code"].astype(str) == to_city) & (kept["item"] == item)).any():
        raise InputError(f"city {to_city} keeps no {item} in its depots 该市无此物资储备")
    with store.transaction():
        request_id = db.request_material(store, {
            "incident_id": incident_id, "from_city": from_city, "to_city": to_city, "item": item,
            "quantity": quantity, "unit": unit, "requested_at": now, "requested_by": by,
        })  # fmt: skip
        db.add_event(
            store,
            incident_id,
            now,
            by,
            "materials requested",
            {"request_id": request_id, "item": item},
        )
    return request_id


def dispatch_material(
    store: Store, incident_id: str, request_id: int, by: str, now: datetime
) -> None:
    """The asked city dispatches from a depot holding enough of the item, not expired on the
    CST day of ``now`` (its stock decreases in the same transaction, once)."""
    refusal = db.dispatch_material(store, request_id, by, now, _cst_day(now))
    if refusal is not None:
        raise Conflict(f"request {request_id}: {refusal}")
    with store.transaction():
        db.add_event(
            store, incident_id, now, by, "materials dispatched", {"request_id": request_id}
        )


def score(where: Connection, incident_id: str) -> dict[str, Any]:
    """The score of an incident or drill: notice delays and, per station with results, the
    error of the first forecast's peak time against the observed peak [h]."""
    found = _incident_or_404(where, incident_id)
    runs = db.forecasts(where, incident_id)
    first = runs[0]["table"].set_index("node_id") if runs else pd.DataFrame()
    results = db.samples(where, incident_id)
    occurred = pd.Timestamp(found["occurred_at"])
    arrivals = []
    forecast_peaks = {str(k): float(v) for k, v in first.get("t_peak_h_low", pd.Series()).items()}
    for node, rows in results.groupby("node_id"):
        if str(node) in forecast_peaks:
            values = rows["value_mg_L"].to_numpy()
            peak_at = pd.to_datetime(rows["sampled_at"], utc=True).iloc[int(values.argmax())]
            arrivals.append({
                "node_id": str(node), "forecast_h": forecast_peaks[str(node)],
                "observed_h": (peak_at - occurred).total_seconds() / 3600.0,
            })  # fmt: skip
    frame = pd.DataFrame(arrivals, columns=["node_id", "forecast_h", "observed_h"])
    rule = rules.ruleset_in_force(
        "cross_boundary_notice", pd.Timestamp(found["determined_at"]).date()
    )
    return wf.score_drill(db.notices(where, incident_id), frame, float(rule["body"]["ack_minutes"]))


def notice_board(where: Connection, incident_id: str, now: datetime) -> pd.DataFrame:
    """The incident's notices with their acknowledgement deadline and state by ``now``
    (acknowledged, overdue, sent, waiting), by the notice rule in force at determination."""
    found = _incident_or_404(where, incident_id)
    rule = rules.ruleset_in_force(
        "cross_boundary_notice", pd.Timestamp(found["determined_at"]).date()
    )
    return wf.notice_states(db.notices(where, incident_id), now, rule)


#: columns of a stock row as a city gives it
STOCK_COLUMNS = ("depot_id", "depot_name", "item", "quantity", "unit", "expires_on")


def _cst_day(at: datetime) -> date:
    return pd.Timestamp(at).tz_convert("Asia/Shanghai").date()


def _stock_problem(row: Mapping[str, Any], owners: Mapping[str, str], city: str) -> str | None:
    """Why one stock row is refused, or None."""
    for key in ("depot_id", "depot_name", "item", "unit"):
        text = row.get(key)
        if text is None or (isinstance(text, float) and math.isnan(text)) or not str(text).strip():
            return f"{key} is empty"
    owner = owners.get(str(row["depot_id"]))
    if owner is not None and owner != city:
        return f"depot {row['depot_id']} belongs to city {owner}, not {city}"
    try:
        quantity = float(row.get("quantity"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return f"quantity {row.get('quantity')!r} is not a number"
    if not (math.isfinite(quantity) and 0 <= quantity < 1e9):
        return f"quantity {quantity} must be ≥ 0 and finite"
    expires = row.get("expires_on")
    if expires is not None and not (isinstance(expires, float) and math.isnan(expires)):
        try:
            date.fromisoformat(str(expires).strip())
        except ValueError:
            return f"expires_on {expires!r} is not a date YYYY-MM-DD"
    return None


def set_stocks(
    store: Store, city: str, rows: pd.DataFrame, by: str, now: datetime
) -> dict[str, Any]:
    """A city's depots' stock (columns :data:`STOCK_COLUMNS`; ``expires_on`` may be empty):
    each good row replaces the (depot, item) it names; a bad row (empty names, a quantity < 0 or
    not finite, an unreadable date, another city's depot) is refused with its reason."""
    owners = {
        str(d): str(c)
        for d, c in db.stocks(store)[["depot_id", "city_code"]].drop_duplicates().to_numpy()
    }
    kept, rejected = [], []
    for i, record in enumerate(rows.to_dict("records")):
        row = {str(k): v for k, v in record.items()}
        reason = _stock_problem(row, owners, city)
        if reason:
            rejected.append({"row": i + 1, "depot_id": str(row.get("depot_id")), "reason": reason})
            continue
        expires = row.get("expires_on")
        missing = expires is None or (isinstance(expires, float) and math.isnan(expires))
        kept.append({
            "depot_id": str(row["depot_id"]).strip(), "city_code": city,
            "depot_name": str(row["depot_name"]).strip(), "item": str(row["item"]).strip(),
            "quantity": float(row["quantity"]), "unit": str(row["unit"]).strip(),
            "expires_on": None if missing else date.fromisoformat(str(expires).strip()),
        })  # fmt: skip
    if kept:
        db.upsert_stocks(store, pd.DataFrame(kept), now)
    return {"city": city, "kept": len(kept), "rejected": rejected, "by": by}


def stocks(where: Connection, now: datetime, city: str | None = None) -> pd.DataFrame:
    """Every depot's stock (or one city's), with ``expired`` on the CST day of ``now``."""
    table = db.stocks(where)
    if city is not None:
        table = table[table["city_code"].astype(str) == city].reset_index(drop=True)
    today = pd.Timestamp(_cst_day(now))
    expires = pd.to_datetime(table["expires_on"])
    table["expired"] = (expires.notna() & (expires < today)).astype(bool)
    return table


def list_incidents(where: Connection, cities: Sequence[str] | None = None) -> pd.DataFrame:
    """Incidents newest first; only those touching ``cities`` (source or notice) when given."""
    return db.incidents(where, cities)


def material_requests(where: Connection, incident_id: str) -> pd.DataFrame:
    """The material requests of an incident."""
    return db.material_requests(where, incident_id)


def network_tables(where: Connection, network: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(nodes, reaches) of a stored network."""
    return db.network_tables(where, network)


def curves(where: Connection, incident_id: str, points: int = 120) -> list[dict[str, Any]]:
    """The concentration curves [mg/L] at each drinking-water intake and monitoring point below
    the spill by the latest forecast run (its refit factors applied), low and high dispersion,
    on ``points`` times [h since the release] — what the incident page draws per intake."""
    found = _incident_or_404(where, incident_id)
    runs = db.forecasts(where, incident_id)
    factors = (runs[-1]["params"].get("factors") if runs else None) or {}
    graph = graph_of(where, str(found["network"]))
    graph = scaled_network(
        graph, factors.get("velocity_factor", 1.0), factors.get("dispersion_factor", 1.0)
    )
    release = _release(runs[-1]["params"]["release"] if runs else found["release"])
    decay = release.decay_per_day / 86400.0
    spill = str(found["node_id"])
    out = []
    for node in downstream_path(graph, spill)[1:]:
        data = graph.nodes[node]
        if data.get("kind") not in ("intake", "site"):
            continue
        low, discharge = passage_to(graph, spill, node, decay, "low")
        high, _ = passage_to(graph, spill, node, decay, "high")
        spread = 4.5 * math.sqrt(high.variance_s2)
        extra = release.duration_h * 3600.0 if release.mode == "finite" else 0.0
        start, end = max(0.0, low.mean_s - spread), low.mean_s + spread + extra
        times = [start + (end - start) * i / (points - 1) for i in range(points)]
        out.append({
            "node_id": node, "kind": data.get("kind"), "name_zh": data.get("name_zh"),
            "name_en": data.get("name_en"), "city": data.get("city"),
            "hours": [round(t / 3600.0, 3) for t in times],
            "low": [release_curve_mg_L(release, discharge, low, t) for t in times],
            "high": [release_curve_mg_L(release, discharge, high, t) for t in times],
        })  # fmt: skip
    return out


def network_names(where: Connection) -> list[str]:
    """The stored river networks."""
    return db.networks(where)


def substance_choices() -> list[dict[str, Any]]:
    """The substances with thresholds (the strictest role of each), for the incident form."""
    table = rules.substances().sort_values("threshold_mg_L").drop_duplicates("substance")
    return [
        {str(k): (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
        for r in table.to_dict("records")
    ]


def replay(
    store: Store,
    incident_id: str,
    start_at: datetime,
    actor: str,
    region_cities: Sequence[str],
    now: datetime,
) -> str:
    """Replay an incident as a drill with a clock offset: the same place, substance, release and
    facts, every time shifted so the determination falls at ``start_at``; the forecast, grade,
    notices and plan are made again by the rules in force then (brief §6 step 5)."""
    found = _incident_or_404(store, incident_id)
    offset = start_at - pd.Timestamp(found["determined_at"]).to_pydatetime()

    def shifted(key: str) -> datetime:
        return pd.Timestamp(found[key]).to_pydatetime() + offset

    reported = {
        k: v for k, v in found["facts"].items() if k not in ("cross_boundary", "intake_interrupted")
    }
    drill_id = open_incident(
        store, title=f"演练 Drill: {found['title']}", network=str(found["network"]),
        node_id=str(found["node_id"]), city=str(found["city_code"]), substance=str(found["substance"]),
        release=found["release"], facts=reported, occurred_at=shifted("occurred_at"),
        discovered_at=shifted("discovered_at"), determined_at=start_at, actor=actor,
        region_cities=region_cities, now=now, threshold_mg_L=float(found["threshold_mg_L"]), drill=True,
        source_type=str(found.get("source_type") or "unknown"), source=str(found.get("source") or ""),
    )  # fmt: skip
    with store.transaction():
        db.add_event(
            store,
            drill_id,
            now,
            actor,
            "replayed",
            {"from": incident_id, "offset_h": offset.total_seconds() / 3600},
        )
    return drill_id
