"""entries_post_many: many entries in one transaction, each judged on its own; a refusal writes nothing for it."""

from __future__ import annotations

import pytest
from django.db import transaction

from ledger import selectors
from ledger.batch import MAX_ENTRIES_PER_BATCH, EntryRequest, entries_post_many
from ledger.errors import LedgerErrorCode
from ledger.hashing import entry_body_digest
from ledger.models import Account, JournalEntry, Posting
from ledger.sealing import seal_pending
from ledger.verification import verify_ledger
from tests.refusals import is_refusal, refused

# Every test runs on both posting paths (see the fixture).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("posting_path")]


def pay(key: str, debit: Account, credit: Account, amount: int, **kwargs) -> EntryRequest:
    return EntryRequest(idempotency_key=key, lines=[(debit, "debit", amount), (credit, "credit", amount)], **kwargs)


def test_a_batch_posts_every_entry_in_order_with_its_postings_and_digest(make_account, user):
    # given
    cash, revenue = make_account(), make_account()
    # when
    results = entries_post_many(
        actor=user,
        requests=[pay(f"sale-{n}", cash, revenue, 100 * n, memo=f"sale {n}", metadata={"n": n}) for n in (1, 2, 3)],
    )
    # then: three entries, in request order, each with its own postings, versions and balance after
    assert [r.ok for r in results] == [True, True, True]
    assert [r.replayed for r in results] == [False, False, False]
    entries = [r.entry for r in results]
    assert [e.idempotency_key for e in entries] == ["sale-1", "sale-2", "sale-3"]
    assert [e.pk for e in entries] == sorted(e.pk for e in entries)
    assert all(e.actor_id == user.pk for e in entries)
    stored = JournalEntry.objects.get(pk=entries[2].pk)
    assert stored.memo == "sale 3"
    assert stored.metadata == {"n": 3}
    assert stored.body_digest == entry_body_digest(stored, Posting.objects.filter(entry=stored))
    revenue_postings = list(Posting.objects.filter(account=revenue).order_by("account_version"))
    assert [(p.account_version, p.balance_after) for p in revenue_postings] == [(1, 100), (2, 300), (3, 600)]
    assert selectors.balance(revenue) == 600
    assert selectors.balance(cash) == -600
    assert seal_pending() == 3
    assert verify_ledger().ok


def test_a_refused_entry_writes_nothing_and_the_others_post(funded, make_account, user):
    # given: a wallet of 1,000 fen that may not go below zero
    _source, wallet = funded(1_000)
    shop = make_account()
    other_currency = make_account(currency="USD")
    entries_before = JournalEntry.objects.count()
    # when: a spend that fits, one that would overdraw, an unbalanced one, an unknown account, another
    # currency, and a spend that fits what is left
    results = entries_post_many(
        actor=user,
        requests=[
            pay("spend-1", wallet, shop, 600),
            pay("spend-2", wallet, shop, 600),
            EntryRequest(idempotency_key="bad", lines=[(wallet, "debit", 5), (shop, "credit", 4)]),
            pay("ghost", wallet, 999_999, 1),
            pay("usd", wallet, other_currency, 1),
            pay("spend-3", wallet, shop, 400),
        ],
    )
    # then: the second spend is refused because the first left 400; the last one fits exactly
    codes = [r.error.code if r.error else None for r in results]
    assert codes == [
        None,
        LedgerErrorCode.LIMIT_EXCEEDED,
        LedgerErrorCode.UNBALANCED_ENTRY,
        LedgerErrorCode.INVALID_ENTRY,
        LedgerErrorCode.CURRENCY_MISMATCH,
        None,
    ]
    assert all(r.entry is None for r in results if not r.ok)
    assert JournalEntry.objects.count() == entries_before + 2
    assert set(JournalEntry.objects.values_list("idempotency_key", flat=True)) >= {"spend-1", "spend-3"}
    assert not JournalEntry.objects.filter(idempotency_key__in=["spend-2", "bad", "ghost", "usd"]).exists()
    wallet.refresh_from_db()
    assert (wallet.posted_balance, wallet.version) == (0, 3)
    other_currency.refresh_from_db()
    assert other_currency.version == 0
    assert selectors.balance(shop) == 1_000
    assert verify_ledger().ok


