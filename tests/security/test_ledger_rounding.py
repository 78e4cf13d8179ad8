"""Issue 13, item 3: balances were checked with unrounded amounts while entries were rounded to
0.001, so an account reached −0.001 and ``verify`` still said valid. Now amounts are quantised
before the check, movements below the smallest unit are refused, and ``verify`` checks that no
balance is ever negative."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from ecobasin.carbon.ledger import Draft
from ecobasin.store import Store, ledger_tables
from ecobasin.store import ledger as store_ledger
from ledger_attack import api, cli


def test_rounding_never_overdraws(tmp_path: Path) -> None:
    with api(tmp_path) as ledger:
        holder = cli("ledger", "account", "key", "alice", "--db", str(ledger.path)).strip()

        def give(points: str, key: str) -> int:
            body = {"account": "alice", "to": "bob", "points": points, "key": key,
                    "consent": ledger.consent(holder, "840")}  # fmt: skip
            return ledger.post("donate", body, "root").status_code

        # each rounds up by 0.0005 when stored: 839.000 + 1.000 leave alice 0
        assert give("838.9995", "d1") == 200
        assert give("0.9995", "d2") == 200
        assert ledger.points("alice") == "0.000"
        assert give("0.001", "d3") == 409  # nothing left
        below = ledger.post(
            "donate", {"account": "bob", "to": "alice", "points": "0.0004", "key": "d4"}, "root"
        )
        assert below.status_code == 400 and "below the smallest unit" in below.json()["detail"]
        assert ledger.points("bob") == "840.000"
        assert ledger.client.get("/api/v1/ledger/verify").json()["ok"] is True


def test_verify_finds_a_negative_balance(tmp_path: Path) -> None:
    with api(tmp_path) as ledger:
        path = ledger.path
    with Store(path) as store:
        # an overdraw chained with valid hashes (written past the balance check, as a bug or a
        # hand-made entry would): the chain is intact, the ledger is not
        with store.transaction():
            overdraw = Draft("redeem", "alice", Decimal("840.001"), Decimal(0), "od",
                             datetime.now(UTC), counterparty="shop")  # fmt: skip
            written = ledger_tables._write(store, [overdraw])
        result = store_ledger.verify(store)
        assert result.ok is False and result.bad_seq == written[0].seq
        assert "alice goes negative (-0.001 points" in result.reason
