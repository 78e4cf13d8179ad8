"""The consultation's other reports (brief §1.3 B–D), Chinese first, English available.

- B 月度联合会商纪要: the monthly minutes; each decision (会议议定事项) becomes a tracked action
  item with an owner city and a due day (stored, listed, closed with a note).
- C 预警建议函: the province's warning-recommendation letter to the cities.
- D the public 7-day forecast text per city: AQI range, level with its HJ 633 colour, primary
  pollutant, health advice.

Each is rendered from a Jinja template in ``services/templates`` and stored, as HTML and as PDF,
under the SHA-256 of its bytes (:func:`ecobasin.services.consultation.reports_of` lists them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd

from ecobasin.forecast.warning import LEVEL_NAMES
from ecobasin.services import consultation as service
from ecobasin.services.pdf import templates
from ecobasin.standards.air_tables import levels
from ecobasin.store import air as store_air
from ecobasin.store import consultation as store_consultation
from ecobasin.store.database import Store
from ecobasin.workflow.consultation import ConsultationError, Session, aqi_levels

__all__ = [
    "Decision",
    "close_action",
    "issue_minutes",
    "issue_public_forecast",
    "issue_warning_letter",
    "list_actions",
    "month_review",
]

_LANGS = ("zh", "en")
#: States in which the session's conclusions stand (the minutes, the letter, the public text).
_CONCLUDED = ("concluded", "report_draft", "issued")


@dataclass(frozen=True)
class Decision:
    """A decision of the monthly meeting: what, which city owns it, by when (CST day)."""

    text: str
    owner_city: int
    due: date


def _concluded(store: Store, session_id: str) -> Session:
    session = store_consultation.load(store, session_id)
    if session.state not in _CONCLUDED:
        raise ConsultationError(
            session.record, "会商尚未形成结论", f"not concluded yet (state {session.state})"
        )
    return session


def _t(lang: str) -> Any:
    return lambda zh, en: en if lang == "en" else zh


def _render(name: str, lang: str, **context: Any) -> bytes:
    template = templates().get_template(name)
    return template.render(lang=lang, t=_t(lang), **context).encode("utf-8")


def _store(
    store: Store, session: Session, template: str, render: Any, at: datetime
) -> dict[str, str]:
    """Render in both languages and store HTML and PDF: keys zh, en, zh_pdf, en_pdf."""
    hashes: dict[str, str] = {}
    for lang in _LANGS:
        hashes[lang], hashes[f"{lang}_pdf"] = service._store_both(
            store, session, template, lang, render(lang), at
        )
    return hashes


# -- B: the monthly minutes and their action items ---------------------------------------------
def month_review(store: Store, cities: Sequence[int], month_start: date) -> list[dict[str, Any]]:
    """Per city, the stored daily AQI of the month before ``month_start``: days, good-day ratio
    [%] (AQI ≤ 100, HJ 633 levels I–II), heavy-pollution days (AQI > 200), mean AQI."""
    last = month_start - timedelta(days=1)
    frame = store_air.aqi_daily(
        store, scope="city", ids=[str(c) for c in cities], start=last.replace(day=1), end=last
    )
    by_city = frame.groupby(frame["scope_id"].astype(str))["aqi"] if len(frame) else None
    rows = []
    for city in cities:
        aqi = pd.Series(dtype=float)
        if by_city is not None and str(city) in by_city.groups:
            aqi = by_city.get_group(str(city)).dropna()
        n = len(aqi)
        rows.append({
            "city": city, "days": n,
            "good_ratio": round(100.0 * float((aqi <= 100).sum()) / n, 1) if n else None,
            "heavy_days": int((aqi > 200).sum()) if n else None,
            "mean_aqi": round(float(aqi.mean())) if n else None,
        })  # fmt: skip
    return rows


def issue_minutes(
    store: Store,
    session_id: str,
    decisions: Sequence[Decision],
    actor: str,
    at: datetime,
    *,
    outlook: str = "",
    risks: Sequence[str] = (),
    city_items: Mapping[int, str] | None = None,
) -> tuple[dict[str, str], list[str]]:
    """Store the decisions as action items and the minutes (template B) in zh and en.

    Returns the report hashes (zh, en, zh_pdf, en_pdf) and the new action item ids.
    """
    session = _concluded(store, session_id)
    for d in decisions:
        if d.owner_city not in session.participants or not d.text.strip():
            raise ConsultationError(
                f"decision {d.text[:30]!r}", "议定事项须有内容且责任城市参会",
                "a decision needs text and an owner city that took part",
            )  # fmt: skip
    ids = store_consultation.add_actions(
        store, session_id, [(d.text.strip(), d.owner_city, d.due) for d in decisions], actor, at
    )
    items = store_consultation.actions(store, session_id)
    review = month_review(store, session.participants, session.session_date.replace(day=1))
    first_next = (session.session_date.replace(day=1) + timedelta(days=32)).replace(day=1)
    try:
        next_chair: int | None = service.chair_for(store, first_next)
    except (KeyError, FileNotFoundError):
        next_chair = None  # no rota for the next month yet

    def render(lang: str) -> bytes:
        return _render("consultation_minutes.html", lang, s=session, names=service._city_name(lang),
                       review=review, items=items, outlook=outlook or session.narrative,
                       risks=list(risks), city_items=dict(city_items or {}), next_chair=next_chair,
                       next_month=first_next)  # fmt: skip

    return _store(store, session, "minutes", render, at), ids


def list_actions(
    store: Store, session_id: str | None = None, state: str | None = None, lang: str = "zh"
) -> list[dict[str, Any]]:
    """Action items with their owner city's name (instants and days as ISO 8601)."""
    names = service._city_name(lang)
    return [_action_out(a, names) for a in store_consultation.actions(store, session_id, state)]


