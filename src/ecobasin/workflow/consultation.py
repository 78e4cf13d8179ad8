"""Joint forecast consultation of the region's cities (联合会商) as a pure state machine.

A session goes scheduled → collecting → reconciling → in_session → concluded → report_draft →
issued; an issued session is never edited: ``amend`` supersedes it with a new version. Cities
submit, per lead day, an AQI range, its levels (HJ 633-2012 Table 2 = HJ 633-2026 Table 1) and
the primary pollutants (HJ 633 §4.1); closing collection computes the divergences, which the
chair resolves with a recorded rationale before the session may conclude. Warning levels follow
环办大气函〔2019〕648号 through :mod:`ecobasin.forecast.warning`; a city may start earlier or
higher than recommended, never later or lower without a recorded override reason.

Nothing here reads a clock, a database or a request: the time is always an argument, and every
transition returns a new :class:`Session` with one more :class:`AuditEntry`.

References
----------
.. [1] Team brief "consultation_and_cases" §1.2 (design), §1.3 (report sections).
.. [2] HJ 633-2012 / HJ 633-2026, AQI levels and primary pollutant.
.. [3] 环办大气函〔2019〕648号, heavy-pollution warning levels.
"""

from __future__ import annotations

import functools
import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from importlib import resources
from typing import Any

from ecobasin.forecast.warning import (
    LEVEL_ORDER,
    CityWarning,
    RegionalRule,
    city_warning,
    regional_warning,
)

__all__ = [
    "AQI_LEVEL_TOPS",
    "EVENTS",
    "METRICS",
    "RESOLUTIONS",
    "SESSION_KINDS",
    "STATES",
    "AuditEntry",
    "ChairRota",
    "CityMeasures",
    "ConsultationError",
    "ConsultationRules",
    "ControlItem",
    "DayForecast",
    "Divergence",
    "InputSnapshot",
    "ModelRun",
    "Observed",
    "ObservedDay",
    "Session",
    "Submission",
    "aqi_levels",
    "check_city_decision",
    "check_named_levels",
    "check_no_gaps",
    "consensus_lift",
    "control_measures",
    "find_divergences",
    "load_rota",
    "load_rules",
    "regional_rule_level",
    "rule_levels",
    "schedule",
    "scores",
    "transition",
    "validate_forecast",
]

SESSION_KINDS = ("monthly", "routine", "episode", "ad_hoc")
STATES = (
    "scheduled",
    "collecting",
    "reconciling",
    "in_session",
    "concluded",
    "report_draft",
    "issued",
    "superseded",
    "cancelled",
    "archived",
)
EVENTS = (
    "open_submissions",
    "submit",
    "close_submissions",
    "start_session",
    "resolve",
    "set_consensus",
    "set_warning",
    "conclude",
    "draft_report",
    "sign",
    "amend",
    "cancel",
    "archive",
)
RESOLUTIONS = ("accept_city", "adjust_city", "note_dissent")
# Upper AQI bound of levels 1..6 (HJ 633-2012 Table 2 = HJ 633-2026 Table 1); level 6 is open.
AQI_LEVEL_TOPS = (50, 100, 150, 200, 300)


class ConsultationError(ValueError):
    """A refused action, naming the record and the reason in Chinese and English."""

    def __init__(self, record: str, reason_zh: str, reason_en: str) -> None:
        super().__init__(f"{record}: {reason_en} ({reason_zh})")
        self.record, self.reason_zh, self.reason_en = record, reason_zh, reason_en


@dataclass(frozen=True)
class ConsultationRules:
    """One version of the consultation rules (``catalog/data/consultation/rules.toml``)."""

    version: str
    source: str
    lead_days: int
    firm_days: int
    max_range_width: int
    max_levels_spanned: int
    neighbour_level_jump: int
    pollutants: tuple[str, ...]
    warning_rule: str
    lift_hours: int
    neighbours: frozenset[frozenset[int]]
    regional: RegionalRule = field(default_factory=RegionalRule)


def _data_text(name: str) -> str:
    path = resources.files("ecobasin").joinpath("catalog", "data", "consultation", name)
    return path.read_text(encoding="utf-8")


@functools.cache
def load_rules(version: str = "cdp-2026.1") -> ConsultationRules:
    """The consultation rules of one plan version."""
    versions: dict[str, Any] = tomllib.loads(_data_text("rules.toml"))["versions"]
    if version not in versions:
        raise KeyError(f"unknown consultation rules {version!r}; known: {sorted(versions)}")
    raw = versions[version]
    return ConsultationRules(
        version=version,
        source=raw["source"],
        lead_days=raw["lead_days"],
        firm_days=raw["firm_days"],
        max_range_width=raw["max_range_width"],
        max_levels_spanned=raw["max_levels_spanned"],
        neighbour_level_jump=raw["neighbour_level_jump"],
        pollutants=tuple(raw["pollutants"]),
        warning_rule=raw["warning_rule"],
        lift_hours=raw["lift_hours"],
        neighbours=frozenset(frozenset(pair) for pair in raw["neighbours"]),
        regional=RegionalRule(**raw["regional"]) if "regional" in raw else RegionalRule(),
    )


