"""What ``ecobasin consultation …`` and ``/api/v1/consultation/…`` both answer and do.

Every step loads the latest stored version of a session, applies one event of the pure state
machine (:mod:`ecobasin.workflow.consultation`) and stores the result, so the command line, the
API and the pages go through the same guards. The time is an argument (callers pass the
request's or the command's instant). Refusals raise
:class:`~ecobasin.workflow.consultation.ConsultationError` naming the record and the reason;
unknown sessions raise :class:`LookupError`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import asdict, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any

from ecobasin import catalog
from ecobasin.forecast.warning import LEVEL_NAMES, city_warning
from ecobasin.services import consultation_notices as notices
from ecobasin.services import emergency as emergency_lists
from ecobasin.services.cells import pick
from ecobasin.services.consultation_charts import consensus_chart_png
from ecobasin.services.pdf import data_uri, html_to_pdf, templates
from ecobasin.store import air as store_air
from ecobasin.store import consultation as store_consultation
from ecobasin.store.consultation import (  # the stored records the web asks for as they are
    actions,
    handovers,
    load,
    mark_read,
    notices_of,
    record_handover,
    report,
    roles_of,
)
from ecobasin.store.database import Store
from ecobasin.workflow.consultation import (
    METRICS,
    ConsultationError,
    DayForecast,
    InputSnapshot,
    Observed,
    ObservedDay,
    Session,
    Submission,
    aqi_levels,
    check_no_gaps,
    consensus_lift,
    control_measures,
    load_rota,
    regional_rule_level,
    rule_levels,
    schedule,
    scores,
    transition,
)
from ecobasin.workflow.consultation_warning import CityAck, WarningProposal, propose, warning_step

__all__ = [
    "act",
    "actions",
    "activate_emergency_lists",
    "chair_for",
    "city_decision",
    "consensus_prefill",
    "draft_report",
    "handovers",
    "lift_by_month",
    "list_view",
    "load",
    "mark_read",
    "notices_of",
    "open_session",
    "prefill",
    "proposal_view",
    "record_handover",
    "render_opinion",
    "render_pdf",
    "report",
    "reports_of",
    "roles_of",
    "schedule_session",
    "session_view",
    "sign_report",
    "submit",
    "verification",
    "warning_act",
    "warning_defaults",
    "warning_proposal",
]


def chair_for(store: Store, day: date) -> int:
    """The chair city on ``day``: the year's rota, after the recorded hand-overs."""
    return load_rota(day.year).chair(day, store_consultation.handovers(store, day.year))


def schedule_session(
    store: Store,
    kind: str,
    session_date: date,
    deadline: datetime,
    actor: str,
    at: datetime,
    participants: tuple[int, ...] | None = None,
    host_city: int | None = None,
) -> Session:
    """Schedule a session; the chair comes from the rota, participants default to the region."""
    cities = participants or tuple(catalog.load_region().cities)
    chair = chair_for(store, session_date)
    number = 1 + sum(
        1 for s in store_consultation.sessions(store) if s["session_date"] == session_date
    )
    session_id = f"{session_date.isoformat()}-{kind}-{number}"
    session = schedule(
        session_id, kind, session_date, chair, host_city or chair, cities, deadline, actor, at
    )
    store_consultation.save(store, session, at)
    return session


def act(
    store: Store,
    session_id: str,
    event: str,
    actor: str,
    at: datetime,
    reason: str = "",
    **payload: Any,
) -> Session:
    """Apply one event to the latest version and store it; returns the latest version after."""
    current = store_consultation.load(store, session_id)
    result = transition(current, event, actor, at, reason, **payload)
    latest = result[-1] if isinstance(result, tuple) else result
    with store.transaction():
        for version in result if isinstance(result, tuple) else (result,):
            store_consultation.save(store, version, at)
        notices.after_step(store, current, latest, event, at)
    return latest


