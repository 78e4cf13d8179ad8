"""The ledger against real DuckDB files: idempotent import, balances, redemption, projects,
expiry, tampering found by verify, concurrent writers, a crash mid-write, the demo."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from ecobasin import catalog
from ecobasin.carbon import rules
from ecobasin.carbon.ledger import Draft, Event, LedgerError
from ecobasin.demo import ledger as ledger_demo
from ecobasin.store import Store, ledger_commit, ledger_tables
from ecobasin.store import ledger as store_ledger
from store_files import built_store_file, new_store_file

D = Decimal
T0 = datetime(2024, 3, 1, 0, 10, tzinfo=UTC)  # 08:10 CST


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    return Store(built_store_file(tmp_path / "ledger.duckdb", "ledger accounts", _accounts))


def _accounts(path: Path) -> None:
    """A new store with the five test accounts (copied for each test: fewer migrations)."""
    with Store(new_store_file(path)) as opened:
        for account, kind in (("alice", "person"), ("bob", "person"), ("shop", "merchant"),
                              ("solar", "organisation"), ("pool", "pool")):  # fmt: skip
            store_ledger.add_account(opened, account, kind, account)


def _metro(event_id: str, account: str = "alice", minutes: int = 0, km: str = "12") -> Event:
    when = T0 + timedelta(minutes=minutes)
    return Event(event_id, account, "metro", when, D(km), "metro_ticket", "", f"line {event_id}")


def test_record_is_idempotent_and_rejections_are_kept(store: Store) -> None:
    first = store_ledger.record_events(
        store, [_metro("m1"), _metro("m2", minutes=600)], None, "a.csv"
    )
    assert first.counts()["credited"] == 2 and first.points == D(1680)  # 2 × 840
    again = store_ledger.record_events(
        store, [_metro("m1"), _metro("m3", minutes=900)], None, "a.csv"
    )
    assert [e.idem_key for e in again.entries] == ["m3"]
    assert [(r.event.event_id, r.code) for r in again.rejections] == [("m1", "duplicate_event")]
    # metro cap 2 000 pt a day: the third trip (same CST day) earns 2000 − 1680 = 320 pt, and
    # 840 g × 320/840 = 320 g
    assert (again.entries[0].points, again.entries[0].grams) == (D(320), D(320))
    assert store_ledger.balance(store, "alice").points == D(2000)
    kept = store.rejected()
    assert list(zip(kept["source"], kept["record_ref"], kept["reason_code"], strict=True)) == [
        ("a.csv", "line m1", "duplicate_event")
    ]
    stored = store_ledger.stored_rule_sets(store)
    assert list(stored["sha256"]) == [rules.rule_set().sha256]


def test_cap_and_dedupe_hold_across_batches(store: Store) -> None:
    # 2024.1 still takes a self check-in as evidence of a metro trip (2024.2 does not)
    v1 = rules.rule_set(version="2024.1")
    walk = Event("w1", "alice", "walking", T0, D(16000), "phone_steps", "", "w1")
    store_ledger.record_events(store, [walk, _metro("m1")], v1)  # walk: 32 pt of the 40 cap
    plates = [
        Event(f"p{i}", "alice", "clean_plate", T0, D(1), "canteen_pos", "", f"p{i}")
        for i in range(4)
    ]
    store_ledger.record_events(store, plates[:2], v1)
    later = store_ledger.record_events(
        store,
        [
            Event("w2", "alice", "walking", T0, D(2000), "wearable", "", "w2"),  # same day
            *plates[2:],
            Event(
                "c1", "alice", "metro", T0 + timedelta(minutes=5), D(12), "self_checkin", "", "c1"
            ),
        ],
        v1,
    )
    assert [e.idem_key for e in later.entries] == ["p2"]  # 3rd plate: 15 pt cap reached
    codes = {r.event.event_id: r.code for r in later.rejections}
    assert codes == {"w2": "same_behaviour", "p3": "daily_cap", "c1": "same_behaviour"}


def test_redeem_refuses_overdraw_and_replays(store: Store) -> None:
    store_ledger.record_events(store, [_metro("m1")])  # 840 pt
    done = store_ledger.redeem(store, "alice", D(600), "shop", key="k1")
    replay = store_ledger.redeem(store, "alice", D(600), "shop", key="k1")
    assert replay.replayed and replay.entries[0].seq == done.entries[0].seq
    with pytest.raises(LedgerError) as caught:
        store_ledger.redeem(store, "alice", D(241), "shop", key="k2")
    assert caught.value.code == "insufficient_points"
    assert "has 240.000 points; a redeem of 241" in str(caught.value)
    with pytest.raises(LedgerError) as reused:
        store_ledger.redeem(store, "alice", D(10), "shop", key="k1")
    assert reused.value.code == "key_reused"
    assert store_ledger.balance(store, "alice").points == D(240)
    assert store_ledger.head(store)[0] == 2


def test_donate_moves_points_and_grams(store: Store) -> None:
    store_ledger.record_events(store, [_metro("m1")])
    store_ledger.donate(store, "alice", "pool", points=D(100), grams=D(40), key="d1")
    held = store_ledger.balances(store)
    assert (held["alice"].points, held["alice"].grams) == (D(740), D(800))
    assert (held["pool"].points, held["pool"].grams) == (D(100), D(40))
    with pytest.raises(LedgerError, match="unknown account"):
        store_ledger.donate(store, "alice", "nobody", points=D(1), key="d2")


def test_expiry_by_rule(store: Store) -> None:
    store_ledger.record_events(store, [_metro("m1")])  # 840 pt on 2024-03-01
    store_ledger.redeem(store, "alice", D(300), key="r1")
    early = store_ledger.expire(store, date(2025, 3, 1))  # cutoff 2024-03-01: not before it
    assert early.entries == []
    done = store_ledger.expire(store, date(2025, 3, 2))  # 12 months: cutoff 2024-03-02
    assert [(e.account, e.points) for e in done.entries] == [("alice", D(540))]
    assert store_ledger.expire(store, date(2025, 3, 2)).entries == []
    assert store_ledger.balance(store, "alice").points == D(0)


def test_projects_issue_once_for_verified_periods(store: Store) -> None:
    store_ledger.register_project(store, "pv1", "PV", "photovoltaic", "solar")
    store_ledger.monitor(store, "pv1", "2024H1", date(2024, 1, 1), date(2024, 6, 30),
                         {"net_generation_mwh": "1000"})  # fmt: skip
    with pytest.raises(LedgerError) as caught:
        store_ledger.issue(store, "pv1", "2024H1")
    assert caught.value.code == "not_verified"
    store_ledger.monitor(store, "pv1", "2024H1", date(2024, 1, 1), date(2024, 6, 30),
                         {"net_generation_mwh": "1000"}, verified_by="CQC")  # fmt: skip
    entry = store_ledger.issue(store, "pv1", "2024H1")
    assert (entry.kind, entry.account, entry.grams) == ("issue", "solar", D("156400000.000"))
    for again in (
        lambda: store_ledger.issue(store, "pv1", "2024H1"),
        lambda: store_ledger.monitor(store, "pv1", "2024H1", date(2024, 1, 1),
                                     date(2024, 6, 30), {"net_generation_mwh": "2000"}, "X"),
    ):  # fmt: skip
        with pytest.raises(LedgerError) as twice:
            again()
        assert twice.value.code == "already_issued"
    store_ledger.retire(store, "solar", D(50_000_000), "event offset", key="t1")
    with pytest.raises(LedgerError) as over:
        store_ledger.retire(store, "solar", D(106_400_001), "too much", key="t2")
    assert over.value.code == "insufficient_grams"
    summary = store_ledger.summary(store)
    assert (summary["issued_t"], summary["retired_t"]) == (D("156.4"), D(50))
    assert summary["grams_in_circulation"] == D(106_400_000)


def _raw(path: Path, sql: str) -> None:
    con = duckdb.connect(str(path))
    con.execute(sql)
    con.close()


def _filled(tmp_path: Path) -> Path:
    with Store(new_store_file(tmp_path / "t.duckdb")) as opened:
        store_ledger.add_account(opened, "alice", "person", "Alice")
        store_ledger.record_events(
            opened, [_metro(f"m{i}", minutes=40 * i, km="1") for i in range(6)]
        )
        assert store_ledger.verify(opened).checked == 6
    return tmp_path / "t.duckdb"


@pytest.mark.parametrize(
    ("sql", "bad_seq", "words"),
    [
        ("UPDATE ledger_entries SET points = points + 1 WHERE seq = 3", 3, "content altered"),
        ("UPDATE ledger_entries SET account = 'bob' WHERE seq = 5", 5, "content altered"),
        ("DELETE FROM ledger_entries WHERE seq = 4", 4, "entry 4 is missing"),
        ("DELETE FROM ledger_entries WHERE seq = 6", 6, "head says entry 6"),
        (
            "UPDATE ledger_entries SET seq = CASE seq WHEN 2 THEN 3 ELSE 2 END WHERE seq IN (2, 3)",
            2,
            "prev_hash does not match",
        ),
    ],
)
def test_tampering_in_sql_is_found(tmp_path: Path, sql: str, bad_seq: int, words: str) -> None:
    path = _filled(tmp_path)
    _raw(path, sql)
    with Store(path) as opened:
        result = store_ledger.verify(opened)
    assert (result.ok, result.bad_seq) == (False, bad_seq)
    assert words in result.reason


def test_concurrent_redemptions_never_overdraw(store: Store) -> None:
    store_ledger.record_events(store, [_metro("m1", km="10")])  # 700 pt
    outcomes: list[str] = []

    def spend(i: int) -> None:
        view = store.reader()
        try:
            store_ledger.redeem(view, "alice", D(100), "shop", key=f"k{i}")
            outcomes.append("ok")
        except LedgerError as error:
            outcomes.append(error.code)
        finally:
            view.con.close()

    threads = [threading.Thread(target=spend, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes).count("ok") == 7
    assert outcomes.count("insufficient_points") == 9
    assert store_ledger.balance(store, "alice").points == D(0)
    assert store_ledger.verify(store).ok


def test_two_writers_never_fork_the_chain(store: Store) -> None:
    def write(prefix: str) -> None:
        view = store.reader()
        try:
            for i in range(30):
                event = _metro(f"{prefix}{i}", account=prefix, minutes=40 * i, km="1")
                store_ledger.record_events(view, [event])
        finally:
            view.con.close()

    threads = [threading.Thread(target=write, args=(name,)) for name in ("alice", "bob")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result = store_ledger.verify(store)
    assert result.ok and result.checked == 60
    seqs = list(store_ledger.entries(store)["seq"])
    assert seqs == list(range(1, 61))


CRASH = """
import os, sys
from datetime import UTC, datetime
from decimal import Decimal
from ecobasin.carbon.ledger import Event
from ecobasin.store import Store
from ecobasin.store import ledger as L
store = Store(sys.argv[1])
L.add_account(store, "alice", "person", "Alice")
t = datetime(2024, 3, 1, tzinfo=UTC)
L.record_events(store, [Event("m1", "alice", "metro", t, Decimal(12), "metro_ticket")])
with store.transaction():
    L.record_events(store, [Event("m2", "alice", "bus", t, Decimal(8), "transit_card")])
    os._exit(3)  # the process dies before COMMIT
