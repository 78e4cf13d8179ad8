"""The regional warning proposal after a consultation, as a pure state machine (brief §1.2,
"Warning proposal"): the province's steps and the cities' acknowledgements.

::

    proposed --recommend--> recommended --escalate / de_escalate--> recommended (version + 1)
        |                       |--city_ack (per city)--> recommended, that city acknowledged
        '--reject--> rejected   '--lift (some or all cities)--> recommended / lifted

- ``recommend`` (province coordinator) may change levels or start times, each change with a
  reason (it produces the 预警建议函).
- ``escalate`` raises, ``de_escalate`` lowers at least one city and moves none the other way;
  both need a reason and name the episode consultation that supports them.
- ``lift`` ends the warning of the named cities (all when none named), with a reason
  (648号: below yellow for more than 36 h); when every city is at "none" the proposal is lifted.
- ``city_ack``: a city's own decision, earlier or higher always, later or lower only with an
  override reason (:func:`ecobasin.workflow.consultation.check_city_decision`), recorded and shown.

Every step returns a new proposal (the time is an argument) with one more audit entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from ecobasin.forecast.warning import LEVEL_ORDER
from ecobasin.workflow.consultation import AuditEntry, ConsultationError, check_city_decision

__all__ = [
    "WARNING_EVENTS",
    "WARNING_STATES",
    "CityAck",
    "WarningProposal",
    "propose",
    "warning_step",
]

WARNING_STATES = ("proposed", "recommended", "rejected", "lifted")
#: Event → states it may fire from.
_FROM: dict[str, tuple[str, ...]] = {
    "recommend": ("proposed",),
    "reject": ("proposed",),
    "escalate": ("recommended",),
    "de_escalate": ("recommended",),
    "lift": ("recommended",),
    "city_ack": ("recommended",),
}
WARNING_EVENTS = tuple(_FROM)


@dataclass(frozen=True)
class CityAck:
    """A city's own decision on the recommendation; ``override_reason`` when later or lower."""

    level: str
    start: datetime
    override_reason: str
    actor: str
    at: datetime


@dataclass(frozen=True)
class WarningProposal:
    """The warning proposal of one issued session (levels and starts per city, CST instants)."""

    session_id: str
    state: str
    levels: Mapping[int, str]
    starts: Mapping[int, datetime]
    version: int = 1  # + 1 at each recommend, escalate, de-escalate or lift
    episode: str = ""  # the episode consultation behind the latest escalation or de-escalation
    acks: Mapping[int, CityAck] = field(default_factory=dict)
    audit: tuple[AuditEntry, ...] = ()

    @property
    def record(self) -> str:
        return f"warning proposal {self.session_id} v{self.version}"


def propose(
    session_id: str,
    levels: Mapping[int, str],
    starts: Mapping[int, datetime],
    actor: str,
    at: datetime,
) -> WarningProposal:
    """The chair's proposal from the concluded session (levels may all be "none")."""
    _check_levels(session_id, levels)
    entry = AuditEntry("propose", actor, at, "", "", "proposed")
    return WarningProposal(session_id, "proposed", dict(levels), dict(starts), audit=(entry,))


def _check_levels(record: str, levels: Mapping[int, str]) -> None:
    for city, level in levels.items():
        if level not in LEVEL_ORDER:
            raise ConsultationError(
                f"{record} city {city}", "预警级别无效", f"level must be one of {LEVEL_ORDER}"
            )


def warning_step(
    p: WarningProposal, event: str, actor: str, at: datetime, reason: str = "", **payload: Any
) -> WarningProposal:
    """Apply one event; refused with the record and the reason when not allowed.

    Raises
    ------
    ConsultationError
        Unknown event, wrong state, missing reason, a change the wrong way, an unknown city.
    """
    if event not in _FROM:
        raise ConsultationError(p.record, "未知操作", f"unknown event {event!r}")
    if p.state not in _FROM[event]:
        raise ConsultationError(
            p.record,
            f"当前状态 {p.state} 不允许 {event}",
            f"{event} not allowed in state {p.state}",
        )
    result: WarningProposal = _HANDLERS[event](p, actor, at, reason, **payload)
    return result


def _log(p: WarningProposal, event: str, actor: str, at: datetime, reason: str, after: str,
         bump: bool = True, **changes: Any) -> WarningProposal:  # fmt: skip
    entry = AuditEntry(event, actor, at, reason, p.state, after)
    version = p.version + 1 if bump else p.version
    return replace(p, state=after, version=version, audit=(*p.audit, entry), **changes)