def submit(
    store: Store,
    session_id: str,
    city: int,
    days: Sequence[Submission],
    actor: str,
    at: datetime,
) -> Session:
    """A city's submission of one or more lead days, in one transaction: refused whole, naming
    the city, day and reason, when a day breaks the rules, a level named does not hold its
    range, or the city's days would leave a gap (issue 16 "validated … no gaps")."""
    session = store_consultation.load(store, session_id)
    stored = {d for (c, d) in session.submissions if c == city}
    check_no_gaps(city, stored, [sub.forecast.lead_day for sub in days])
    with store.transaction():
        for sub in sorted(days, key=lambda x: x.forecast.lead_day):
            session = act(store, session_id, "submit", actor, at, submission=sub)
    return session


#: Days of observations frozen before the cut-off [d] (brief §1.3 A.2: the last 3–7 days).
REVIEW_DAYS = 7


def open_session(
    store: Store, session_id: str, snapshot: InputSnapshot, actor: str, at: datetime
) -> Session:
    """Open collection with the input snapshot, the observations up to its cut-off frozen in
    it: the city daily AQI of the :data:`REVIEW_DAYS` CST days complete at the cut-off; beside
    the primary model, every model guidance available at the cut-off: ecobasin's own stored
    city AQI forecasts of the session day (LightGBM / blend, persistence, climatology)."""
    session = store_consultation.load(store, session_id)
    cutoff = snapshot.observation_cutoff.astimezone(_CST)
    last = cutoff.date() - timedelta(days=1)  # a day is final once it has ended (24:00 CST)
    frame = store_air.aqi_daily(store, scope="city", ids=[str(c) for c in session.participants],
                                start=last - timedelta(days=REVIEW_DAYS - 1), end=last)  # fmt: skip
    seen = tuple(
        ObservedDay(int(r["scope_id"]), r["day"].date(), int(r["aqi"]),
                    tuple(_pollutant(p) for p in str(r["primary"] or "").split(",") if p))
        for r in frame.to_dict("records")
        if r["aqi"] is not None and r["aqi"] == r["aqi"]  # missing (NaN) days are not seen
    )  # fmt: skip
    named = {snapshot.model_name, *(m.name for m in snapshot.other_models)}
    stored = store_consultation.stored_model_runs(
        store, session.participants, session.session_date, session.rules.lead_days,
        snapshot.observation_cutoff,
    )  # fmt: skip
    others = snapshot.other_models + tuple(m for m in stored if m.name not in named)
    frozen = replace(snapshot, observations=seen, other_models=others)
    return act(store, session_id, "open_submissions", actor, at, snapshot=frozen)


def prefill(store: Store, session_id: str, city: int) -> list[dict[str, Any]]:
    """A city's submission form, one row per lead day: the city's earlier submission, else its
    own adjusted forecast (the forecast pages; the latest issue day up to the session date),
    else the frozen model guidance, else an empty row."""
    session = store_consultation.load(store, session_id)
    guidance = session.snapshot.guidance if session.snapshot else ()
    rows = {g.lead_day: asdict(g) for g in guidance if g.city == city}
    own = {d: asdict(s.forecast) for (c, d), s in session.submissions.items() if c == city}
    days = range(1, session.rules.lead_days + 1)
    day_of = {session.session_date + timedelta(days=d): d for d in days}
    adjusted = store_consultation.adjusted_aqi(
        store, city, session.session_date, min(day_of), max(day_of)
    )
    mine = {
        day_of[target]: {"city": city, "lead_day": day_of[target], "aqi_low": round(low),
                         "aqi_high": round(high), "primary": [p for p in primary.split(",") if p]}
        for target, (low, high, primary) in adjusted.items()
    }  # fmt: skip
    return [own.get(d) or mine.get(d) or rows.get(d) or {"city": city, "lead_day": d} for d in days]


def consensus_prefill(store: Store, session_id: str, city: int) -> list[dict[str, Any]]:
    """The chair's consensus form for a city, one row per day: the consensus already set, else
    the city's submission, else the frozen model guidance (else an empty row)."""
    session = store_consultation.load(store, session_id)
    set_ = {d: asdict(f) for (c, d), f in session.consensus.items() if c == city}
    return [set_.get(row["lead_day"]) or row for row in prefill(store, session_id, city)]