@dataclass(frozen=True)
class ChairRota:
    """Chair and deputy city per month of one year (``chair_rota_<year>.toml``)."""

    year: int
    months: Mapping[int, tuple[int, int]]
    source: str

    def chair(self, day: date, handovers: Mapping[date, int] | None = None) -> int:
        """The chair city on ``day``: the rota's, unless a recorded hand-over since the month
        began names another city (the latest hand-over on or before ``day`` wins)."""
        if day.year != self.year:
            raise KeyError(f"the {self.year} rota has no chair for {day.isoformat()}")
        month_start = day.replace(day=1)
        recorded = sorted(d for d in (handovers or {}) if month_start <= d <= day)
        if recorded:
            return (handovers or {})[recorded[-1]]
        return self.months[day.month][0]


@functools.cache
def load_rota(year: int) -> ChairRota:
    """The chair rota of ``year``."""
    raw = tomllib.loads(_data_text(f"chair_rota_{year}.toml"))
    months = {int(m): (pair[0], pair[1]) for m, pair in raw["months"].items()}
    if sorted(months) != list(range(1, 13)):
        raise ValueError(f"chair rota {year}: every month 1..12 needs a chair")
    return ChairRota(year=raw["year"], months=months, source=raw["source"])


def aqi_levels(aqi_low: int, aqi_high: int) -> tuple[int, int]:
    """HJ 633 levels (1..6) of the two ends of an AQI range [AQI] (Table 2 / Table 1)."""
    return _level(aqi_low), _level(aqi_high)


def _level(aqi: int) -> int:
    return 1 + sum(aqi > top for top in AQI_LEVEL_TOPS)