def _action_out(a: Mapping[str, Any], names: Mapping[int, str]) -> dict[str, Any]:
    iso = {k: (v.isoformat() if isinstance(v, date | datetime) else v) for k, v in a.items()}
    return {**iso, "owner_name": names.get(int(a["owner_city"]), str(a["owner_city"]))}


def close_action(
    store: Store, action_id: str, note: str, actor: str, at: datetime
) -> dict[str, Any]:
    """Close an action item with a note (who and when kept)."""
    return _action_out(
        store_consultation.close_action(store, action_id, note, actor, at), service._city_name("zh")
    )


# -- C: the province's warning-recommendation letter -------------------------------------------
def issue_warning_letter(
    store: Store,
    session_id: str,
    actor: str,
    at: datetime,
    *,
    office: str = "四川省污染防治攻坚战领导小组办公室",
    contact: str = "",
) -> dict[str, str]:
    """Render and store the 预警建议函 (template C) from the session's warning proposal."""
    session = _concluded(store, session_id)
    if session.state == "issued":  # the province's recommendation in force
        proposal = service.warning_proposal(store, session_id)
        levels, starts = dict(proposal.levels), dict(proposal.starts)
    else:
        levels = {c: level for c, (level, _) in session.warning.items()}
        starts = {c: service.recommended_start(session, c) for c in session.participants}

    def render(lang: str) -> bytes:
        zh = lang != "en"
        return _render("consultation_letter.html", lang, s=session, names=service._city_name(lang),
                       levels=levels, starts=starts, office=office, contact=contact, issued=at,
                       level_names={k: v[0 if zh else 1] for k, v in LEVEL_NAMES.items()})  # fmt: skip

    return _store(store, session, "letter", render, at)


# -- D: the public 7-day forecast ---------------------------------------------------------------
def public_rows(session: Session, city: int, lang: str) -> list[dict[str, Any]]:
    """The consensus of one city as the public reads it, one row per lead day: date, AQI range,
    level names with their HJ 633 Appendix A colour, primary pollutants, health advice (HJ 633
    Table 2) of the worse level."""
    info = {lv.level: lv for lv in levels()}
    zh = lang != "en"
    rows = []
    for day in range(1, session.rules.lead_days + 1):
        f = session.consensus.get((city, day))
        if f is None:
            continue
        low, high = aqi_levels(f.aqi_low, f.aqi_high)
        names = [info[n].category_zh if zh else info[n].category_en for n in range(low, high + 1)]
        rows.append({
            "date": session.session_date + timedelta(days=day), "aqi_low": f.aqi_low, "aqi_high": f.aqi_high,
            "level": ("至" if zh else " to ").join(dict.fromkeys((names[0], names[-1]))),
            "colours": [info[low].hex, info[high].hex], "primary": list(f.primary),
            "advice": info[high].advice_zh if zh else info[high].advice_en, "trend": day > session.rules.firm_days,
        })  # fmt: skip
    return rows


def issue_public_forecast(
    store: Store, session_id: str, actor: str, at: datetime
) -> dict[str, str]:
    """Render and store the public 7-day forecast text (template D) of every city."""
    session = _concluded(store, session_id)

    def render(lang: str) -> bytes:
        tables = {c: public_rows(session, c, lang) for c in session.participants}
        return _render("consultation_public.html", lang, s=session, names=service._city_name(lang),
                       tables=tables)  # fmt: skip

    return _store(store, session, "public", render, at)