def warning_defaults(store: Store, session_id: str) -> dict[int, str]:
    """Per city, the level the chair proposes by default: the one already proposed, else what
    648号 gives on the consensus so far (upper end of each day's range)."""
    session = store_consultation.load(store, session_id)
    given = rule_levels(session.consensus.values(), session.session_date, session.rules)
    return {c: session.warning.get(c, (given.get(c, "none"), ""))[0] for c in session.participants}


def _city_name(lang: str) -> dict[int, str]:
    rows: list[dict[Any, Any]] = catalog.cities()[["code", "name_zh", "name_en"]].to_dict("records")
    return {int(r["code"]): pick(lang, r["name_zh"], r["name_en"]) or str(r["code"]) for r in rows}


def session_view(
    store: Store, session_id: str, lang: str = "zh", version: int | None = None
) -> dict[str, Any]:
    """One session as people read it: header, the city × day table, divergences, warning, audit."""
    s = store_consultation.load(store, session_id, version)
    names = _city_name(lang)
    table = [
        {
            "city": c,
            "city_name": names.get(c, str(c)),
            "lead_day": d,
            "firm": d <= s.rules.firm_days,
            "submitted": _submitted(s.submissions[(c, d)]) if (c, d) in s.submissions else None,
            "late": s.submissions[(c, d)].late if (c, d) in s.submissions else False,
            "consensus": _range(s.consensus[(c, d)]) if (c, d) in s.consensus else None,
        }
        for c in s.participants
        for d in range(1, s.rules.lead_days + 1)
    ]
    zh = lang != "en"
    return {
        "session_id": s.session_id,
        "version": s.version,
        "supersedes": s.supersedes,
        "state": s.state,
        "kind": s.kind,
        "session_date": s.session_date.isoformat(),
        "chair_city": s.chair_city,
        "chair_name": names.get(s.chair_city, str(s.chair_city)),
        "host_city": s.host_city,
        "deadline": s.deadline.isoformat(),
        "missing": list(s.missing),
        "narrative": s.narrative,
        "report_hash": s.report_hash,
        "table": table,
        "divergences": [
            {
                "key": d.key,
                "kind": d.kind,
                "city": d.city,
                "lead_day": d.lead_day,
                "detail": d.detail_zh if zh else d.detail_en,
                "resolution": d.resolution,
                "rationale": d.rationale,
            }
            for d in s.divergences
        ],
        "regional_warning": {
            "level": s.regional[0],
            "label": LEVEL_NAMES[s.regional[0]][0 if zh else 1],
            "rule_level": regional_rule_level(s),
            "override_reason": s.regional[1],
        },
        "controls": s.controls,
        "warning": [
            {
                "city": c,
                "city_name": names.get(c, str(c)),
                "level": level,
                "label": LEVEL_NAMES[level][0 if zh else 1],
                "override_reason": why,
            }
            for c, (level, why) in s.warning.items()
        ],
        "decisions": [
            {
                **d,
                "recommended_start": d["recommended_start"].isoformat(),
                "start": d["start"].isoformat(),
                "at": d["at"].isoformat(),
            }
            for d in store_consultation.city_decisions(store, s.session_id)
        ],  # the cities' own warning decisions, override reasons shown
        "audit": [
            {
                "event": a.event,
                "actor": a.actor,
                "at": a.at.isoformat(),
                "reason": a.reason,
                "before": a.before,
                "after": a.after,
            }
            for a in s.audit
        ],
    }


def _submitted(sub: Submission) -> dict[str, Any]:
    """A city's submitted day: range, levels (named, else the range's), confidence, rationale,
    who and when."""
    levels = sub.levels or tuple(range(aqi_levels(sub.forecast.aqi_low, sub.forecast.aqi_high)[0],
                                       aqi_levels(sub.forecast.aqi_low, sub.forecast.aqi_high)[1] + 1))  # fmt: skip
    return {**_range(sub.forecast), "levels": list(levels), "confidence": sub.confidence,
            "rationale": sub.rationale, "author": sub.author, "submitted_at": sub.submitted_at.isoformat()}  # fmt: skip