"""


def test_crash_mid_write_leaves_the_ledger_valid(tmp_path: Path) -> None:
    path = tmp_path / "crash.duckdb"
    done = subprocess.run([sys.executable, "-c", CRASH, str(path)], check=False, timeout=120)
    assert done.returncode == 3
    with Store(path) as opened:
        result = store_ledger.verify(opened)
        assert result.ok and result.checked == 1
        assert store_ledger.balance(opened, "alice").points == D(840)
        again = store_ledger.record_events(
            opened, [Event("m2", "alice", "bus", T0, D(8), "transit_card")]
        )
        assert [e.seq for e in again.entries] == [2]  # m2 was never recorded
        assert store_ledger.verify(opened).ok


def test_changed_rule_set_under_same_version_is_refused(store: Store) -> None:
    store_ledger.record_events(store, [_metro("m1")])
    content = dict(rules.rule_set().content)
    content["name_en"] = "edited"
    with pytest.raises(rules.RuleError, match="a used version is frozen"):
        store_ledger.record_events(
            store, [_metro("m2", minutes=100)], rules.parse_rule_set(content)
        )


def test_demo_installs_once(tmp_path: Path) -> None:
    with Store(tmp_path / "demo.duckdb") as opened:
        region = catalog.load_region()
        opened.sync_catalog(region)
        counts = ledger_demo.install(opened, region.cities, residents=40)
        assert counts["accounts"] == 46 and counts["credited"] > 1000
        assert counts["reasons"]["duplicate_event"] == 10
        assert counts["reasons"]["evidence_not_accepted"] > 0  # self check-ins (2024.2)
        again = ledger_demo.install(opened, region.cities, residents=40)
        assert again["credited"] == 0 and again["head"] == counts["head"]
        assert store_ledger.verify(opened).ok
        summary = store_ledger.summary(opened)
        # PV: 2 400 MWh × 0.1564 = 375.36 t issued; 100 t retired for the marathon
        assert (summary["issued_t"], summary["retired_t"]) == (D("375.36"), D(100))


def _redeem_draft(key: str, points: str, account: str = "alice") -> Draft:
    return Draft("redeem", account, D(points), D(0), key, T0, counterparty="shop")


def test_group_commit_decides_each_request_on_its_own(store: Store) -> None:
    store_ledger.record_events(store, [_metro("m1", km="10")])  # alice: 700 pt
    requests = [
        ledger_commit._Request([_redeem_draft("g1", "500")]),
        ledger_commit._Request([_redeem_draft("g2", "300")]),  # 200 left after g1: refused
        ledger_commit._Request([_redeem_draft("g1", "500")]),  # a retry of g1 in the same batch
        ledger_commit._Request([_redeem_draft("g1", "5")]),  # g1 reused for another movement
        ledger_commit._Request([_redeem_draft("g3", "1", account="nobody")]),
        ledger_commit._Request([_redeem_draft("g4", "200")]),
    ]
    with ledger_tables._lock(store):
        ledger_commit._commit(store, requests)
    codes = [getattr(r.error, "code", None) for r in requests]
    assert codes == [None, "insufficient_points", None, "key_reused", "unknown_account", None]
    first, retry, last = requests[0].result, requests[2].result, requests[5].result
    assert first is not None and retry is not None and last is not None
    assert retry.replayed and retry.entries == first.entries
    assert [first.entries[0].seq, last.entries[0].seq] == [2, 3]  # one batch, one chain
    assert store_ledger.balance(store, "alice").points == D(0)
    assert store_ledger.verify(store).ok


def test_concurrent_appends_share_commits_and_keep_the_chain(store: Store) -> None:
    store_ledger.record_events(store, [_metro("m1", km="10")])  # alice: 700 pt
    outcomes: list[str] = []
    seqs: list[int] = []

    def spend(i: int) -> None:
        view = store.reader()
        try:
            for j in range(5):  # 40 threads × 5 × 3 pt = 600 pt of the 700, then a replay
                done = store_ledger.redeem(view, "alice", D(3), "shop", key=f"c{i}-{j}")
                seqs.extend(e.seq for e in done.entries)
            again = store_ledger.redeem(view, "alice", D(3), "shop", key=f"c{i}-0")
            outcomes.append("replayed" if again.replayed else "written")
        finally:
            view.con.close()

    threads = [threading.Thread(target=spend, args=(i,)) for i in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == ["replayed"] * 40
    assert sorted(seqs) == list(range(2, 202))
    assert store_ledger.balance(store, "alice").points == D(100)
    result = store_ledger.verify(store)
    assert result.ok and result.checked == 201


def test_group_writer_sees_other_writers(store: Store) -> None:
    """The writer's remembered balances are dropped when another writer moved the head."""
    store_ledger.record_events(store, [_metro("m1", km="10")])  # 700
    store_ledger.redeem(store, "alice", D(600), "shop", key="x1")  # remembered: 100
    store_ledger.record_events(store, [_metro("m2", minutes=600, km="10")])  # +700 elsewhere
    store_ledger.redeem(store, "alice", D(750), "shop", key="x2")  # needs the 800
    with pytest.raises(LedgerError, match=r"has 50\.000 points"):
        store_ledger.redeem(store, "alice", D(51), "shop", key="x3")
    assert store_ledger.verify(store).ok