@dataclass(frozen=True)
class DayForecast:
    """One city's forecast for one lead day: AQI range [AQI] and primary pollutants."""

    city: int
    lead_day: int
    aqi_low: int
    aqi_high: int
    primary: tuple[str, ...] = ()

    @property
    def record(self) -> str:
        return f"city {self.city} day {self.lead_day}"

    @property
    def central_level(self) -> int:
        return _level((self.aqi_low + self.aqi_high) // 2)


@dataclass(frozen=True)
class Submission:
    """A city's submission for one lead day, with who sent it and when."""

    forecast: DayForecast
    author: str
    submitted_at: datetime
    confidence: str = "medium"
    rationale: str = ""
    late: bool = False
    levels: tuple[int, ...] = ()  # the HJ 633 levels the city named (empty: the range's own)


def validate_forecast(fc: DayForecast, rules: ConsultationRules) -> None:
    """Refuse a forecast that breaks the rules (design §1.2 "validation"; HJ 633 §4.1).

    Raises
    ------
    ConsultationError
        Naming the city and lead day and the reason.
    """
    problems = _forecast_problems(fc, rules)
    if problems:
        zh, en = problems[0]
        raise ConsultationError(fc.record, zh, en)


def _forecast_problems(fc: DayForecast, rules: ConsultationRules) -> list[tuple[str, str]]:
    low, high = aqi_levels(max(fc.aqi_low, 0), max(fc.aqi_high, 0))
    checks = [
        (
            1 <= fc.lead_day <= rules.lead_days,
            "预报日超出范围",
            f"lead day not in 1..{rules.lead_days}",
        ),
        (
            0 <= fc.aqi_low <= fc.aqi_high <= 500,
            "AQI范围无效",
            "AQI range must be 0 ≤ low ≤ high ≤ 500",
        ),
        (
            fc.aqi_high - fc.aqi_low <= rules.max_range_width,
            "AQI范围过宽",
            f"AQI range wider than {rules.max_range_width}",
        ),
        (
            high - low + 1 <= rules.max_levels_spanned,
            "范围跨越级别过多",
            f"range spans more than {rules.max_levels_spanned} levels",
        ),
        (
            all(p in rules.pollutants for p in fc.primary),
            "首要污染物不在HJ 633规定范围",
            f"primary pollutant not one of {', '.join(rules.pollutants)}",
        ),
        (
            len(set(fc.primary)) == len(fc.primary),
            "首要污染物重复",
            "primary pollutant named twice",
        ),
        (
            not (fc.aqi_high <= 50 and fc.primary),
            "AQI≤50时无首要污染物",
            "no primary pollutant when AQI ≤ 50 (HJ 633 §4.1)",
        ),
        (
            not (fc.aqi_low > 50 and not fc.primary),
            "AQI>50时须给出首要污染物",
            "AQI > 50 needs a primary pollutant (HJ 633 §4.1)",
        ),
    ]
    return [(zh, en) for ok, zh, en in checks if not ok]


def check_named_levels(fc: DayForecast, levels: Sequence[int], rules: ConsultationRules) -> None:
    """Refuse levels named with a forecast that do not hold its AQI range (issue 16 "range
    inside the levels it names"): levels of HJ 633 Table 2 (1..6), next to each other, at most
    ``max_levels_spanned``; the range's two ends must fall inside them. None named: the levels
    are the range's own (:func:`aqi_levels`)."""
    if not levels:
        return
    named = sorted(set(levels))
    if (
        named[0] < 1
        or named[-1] > 1 + len(AQI_LEVEL_TOPS)
        or named != list(range(named[0], named[-1] + 1))
        or len(named) > rules.max_levels_spanned
    ):
        raise ConsultationError(
            fc.record,
            "级别须为相邻的HJ 633级别（1–6），最多两级",
            f"levels must be adjacent HJ 633 levels 1..6, at most {rules.max_levels_spanned}",
        )
    low, high = aqi_levels(fc.aqi_low, fc.aqi_high)
    if low < named[0] or high > named[-1]:
        raise ConsultationError(
            fc.record,
            f"AQI {fc.aqi_low}–{fc.aqi_high} 不在所填级别 {named} 内",
            f"AQI {fc.aqi_low}–{fc.aqi_high} is not inside the levels named {named}",
        )


def check_no_gaps(city: int, stored_days: set[int], new_days: Sequence[int]) -> None:
    """Refuse a submission that leaves a gap in a city's lead days (issue 16 "no gaps"): with
    the days already stored, they must run 1..k; a day named twice in one submission is refused."""
    for day in new_days:
        if list(new_days).count(day) > 1:
            raise ConsultationError(
                f"city {city}", f"预报日 {day} 重复", f"lead day {day} named twice"
            )
    days = stored_days | set(new_days)
    for day in range(1, max(days, default=0) + 1):
        if day not in days:
            raise ConsultationError(
                f"city {city}",
                f"缺少第 {day} 天（预报日须从第1天起连续）",
                f"lead day {day} missing (days run from 1 without a gap)",
            )


@dataclass(frozen=True)
class ObservedDay:
    """A city's final daily AQI [AQI] of a CST day seen by the session, with its primary
    pollutants (HJ 633 §4.1), frozen in the input snapshot."""

    city: int
    day: date
    aqi: int
    primary: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelRun:
    """One model's guidance frozen in the snapshot beside the primary model (design §1.2
    "verification": every model scored like the cities).

    Attributes
    ----------
    name, version : str
        e.g. ``"lightgbm:blend"`` / ``"persistence"`` and what produced it.
    issued_at : datetime
        Issue time of the run.
    guidance : tuple of DayForecast
        Its AQI range [AQI] and primary pollutants per city × lead day.
    """

    name: str
    version: str
    issued_at: datetime
    guidance: tuple[DayForecast, ...] = ()


@dataclass(frozen=True)
class InputSnapshot:
    """What the session saw, frozen when collection opens: the model run and the data cut-offs.

    Attributes
    ----------
    model_name, model_version : str
        e.g. ``"CDAQS"``, ``"2026.3"`` (an input adapter name, see docs/consultation.md).
    model_issued_at : datetime
        Base (issue) time of the model run.
    observation_cutoff : datetime
        Observations after this instant are not part of the session.
    met_forecasts : tuple of str
        Identifiers of the meteorological forecasts used.
    guidance : tuple of DayForecast
        The model guidance per city × lead day.
    observations : tuple of ObservedDay
        The city daily AQI of the days complete at the cut-off, as the session saw them.
    other_models : tuple of ModelRun
        Every other model guidance available at the cut-off (scored in verification only; the
        divergence rule ``model_gap`` and the pre-fill use the primary model).
    """

    model_name: str
    model_version: str
    model_issued_at: datetime
    observation_cutoff: datetime
    met_forecasts: tuple[str, ...] = ()
    guidance: tuple[DayForecast, ...] = ()
    observations: tuple[ObservedDay, ...] = ()
    other_models: tuple[ModelRun, ...] = ()

    def models(self) -> dict[str, tuple[DayForecast, ...]]:
        """Every model's guidance by name, the primary first (the primary wins a clash)."""
        runs = {self.model_name: self.guidance}
        for run in self.other_models:
            runs.setdefault(run.name, run.guidance)
        return runs


@dataclass(frozen=True)
class Divergence:
    """One divergence item (design §1.2 "divergence rules") and, once resolved, how."""

    kind: str  # model_gap | neighbour_jump | level | primary
    city: int
    lead_day: int
    other: int | None
    detail_zh: str
    detail_en: str
    resolution: str | None = None
    rationale: str = ""

    @property
    def key(self) -> str:
        other = "" if self.other is None else f"-{self.other}"
        return f"{self.kind}:{self.city}{other}:d{self.lead_day}"


def find_divergences(
    forecasts: Iterable[DayForecast],
    guidance: Iterable[DayForecast],
    rules: ConsultationRules,
) -> list[Divergence]:
    """The divergence items when collection closes (design §1.2, rules 1-4).

    1. ``model_gap``: the city's range does not overlap the model guidance for that day;
    2. ``neighbour_jump``: neighbouring cities' central levels differ by ``neighbour_level_jump``
       or more;
    3. ``level``: the city's central level differs from the guidance's;
    4. ``primary``: the city's first primary pollutant differs from the guidance's (from the
       other cities' most common one where there is no guidance).
    """
    by_key = {(f.city, f.lead_day): f for f in forecasts}
    model = {(g.city, g.lead_day): g for g in guidance}
    items: list[Divergence] = []
    for key, fc in sorted(by_key.items()):
        items += _against_model(fc, model.get(key))
    items += _neighbour_jumps(by_key, rules)
    items += _primary_against_majority(by_key, model)
    return items


def _against_model(fc: DayForecast, g: DayForecast | None) -> list[Divergence]:
    if g is None:
        return []
    items = []
    if fc.aqi_high < g.aqi_low or fc.aqi_low > g.aqi_high:
        items.append(
            _item(
                "model_gap",
                fc,
                None,
                f"{fc.aqi_low}-{fc.aqi_high} 与模式 {g.aqi_low}-{g.aqi_high} 不重叠",
                f"{fc.aqi_low}-{fc.aqi_high} does not overlap the model's {g.aqi_low}-{g.aqi_high}",
            )
        )
    if fc.central_level != g.central_level:
        items.append(
            _item(
                "level",
                fc,
                None,
                f"级别 {fc.central_level} ≠ 模式 {g.central_level}",
                f"level {fc.central_level} ≠ model {g.central_level}",
            )
        )
    if fc.primary[:1] and g.primary[:1] and fc.primary[0] != g.primary[0]:
        items.append(
            _item(
                "primary",
                fc,
                None,
                f"首要污染物 {fc.primary[0]} ≠ 模式 {g.primary[0]}",
                f"primary {fc.primary[0]} ≠ model {g.primary[0]}",
            )
        )
    return items


def _neighbour_jumps(
    by_key: Mapping[tuple[int, int], DayForecast], rules: ConsultationRules
) -> list[Divergence]:
    items = []
    for pair in sorted(rules.neighbours, key=sorted):
        a, b = sorted(pair)
        for day in range(1, rules.lead_days + 1):
            fa, fb = by_key.get((a, day)), by_key.get((b, day))
            if fa and fb and abs(fa.central_level - fb.central_level) >= rules.neighbour_level_jump:
                items.append(
                    _item(
                        "neighbour_jump",
                        fa,
                        b,
                        f"与相邻城市 {b} 级别相差 {abs(fa.central_level - fb.central_level)} 级",
                        f"level differs from neighbour {b} by {abs(fa.central_level - fb.central_level)}",
                    )
                )
    return items


def _primary_against_majority(
    by_key: Mapping[tuple[int, int], DayForecast], model: Mapping[tuple[int, int], DayForecast]
) -> list[Divergence]:
    items = []
    for day in sorted({d for _, d in by_key}):
        firsts = {c: f.primary[0] for (c, d), f in by_key.items() if d == day and f.primary}
        if len(set(firsts.values())) < 2:
            continue
        top, count = Counter(firsts.values()).most_common(1)[0]
        for city, first in sorted(firsts.items()):
            if first != top and (city, day) not in model and count > 1:
                items.append(
                    _item(
                        "primary",
                        by_key[(city, day)],
                        None,
                        f"首要污染物 {first} ≠ 多数城市 {top}",
                        f"primary {first} ≠ most cities' {top}",
                    )
                )
    return items


def _item(kind: str, fc: DayForecast, other: int | None, zh: str, en: str) -> Divergence:
    return Divergence(kind, fc.city, fc.lead_day, other, zh, en)


def rule_levels(
    consensus: Iterable[DayForecast], issue_date: date, rules: ConsultationRules
) -> dict[int, str]:
    """Warning level per city that 648号 gives from the consensus (upper AQI of each day).

    The upper end is used: a warning is a precaution, and a city may go higher, never lower.
    """
    per_city: dict[int, list[DayForecast]] = {}
    for fc in consensus:
        per_city.setdefault(fc.city, []).append(fc)
    levels = {}
    for city, days in per_city.items():
        days.sort(key=lambda f: f.lead_day)
        dates = [issue_date + timedelta(days=f.lead_day) for f in days]
        levels[city] = city_warning(dates, [f.aqi_high for f in days], rules.warning_rule).level
    return levels


def check_city_decision(
    city: int,
    recommended: str,
    recommended_start: datetime,
    level: str,
    start: datetime,
    override_reason: str = "",
) -> None:
    """Refuse a city's warning decision later or lower than recommended without a reason.

    The provincial clause "各城市可根据当地情况提前启动预警、提高预警等级": earlier or higher is
    always allowed; later or lower needs an override reason, which is recorded and shown.
    """
    lower = LEVEL_ORDER.index(level) < LEVEL_ORDER.index(recommended)
    later = level != "none" and start > recommended_start
    if (lower or later) and not override_reason.strip():
        what_zh, what_en = (
            ("级别低于建议", "lower level") if lower else ("启动晚于建议", "later start")
        )
        raise ConsultationError(
            f"city {city} warning",
            f"{what_zh}，须填写理由",
            f"{what_en} than recommended ({recommended}) needs an override reason",
        )


@dataclass(frozen=True)
class AuditEntry:
    """One transition: who, when, why, and the states before and after."""

    event: str
    actor: str
    at: datetime
    reason: str
    before: str
    after: str


@dataclass(frozen=True)
class Session:
    """One version of a consultation session (immutable; transitions return a new one)."""

    session_id: str
    kind: str
    session_date: date
    chair_city: int
    host_city: int
    participants: tuple[int, ...]
    deadline: datetime
    rules_version: str = "cdp-2026.1"
    version: int = 1
    supersedes: str | None = None
    state: str = "scheduled"
    snapshot: InputSnapshot | None = None
    submissions: Mapping[tuple[int, int], Submission] = field(default_factory=dict)
    missing: tuple[int, ...] = ()
    divergences: tuple[Divergence, ...] = ()
    consensus: Mapping[tuple[int, int], DayForecast] = field(default_factory=dict)
    narrative: str = ""
    warning: Mapping[int, tuple[str, str]] = field(default_factory=dict)
    regional: tuple[str, str] = ("none", "")  # the region's level and, below the rule, why
    controls: str = ""  # the chair's control suggestions 管控建议 (brief §1.3 A.8)
    template_version: str = ""
    report_hash: str = ""
    audit: tuple[AuditEntry, ...] = ()

    @property
    def rules(self) -> ConsultationRules:
        return load_rules(self.rules_version)

    @property
    def record(self) -> str:
        return f"session {self.session_id} v{self.version}"

    def unresolved(self) -> list[Divergence]:
        return [d for d in self.divergences if d.resolution is None]

    def consensus_gaps(self) -> list[tuple[int, int]]:
        days = range(1, self.rules.lead_days + 1)
        return [(c, d) for c in self.participants for d in days if (c, d) not in self.consensus]


def schedule(
    session_id: str,
    kind: str,
    session_date: date,
    chair_city: int,
    host_city: int,
    participants: Sequence[int],
    deadline: datetime,
    actor: str,
    at: datetime,
    rules_version: str = "cdp-2026.1",
) -> Session:
    """A new session in ``scheduled`` (design §1.2, event ``schedule``)."""
    if kind not in SESSION_KINDS:
        raise ConsultationError(
            f"session {session_id}", "会商类型未知", f"kind must be one of {SESSION_KINDS}"
        )
    if not participants or len(set(participants)) != len(participants):
        raise ConsultationError(
            f"session {session_id}", "参会城市无效", "participants must be distinct and not empty"
        )
    if deadline.utcoffset() is None:
        raise ConsultationError(
            f"session {session_id}", "提交截止时间须带时区", "the deadline needs a UTC offset"
        )
    load_rules(rules_version)
    entry = AuditEntry("schedule", actor, at, "", "", "scheduled")
    return Session(
        session_id,
        kind,
        session_date,
        chair_city,
        host_city,
        tuple(participants),
        deadline,
        rules_version=rules_version,
        audit=(entry,),
    )


_FROM: dict[str, tuple[str, ...]] = {
    "open_submissions": ("scheduled",),
    "submit": ("collecting",),
    "close_submissions": ("collecting",),
    "start_session": ("reconciling",),
    "resolve": ("in_session",),
    "set_consensus": ("in_session",),
    "set_warning": ("in_session",),
    "conclude": ("in_session",),
    "draft_report": ("concluded",),
    "sign": ("report_draft",),
    "amend": ("issued",),
    "cancel": ("scheduled", "collecting", "reconciling", "in_session", "concluded", "report_draft"),
    "archive": ("issued",),
}


def transition(
    session: Session, event: str, actor: str, at: datetime, reason: str = "", **payload: Any
) -> Session | tuple[Session, Session]:
    """Apply one event; returns the new session (``amend``: the superseded and the new one).

    Raises
    ------
    ConsultationError
        When the event is not allowed in the current state or its guard fails.
    """
    if event not in _FROM:
        raise ConsultationError(session.record, "未知操作", f"unknown event {event!r}")
    if session.state not in _FROM[event]:
        raise ConsultationError(
            session.record,
            f"当前状态 {session.state} 不允许 {event}",
            f"{event} not allowed in state {session.state}",
        )
    result: Session | tuple[Session, Session] = _HANDLERS[event](
        session, actor, at, reason, **payload
    )
    return result


def _log(
    s: Session, event: str, actor: str, at: datetime, reason: str, after: str, **changes: Any
) -> Session:
    entry = AuditEntry(event, actor, at, reason, s.state, after)
    return replace(s, state=after, audit=(*s.audit, entry), **changes)


def _open(
    s: Session, actor: str, at: datetime, reason: str, snapshot: InputSnapshot | None = None
) -> Session:
    if snapshot is None and reason != "no model guidance":
        raise ConsultationError(
            s.record,
            "须附模式输入快照或说明无",
            'attach an input snapshot or give reason "no model guidance"',
        )
    return _log(s, "open_submissions", actor, at, reason, "collecting", snapshot=snapshot)


def _submit(s: Session, actor: str, at: datetime, reason: str, submission: Submission) -> Session:
    fc = submission.forecast
    if fc.city not in s.participants:
        raise ConsultationError(fc.record, "该城市未参加本次会商", "city is not a participant")
    validate_forecast(fc, s.rules)
    check_named_levels(fc, submission.levels, s.rules)
    stamped = replace(submission, submitted_at=at, late=at > s.deadline)
    subs = {**s.submissions, (fc.city, fc.lead_day): stamped}
    return _log(s, "submit", actor, at, reason, "collecting", submissions=subs)


def _close(s: Session, actor: str, at: datetime, reason: str) -> Session:
    days = range(1, s.rules.lead_days + 1)
    missing = tuple(c for c in s.participants if any((c, d) not in s.submissions for d in days))
    guidance = s.snapshot.guidance if s.snapshot else ()
    found = find_divergences((x.forecast for x in s.submissions.values()), guidance, s.rules)
    return _log(
        s,
        "close_submissions",
        actor,
        at,
        reason,
        "reconciling",
        missing=missing,
        divergences=tuple(found),
    )


def _start(s: Session, actor: str, at: datetime, reason: str) -> Session:
    return _log(s, "start_session", actor, at, reason, "in_session")


def _resolve(
    s: Session, actor: str, at: datetime, reason: str, key: str, resolution: str
) -> Session:
    if resolution not in RESOLUTIONS:
        raise ConsultationError(
            f"divergence {key}", "处理方式无效", f"resolution must be one of {RESOLUTIONS}"
        )
    if not reason.strip():
        raise ConsultationError(
            f"divergence {key}", "须填写处理理由", "a resolution needs a rationale"
        )
    if key not in {d.key for d in s.divergences}:
        raise ConsultationError(f"divergence {key}", "无此分歧", "no such divergence item")
    items = tuple(
        replace(d, resolution=resolution, rationale=reason) if d.key == key else d
        for d in s.divergences
    )
    return _log(s, "resolve", actor, at, reason, "in_session", divergences=items)


def _set_consensus(
    s: Session, actor: str, at: datetime, reason: str, forecast: DayForecast
) -> Session:
    if forecast.city not in s.participants:
        raise ConsultationError(
            forecast.record, "该城市未参加本次会商", "city is not a participant"
        )
    validate_forecast(forecast, s.rules)
    consensus = {**s.consensus, (forecast.city, forecast.lead_day): forecast}
    return _log(s, "set_consensus", actor, at, reason, "in_session", consensus=consensus)


def _set_warning(
    s: Session,
    actor: str,
    at: datetime,
    reason: str,
    narrative: str,
    levels: Mapping[int, str],
    controls: str = "",
    regional: str | None = None,
) -> Session:
    """Narrative, warning proposal per city and for the region, control suggestions; a level
    below what 648号 (a city) or the regional rule (the region) gives needs a reason."""
    required = rule_levels(s.consensus.values(), s.session_date, s.rules)
    warning: dict[int, tuple[str, str]] = {}
    for city in s.participants:
        level = _known_level(f"city {city} warning", levels.get(city, "none"))
        below = LEVEL_ORDER.index(level) < LEVEL_ORDER.index(required.get(city, "none"))
        if below and not reason.strip():
            raise ConsultationError(
                f"city {city} warning",
                "建议低于648号条件须填写理由",
                f"{level} is below the {required[city]} the rule gives: give a reason",
            )
        warning[city] = (level, reason if below else "")
    rule_region = regional_rule_level(replace(s, warning=warning))
    region = _known_level("regional warning", regional or rule_region)
    below = LEVEL_ORDER.index(region) < LEVEL_ORDER.index(rule_region)
    if below and not reason.strip():
        raise ConsultationError(
            "regional warning",
            "区域预警建议低于区域规则须填写理由",
            f"{region} is below the regional {rule_region} the rule gives: give a reason",
        )
    return _log(s, "set_warning", actor, at, reason, "in_session", narrative=narrative,
                warning=warning, regional=(region, reason if below else ""),
                controls=controls.strip())  # fmt: skip


def _known_level(record: str, level: str) -> str:
    if level not in LEVEL_ORDER:
        raise ConsultationError(record, "预警级别无效", f"level must be one of {LEVEL_ORDER}")
    return level


def regional_rule_level(session: Session) -> str:
    """The region's level that the plan version's regional rule gives from the proposed city
    levels (``rules.regional``: that many cities at a level, periods overlapping). A city's
    period is its 648号 run on the consensus, or the firm days [d] when the chair proposed a
    level the run does not reach."""
    warnings: dict[str, CityWarning] = {}
    for city, (level, _) in session.warning.items():
        if level == "none":
            continue
        days = sorted((d, f) for (c, d), f in session.consensus.items() if c == city)
        dates = [session.session_date + timedelta(days=d) for d, _ in days]
        run = city_warning(dates, [f.aqi_high for _, f in days], session.rules.warning_rule)
        first = session.session_date + timedelta(days=1)
        start = run.start or first
        end = run.end or first + timedelta(days=session.rules.firm_days - 1)
        warnings[str(city)] = replace(run, level=level, start=start, end=end)
    level, _, _, _ = regional_warning(warnings, len(session.participants), session.rules.regional)
    return level


@dataclass(frozen=True)
class ControlItem:
    """One control suggestion: the source type and the measure in Chinese and English."""

    source: str  # industry | dust | vehicles | burning
    text_zh: str
    text_en: str


@dataclass(frozen=True)
class CityMeasures:
    """The control suggestions of one city at its proposed level (brief §1.3 A.8)."""

    city: int
    level: str
    items: tuple[ControlItem, ...]


@functools.cache
def _controls() -> dict[str, Any]:
    return tomllib.loads(_data_text("controls.toml"))


def control_measures(session: Session) -> list[CityMeasures]:
    """Per participating city, the measures by source type for its proposed warning level
    (``controls.toml``: industry by the city's emergency control list, dust, vehicles,
    burning and fireworks); the chair's own text is ``session.controls``."""
    table = _controls()
    out = []
    for city in session.participants:
        level = session.warning.get(city, ("none", ""))[0]
        items = tuple(ControlItem(src, *table[level][src]) for src in table["sources"])
        out.append(CityMeasures(city, level, items))
    return out


def _guard_complete(s: Session) -> None:
    if s.unresolved():
        raise ConsultationError(
            s.record, "仍有未处理的分歧", f"{len(s.unresolved())} divergence items unresolved"
        )
    if s.consensus_gaps():
        city, day = s.consensus_gaps()[0]
        raise ConsultationError(
            s.record, "会商结论不完整", f"no consensus for city {city} day {day}"
        )
    if not s.narrative.strip() or set(s.warning) != set(s.participants):
        raise ConsultationError(
            s.record, "缺少区域综述或预警建议", "regional narrative and warning proposal needed"
        )


def _conclude(s: Session, actor: str, at: datetime, reason: str) -> Session:
    _guard_complete(s)
    return _log(s, "conclude", actor, at, reason, "concluded")


def _draft(s: Session, actor: str, at: datetime, reason: str, template_version: str) -> Session:
    return _log(
        s, "draft_report", actor, at, reason, "report_draft", template_version=template_version
    )


def _sign(s: Session, actor: str, at: datetime, reason: str, report_hash: str) -> Session:
    _guard_complete(s)
    if len(report_hash) != 64:
        raise ConsultationError(
            s.record, "报告哈希无效", "report hash must be a SHA-256 hex digest"
        )
    return _log(s, "sign", actor, at, reason, "issued", report_hash=report_hash)


def _amend(
    s: Session, actor: str, at: datetime, reason: str, changes: Sequence[DayForecast] = ()
) -> tuple[Session, Session]:
    if not reason.strip():
        raise ConsultationError(s.record, "修订须填写理由", "an amendment needs a reason")
    for fc in changes:
        validate_forecast(fc, s.rules)
        if fc.city not in s.participants:
            raise ConsultationError(fc.record, "该城市未参加本次会商", "city is not a participant")
    old = _log(s, "amend", actor, at, reason, "superseded")
    consensus = {**s.consensus, **{(f.city, f.lead_day): f for f in changes}}
    new = replace(
        s,
        version=s.version + 1,
        supersedes=f"{s.session_id}/v{s.version}",
        consensus=consensus,
        report_hash="",
        state="report_draft",
        audit=(AuditEntry("amend", actor, at, reason, "", "report_draft"),),
    )
    return old, new


def _cancel(s: Session, actor: str, at: datetime, reason: str) -> Session:
    if not reason.strip():
        raise ConsultationError(s.record, "取消须填写理由", "cancelling needs a reason")
    return _log(s, "cancel", actor, at, reason, "cancelled")


def _archive(s: Session, actor: str, at: datetime, reason: str) -> Session:
    return _log(s, "archive", actor, at, reason, "archived")


_HANDLERS: dict[str, Any] = {
    "open_submissions": _open,
    "submit": _submit,
    "close_submissions": _close,
    "start_session": _start,
    "resolve": _resolve,
    "set_consensus": _set_consensus,
    "set_warning": _set_warning,
    "conclude": _conclude,
    "draft_report": _draft,
    "sign": _sign,
    "amend": _amend,
    "cancel": _cancel,
    "archive": _archive,
}


# ---- verification (air_standards.md §5.1; design §1.2 "verification and assessment") ----------

METRICS = ("range_hit", "level_hit", "primary_hit", "ts_100", "ts_200")


@dataclass(frozen=True)
class Observed:
    """The final observed daily AQI [AQI] of a city and day and its primary pollutants."""

    aqi: int
    primary: tuple[str, ...] = ()


def scores(
    forecasts: Iterable[DayForecast], observed: Mapping[tuple[int, int], Observed]
) -> dict[str, float | None]:
    """Score forecasts against observations, the same way for cities, consensus and models.

    ``range_hit``: observed AQI inside [low, high]; ``level_hit``: observed HJ 633 level among
    the levels of the range; ``primary_hit``: on days observed AQI > 50, the observed first
    primary pollutant is among those forecast; ``ts_100``/``ts_200``: threat score
    hits / (hits + misses + false alarms) of the event AQI > 100 / > 200, a forecast naming the
    event when its upper end exceeds the threshold. Shares in [0, 1]; None without a sample.
    Forecasts without an observation are left out (not yet final).
    """
    pairs = [
        (f, observed[(f.city, f.lead_day)]) for f in forecasts if (f.city, f.lead_day) in observed
    ]
    polluted = [(f, o) for f, o in pairs if o.aqi > 50 and o.primary]
    levels = [(aqi_levels(f.aqi_low, f.aqi_high), _level(o.aqi)) for f, o in pairs]
    return {
        "n": float(len(pairs)),
        "range_hit": _share([f.aqi_low <= o.aqi <= f.aqi_high for f, o in pairs]),
        "level_hit": _share([lo <= obs <= hi for (lo, hi), obs in levels]),
        "primary_hit": _share([o.primary[0] in f.primary for f, o in polluted]),
        "ts_100": _threat_score(pairs, 100),
        "ts_200": _threat_score(pairs, 200),
    }


def _share(hits: Sequence[bool]) -> float | None:
    return sum(hits) / len(hits) if hits else None


def _threat_score(pairs: Sequence[tuple[DayForecast, Observed]], threshold: int) -> float | None:
    said = [(f.aqi_high > threshold, o.aqi > threshold) for f, o in pairs]
    hits = sum(s and o for s, o in said)
    wrong = sum(s != o for s, o in said)
    return hits / (hits + wrong) if hits + wrong else None


def consensus_lift(
    session: Session,
    observed: Mapping[tuple[int, int], Observed],
    models: Mapping[str, Iterable[DayForecast]],
) -> dict[str, dict[str, float | None]]:
    """The consultation's added value per metric: consensus minus the mean city submission,
    and consensus minus the best model (design §1.2 "consensus lift")."""
    consensus = scores(session.consensus.values(), observed)
    cities: dict[int, list[DayForecast]] = {}
    for (city, _), sub in session.submissions.items():
        cities.setdefault(city, []).append(sub.forecast)
    per_city = [scores(fcs, observed) for fcs in cities.values()]
    per_model = [scores(fcs, observed) for fcs in models.values()]
    lift: dict[str, dict[str, float | None]] = {}
    for metric in METRICS:
        own = consensus[metric]
        city_values = [v for s in per_city if (v := s[metric]) is not None]
        model_values = [v for s in per_model if (v := s[metric]) is not None]
        mean_city = sum(city_values) / len(city_values) if city_values else None
        best_model = max(model_values) if model_values else None
        lift[metric] = {
            "consensus": own,
            "minus_mean_city": None if own is None or mean_city is None else own - mean_city,
            "minus_best_model": None if own is None or best_model is None else own - best_model,
        }
    return lift
