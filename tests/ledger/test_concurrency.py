"""Real threads against PostgreSQL: limits hold under a race, ring transfers never deadlock, one key makes
one entry, and a hold resolves exactly once. Every test ends with a clean ``verify_ledger``."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import transaction
from django.utils import timezone

from ledger import selectors, services
from ledger.batch import EntryRequest, entries_post_many
from ledger.errors import LedgerErrorCode
from ledger.models import Account, Hold, HoldStatus, JournalEntry
from ledger.verification import verify_ledger
from tests.race_condition import race, run_in_thread, wait_for_lock_waiters
from tests.refusals import is_refusal

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def transfer(debit: Account, credit: Account, amount: int, key: str):
    return lambda: services.entry_post(
        actor=None, idempotency_key=key, lines=[(debit, "debit", amount), (credit, "credit", amount)]
    )


def test_32_threads_cannot_overdraw_a_limited_account(funded, make_account):
    # given: 10,000 fen and 32 spenders of 1,000 each
    _, wallet = funded(10_000)
    shops = [make_account() for _ in range(32)]
    # when
    outcomes = race([transfer(wallet, shop, 1_000, f"spend-{n}") for n, shop in enumerate(shops)])
    # then
    assert sum(o.ok for o in outcomes) == 10
    assert all(is_refusal(o.error, LedgerErrorCode.LIMIT_EXCEEDED) for o in outcomes if not o.ok)
    wallet.refresh_from_db()
    assert (wallet.posted_debits, wallet.posted_credits, wallet.posted_balance) == (10_000, 10_000, 0)
    assert verify_ledger().ok


def test_ring_transfers_never_deadlock(make_account):
    # given: eight accounts in a ring, each thread moving money to its neighbour, both directions mixed
    ring = [make_account() for _ in range(8)]
    calls = []
    for n in range(32):
        here, there = ring[n % 8], ring[(n + 1) % 8]
        debit, credit = (here, there) if n % 2 == 0 else (there, here)
        for round_ in range(5):
            calls.append(transfer(debit, credit, 1 + n, f"ring-{n}-{round_}"))
    # when
    outcomes = race(calls, threads=32)
    # then
    assert [o.error for o in outcomes if not o.ok] == []
    assert JournalEntry.objects.count() == 160
    assert sum(selectors.balance(a) for a in ring) == 0
    assert verify_ledger().ok


def test_one_hundred_requests_with_one_key_make_one_entry(make_account):
    # given
    a, b = make_account(), make_account()
    # when: 100 identical calls, 20 threads racing
    outcomes = race([transfer(a, b, 250, "the-key") for _ in range(100)], threads=20)
    # then
    assert [o.error for o in outcomes if not o.ok] == []
    assert {o.value.pk for o in outcomes} == {JournalEntry.objects.get().pk}
    assert selectors.balance(b) == 250
    assert verify_ledger().ok


def test_one_key_with_different_requests_makes_one_entry_and_conflicts(make_account):
    # given: half the callers send a different amount under the same key
    a, b = make_account(), make_account()
    calls = [transfer(a, b, 100 if n % 2 else 200, "contested") for n in range(40)]
    # when
    outcomes = race(calls, threads=20)
    # then
    entry = JournalEntry.objects.get()
    winners = [o for o in outcomes if o.ok]
    assert {o.value.pk for o in winners} == {entry.pk}
    assert len(winners) == 20
    assert all(is_refusal(o.error, LedgerErrorCode.IDEMPOTENCY_CONFLICT) for o in outcomes if not o.ok)


def test_concurrent_hold_creation_with_one_key_makes_one_hold(funded, make_account):
    _, wallet = funded(10_000)
    shop = make_account()
    expiry = timezone.now() + dt.timedelta(hours=1)

    def create():
        return services.hold_create(
            actor=None,
            idempotency_key="one-hold",
            debit_account=wallet,
            credit_account=shop,
            amount=700,
            expires_at=expiry,
        )

    outcomes = race([create for _ in range(30)], threads=15)
    assert [o.error for o in outcomes if not o.ok] == []
    assert Hold.objects.count() == 1
    assert selectors.account_balance(wallet).pending_debits == 700


@pytest.fixture
def open_holds(funded, make_account):
    _, wallet = funded(100_000)
    shop = make_account()
    expiry = timezone.now() + dt.timedelta(hours=1)
    return wallet, [
        services.hold_create(
            actor=None,
            idempotency_key=f"h{n}",
            debit_account=wallet,
            credit_account=shop,
            amount=1_000,
            expires_at=expiry,
        )
        for n in range(6)
    ]


def test_a_hold_posted_and_voided_at_once_resolves_exactly_once(open_holds):
    # given
    wallet, holds = open_holds
    calls = []
    for hold in holds:
        calls += [lambda hold=hold: services.hold_post(hold), lambda hold=hold: services.hold_void(hold)]
    # when
    outcomes = race(calls)
    # then: per hold, one call won and the other was told the hold is resolved
    for n, hold in enumerate(holds):
        post, void = outcomes[2 * n], outcomes[2 * n + 1]
        assert post.ok != void.ok
        loser = void if post.ok else post
        assert is_refusal(loser.error, LedgerErrorCode.HOLD_ALREADY_RESOLVED)
        hold.refresh_from_db()
        assert hold.status == (HoldStatus.POSTED if post.ok else HoldStatus.VOIDED)
    assert selectors.account_balance(wallet).pending_debits == 0
    assert verify_ledger().ok


def test_void_waiting_behind_a_post_sees_the_hold_resolved(open_holds):
    """Deterministic interleaving: the post holds the lock until the void is provably waiting for it."""
    # given
    _, holds = open_holds
    hold = holds[0]
    post_has_lock = threading.Event()

    def post_then_wait_for_the_void():
        with transaction.atomic(durable=True):
            entry = services.hold_post(hold)
            post_has_lock.set()
            wait_for_lock_waiters(1)
            return entry

    # when
    poster, posted = run_in_thread(post_then_wait_for_the_void)
    assert post_has_lock.wait(10)
    voider, voided = run_in_thread(lambda: services.hold_void(hold))
    poster.join(30)
    voider.join(30)
    # then
    assert posted.ok, posted.error
    assert is_refusal(voided.error, LedgerErrorCode.HOLD_ALREADY_RESOLVED)
    hold.refresh_from_db()
    assert hold.status == HoldStatus.POSTED


def test_sealers_racing_posters_link_every_entry_exactly_once(make_account):
    # given: 16 posting threads on a few accounts, and 4 sealer threads sealing as they go
    from ledger.models import ChainLink
    from ledger.sealing import seal_pending

    accounts = [make_account() for _ in range(6)]
    calls = []
    for n in range(80):
        debit, credit = accounts[n % 6], accounts[(n * 5 + 1) % 6]
        calls.append(transfer(debit, credit, 1 + n, f"sealed-{n}"))
    calls += [lambda: seal_pending(batch_size=7) for _ in range(12)]
    # when
    outcomes = race(calls, threads=20)
    # then
    assert [o.error for o in outcomes if not o.ok] == []
    report = verify_ledger()  # seals what is left, then checks the chain link by link
    assert report.ok, report.render()
    positions = list(ChainLink.objects.order_by("position").values_list("position", "entry_id"))
    assert [position for position, _ in positions] == list(range(1, 81))
    assert sorted(entry_id for _, entry_id in positions) == sorted(JournalEntry.objects.values_list("pk", flat=True))
    assert selectors.chain_head().height == 80


def test_batches_over_the_same_accounts_in_opposite_orders_never_deadlock(make_account):
    # given: sixteen batches, each moving money round eight accounts, half of them listing the ring backwards
    ring = [make_account() for _ in range(8)]

    def batch(n: int):
        order = ring if n % 2 == 0 else ring[::-1]
        requests = [
            EntryRequest(
                idempotency_key=f"batch-{n}-{k}",
                lines=[(order[k], "debit", 1 + n), (order[(k + 1) % 8], "credit", 1 + n)],
            )
            for k in range(8)
        ]
        return lambda: entries_post_many(actor=None, requests=requests)

    # when
    outcomes = race([batch(n) for n in range(16)], threads=16)
    # then
    assert [o.error for o in outcomes if not o.ok] == []
    assert all(result.ok for o in outcomes for result in o.value)
    assert JournalEntry.objects.count() == 128
    assert sum(selectors.balance(a) for a in ring) == 0
    assert verify_ledger().ok


def test_batches_racing_single_posts_cannot_overdraw_a_limited_account(funded, make_account):
    # given: 10,000 fen; eight batches of four 500-fen spends and sixteen single 500-fen spends (48 in all)
    _, wallet = funded(10_000)
    shop = make_account()

    def batch(n: int):
        requests = [
            EntryRequest(idempotency_key=f"b-{n}-{k}", lines=[(wallet, "debit", 500), (shop, "credit", 500)])
            for k in range(4)
        ]
        return lambda: entries_post_many(actor=None, requests=requests)

    calls = [batch(n) for n in range(8)] + [transfer(wallet, shop, 500, f"single-{n}") for n in range(16)]
    # when
    outcomes = race(calls, threads=24)
    # then: exactly twenty spends fit; every other one is a limit refusal that wrote nothing
    assert all(o.ok or is_refusal(o.error, LedgerErrorCode.LIMIT_EXCEEDED) for o in outcomes)
    batch_results = [result for o in outcomes[:8] for result in o.value]
    posted = sum(r.ok for r in batch_results) + sum(o.ok for o in outcomes[8:])
    assert posted == 20
    assert all(is_refusal(r.error, LedgerErrorCode.LIMIT_EXCEEDED) for r in batch_results if not r.ok)
    assert JournalEntry.objects.filter(idempotency_key__startswith="b-").count() == sum(r.ok for r in batch_results)
    wallet.refresh_from_db()
    assert wallet.posted_balance == 0
    assert verify_ledger().ok


def test_a_key_committed_by_a_twin_on_other_accounts_mid_batch_reruns_the_batch_and_conflicts(make_account):
    """Deterministic interleaving: a single post holds key "twin" uncommitted until the batch, which did not see
    the key, provably waits on it at its insert; the batch then reruns and refuses that entry alone."""
    # given
    x, y, p, q = (make_account() for _ in range(4))
    single_has_key = threading.Event()

    def post_then_wait_for_the_batch():
        with transaction.atomic(durable=True):
            entry = transfer(x, y, 5, "twin")()
            single_has_key.set()
            wait_for_lock_waiters(1)
            return entry

    batch_requests = [
        EntryRequest(idempotency_key="own-1", lines=[(p, "debit", 1), (q, "credit", 1)]),
        EntryRequest(idempotency_key="twin", lines=[(p, "debit", 2), (q, "credit", 2)]),
    ]
    # when
    single, posted = run_in_thread(post_then_wait_for_the_batch)
    assert single_has_key.wait(10)
    batcher, batched = run_in_thread(lambda: entries_post_many(actor=None, requests=batch_requests))
    single.join(30)
    batcher.join(30)
    # then
    assert posted.ok, posted.error
    assert batched.ok, batched.error
    own, twin = batched.value
    assert own.ok
    assert is_refusal(twin.error, LedgerErrorCode.IDEMPOTENCY_CONFLICT)
    assert JournalEntry.objects.get(idempotency_key="twin").pk == posted.value.pk
    assert selectors.balance(q) == 1
    assert verify_ledger().ok