def test_append_inside_a_callers_transaction_commits_with_it(store: Store) -> None:
    store_ledger.record_events(store, [_metro("m1", km="10")])  # 700
    store_ledger.redeem(store, "alice", D(100), "shop", key="t1")
    with pytest.raises(RuntimeError), store.transaction():
        again = store_ledger.redeem(store, "alice", D(100), "shop", key="t1")  # a replay
        assert again.replayed
        store_ledger.redeem(store, "alice", D(100), "shop", key="t2")
        raise RuntimeError("the caller gives up: nothing of its transaction stays")
    assert store_ledger.balance(store, "alice").points == D(600)
    done = store_ledger.redeem(store, "alice", D(100), "shop", key="t2")
    assert not done.replayed and done.entries[0].seq == 3
    assert store_ledger.verify(store).ok


GROUP_CRASH = """
import os, sys, threading
from decimal import Decimal
from ecobasin.store import Store
from ecobasin.store import ledger as L
store = Store(sys.argv[1])
answered = []
guard = threading.Lock()

def spend(t):
    view = store.reader()
    for j in range(1000):
        key = f"c{t}-{j}"
        L.redeem(view, "alice", Decimal(1), "shop", key=key)
        with guard:
            answered.append(key)
            print(key, flush=True)
            if len(answered) == 150:
                os._exit(3)  # the process dies while other requests are queued or committing

for t in range(12):
    threading.Thread(target=spend, args=(t,)).start()
"""


