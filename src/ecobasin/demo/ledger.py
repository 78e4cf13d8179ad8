"""Demo of the carbon-inclusive ledger 碳普惠账本演示: generated residents' behaviour events for one
month, a few redemptions and donations, and two projects (one issued, one awaiting verification).

Everything here is **generated and illustrative** (seeded, reproducible): residents, trips,
steps and project figures are not real data. The events include what the ledger must refuse
(a trip reported by the metro ticket and again by a self check-in, replayed event ids, walks over
the daily cap), so the demo shows rejections with reasons too.

:func:`generate` is pure; :func:`install` writes through :mod:`ecobasin.store.ledger`.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from ecobasin.carbon.ledger import Event
from ecobasin.timebase import CST

__all__ = ["DemoLedger", "generate", "install"]

SOURCE = "ledger demo (generated, illustrative) 演示数据"
CHENGDU = 510100
#: Merchants and pools of the demo (account id, kind, name).
FIXED_ACCOUNTS: tuple[tuple[str, str, str], ...] = (
    ("m-metro", "merchant", "地铁单程票兑换 Metro single-ride voucher"),
    ("m-cafe", "merchant", "绿色咖啡馆 Green café"),
    ("pool-forest", "pool", "公益植树池 Tree-planting pool"),
    ("org-solar", "organisation", "屋顶光伏运营商 Rooftop PV operator (demo)"),
    ("org-greenway", "organisation", "绿道管理处 Greenway office (demo)"),
    ("org-marathon", "organisation", "马拉松组委会 Marathon organiser (demo)"),
)


@dataclass
class DemoLedger:
    """Generated accounts (account id, kind, name, city code) and events of one month."""

    accounts: list[tuple[str, str, str, int | None]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)


def _at(day: date, hour: int, minute: int) -> datetime:
    return datetime.combine(day, time(hour, minute), CST).astimezone(UTC)


def _resident_events(
    rng: random.Random, account: str, city: int, days: Sequence[date]
) -> list[Event]:
    events: list[Event] = []
    has_metro = city == CHENGDU
    owns_car = rng.random() < 0.25
    commuter = rng.random() < 0.6
    for day in days:
        stamp = f"{account}-{day:%m%d}"
        weekday = day.weekday() < 5
        if rng.random() < 0.8:
            steps = max(0, int(rng.gauss(8500, 4000)))
            events.append(
                Event(
                    f"steps-{stamp}",
                    account,
                    "walking",
                    _at(day, 22, 0),
                    Decimal(steps),
                    "phone_steps",
                    "",
                    f"{stamp} steps",
                )
            )
        if commuter and weekday:
            mode, source = ("metro", "metro_ticket") if has_metro else ("bus", "transit_card")
            km = Decimal(str(round(rng.uniform(3, 18), 1)))
            for n, (hour, minute) in enumerate(((8, rng.randrange(60)), (18, rng.randrange(60)))):
                when = _at(day, hour, minute)
                events.append(
                    Event(
                        f"{mode}-{stamp}-{n}",
                        account,
                        mode,
                        when,
                        km,
                        source,
                        f"card {account[-4:]}",
                        f"{stamp} {mode} {n}",
                    )
                )
                if rng.random() < 0.04:  # also checked in by hand: the same trip, counted once
                    events.append(
                        Event(
                            f"checkin-{stamp}-{n}",
                            account,
                            mode,
                            when + timedelta(minutes=5),
                            km,
                            "self_checkin",
                            "",
                            f"{stamp} check-in {n}",
                        )
                    )
        if rng.random() < 0.2:
            km = Decimal(str(round(rng.uniform(1, 5), 1)))
            events.append(
                Event(
                    f"bike-{stamp}",
                    account,
                    "cycling",
                    _at(day, 12, rng.randrange(60)),
                    km,
                    "bike_operator",
                    "",
                    f"{stamp} bike",
                )
            )
        if rng.random() < 0.3:
            events.append(
                Event(
                    f"plate-{stamp}",
                    account,
                    "clean_plate",
                    _at(day, 12, 30),
                    Decimal(1),
                    "canteen_pos",
                    "",
                    f"{stamp} plate",
                )
            )
        if rng.random() < 0.15:
            events.append(
                Event(
                    f"sort-{stamp}",
                    account,
                    "garbage_sorting",
                    _at(day, 19, 0),
                    Decimal(1),
                    "smart_bin",
                    "",
                    f"{stamp} sorting",
                )
            )
        if owns_car and weekday and rng.random() < 0.15:
            events.append(
                Event(
                    f"carfree-{stamp}",
                    account,
                    "car_free_day",
                    _at(day, 7, 0),
                    Decimal(1),
                    "rongexing_declaration",
                    "",
                    f"{stamp} car-free",
                )
            )
    if rng.random() < 0.05:
        kg = Decimal(str(round(rng.uniform(1, 6), 1)))
        day = days[rng.randrange(len(days))]
        events.append(
            Event(
                f"clothes-{account}",
                account,
                "old_clothes",
                _at(day, 10, 0),
                kg,
                "recycler_receipt",
                "",
                f"{account} clothes",
            )
        )
    return events


def generate(
    cities: Sequence[int], year: int = 2025, month: int = 12, residents: int = 300, seed: int = 2025
) -> DemoLedger:
    """Residents (about half in Chengdu, the rest spread over ``cities``) and their events of
    ``year``-``month`` (CST), plus a few replays of already-sent event ids."""
    rng = random.Random(seed)
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    days = [first + timedelta(days=i) for i in range((following - first).days)]
    out = DemoLedger()
    for account_id, kind, name in FIXED_ACCOUNTS:
        out.accounts.append((account_id, kind, name, CHENGDU))
    others = [c for c in cities if c != CHENGDU] or [CHENGDU]
    for i in range(residents):
        city = CHENGDU if rng.random() < 0.5 else others[rng.randrange(len(others))]
        account = f"r-{i + 1:05d}"
        out.accounts.append((account, "person", f"居民 Resident {i + 1}", city))
        out.events.extend(_resident_events(rng, account, city, days))
    out.events.extend(rng.sample(out.events, min(10, len(out.events))))  # retried uploads
    return out


def install(
    store: Any,
    cities: Sequence[int],
    year: int = 2025,
    month: int = 12,
    residents: int = 300,
    seed: int = 2025,
) -> dict[str, Any]:
    """Write the demo ledger into ``store`` (a Store): accounts, the month's events, some
    redemptions and donations, and two projects. Running it again adds nothing (every write
    is idempotent). Returns counts."""
    import pandas as pd

    from ecobasin.carbon import rules
    from ecobasin.store import ledger as store_ledger

    demo = generate(cities, year, month, residents, seed)
    frame = pd.DataFrame(demo.accounts, columns=["account_id", "kind", "name", "city_code"])
    new_accounts = store_ledger.add_accounts(store, frame)
    recorded = store_ledger.record_events(store, demo.events, rules.rule_set(), SOURCE)
    movements = _movements(store, recorded.entries, random.Random(seed + 1))
    _projects(store, year, month)
    summary = store_ledger.summary(store)
    return {
        "accounts": new_accounts,
        "events": len(demo.events),
        **recorded.counts(),
        "movements": movements,
        "entries": summary["entries"],
        "head": summary["head"],
    }


def _movements(store: Any, credited: Sequence[Any], rng: random.Random) -> int:
    """Some residents redeem a metro ride (2 000 points, illustrative) or donate 100 points to
    the tree-planting pool, decided from what this run credited (nothing on a re-run)."""
    from ecobasin.store import ledger as store_ledger

    earned: dict[str, Decimal] = {}
    for entry in credited:
        earned[entry.account] = earned.get(entry.account, Decimal(0)) + entry.points
    movements = 0
    for account in rng.sample(sorted(earned), min(40, len(earned))):
        if earned[account] >= 2000:
            store_ledger.redeem(
                store, account, Decimal(2000), "m-metro", key=f"demo-redeem-{account}"
            )
        elif earned[account] >= 100:
            store_ledger.donate(
                store, account, "pool-forest", points=Decimal(100), key=f"demo-donate-{account}"
            )
        else:
            continue
        movements += 1
    return movements


def _projects(store: Any, year: int, month: int) -> None:
    """A rooftop PV project with a verified, issued half-year and a greenway project whose
    period awaits verification; part of the PV issuance retired for an event."""
    from ecobasin.carbon.ledger import LedgerError
    from ecobasin.store import ledger as store_ledger

    start, end = date(year, 1, 1), date(year, 6, 30)
    try:
        store_ledger.register_project(
            store,
            "demo-pv-01",
            "屋顶光伏示范 Rooftop PV (demo)",
            "photovoltaic",
            "org-solar",
            CHENGDU,
        )
        store_ledger.register_project(
            store,
            "demo-greenway-01",
            "绿道碳汇示范 Greenway sink (demo)",
            "greenway",
            "org-greenway",
            CHENGDU,
        )
    except LedgerError:  # installed before
        return
    store_ledger.monitor(
        store,
        "demo-pv-01",
        f"{year}H1",
        start,
        end,
        {"net_generation_mwh": "2400"},
        verified_by="demo verifier 演示核查机构",
    )
    store_ledger.issue(store, "demo-pv-01", f"{year}H1")
    store_ledger.monitor(
        store,
        "demo-greenway-01",
        f"{year}",
        date(year, 1, 1),
        date(year, 12, 31),
        {"baseline_t": "820", "project_t": "35", "leakage_t": "12"},
    )
    store_ledger.donate(
        store, "org-solar", "org-marathon", grams=Decimal(100_000_000), key="demo-sell-marathon"
    )
    store_ledger.retire(
        store,
        "org-marathon",
        Decimal(100_000_000),
        "offset of the demo marathon 马拉松碳中和",
        key="demo-retire-marathon",
    )
