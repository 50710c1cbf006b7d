"""Holds: pending amounts with an expiry, posted (fully or partly) or voided exactly once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from ledger import selectors, services
from ledger.errors import LedgerErrorCode
from ledger.models import Hold, HoldStatus, JournalEntry
from tests.refusals import refused
from tests.snapshots import ledger_snapshot

# Every test runs on both posting paths (see the fixture).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("posting_path")]


def in_minutes(minutes: int) -> dt.datetime:
    return timezone.now() + dt.timedelta(minutes=minutes)


@pytest.fixture
def hold_setup(funded, make_account):
    _, wallet = funded(10_000)
    shop = make_account()
    # One expiry per test: a retried request carries the same expiry, and it is part of the fingerprint.
    expiries = {minutes: in_minutes(minutes) for minutes in (1, 10)}

    def hold(amount: int = 4_000, key: str = "h1", minutes: int = 10) -> Hold:
        return services.hold_create(
            actor=None,
            idempotency_key=key,
            debit_account=wallet,
            credit_account=shop,
            amount=amount,
            expires_at=expiries[minutes],
        )

    return wallet, shop, hold


def test_hold_reserves_pending_amounts(hold_setup):
    # given
    wallet, shop, make_hold = hold_setup
    # when
    hold = make_hold(4_000)
    # then
    wallet_balance, shop_balance = selectors.account_balance(wallet), selectors.account_balance(shop)
    assert (wallet_balance.posted, wallet_balance.pending_debits, wallet_balance.available) == (10_000, 4_000, 6_000)
    assert shop_balance.pending_credits == 4_000
    assert hold.status == HoldStatus.PENDING


def test_hold_beyond_available_is_refused_without_trace(hold_setup):
    # given
    _, _, make_hold = hold_setup
    make_hold(6_000, key="first")
    before = ledger_snapshot()
    # when
    with refused(LedgerErrorCode.LIMIT_EXCEEDED):
        make_hold(4_001, key="second")
    # then
    assert ledger_snapshot() == before


def test_full_post_moves_money_and_releases_pending(hold_setup):
    # given
    wallet, shop, make_hold = hold_setup
    hold = make_hold(4_000)
    # when
    entry = services.hold_post(hold)
    # then
    hold.refresh_from_db()
    assert (hold.status, hold.posted_amount, hold.entry_id) == (HoldStatus.POSTED, 4_000, entry.pk)
    assert selectors.account_balance(wallet).pending_debits == 0
    assert selectors.balance(wallet) == 6_000
    assert selectors.balance(shop) == 4_000


def test_partial_post_releases_the_remainder(hold_setup):
    # given
    wallet, shop, make_hold = hold_setup
    hold = make_hold(4_000)
    # when
    services.hold_post(hold, amount=1_500)
    # then
    balance = selectors.account_balance(wallet)
    assert (balance.posted, balance.pending_debits) == (8_500, 0)
    assert selectors.account_balance(shop).pending_credits == 0


def test_void_releases_everything(hold_setup):
    # given
    wallet, _, make_hold = hold_setup
    hold = make_hold(4_000)
    # when
    services.hold_void(hold)
    # then
    hold.refresh_from_db()
    assert hold.status == HoldStatus.VOIDED
    assert selectors.account_balance(wallet).pending_debits == 0
    assert selectors.balance(wallet) == 10_000


@pytest.mark.parametrize("first", ["post", "void"])
@pytest.mark.parametrize("second", ["post", "void"])
def test_a_resolved_hold_is_refused_without_trace(hold_setup, first, second):
    # given
    _, _, make_hold = hold_setup
    hold = make_hold()
    getattr(services, f"hold_{first}")(hold)
    before = ledger_snapshot()
    # when
    with refused(LedgerErrorCode.HOLD_ALREADY_RESOLVED) as raised:
        getattr(services, f"hold_{second}")(hold)
    # then
    assert raised.value.http_status == 409
    assert ledger_snapshot() == before


@pytest.mark.parametrize("operation", ["post", "void"])
def test_an_expired_hold_is_refused_without_trace(hold_setup, operation):
    # given
    _, _, make_hold = hold_setup
    hold = make_hold(minutes=1)
    before = ledger_snapshot()
    # when
    with refused(LedgerErrorCode.HOLD_EXPIRED):
        getattr(services, f"hold_{operation}")(hold, now=in_minutes(2))
    # then
    assert ledger_snapshot() == before


@pytest.mark.parametrize("amount", [0, -1, 4_001])
def test_post_amount_out_of_range_is_refused(hold_setup, amount):
    # given
    _, _, make_hold = hold_setup
    hold = make_hold(4_000)
    before = ledger_snapshot()
    # when
    with refused(LedgerErrorCode.INVALID_AMOUNT):
        services.hold_post(hold, amount=amount)
    # then
    assert ledger_snapshot() == before


def test_hold_refusals_on_create(hold_setup, make_account):
    # given
    wallet, shop, _make_hold = hold_setup
    usd = make_account(currency="USD")
    before = ledger_snapshot()
    kwargs = {"actor": None, "idempotency_key": "bad", "expires_at": in_minutes(5)}
    # when / then
    with refused(LedgerErrorCode.INVALID_AMOUNT):
        services.hold_create(debit_account=wallet, credit_account=shop, amount=0, **kwargs)
    with refused(LedgerErrorCode.INVALID_ENTRY):
        services.hold_create(debit_account=wallet, credit_account=wallet, amount=1, **kwargs)
    with refused(LedgerErrorCode.CURRENCY_MISMATCH):
        services.hold_create(debit_account=wallet, credit_account=usd, amount=1, **kwargs)
    with refused(LedgerErrorCode.INVALID_ENTRY):
        services.hold_create(
            debit_account=wallet, credit_account=shop, amount=1, **{**kwargs, "expires_at": in_minutes(-1)}
        )
    assert ledger_snapshot() == before


def test_hold_create_is_idempotent(hold_setup):
    # given
    _, _, make_hold = hold_setup
    first = make_hold(4_000, key="same")
    # when
    again = make_hold(4_000, key="same")
    # then
    assert again.pk == first.pk
    assert Hold.objects.count() == 1
    with refused(LedgerErrorCode.IDEMPOTENCY_CONFLICT):
        make_hold(3_000, key="same")


def test_hold_post_entry_is_in_the_chain(hold_setup):
    # given
    _, _, make_hold = hold_setup
    hold = make_hold()
    # when
    entry = services.hold_post(hold, amount=100)
    # then
    assert JournalEntry.objects.order_by("-pk").first() == entry
    assert entry.idempotency_key == f"ledger:hold:{hold.pk}:post"
