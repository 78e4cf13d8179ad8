"""Issue 13, item 5: idempotency keys and event ids were one space for every partner, so one
partner could squat or replay another's keys; an event ``quantity`` of 1e30 gave a 500. Now each
partner's keys live in a namespace of its own, and absurd numbers are 400 problems (the events
kept aside)."""

from __future__ import annotations

from pathlib import Path

from ecobasin.store import Store
from ecobasin.store import ledger as store_ledger
from ledger_attack import api, cli, cst


def _event(event_id: str, account: str, quantity: str = "10") -> dict[str, object]:
    return {"events": [{"event_id": event_id, "account": account, "behaviour": "bus",
                        "time": cst(0.1), "quantity": quantity, "source": "transit_card"}]}  # fmt: skip


def test_partners_keys_do_not_meet(tmp_path: Path) -> None:
    with api(tmp_path) as ledger:
        # bus_app's trip "T-1" first; metro_app squats the id before bus_app's next trip
        assert ledger.post("events", _event("T-1", "alice"), "bus_app").json()["credited"] == 1
        squat = ledger.post("events", _event("T-2", "bob"), "metro_app").json()
        assert squat["credited"] == 1
        mine = ledger.post("events", _event("T-2", "bob"), "bus_app").json()
        assert mine["credited"] == 1 and mine["reasons"] == {}
        # a partner's own retry is still counted once
        again = ledger.post("events", _event("T-1", "alice"), "bus_app").json()
        assert again["credited"] == 0 and again["reasons"] == {"duplicate_event": 1}
        # redemption keys: two merchants may both use "k1"
        db = str(ledger.path)
        cli("ledger", "partner", "bind", "mall", "shop", "--db", db)
        cli("ledger", "partner", "bind", "mall2", "rival", "--db", db)
        holder = cli("ledger", "account", "key", "alice", "--db", db).strip()
        for partner, merchant in (("mall", "shop"), ("mall2", "rival")):
            body = {"account": "alice", "points": "10", "merchant": merchant, "key": "k1",
                    "consent": ledger.consent(holder, "10")}  # fmt: skip
            done = ledger.post("redeem", body, partner)
            assert done.status_code == 200, done.text
            assert done.json()["replayed"] is False
            assert done.json()["entry"]["idem_key"] == f"partner:{partner}:k1"
        # an admin's event id or key may not pose as a partner's
        event = ledger.post("events", _event("partner:bus_app:T-9", "bob"), "root").json()
        assert event["credited"] == 0 and event["reasons"] == {"bad_event_id": 1}
        posing = {"account": "alice", "to": "bob", "points": "1", "key": "partner:mall:k2"}
        refused = ledger.post("donate", posing, "root")
        assert refused.status_code == 400 and "belong to partners" in refused.json()["detail"]


def test_absurd_quantity_is_a_400_problem(tmp_path: Path) -> None:
    with api(tmp_path) as ledger:
        answer = ledger.post("events", _event("Q-1", "alice", "1e30"), "bus_app")
        assert answer.status_code == 400, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        problem = answer.json()
        assert problem["type"] == "urn:ecobasin:problem:ledger:bad_quantity"
        assert "event 1 Q-1: quantity 1E+30" in problem["detail"]
        redeem = {"account": "alice", "points": "1e30", "merchant": "", "key": "big",
                  "consent": "0" * 18}  # fmt: skip
        assert ledger.post("redeem", redeem, "root").status_code == 400
        donate = {"account": "alice", "to": "bob", "grams": "1e30", "key": "big"}
        assert ledger.post("donate", donate, "root").status_code == 400
        assert ledger.points("alice") == "840.000"
        path = ledger.path
    with Store(path) as store:
        kept = store.con.execute(
            "SELECT reason_code, record_ref FROM rejected WHERE source LIKE 'bus_app%'"
        ).fetchall()
        assert kept == [("bad_quantity", "event 1 Q-1")]
        assert store_ledger.verify(store).ok
