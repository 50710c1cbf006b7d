"""Idempotency keys: a repeat replays, a different request under the same key is a conflict."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from ledger import services
from ledger.errors import LedgerErrorCode
from ledger.models import JournalEntry
from tests.refusals import refused
from tests.snapshots import ledger_snapshot

# Every test runs on both posting paths (see the fixture).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("posting_path")]


def post(a, b, amount=100, key="k", **kwargs):
    return services.entry_post(
        actor=None, idempotency_key=key, lines=[(a, "debit", amount), (b, "credit", amount)], **kwargs
    )


def test_same_key_same_request_returns_the_original(make_account):
    # given
    a, b = make_account(), make_account()
    first = post(a, b)
    # when
    again = post(a, b)
    # then
    assert again.pk == first.pk
    assert JournalEntry.objects.count() == 1
    a.refresh_from_db()
    assert a.posted_debits == 100


def test_replay_does_not_depend_on_line_order(make_account):
    # given
    a, b = make_account(), make_account()
    first = services.entry_post(actor=None, idempotency_key="k", lines=[(a, "debit", 5), (b, "credit", 5)])
    # when
    again = services.entry_post(actor=None, idempotency_key="k", lines=[(b, "credit", 5), (a, "debit", 5)])
    # then
    assert again.pk == first.pk


def test_replay_still_works_when_the_limit_would_now_refuse(funded, make_account):
    # given: the original spend used all the money, so running it again would break the limit
    _, wallet = funded(100)
    shop = make_account()
    first = post(wallet, shop, 100, key="spend-all")
    # when
    again = post(wallet, shop, 100, key="spend-all")
    # then
    assert again.pk == first.pk


@pytest.mark.parametrize(
    "change",
    [
        {"amount": 101},
        {"memo": "other"},
        {"metadata": {"x": "1"}},
        {"effective_at": timezone.now() - dt.timedelta(days=1)},
    ],
)
def test_same_key_different_request_is_a_conflict(make_account, change):
    # given
    a, b = make_account(), make_account()
    post(a, b)
    before = ledger_snapshot()
    # when
    with refused(LedgerErrorCode.IDEMPOTENCY_CONFLICT) as raised:
        post(a, b, **change)
    # then
    assert raised.value.http_status == 409
    assert raised.value.code == "ledger_idempotency_conflict"
    assert ledger_snapshot() == before


def test_same_key_on_other_accounts_is_a_conflict(make_account):
    # given
    a, b, c = make_account(), make_account(), make_account()
    post(a, b)
    # when / then
    with refused(LedgerErrorCode.IDEMPOTENCY_CONFLICT):
        post(a, c)


def test_request_fingerprint_is_stored(make_account):
    a, b = make_account(), make_account()
    entry = post(a, b)
    assert len(entry.request_fingerprint) == 64


def test_the_key_is_unique_in_the_database(make_account):
    # given
    a, b = make_account(), make_account()
    entry = post(a, b)
    duplicate = JournalEntry(
        idempotency_key=entry.idempotency_key,
        request_fingerprint="x",
        effective_at=entry.effective_at,
        recorded_at=entry.recorded_at,
        body_digest="y",
    )
    # when / then
    with pytest.raises(IntegrityError), transaction.atomic():
        JournalEntry.objects.bulk_create([duplicate])
