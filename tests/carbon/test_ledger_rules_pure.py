"""The ledger's decisions as pure functions (expiry, issuance, holders' consents), checked
without a database against hand-worked cases; the store's operations call exactly these."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from ecobasin.carbon import ledger as core
from ecobasin.carbon import rules
from ecobasin.carbon.ledger import Draft, LedgerError

D = Decimal
RULES = rules.rule_set("ecobasin-inclusive", "2024.1")
NOW = datetime(2025, 3, 2, 2, 0, tzinfo=UTC)


def test_expiry_cut_is_the_cst_midnight_valid_months_before() -> None:
    cut = core.expiry_cut(date(2025, 3, 2), RULES)
    assert RULES.valid_months == 12
    assert cut.cutoff_day == date(2024, 3, 2)
    assert cut.cutoff == datetime(2024, 3, 1, 16, 0, tzinfo=UTC)  # 00:00 CST
    assert cut.when == datetime(2025, 3, 1, 16, 0, tzinfo=UTC)


def test_a_rule_set_without_validity_expires_nothing() -> None:
    with pytest.raises(LedgerError) as refused:
        core.expiry_cut(date(2025, 3, 2), replace(RULES, valid_months=0))
    assert refused.value.code == "no_expiry"


def test_expiry_takes_first_earned_first_spent() -> None:
    cut = core.expiry_cut(date(2025, 3, 2), RULES)
    credited = {"alice": D("840"), "bob": D("100"), "carol": D("50")}
    debited = {"alice": D("300"), "bob": D("100"), "carol": D("80")}
    drafts = core.expiry_drafts(cut, credited, debited, RULES)
    assert [(d.account, d.points) for d in drafts] == [("alice", D("540"))]
    assert drafts[0].idem_key == "expire:alice:2025-03-02"
    assert drafts[0].occurred_at == cut.when


def _period(**changes: object) -> core.MonitoringPeriod:
    period = core.MonitoringPeriod(D("12.5"), "verifier", "ER = BE - PE", date(2024, 1, 1),
                                   date(2024, 6, 30))  # fmt: skip
    return replace(period, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("period", "issued", "code"),
    [
        (None, False, "no_monitoring"),
        (_period(verified_by=None), False, "not_verified"),
        (_period(), True, "already_issued"),
        (_period(tonnes=D(0)), False, "nothing_to_issue"),
    ],
)
def test_issuance_refusals(period: core.MonitoringPeriod | None, issued: bool, code: str) -> None:
    with pytest.raises(LedgerError) as refused:
        core.issuance_draft("pv1", "2024H1", "owner", period, issued)
    assert refused.value.code == code


def test_issuance_credits_the_tonnes_in_grams_to_the_owner_once() -> None:
    draft = core.issuance_draft("pv1", "2024H1", "owner", _period(), False)
    assert (draft.kind, draft.account, draft.grams) == ("issue", "owner", D("12500000.0"))
    assert draft.idem_key == "issue:pv1:2024H1"
    assert draft.occurred_at == datetime(2024, 6, 29, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("points", "grams", "seconds"),
    [(D("0.0001"), D(0), 60), (D(10), D(0), 0), (D(10), D(0), 601), (D(-1), D(0), 60)],
)
def test_consent_terms_out_of_range_are_refused(points: D, grams: D, seconds: int) -> None:
    with pytest.raises(LedgerError) as refused:
        core.check_consent_terms(points, grams, seconds)
    assert refused.value.code == "bad_consent"


def _draft(**changes: object) -> Draft:
    draft = Draft(kind="redeem", account="alice", points=D(50), grams=D(0), idem_key="k",
                  occurred_at=NOW, counterparty="m-cafe")  # fmt: skip
    return replace(draft, **changes)  # type: ignore[arg-type]


CONSENT = core.StoredConsent("c-1", "alice", "m-cafe", D(100), D(0), NOW + timedelta(minutes=5),
                             None)  # fmt: skip


@pytest.mark.parametrize(
    ("consent", "draft", "why"),
    [
        (CONSENT, _draft(), ""),
        (None, _draft(), "no consent has this code"),
        (CONSENT, _draft(account="bob"), "no consent has this code"),
        (replace(CONSENT, used_at=NOW), _draft(), "was used already"),
        (replace(CONSENT, expires_at=NOW), _draft(), "expired at"),
        (CONSENT, _draft(points=D(101)), "at most 100 points"),
        (CONSENT, _draft(grams=D(1)), "at most 0 g"),
        (CONSENT, _draft(counterparty="m-metro"), "is for m-cafe"),
    ],
)
def test_consent_refusal(consent: core.StoredConsent | None, draft: Draft, why: str) -> None:
    found = core.consent_refusal(consent, draft, NOW)
    assert (why in found) if why else found == ""