def _range(fc: DayForecast) -> dict[str, Any]:
    return {"aqi_low": fc.aqi_low, "aqi_high": fc.aqi_high, "primary": list(fc.primary)}


def list_view(store: Store) -> list[dict[str, Any]]:
    """The latest version of every session (newest session date first)."""
    return [
        {**row, "session_date": row["session_date"].isoformat()}
        for row in store_consultation.sessions(store)
    ]


_LEVEL_WORDS = {
    "zh": ("优", "良", "轻度污染", "中度污染", "重度污染", "严重污染"),
    "en": ("excellent", "good", "light", "moderate", "heavy", "severe"),
}


def render_opinion(
    session: Session, lang: str = "zh", signed: tuple[str, datetime] | None = None
) -> bytes:
    """The consultation opinion (template A of the brief §1.3) as HTML [UTF-8]; Chinese first.

    ``signed``: who signs and when (the sign-off of §1.3 A.10); a draft says it is unsigned.
    """
    lang = "en" if lang == "en" else "zh"
    names = _city_name(lang)
    words = _LEVEL_WORDS[lang]

    def level_text(fc: DayForecast) -> str:
        low, high = aqi_levels(fc.aqi_low, fc.aqi_high)
        return words[low - 1] if low == high else f"{words[low - 1]}–{words[high - 1]}"

    title = "区域共识预报 AQI 范围 Consensus AQI range by lead day"
    chart = consensus_chart_png(
        session.consensus, names, session.participants, session.rules.lead_days, title
    )
    html = (
        templates()
        .get_template("consultation_opinion.html")
        .render(
            s=session,
            lang=lang,
            t=lambda zh, en: en if lang == "en" else zh,
            names=names,
            chart=data_uri(chart),
            days=range(1, session.rules.lead_days + 1),
            firm=session.rules.firm_days,
            level_text=level_text,
            level_names={k: v[0 if lang == "zh" else 1] for k, v in LEVEL_NAMES.items()},
            measures=control_measures(session),
            signed=(signed[0], signed[1].astimezone(_CST).strftime("%Y-%m-%d %H:%M")) if signed else None,
        )
    )  # fmt: skip
    return html.encode("utf-8")


_HTML = "text/html; charset=utf-8"
_PDF = "application/pdf"


def render_pdf(html: bytes) -> bytes:
    """A rendered report [UTF-8 HTML] as PDF, CJK fonts embedded and charts inline."""
    return html_to_pdf(html.decode("utf-8"))


def _store_both(
    store: Store, session: Session, template: str, lang: str, html: bytes, at: datetime
) -> tuple[str, str]:
    """Store one rendered report as HTML and as PDF; their SHA-256 [hex], HTML first."""
    put = functools.partial(store_consultation.store_report, store, session, template, lang)
    return put(_HTML, html, at), put(_PDF, render_pdf(html), at)


def draft_report(
    store: Store, session_id: str, actor: str, at: datetime
) -> tuple[Session, dict[str, str]]:
    """Draft the report: render the opinion in Chinese and English, as HTML and PDF, and store
    each by hash (keys ``zh``, ``en``, ``zh_pdf``, ``en_pdf``)."""
    session = act(store, session_id, "draft_report", actor, at, template_version="opinion-1")
    hashes: dict[str, str] = {}
    for lang in ("zh", "en"):
        hashes[lang], hashes[f"{lang}_pdf"] = _store_both(
            store, session, "opinion", lang, render_opinion(session, lang), at
        )
    return session, hashes


def reports_of(store: Store, session_id: str) -> list[dict[str, Any]]:
    """Every report stored for a session (all versions): hash, template, language, media type."""
    return [
        {**row, "stored_at": row["stored_at"].isoformat()}
        for row in store_consultation.reports_of(store, session_id)
    ]


