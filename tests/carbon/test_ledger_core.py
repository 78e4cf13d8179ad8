"""The pure ledger core: rule credits hand-computed from the shipped rule data
(``catalog/data/carbon/inclusive/ecobasin-inclusive-2024.1.toml``), caps, deduplication, the hash
chain and its verification, balances, expiry, methodologies."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from ecobasin.carbon import ledger as core
from ecobasin.carbon import rules
from ecobasin.carbon.ledger import Balance, Draft, EarnState, Event, LedgerError

D = Decimal
RULES = rules.rule_set("ecobasin-inclusive", "2024.1")
T0 = datetime(2024, 3, 1, 0, 10, tzinfo=UTC)  # 08:10 CST, 2024-03-01


def _event(
    event_id: str,
    behaviour: str,
    quantity: str,
    source: str,
    at: datetime = T0,
    account: str = "alice",
) -> Event:
    return Event(event_id, account, behaviour, at, D(quantity), source, "", event_id)


def _state(*accounts: str) -> EarnState:
    return EarnState(accounts=set(accounts or ("alice",)), now=datetime(2025, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    ("behaviour", "quantity", "grams", "points"),
    [
        # 12 000 / 500 × 8.2 g = 196.8 g; 24 full blocks × 1 pt (绿芽积分)
        ("walking", "12000", "196.800", "24"),
        ("walking", "499", "8.184", "0"),  # 499/500 × 8.2; no full block
        # 12 km × (0.1 − 0.03) kg/pkm = 0.84 kg = 840 g; 1 pt/g (碳碳星球)
        ("metro", "12", "840.000", "840"),
        ("bus", "8", "480.000", "480"),  # 8 × (0.1 − 0.04) = 0.48 kg
        ("cycling", "3.5", "350.000", "350"),  # 3.5 × 0.1 = 0.35 kg
        ("cycling", "0.0123", "1.230", "1"),  # 1.23 g → 1 whole point (rounded down)
        # 30 km × 7.5/100 L/km × 2.3 kg/L = 5.175 kg; 50 pt per day (not proportional)
        ("car_free_day", "1", "5175.000", "50"),
        ("clean_plate", "1", "144.000", "5"),  # 绿芽积分: 144 g → 5 pt
        ("old_clothes", "2.5", "3200.000", "75"),  # 2.5 kg × 1 280 g; 2.5 × 30 pt
        ("garbage_sorting", "1", "0.000", "5"),  # points only
    ],
)
def test_rule_credits(behaviour: str, quantity: str, grams: str, points: str) -> None:
    credit = RULES.rule(behaviour).credit(D(quantity))
    assert (str(credit.grams), str(credit.points)) == (grams, points)


def test_rule_set_is_versioned_by_content() -> None:
    content = json.loads(json.dumps(RULES.content))
    same = rules.parse_rule_set(content)
    assert same.sha256 == RULES.sha256
    content["behaviours"]["metro"]["mode_ef_kg_per_pkm"] = "0.02"
    changed = rules.parse_rule_set(content)
    assert changed.sha256 != RULES.sha256
    assert changed.rule("metro").credit(D(12)).grams == D("960.000")  # 12 × 0.08 kg


def test_bad_rule_sets_are_refused() -> None:
    content = json.loads(json.dumps(RULES.content))
    del content["behaviours"]["metro"]["evidence"]
    with pytest.raises(rules.RuleError, match="behaviour metro: name the evidence"):
        rules.parse_rule_set(content)
    content = json.loads(json.dumps(RULES.content))
    content["behaviours"]["bus"]["method"] = "teleport"
    with pytest.raises(rules.RuleError, match="method 'teleport'"):
        rules.parse_rule_set(content)
    with pytest.raises(rules.RuleError, match="no behaviour 'flying'"):
        RULES.rule("flying")
    with pytest.raises(rules.RuleError, match="steps must be whole"):
        RULES.rule("walking").credit(D("10.5"))


def test_daily_cap_truncates_then_refuses() -> None:
    # walking cap 40 pt: 30 000 steps would earn 60 pt and 492 g; capped to 40 pt and
    # 492 × 40/60 = 328 g. Clean plate cap 15 pt: the fourth 5-pt meal of the day is refused.
    events = [
        _event("w1", "walking", "30000", "phone_steps"),
        *(
            _event(f"p{i}", "clean_plate", "1", "canteen_pos", T0 + timedelta(hours=i))
            for i in range(4)
        ),
    ]
    drafts, rejected = core.evaluate_events(events, RULES, _state())
    walk = next(d for d in drafts if d.behaviour == "walking")
    assert (walk.points, walk.grams) == (D(40), D("328.000"))
    assert json.loads(walk.detail)["capped_from"] == "60 pt, 492.000 g"
    plates = [d for d in drafts if d.behaviour == "clean_plate"]
    assert [d.points for d in plates] == [D(5)] * 3
    assert [(r.event.event_id, r.code) for r in rejected] == [("p3", "daily_cap")]


def test_cap_counts_by_china_standard_time_day() -> None:
    # 15:59 UTC is 23:59 CST on 1 March; 16:00 UTC is 00:00 CST on 2 March: a new day
    late = datetime(2024, 3, 1, 15, 59, tzinfo=UTC)
    events = [
        _event("a", "walking", "20000", "phone_steps", late),
        _event("b", "walking", "20000", "phone_steps", late + timedelta(minutes=1)),
    ]
    drafts, rejected = core.evaluate_events(events, RULES, _state())
    assert [d.points for d in drafts] == [D(40), D(40)] and not rejected


def test_same_behaviour_from_two_sources_counted_once() -> None:
    events = [
        _event("ticket-1", "metro", "12", "metro_ticket"),
        _event("checkin-1", "metro", "12", "self_checkin", T0 + timedelta(minutes=10)),
        _event("checkin-2", "metro", "12", "self_checkin", T0 + timedelta(minutes=45)),
        _event("ticket-2", "metro", "5", "metro_ticket", T0 + timedelta(minutes=5)),
        _event("steps-phone", "walking", "8000", "phone_steps"),
        _event("steps-watch", "walking", "9000", "wearable", T0 + timedelta(hours=3)),
    ]
    drafts, rejected = core.evaluate_events(events, RULES, _state())
    assert sorted(d.idem_key for d in drafts) == [
        "checkin-2", "steps-phone", "ticket-1", "ticket-2",
    ]  # fmt: skip
    reasons = {r.event.event_id: r.code for r in rejected}
    assert reasons == {"checkin-1": "same_behaviour", "steps-watch": "same_behaviour"}


def test_refusals_name_their_reason() -> None:
    events = [
        _event("e1", "metro", "12", "metro_ticket"),
        _event("e1", "metro", "12", "metro_ticket"),
        _event("e2", "metro", "12", "metro_ticket", account="bob"),
        _event("e3", "flying", "1", "app"),
        _event("e4", "metro", "12", "screenshot"),
        _event("e5", "metro", "12", "metro_ticket", datetime(2023, 12, 31, tzinfo=UTC)),
        _event("e6", "walking", "100.5", "phone_steps"),
        _event("e7", "walking", "0", "phone_steps"),
        _event("", "metro", "1", "metro_ticket"),
    ]
    drafts, rejected = core.evaluate_events(events, RULES, _state())
    assert [d.idem_key for d in drafts] == ["e1"]
    codes = {(r.event.event_id, r.code) for r in rejected}
    assert codes == {
        ("e1", "duplicate_event"),
        ("e2", "unknown_account"),
        ("e3", "unknown_behaviour"),
        ("e4", "evidence_not_accepted"),
        ("e5", "before_rule_set"),
        ("e6", "bad_quantity"),
        ("e7", "nothing_to_credit"),
        ("", "missing_event_id"),
    }


def _drafts() -> list[Draft]:
    t = datetime(2024, 3, 1, tzinfo=UTC)
    return [
        Draft("earn", "alice", D(840), D(840), "e1", t, behaviour="metro"),
        Draft("earn", "bob", D(24), D("196.8"), "e2", t, behaviour="walking"),
        Draft("redeem", "alice", D(600), D(0), "r1", t, counterparty="m-metro"),
        Draft("donate", "alice", D(100), D(40), "d1", t, counterparty="bob"),
        Draft("expire", "bob", D(24), D(0), "x1", t),
    ]


RECORDED = datetime(2024, 3, 2, 1, 2, 3, 456789, tzinfo=UTC)


def test_canonical_serialisation_and_hash_by_hand() -> None:
    entry = core.chain(0, core.GENESIS, _drafts()[:1], RECORDED)[0]
    body = {
        "account": "alice", "behaviour": "metro", "counterparty": "", "dedupe_key": "",
        "detail": "", "evidence_ref": "", "evidence_source": "", "grams": "840.000",
        "idem_key": "e1", "kind": "earn", "occurred_at": "2024-03-01T00:00:00.000000Z",
        "points": "840.000", "prev_hash": "0" * 64, "recorded_at": "2024-03-02T01:02:03.456789Z",
        "rule_set": "", "rule_version": "", "seq": 1,
    }  # fmt: skip
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert core.canonical(entry) == text.encode()
    assert entry.hash == hashlib.sha256(text.encode()).hexdigest()


def test_verify_names_the_first_bad_entry() -> None:
    chained = core.chain(0, core.GENESIS, _drafts(), RECORDED)
    last = (chained[-1].seq, chained[-1].hash)
    assert core.verify(chained, last).ok
    altered = [*chained[:2], replace(chained[2], points=D(6)), *chained[3:]]
    result = core.verify(altered, last)
    assert (result.ok, result.bad_seq) == (False, 3) and "content altered" in result.reason
    removed = [*chained[:2], *chained[3:]]
    result = core.verify(removed, last)
    assert (result.bad_seq, result.reason) == (3, "entry 3 is missing (the next stored entry is 4)")
    swapped = [replace(chained[2], seq=2), replace(chained[1], seq=3), *chained[3:]]
    assert core.verify([chained[0], *swapped], last).bad_seq == 2
    truncated = core.verify(chained[:4], last)
    assert (truncated.ok, truncated.bad_seq) == (
        False,
        5,
    ) and "head says entry 5" in truncated.reason
    # a tail rewritten with fresh hashes and head passes the chain, not a published head
    forged = core.chain(3, chained[2].hash, [replace(_drafts()[3], points=D(1))], RECORDED)
    rewritten = [*chained[:3], *forged]
    assert core.verify(rewritten, (4, forged[-1].hash)).ok
    anchored = core.verify(rewritten, (4, forged[-1].hash), f"4:{chained[3].hash}")
    assert (anchored.ok, anchored.bad_seq) == (False, 4)


def test_drafts_that_do_not_fit_their_kind() -> None:
    t = datetime(2024, 3, 1, tzinfo=UTC)
    cases = [
        (Draft("mint", "a", D(1), D(0), "k", t), "bad_kind"),
        (Draft("redeem", "a", D(-1), D(0), "k", t), "negative_amount"),
        (Draft("redeem", "a", D(0), D(0), "k", t), "empty_amount"),
        (Draft("donate", "a", D(1), D(0), "k", t), "no_counterparty"),
        (Draft("issue", "a", D(1), D(5), "k", t), "bad_amount"),
        (Draft("redeem", "a", D(1), D(0), "", t), "no_key"),
    ]
    for draft, code in cases:
        with pytest.raises(LedgerError) as caught:
            core.check_draft(draft)
        assert caught.value.code == code


def test_balances_never_negative() -> None:
    after = core.apply_balances({}, _drafts())
    # alice 840 − 600 − 100 = 140 pt, 840 − 40 = 800 g; bob 24 + 100 − 24 = 100 pt, 236.8 g
    assert after["alice"] == Balance(D(140), D(800))
    assert after["bob"] == Balance(D(100), D("236.8"))
    over = Draft("redeem", "alice", D(141), D(0), "r2", T0)
    with pytest.raises(
        LedgerError, match=r"account alice has 140\.000 points; a redeem of 141\.000"
    ):
        core.apply_balances(after, [over])
    retire = Draft("retire", "bob", D(0), D("236.9"), "t1", T0)
    with pytest.raises(LedgerError) as caught:
        core.apply_balances(after, [retire])
    assert caught.value.code == "insufficient_grams"


def test_expirable_first_earned_first_spent() -> None:
    assert core.expirable(D(500), D(200)) == D(300)
    assert core.expirable(D(500), D(700)) == D(0)


def test_events_csv_reader_keeps_bad_rows_aside() -> None:
    text = (
        "event_id,account,behaviour,time,quantity,source\n"
        "a,alice,metro,2024-03-01T08:10,12,metro_ticket\n"
        "b,alice,metro,yesterday,12,metro_ticket\n"
        "c,alice,metro,2024-03-01T09:00+08:00,twelve,metro_ticket\n"
    )
    events, bad = core.parse_events_csv(text, "e.csv")
    assert [e.event_id for e in events] == ["a"]
    assert events[0].occurred_at == T0  # naive time is China Standard Time
    assert [(r.event.ref, r.code) for r in bad] == [("line 3", "bad_row"), ("line 4", "bad_row")]
    assert "cannot read time 'yesterday'" in bad[0].reason
    with pytest.raises(LedgerError, match="missing column"):
        core.parse_events_csv("event_id,account\n", "e.csv")


def test_methodologies() -> None:
    # photovoltaic: BE = 1000 MWh × 0.1564 (Sichuan 2023 average) = 156.4 t (conformance case)
    pv = rules.methodology("photovoltaic").reduction({"net_generation_mwh": "1000"})
    assert pv.reduction_t == D("156.4")
    registered = rules.methodology("photovoltaic").reduction(
        {"net_generation_mwh": 1000}, D("0.5703")
    )
    assert registered.reduction_t == D("570.3")
    greenway = rules.methodology("greenway").reduction(
        {"baseline_t": "820", "project_t": "35", "leakage_t": "12"}
    )
    assert greenway.reduction_t == D(773)  # 820 − 35 − 12
    with pytest.raises(rules.RuleError, match="negative"):
        rules.methodology("greenway").reduction({"baseline_t": "10", "project_t": "11"})
    with pytest.raises(rules.RuleError, match="unknown methodology"):
        rules.methodology("perpetual_motion")


def test_local_day() -> None:
    assert core.local_day(datetime(2024, 3, 1, 16, 0, tzinfo=UTC)) == date(2024, 3, 2)


def test_batched_hashes_equal_entry_hashes() -> None:
    # quotes, backslashes, control characters and Chinese text escape as json.dumps does
    drafts = [
        Draft("earn", f"a{i}", D("12.5") * i, D("0.0005") * i, f'k"{i}\\',
                     T0 + timedelta(microseconds=7 * i), detail=f'{{"n":"步行\t{i}\\u"}}',
                     partner="mall" if i % 2 else "", consent="c-1" if i == 3 else "")
        for i in range(1, 6)
    ]  # fmt: skip
    chained = core.chain(0, core.GENESIS, drafts, T0)
    columns: dict[str, list[object]] = {k: [] for k in core.HASHED}
    for entry in chained:
        for name in core.HASHED:
            value = getattr(entry, name)
            if isinstance(value, D):
                value = f"{value:f}"
            elif isinstance(value, datetime):
                value = value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            columns[name].append(value)
    assert core.hashes(columns) == [e.hash for e in chained]


def test_partner_and_consent_are_hashed_only_when_set() -> None:
    plain = core.chain(0, core.GENESIS, [Draft("earn", "a", D(1), D(1), "k", T0)], T0)[0]
    body = json.loads(core.canonical(plain))
    assert "partner" not in body and "consent" not in body  # as before migration 12
    named = replace(plain, partner="mall")
    assert json.loads(core.canonical(named))["consent"] == ""
    assert core.entry_hash(named) != plain.hash


def test_amounts_are_quantised_before_the_balance_check() -> None:
    start = {"a": Balance(D(2), D(0))}
    drafts = [Draft("donate", "a", D("0.9995"), D(0), f"d{i}", T0, counterparty="b")
              for i in range(2)]  # fmt: skip
    after = core.apply_balances(start, drafts)
    assert after["a"].points == 0  # each stored as 1.000
    with pytest.raises(LedgerError, match="below the smallest unit"):
        core.check_draft(Draft("redeem", "a", D("0.0004"), D(0), "r", T0))
    with pytest.raises(LedgerError) as caught:
        core.check_draft(Draft("redeem", "a", D("1e30"), D(0), "r", T0))
    assert caught.value.code == "too_large"


def test_anomalies_use_a_robust_score() -> None:
    earned = {f"r{i}": D(10 + i % 3) for i in range(30)} | {"x": D(900), "y": D(14)}
    found = core.anomalies(earned)
    assert [a.account for a in found] == ["x"]
    assert found[0].median == 11 and found[0].spread == D("1.4826")
    assert core.anomalies({}) == []
