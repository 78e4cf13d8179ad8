"""Demo content of the joint forecast consultation (issue 16): an issued monthly session with its
report, and an episode session still collecting, so that every page and route has content.

The forecasts are illustrative (a smooth regional pattern, not the demo's observations); the
steps go through :mod:`ecobasin.services.consultation` exactly as the API's do.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from ecobasin.services import consultation as service
from ecobasin.store.database import Store
from ecobasin.workflow.consultation import (
    DayForecast,
    InputSnapshot,
    Submission,
    load_rules,
    rule_levels,
)

__all__ = ["install"]


def _guidance(cities: Sequence[int], base: int) -> tuple[DayForecast, ...]:
    """Model guidance: AQI ranges 30 wide rising to day 3 then easing [AQI]."""
    shape = (0, 15, 30, 20, 5, -5, -10)
    return tuple(
        DayForecast(c, d, base + shape[d - 1] + 5 * i, base + shape[d - 1] + 5 * i + 30, ("PM2.5",))
        for i, c in enumerate(cities)
        for d in range(1, 8)
    )


def _run_to_issue(
    store: Store, session_id: str, cities: Sequence[int], at: datetime, deadline: datetime
) -> None:
    guidance = _guidance(cities, 70)
    snapshot = InputSnapshot(
        "CDAQS", "demo-1", at - timedelta(hours=12), at, ("demo-met",), guidance
    )
    service.open_session(store, session_id, snapshot, "chair", at)
    for i, g in enumerate(guidance):
        diverging = g.lead_day == 2 and g.city in cities[-2:]  # two cities well above the model
        fc = (
            DayForecast(g.city, g.lead_day, g.aqi_low + 80, g.aqi_high + 80, g.primary)
            if diverging
            else g
        )
        when = (
            deadline + timedelta(minutes=30) if g.city == cities[3] else at + timedelta(minutes=i)
        )
        service.act(
            store,
            session_id,
            "submit",
            f"forecaster-{g.city}",
            when,
            submission=Submission(fc, f"forecaster-{g.city}", when),
        )
    service.act(store, session_id, "close_submissions", "chair", deadline + timedelta(hours=1))
    session = service.act(
        store, session_id, "start_session", "chair", deadline + timedelta(hours=1)
    )
    for item in session.divergences:
        service.act(
            store,
            session_id,
            "resolve",
            "chair",
            deadline + timedelta(hours=2),
            "山区城市本地逆温，保留意见 local inversion; dissent noted",
            key=item.key,
            resolution="note_dissent",
        )
    for g in guidance:
        service.act(
            store, session_id, "set_consensus", "chair", deadline + timedelta(hours=2), forecast=g
        )
    levels = rule_levels(guidance, session.session_date, load_rules())  # 648号 on the consensus
    service.act(
        store, session_id, "set_warning", "chair", deadline + timedelta(hours=2),
        narrative="未来三天区域以良至轻度污染为主，第2至4天盆地中南部可能出现轻度污染，首要污染物PM2.5。",
        levels=levels, controls="盆地中南部城市第2至4天加强工地扬尘和重型柴油车管控，严禁露天焚烧。",
    )  # fmt: skip
    service.act(store, session_id, "conclude", "chair", deadline + timedelta(hours=3))
    service.draft_report(store, session_id, "chair", deadline + timedelta(hours=3))
    service.sign_report(store, session_id, "chair", deadline + timedelta(hours=4))


def install(store: Store, cities: Sequence[int], year: int) -> dict[str, str]:
    """Install the demo sessions (nothing when the store already holds consultation sessions)."""
    if service.list_view(store):
        return {}
    cst_nine = timedelta(hours=1)  # 09:00 CST is 01:00 UTC
    issued_day, open_day = date(year, 11, 3), date(year, 12, 2)
    at = datetime(year, 11, 3, tzinfo=UTC) + cst_nine
    issued = service.schedule_session(
        store, "monthly", issued_day, at + timedelta(hours=3), "province", at, tuple(cities)
    )
    _run_to_issue(store, issued.session_id, cities, at, at + timedelta(hours=3))
    at = datetime(year, 12, 2, tzinfo=UTC) + cst_nine
    collecting = service.schedule_session(
        store, "episode", open_day, at + timedelta(hours=6), "province", at, tuple(cities)
    )
    guidance = _guidance(cities, 110)
    snapshot = InputSnapshot(
        "CDAQS", "demo-1", at - timedelta(hours=12), at, ("demo-met",), guidance
    )
    service.open_session(store, collecting.session_id, snapshot, "chair", at)
    for g in guidance:
        if g.city in cities[:5]:
            service.act(
                store,
                collecting.session_id,
                "submit",
                f"forecaster-{g.city}",
                at,
                submission=Submission(g, f"forecaster-{g.city}", at),
            )
    return {"issued": issued.session_id, "collecting": collecting.session_id}