def sign_report(store: Store, session_id: str, actor: str, at: datetime) -> Session:
    """Sign the drafted report: the Chinese opinion's hash becomes the issued version's; its
    PDF is stored beside it (listed by :func:`reports_of`)."""
    session = store_consultation.load(store, session_id)
    html = render_opinion(session, "zh", signed=(actor, at))
    digest, _ = _store_both(store, session, "opinion", "zh", html, at)
    return act(store, session_id, "sign", actor, at, report_hash=digest)


def _pollutant(label: str) -> str:
    """HJ 633 indicator label (``O3_8h``) as the consultation's pollutant (``O3``)."""
    return "O3" if label.startswith("O3") else label


def observed_days(store: Store, session: Session) -> dict[tuple[int, int], Observed]:
    """The stored city daily AQI of the session's forecast days (day D + lead day, CST)."""
    first = session.session_date + timedelta(days=1)
    last = session.session_date + timedelta(days=session.rules.lead_days)
    frame = store_air.aqi_daily(
        store, scope="city", ids=[str(c) for c in session.participants], start=first, end=last
    )
    observed: dict[tuple[int, int], Observed] = {}
    for row in frame.to_dict("records"):
        if row["aqi"] is None or row["aqi"] != row["aqi"]:  # missing (NaN) days are not final
            continue
        lead = (row["day"].date() - session.session_date).days
        primary = tuple(_pollutant(p) for p in str(row["primary"] or "").split(",") if p)
        observed[(int(row["scope_id"]), lead)] = Observed(int(row["aqi"]), primary)
    return observed


def verification(
    store: Store,
    session_id: str,
    version: int | None = None,
    observed: dict[tuple[int, int], Observed] | None = None,
) -> dict[str, Any]:
    """Each city's submission, the consensus and every model of the snapshot scored the same
    way, and the lift (its "minus best model" the best of them per metric).

    ``observed`` defaults to the store's city daily AQI of the forecast days (only final days).
    """
    session = store_consultation.load(store, session_id, version)
    if observed is None:
        observed = observed_days(store, session)
    per_city: dict[int, list[DayForecast]] = {}
    for (city, _), sub in sorted(session.submissions.items()):
        per_city.setdefault(city, []).append(sub.forecast)
    models = session.snapshot.models() if session.snapshot else {}
    return {
        "session_id": session.session_id,
        "version": session.version,
        "observed_days": len(observed),
        "consensus": scores(session.consensus.values(), observed),
        "consensus_by_city": {
            str(c): scores([f for (city, _), f in session.consensus.items() if city == c], observed)
            for c in per_city
        },
        "cities": {str(c): scores(fcs, observed) for c, fcs in per_city.items()},
        "models": {name: scores(fcs, observed) for name, fcs in models.items()},
        "lift": consensus_lift(session, observed, models),
    }


def lift_by_month(store: Store) -> list[dict[str, Any]]:
    """The consensus lift per month of issued sessions with final observations, newest first.

    Per month (of the session date, CST): the sessions and observed days [d]; ``lift`` per
    metric (:data:`~ecobasin.workflow.consultation.METRICS`), the mean over the month's sessions
    of the consensus score and of its lift over the mean city and over the best model (design
    §1.2 "consensus lift"); ``cities`` per city and metric, the mean of the consensus scored on
    that city's days minus the city's own submission; ``models`` per model of the snapshots
    and metric, its mean score over the month's sessions that froze it. Shares in [0, 1]; None
    without a sample.
    """
    months: dict[str, list[dict[str, Any]]] = {}
    for row in list_view(store):
        if row["state"] in ("issued", "archived"):
            v = verification(store, row["session_id"])
            if v["observed_days"]:
                months.setdefault(row["session_date"][:7], []).append(v)
    return [_month_lift(month, found) for month, found in sorted(months.items(), reverse=True)]