def test_a_repeated_key_replays_within_a_batch_and_across_batches(make_account, user):
    # given
    a, b = make_account(), make_account()
    first = entries_post_many(actor=user, requests=[pay("k-1", a, b, 10)])[0].entry
    # when: the same request again, twice in one batch, and the key with another request
    results = entries_post_many(
        actor=user,
        requests=[pay("k-1", a, b, 10), pay("k-2", a, b, 20), pay("k-2", a, b, 20), pay("k-2", a, b, 21)],
    )
    # then
    assert results[0].replayed
    assert results[0].entry.pk == first.pk
    assert not results[1].replayed
    assert results[2].replayed
    assert results[2].entry.pk == results[1].entry.pk
    assert is_refusal(results[3].error, LedgerErrorCode.IDEMPOTENCY_CONFLICT)
    assert JournalEntry.objects.count() == 2
    assert selectors.balance(b) == 30


def test_a_batch_inside_a_callers_transaction_rolls_back_with_it(make_account):
    # given
    a, b = make_account(), make_account()
    # when
    posted_inside: list[bool] = []

    def post_then_fail() -> None:
        with transaction.atomic():
            results = entries_post_many(actor=None, requests=[pay("in-tx-1", a, b, 5), pay("in-tx-2", a, b, 6)])
            posted_inside.extend(r.ok for r in results)
            raise RuntimeError("the caller fails after the batch")

    with pytest.raises(RuntimeError):
        post_then_fail()
    assert posted_inside == [True, True]
    # then
    assert JournalEntry.objects.count() == 0
    a.refresh_from_db()
    assert a.version == 0


def test_an_empty_or_oversized_batch_is_refused_whole(make_account):
    # given
    a, b = make_account(), make_account()
    too_many = [pay(f"k-{n}", a, b, 1) for n in range(MAX_ENTRIES_PER_BATCH + 1)]
    # when / then
    with refused(LedgerErrorCode.INVALID_ENTRY):
        entries_post_many(actor=None, requests=[])
    with refused(LedgerErrorCode.INVALID_ENTRY):
        entries_post_many(actor=None, requests=too_many)
    assert JournalEntry.objects.count() == 0


def test_the_returned_entries_are_the_stored_rows_with_an_effective_time_kept(make_account, user):
    # given
    import datetime as dt

    a, b = make_account(), make_account()
    effective = dt.datetime(2026, 3, 1, 8, 0, 0, 7, tzinfo=dt.UTC)
    # when
    results = entries_post_many(
        actor=user,
        requests=[pay("e-1", a, b, 7, effective_at=effective), pay("e-2", a, b, 8, metadata={"名": ["券", 1]})],
    )
    # then
    for result in results:
        stored = JournalEntry.objects.get(pk=result.entry.pk)
        assert (result.entry.recorded_at, result.entry.effective_at) == (stored.recorded_at, stored.effective_at)
        assert result.entry.body_digest == stored.body_digest
        assert stored.body_digest == entry_body_digest(stored, Posting.objects.filter(entry=stored))
    assert JournalEntry.objects.get(idempotency_key="e-1").effective_at == effective
    assert JournalEntry.objects.get(idempotency_key="e-2").metadata == {"名": ["券", 1]}
    assert verify_ledger().ok


def test_an_unknown_account_is_named_in_the_refusal(make_account):
    # given
    a = make_account()
    # when
    [result] = entries_post_many(actor=None, requests=[pay("ghost", a, 987_654, 1)])
    # then
    assert is_refusal(result.error, LedgerErrorCode.INVALID_ENTRY)
    assert "987654" in str(result.error)
    a.refresh_from_db()
    assert a.version == 0