def test_crash_during_group_commits_keeps_every_answered_entry(store: Store) -> None:
    store_ledger.record_events(store, [_metro("m1", km="10")])  # 700 pt
    path = store.path
    store.close()
    done = subprocess.run(
        [sys.executable, "-c", GROUP_CRASH, str(path)],
        check=False, timeout=300, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    answered = done.stdout.split()
    assert len(answered) == 150
    with Store(path) as opened:
        result = store_ledger.verify(opened)
        keys = set(store_ledger.entries(opened, kinds=["redeem"])["idem_key"])
        assert result.ok and result.checked == 1 + len(keys)
        assert set(answered) <= keys  # answered means committed
        assert store_ledger.balance(opened, "alice").points == D(700 - len(keys))


def _hash_before_12(row: dict[str, object]) -> str:
    """The hash as written before migration 12: sorted-key JSON of the 18 first fields."""
    import hashlib
    import json

    body = {k: v for k, v in row.items() if k != "hash"}
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def test_chains_written_before_migration_12_still_verify(tmp_path: Path) -> None:
    from ecobasin.store.migrations import MIGRATIONS

    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, "
                "description VARCHAR, applied_at TIMESTAMPTZ)")  # fmt: skip
    for version, description, sql in MIGRATIONS:
        if version < 12:
            con.execute(sql)
            con.execute("INSERT INTO schema_version VALUES (?, ?, now())", [version, description])
    prev = "0" * 64
    for seq, (kind, points) in enumerate((("earn", "840.000"), ("redeem", "40.000")), start=1):
        row: dict[str, object] = {
            "seq": seq, "prev_hash": prev, "kind": kind, "account": "alice",
            "counterparty": "shop" if kind == "redeem" else "", "points": points,
            "grams": "840.000" if kind == "earn" else "0.000", "rule_set": "", "rule_version": "",
            "behaviour": "", "evidence_source": "", "evidence_ref": "", "idem_key": f"k{seq}",
            "dedupe_key": "", "occurred_at": "2024-03-01T00:10:00.000000Z",
            "recorded_at": "2024-03-01T00:10:00.000000Z", "detail": "",
        }  # fmt: skip
        row["hash"] = prev = _hash_before_12(row)
        con.execute(
            "INSERT INTO ledger_entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "?, ?)",
            [row[k] for k in ("seq", "prev_hash", "hash", "kind", "account", "counterparty",
             "points", "grams", "rule_set", "rule_version", "behaviour", "evidence_source",
             "evidence_ref", "idem_key", "dedupe_key", "occurred_at", "recorded_at", "detail")],
        )  # fmt: skip
    con.execute("INSERT INTO ledger_head VALUES (1, 2, ?, now())", [prev])
    con.execute("INSERT INTO ledger_accounts VALUES ('alice', 'person', 'A', NULL, now()), "
                "('shop', 'merchant', 'S', NULL, now())")  # fmt: skip
    con.close()
    with Store(path) as store:  # migration 12 runs
        assert store.schema_version >= 12
        assert store_ledger.verify(store).ok
        holder = store_ledger.issue_holder_key(store, "alice")
        consent = store_ledger.create_consent(store, "alice", holder, D(5))
        done = store_ledger.redeem(
            store, "alice", D(5), "shop", "k3", partner="mall", consent_code=consent.code
        )
        assert (done.entries[0].partner, done.entries[0].consent) == ("mall", consent.consent_id)
        result = store_ledger.verify(store)
        assert result.ok and result.checked == 3
        store.con.execute("UPDATE ledger_entries SET points = 39 WHERE seq = 2")
        assert store_ledger.verify(store).bad_seq == 2
