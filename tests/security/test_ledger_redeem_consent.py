"""Issue 13, item 1: a redeem partner could spend anyone's points and credit any merchant, and the
chained entry did not name it. Now a redemption spends the holder's consent (a short-lived,
single-use code the holder's app creates with its holder key), a merchant partner credits only
its own merchant accounts, the entry names the partner and the consent inside the hash chain,
and pools are debited only by their administrators."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ecobasin.store import Store
from ecobasin.store import ledger as store_ledger
from ledger_attack import Api, api, cli, make_ledger, served
from loopback import post as http_post


def _redeem(points: str, merchant: str, key: str, consent: str) -> dict[str, str]:
    return {"account": "alice", "points": points, "merchant": merchant, "key": key,
            "consent": consent}  # fmt: skip


def _consent_and_merchant(ledger: Api) -> str:
    # the attack: no consent of alice's, a merchant of the partner's choice
    stolen = ledger.post("redeem", _redeem("840", "rival", "x1", "123456789012345678"), "mall")
    assert stolen.status_code == 403, stolen.text
    assert ledger.points("alice") == "840.000"
    db = str(ledger.path)
    cli("ledger", "partner", "bind", "mall", "shop", "--db", db)
    holder = cli("ledger", "account", "key", "alice", "--db", db).strip()
    bob_key = cli("ledger", "account", "key", "bob", "--db", db).strip()
    forged = ledger.client.post(
        "/api/v1/ledger/consents",
        json={"account": "alice", "points": "840"},
        headers={"X-Holder-Key": bob_key},
    )
    assert forged.status_code == 403 and "holder key" in forged.json()["detail"]
    code = ledger.consent(holder, "100", merchant="shop")
    elsewhere = ledger.post("redeem", _redeem("100", "rival", "x2", code), "mall")
    assert elsewhere.status_code == 403
    assert "only its own merchant accounts (shop)" in elsewhere.json()["detail"]
    more = ledger.post("redeem", _redeem("101", "shop", "x3", code), "mall")
    assert more.status_code == 403 and "at most 100.000 points" in more.json()["detail"]
    return code


def test_redemption_needs_consent_merchant_binding_and_names_both(tmp_path: Path) -> None:
    with api(tmp_path) as ledger:
        code = _consent_and_merchant(ledger)
        done = ledger.post("redeem", _redeem("100", "shop", "r1", code), "mall")
        assert done.status_code == 200, done.text
        entry = done.json()["entry"]
        assert entry["partner"] == "mall" and entry["consent"].startswith("c-")
        assert ledger.points("alice") == "740.000"
        again = ledger.post("redeem", _redeem("100", "shop", "r2", code), "mall")
        assert again.status_code == 403 and "used already" in again.json()["detail"]
        # a retry of the same request is answered from the record, not spent twice
        retry = ledger.post("redeem", _redeem("100", "shop", "r1", code), "mall")
        assert retry.status_code == 200 and retry.json()["replayed"] is True
        # an expired code is refused
        holder = cli("ledger", "account", "key", "alice", "--db", str(ledger.path)).strip()
        late = ledger.consent(holder, "5", seconds=60)
        store: Store = ledger.client.app.state.store  # type: ignore[attr-defined]
        store.con.execute(
            "UPDATE ledger_consents SET expires_at = ? WHERE used_at IS NULL",
            [datetime.now(UTC) - timedelta(seconds=1)],
        )
        expired = ledger.post("redeem", _redeem("5", "shop", "r3", late), "mall")
        assert expired.status_code == 403 and "expired" in expired.json()["detail"]
        # the partner and the consent are inside the hash: blanking either is found
        assert ledger.client.get("/api/v1/ledger/verify").json()["ok"] is True
        seq = entry["seq"]
        store.con.execute("UPDATE ledger_entries SET partner = '' WHERE seq = ?", [seq])
        check = ledger.client.get("/api/v1/ledger/verify").json()
        assert check["ok"] is False and check["bad_seq"] == seq
        store.con.execute("UPDATE ledger_entries SET partner = 'mall' WHERE seq = ?", [seq])
        store.con.execute("UPDATE ledger_entries SET consent = 'c-other' WHERE seq = ?", [seq])
        assert ledger.client.get("/api/v1/ledger/verify").json()["bad_seq"] == seq


def test_donations_need_consent_and_pools_their_administrators(tmp_path: Path) -> None:
    with api(tmp_path) as ledger:
        # an admin may not move a holder's points without the holder's consent either
        gift = {"account": "alice", "to": "green_pool", "points": "50", "key": "g1"}
        bare = ledger.post("donate", gift, "root")
        assert bare.status_code == 403 and "needs its holder's consent" in bare.json()["detail"]
        holder = cli("ledger", "account", "key", "alice", "--db", str(ledger.path)).strip()
        gift["consent"] = ledger.consent(holder, "50", merchant="green_pool")
        assert ledger.post("donate", gift, "root").status_code == 200
        spend = {"account": "green_pool", "to": "bob", "points": "10", "key": "g2"}
        refused = ledger.post("donate", spend, "root")
        assert refused.status_code == 403
        assert "only its administrators" in refused.json()["detail"]
        assert ledger.points("green_pool") == "50.000"
        cli("ledger", "pool", "admin", "green_pool", "root", "--db", str(ledger.path))
        assert ledger.post("donate", spend, "root").status_code == 200
        assert ledger.points("green_pool") == "40.000"


def test_one_code_is_spent_once_under_concurrent_redemptions(tmp_path: Path) -> None:
    """A real server process: ten redemptions race with the same code; one is applied."""
    path = tmp_path / "ledger.duckdb"
    tokens = make_ledger(path)
    cli("ledger", "partner", "bind", "mall", "shop", "--db", str(path))
    holder = cli("ledger", "account", "key", "alice", "--db", str(path)).strip()
    with served(path) as base:
        made = http_post(
            f"{base}/api/v1/ledger/consents",
            json={"account": "alice", "points": "80", "merchant": "shop"},
            headers={"X-Holder-Key": holder},
        )
        assert made.status_code == 201, made.text
        code = made.json()["code"]
        auth = {"Authorization": f"Bearer {tokens['mall']}"}

        def spend(i: int) -> int:
            body = _redeem("80", "shop", f"race-{i}", code)
            return http_post(f"{base}/api/v1/ledger/redeem", json=body, headers=auth).status_code

        with ThreadPoolExecutor(max_workers=10) as pool:
            statuses = sorted(pool.map(spend, range(10)))
        assert statuses == [200] + [403] * 9
    with Store(path) as store:
        assert store_ledger.balance(store, "alice").points == 760
        assert store_ledger.verify(store).ok