def _month_lift(month: str, found: list[dict[str, Any]]) -> dict[str, Any]:
    lift = {
        metric: {part: _mean([v["lift"][metric][part] for v in found]) for part in _LIFT_PARTS}
        for metric in METRICS
    }
    per_city: dict[str, dict[str, list[float | None]]] = {}
    for v in found:
        for city, own in v["cities"].items():
            mine = v["consensus_by_city"].get(city, {})
            for metric in METRICS:
                cons, city_score = mine.get(metric), own[metric]
                diff = None if cons is None or city_score is None else cons - city_score
                per_city.setdefault(city, {}).setdefault(metric, []).append(diff)
    cities = {c: {m: _mean(vals) for m, vals in by.items()} for c, by in sorted(per_city.items())}
    per_model: dict[str, list[dict[str, float | None]]] = {}
    for v in found:
        for name, scored in v["models"].items():
            per_model.setdefault(name, []).append(scored)
    models = {
        name: {metric: _mean([s[metric] for s in runs]) for metric in METRICS}
        for name, runs in sorted(per_model.items())
    }
    return {
        "month": month,
        "sessions": len(found),
        "session_ids": [v["session_id"] for v in found],
        "observed_days": sum(v["observed_days"] for v in found),
        "lift": lift,
        "cities": cities,
        "models": models,
    }


_LIFT_PARTS = ("consensus", "minus_mean_city", "minus_best_model")


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def recommended_start(session: Session, city: int) -> datetime:
    """Start of the city's recommended warning: 00:00 China Standard Time of the first day of
    the 648号 run on the consensus (the day after the session when no run is found)."""
    days = sorted((d, f) for (c, d), f in session.consensus.items() if c == city)
    dates = [session.session_date + timedelta(days=d) for d, _ in days]
    run = city_warning(dates, [f.aqi_high for _, f in days], session.rules.warning_rule)
    first = run.start or session.session_date + timedelta(days=1)
    return datetime(first.year, first.month, first.day, tzinfo=_CST)


def recommended_end(session: Session, city: int) -> datetime:
    """End of the city's recommended warning: 00:00 CST after the last day of the 648号 run
    (one day after the start when no run is found)."""
    days = sorted((d, f) for (c, d), f in session.consensus.items() if c == city)
    dates = [session.session_date + timedelta(days=d) for d, _ in days]
    run = city_warning(dates, [f.aqi_high for _, f in days], session.rules.warning_rule)
    last = run.end or session.session_date + timedelta(days=1)
    return datetime(last.year, last.month, last.day, tzinfo=_CST) + timedelta(days=1)


def activate_emergency_lists(store: Store, session_id: str, now: datetime) -> list[str]:
    """Switch on the emergency control list of every city that adopted the recommendation
    (its ``city_ack`` at a warning level) for its own window: the city's start to the end of
    the recommended run (at least 24 h). Idempotent; the activation names the session as its
    origin. Returns the ids activated now."""
    proposal = warning_proposal(store, session_id)
    if proposal.state != "recommended":
        return []
    session = store_consultation.load(store, session_id)
    made = []
    for city, ack in sorted(proposal.acks.items()):
        end = max(recommended_end(session, city), ack.start + timedelta(hours=24))
        origin = f"consultation {session_id} v{proposal.version} (adopted by {ack.actor})"
        key = emergency_lists.activate_for_recommendation(
            store, str(city), ack.level, ack.start, end, origin, now
        )
        if key is not None:
            made.append(key)
    return made


_CST = timezone(timedelta(hours=8))


def warning_proposal(store: Store, session_id: str) -> WarningProposal:
    """The warning proposal in force of an issued session (its latest step), or the chair's
    proposal from the issued version (levels, 648号 start per city) before any step.

    Raises
    ------
    ConsultationError
        When the session's report is not issued.
    """
    stored = store_consultation.load_proposal(store, session_id)
    if stored is not None:
        return stored
    session = store_consultation.load(store, session_id)
    if session.state != "issued":
        raise ConsultationError(
            session.record, "会商意见尚未签发", "the session's report is not issued"
        )
    levels = {c: level for c, (level, _) in session.warning.items()}
    starts = {c: recommended_start(session, c) for c in session.warning}
    chair = next((a.actor for a in reversed(session.audit) if a.event == "sign"), "chair")
    return propose(session_id, levels, starts, chair, session.audit[-1].at)


