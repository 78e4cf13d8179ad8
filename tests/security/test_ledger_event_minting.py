"""Issue 13, item 2: an events partner minted 480,000 points for one account in one request with
events backdated 35 months and ``self_checkin`` evidence for any transport mode. Now events older
than the configured age (default 7 days) are refused, the rule set names the evidence each
behaviour accepts (a self check-in is no evidence of a metro trip), each account and each
partner has a daily ceiling, and ``ecobasin ledger anomalies`` lists accounts far above the
distribution."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from ecobasin.store import Store
from ecobasin.store import ledger as store_ledger
from ecobasin.timebase import CST
from ledger_attack import api, cli, cst


def _trip(i: int, account: str, behaviour: str, days_ago: float, km: int, source: str) -> dict:
    return {"event_id": f"e{i}", "account": account, "behaviour": behaviour,
            "time": cst(days_ago), "quantity": str(km), "source": source}  # fmt: skip


def test_backdated_self_checked_events_mint_little(tmp_path: Path) -> None:
    with api(tmp_path) as ledger:
        # one request: a metro trip of 30 km every day for 35 months, every other one "checked in"
        events = [
            _trip(d, "alice", "metro", d + 0.5, 30, "self_checkin" if d % 2 else "metro_ticket")
            for d in range(1065)
        ]
        minted = ledger.post("events", {"events": events, "source": "trips"}, "metro_app")
        assert minted.status_code == 200, minted.text
        answer = minted.json()
        reasons = answer["reasons"]
        # the metro tickets of the last 7 days are credited (d = 0, 2, 4, 6), nothing else
        assert answer["credited"] == 4
        assert reasons["evidence_not_accepted"] == 532  # every check-in, old or new
        assert reasons["too_old"] == 1065 - 532 - 4
        # at most the account's daily ceiling (2000 points) on each of the last 8 CST days
        assert Decimal(answer["points"]) <= 2000 * 8
        assert Decimal(ledger.points("alice")) <= 840 + 2000 * 8
        # all behaviours together: one account's daily ceiling (metro 2000 + bus 1000 > 2000)
        today = datetime.now(CST).strftime("%Y-%m-%dT00:0")  # one CST day, whatever the hour
        same_day = [
            {**_trip(5000, "bob", "metro", 0, 30, "metro_ticket"), "time": f"{today}1"},
            {**_trip(5001, "bob", "bus", 0, 30, "transit_card"), "time": f"{today}2"},
        ]
        capped = ledger.post("events", {"events": same_day}, "metro_app").json()
        assert capped["points"] == "2000.000"
        assert capped["reasons"] == {"account_daily_cap": 1}
        # the partner's own ceiling per day recorded
        cli("ledger", "partner", "limit", "bus_app", "--daily-points", "500",
            "--db", str(ledger.path))  # fmt: skip
        bus = [
            _trip(1, "bob", "bus", 2, 30, "transit_card"),
            _trip(2, "bob", "bus", 3, 30, "transit_card"),
        ]
        held = ledger.post("events", {"events": bus}, "bus_app").json()
        assert held["points"] == "500.000" and held["reasons"] == {"partner_daily_cap": 1}


def test_anomalies_lists_the_inflated_account(tmp_path: Path) -> None:
    with api(tmp_path) as ledger:
        db = str(ledger.path)
        lines = ["event_id,account,behaviour,time,quantity,source"]
        for i in range(20):
            cli("ledger", "account", "add", f"r-{i:05d}", "--db", db)
            lines.append(f"w{i},r-{i:05d},walking,{cst(2)},{4000 + 500 * (i % 5)},phone_steps")
        events = tmp_path / "walks.csv"
        events.write_text("\n".join(lines) + "\n", encoding="utf-8")
        cli("ledger", "record", str(events), "--db", db)
        trips = [_trip(d, "bob", "metro", d + 0.5, 30, "metro_ticket") for d in range(6)]
        assert ledger.post("events", {"events": trips}, "metro_app").status_code == 200
        report = json.loads(cli("ledger", "anomalies", "--format", "json", "--db", db))
        listed = {row["account"]: row for row in report}
        assert set(listed) == {"alice", "bob"}  # 840 and 12 000 points against a median of 9
        assert listed["bob"]["partners"] == "metro_app"
        assert Decimal(listed["bob"]["score"]) > Decimal(listed["alice"]["score"]) > 10
    with Store(ledger.path) as store:
        assert store_ledger.verify(store).ok