def _need_reason(p: WarningProposal, reason: str, what_zh: str, what_en: str) -> None:
    if not reason.strip():
        raise ConsultationError(p.record, f"{what_zh}须填写理由", f"{what_en} needs a reason")


def _changed(p: WarningProposal, levels: Mapping[int, str]) -> dict[int, int]:
    """City → step of the change (positive: higher), for the cities whose level changes."""
    _check_levels(p.record, levels)
    unknown = set(levels) - set(p.levels)
    if unknown:
        raise ConsultationError(
            f"{p.record} city {min(unknown)}", "该城市不在建议中", "city is not in the proposal"
        )
    order = LEVEL_ORDER.index
    return {c: order(v) - order(p.levels[c]) for c, v in levels.items() if v != p.levels[c]}


def _recommend(p: WarningProposal, actor: str, at: datetime, reason: str,
               levels: Mapping[int, str] | None = None,
               starts: Mapping[int, datetime] | None = None) -> WarningProposal:  # fmt: skip
    changed = _changed(p, levels or {})
    moved = {c for c, t in (starts or {}).items() if p.starts.get(c) != t}
    if (changed or moved) and not reason.strip():
        raise ConsultationError(
            p.record, "修改建议级别或时间须填写理由", "changing levels or starts needs a reason"
        )
    return _log(p, "recommend", actor, at, reason, "recommended",
                levels={**p.levels, **(levels or {})}, starts={**p.starts, **(starts or {})})  # fmt: skip


def _reject(p: WarningProposal, actor: str, at: datetime, reason: str) -> WarningProposal:
    _need_reason(p, reason, "退回", "rejecting")
    return _log(p, "reject", actor, at, reason, "rejected", bump=False)


def _shift(direction: int, event: str):  # type: ignore[no-untyped-def]
    def handler(p: WarningProposal, actor: str, at: datetime, reason: str,
                levels: Mapping[int, str], episode: str = "",
                starts: Mapping[int, datetime] | None = None) -> WarningProposal:  # fmt: skip
        _need_reason(p, reason, "调整预警级别", event)
        if not episode.strip():
            raise ConsultationError(
                p.record, "须注明依据的加密会商", f"{event} needs the episode consultation id"
            )
        changed = _changed(p, levels)
        if not changed or any(step * direction < 0 for step in changed.values()):
            way_zh, way_en = ("升级", "raise") if direction > 0 else ("降级", "lower")
            raise ConsultationError(
                p.record, f"须至少{way_zh}一个城市且不反向调整",
                f"{event} must {way_en} at least one city and move none the other way",
            )  # fmt: skip
        acks = {c: a for c, a in p.acks.items() if c not in changed}  # changed cities ack again
        return _log(p, event, actor, at, reason, "recommended", levels={**p.levels, **levels},
                    starts={**p.starts, **(starts or {})}, episode=episode, acks=acks)  # fmt: skip

    return handler


def _lift(p: WarningProposal, actor: str, at: datetime, reason: str,
          cities: tuple[int, ...] = ()) -> WarningProposal:  # fmt: skip
    _need_reason(p, reason, "解除预警", "lifting")
    targets = set(cities or p.levels)
    _changed(p, {c: "none" for c in targets})  # unknown cities refused
    levels = {**p.levels, **{c: "none" for c in targets}}
    after = "lifted" if all(v == "none" for v in levels.values()) else "recommended"
    return _log(p, "lift", actor, at, reason, after, levels=levels)


def _ack(p: WarningProposal, actor: str, at: datetime, reason: str, city: int, level: str,
         start: datetime, override_reason: str = "") -> WarningProposal:  # fmt: skip
    if city not in p.levels:
        raise ConsultationError(
            f"{p.record} city {city}", "该城市不在建议中", "city is not in the proposal"
        )
    check_city_decision(city, p.levels[city], p.starts[city], level, start, override_reason)
    ack = CityAck(level, start, override_reason.strip(), actor, at)
    return _log(p, "city_ack", actor, at, override_reason, "recommended", bump=False,
                acks={**p.acks, city: ack})  # fmt: skip


_HANDLERS: dict[str, Any] = {
    "recommend": _recommend,
    "reject": _reject,
    "escalate": _shift(+1, "escalate"),
    "de_escalate": _shift(-1, "de_escalate"),
    "lift": _lift,
    "city_ack": _ack,
}