def warning_act(
    store: Store, session_id: str, event: str, actor: str, at: datetime, reason: str = "",
    **payload: Any,
) -> WarningProposal:  # fmt: skip
    """Apply one step of the province or a city to the warning proposal and store it."""
    current = warning_proposal(store, session_id)
    after = warning_step(current, event, actor, at, reason, **payload)
    with store.transaction():
        if store_consultation.load_proposal(store, session_id) is None:
            store_consultation.save_proposal(store, current, at)  # the chair's proposal first
        store_consultation.save_proposal(store, after, at)
        if event in ("recommend", "escalate", "de_escalate"):
            warned = [c for c, level in after.levels.items() if level != "none"]
            notices.notify(
                store, store_consultation.load(store, session_id), "recommended", at, warned
            )
        if event == "lift":  # the lifted cities' lists stop at the lift (解除)
            lifted = [
                c for c, lv in after.levels.items()
                if lv == "none" and current.levels.get(c, "none") != "none"
            ]  # fmt: skip
            origin = f"consultation {session_id} v{after.version} (lifted by {actor})"
            for city in lifted:
                emergency_lists.lift_warning(store, str(city), at, origin, at)
    return after


def proposal_view(store: Store, session_id: str, lang: str = "zh") -> dict[str, Any]:
    """The proposal as people read it: state, version, per city the level in force, its start,
    the city's acknowledgement (override reason shown), and the steps with who, when, why."""
    p = warning_proposal(store, session_id)
    names = _city_name(lang)
    zh = lang != "en"
    return {
        "session_id": p.session_id,
        "state": p.state,
        "version": p.version,
        "episode": p.episode,
        "cities": [
            {
                "city": c,
                "city_name": names.get(c, str(c)),
                "level": level,
                "label": LEVEL_NAMES[level][0 if zh else 1],
                "start": p.starts[c].isoformat(),
                "acknowledged": _ack_out(p.acks[c]) if c in p.acks else None,
            }
            for c, level in sorted(p.levels.items())
        ],
        "steps": [
            {
                "event": a.event,
                "actor": a.actor,
                "at": a.at.isoformat(),
                "reason": a.reason,
                "before": a.before,
                "after": a.after,
            }
            for a in p.audit
        ],
    }


def _ack_out(a: CityAck) -> dict[str, Any]:
    return {"level": a.level, "start": a.start.isoformat(), "override_reason": a.override_reason,
            "actor": a.actor, "at": a.at.isoformat()}  # fmt: skip


def city_decision(
    store: Store,
    session_id: str,
    city: int,
    level: str,
    start: datetime,
    override_reason: str,
    actor: str,
    at: datetime,
) -> dict[str, Any]:
    """Record a city's own warning decision (``city_ack``) on the province's recommendation.

    Raises
    ------
    ConsultationError
        When the session is not issued, the proposal not recommended, the city not in it, or the
        decision later or lower than recommended without an override reason.
    """
    session = store_consultation.load(store, session_id)
    before = warning_proposal(store, session_id)
    if before.state == "recommended" and city not in before.levels:
        raise ConsultationError(
            f"city {city} warning", "该城市未参加本次会商", "city is not a participant"
        )
    warning_act(store, session_id, "city_ack", actor, at, city=city, level=level, start=start,
                override_reason=override_reason)  # fmt: skip
    row = {"city": city, "recommended": before.levels[city], "recommended_start": before.starts[city],
           "level": level, "start": start, "override_reason": override_reason.strip(), "actor": actor,
           "at": at}  # fmt: skip
    store_consultation.record_city_decision(store, session, row)
    row["emergency_activations"] = activate_emergency_lists(store, session_id, at)
    return row
