"""entry_reverse: a mirror entry, once per entry, subject to limits."""

from __future__ import annotations

import pytest

from ledger import selectors, services
from ledger.errors import LedgerErrorCode
from tests.refusals import refused
from tests.snapshots import ledger_snapshot

# Every test runs on both posting paths (see the fixture).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("posting_path")]


def test_reversal_restores_balances_and_links_the_original(funded, make_account, user):
    # given
    _, wallet = funded(1_000)
    shop = make_account()
    sale = services.entry_post(
        actor=None, idempotency_key="sale", lines=[(wallet, "debit", 400), (shop, "credit", 400)]
    )
    # when
    reversal = services.entry_reverse(sale, actor=user, idempotency_key="undo-sale")
    # then
    assert reversal.reverses_id == sale.pk
    assert selectors.balance(wallet) == 1_000
    assert selectors.balance(shop) == 0
    assert sale.reversed_by == reversal


def test_a_second_reversal_is_refused(funded, make_account):
    # given
    _, wallet = funded(1_000)
    shop = make_account()
    sale = services.entry_post(
        actor=None, idempotency_key="sale", lines=[(wallet, "debit", 400), (shop, "credit", 400)]
    )
    services.entry_reverse(sale, actor=None, idempotency_key="undo-1")
    before = ledger_snapshot()
    # when
    with refused(LedgerErrorCode.ALREADY_REVERSED):
        services.entry_reverse(sale, actor=None, idempotency_key="undo-2")
    # then
    assert ledger_snapshot() == before


def test_reversal_replays_with_the_same_key(funded, make_account):
    # given
    _, wallet = funded(1_000)
    shop = make_account()
    sale = services.entry_post(
        actor=None, idempotency_key="sale", lines=[(wallet, "debit", 400), (shop, "credit", 400)]
    )
    first = services.entry_reverse(sale, actor=None, idempotency_key="undo")
    # when
    again = services.entry_reverse(sale, actor=None, idempotency_key="undo")
    # then
    assert again.pk == first.pk


def test_reversal_that_would_break_a_limit_is_refused(funded, make_account):
    # given: the funding is reversed after the wallet has spent part of it
    _source, wallet = funded(1_000)
    shop = make_account()
    funding = selectors.entry_get_by_key(f"fund-{wallet.code}")
    assert funding is not None
    services.entry_post(actor=None, idempotency_key="spend", lines=[(wallet, "debit", 600), (shop, "credit", 600)])
    before = ledger_snapshot()
    # when
    with refused(LedgerErrorCode.LIMIT_EXCEEDED):
        services.entry_reverse(funding, actor=None, idempotency_key="claw-back")
    # then
    assert ledger_snapshot() == before
