"""Point-in-time balances (one index lookup) agree with a replay of the journal; the trial balance balances."""

from __future__ import annotations

import random

import pytest
from django.utils import timezone

from ledger import selectors, services
from ledger.models import Direction, Posting

pytestmark = pytest.mark.django_db


def replayed_balance(account, as_of) -> int:
    """The slow, obviously-correct answer: sum every posting recorded up to ``as_of``."""
    total = 0
    for posting in Posting.objects.filter(account=account, entry__recorded_at__lte=as_of):
        total += posting.amount if posting.direction == Direction.CREDIT else -posting.amount
    return total


def test_point_in_time_balance_equals_journal_replay(make_account):
    # given: random transfers between four accounts, with a timestamp taken after each one
    rng = random.Random(7)
    accounts = [make_account() for _ in range(4)]
    moments = [timezone.now()]
    for n in range(25):
        debit, credit = rng.sample(accounts, 2)
        amount = rng.randint(1, 500)
        services.entry_post(
            actor=None, idempotency_key=f"t{n}", lines=[(debit, "debit", amount), (credit, "credit", amount)]
        )
        moments.append(timezone.now())
    # when / then
    for moment in moments:
        for account in accounts:
            assert selectors.balance(account, as_of=moment) == replayed_balance(account, moment)
    assert [selectors.balance(a, as_of=moments[-1]) for a in accounts] == [selectors.balance(a) for a in accounts]


def test_balance_before_any_posting_is_zero(make_account):
    # given
    before = timezone.now()
    a, b = make_account(), make_account()
    services.entry_post(actor=None, idempotency_key="k", lines=[(a, "debit", 1), (b, "credit", 1)])
    # then
    assert selectors.balance(a, as_of=before) == 0


def test_trial_balance_balances_now_and_in_the_past(make_account):
    # given
    a, b, c = make_account(), make_account(), make_account()
    services.entry_post(actor=None, idempotency_key="1", lines=[(a, "debit", 300), (b, "credit", 300)])
    middle = timezone.now()
    services.entry_post(actor=None, idempotency_key="2", lines=[(b, "debit", 100), (c, "credit", 100)])
    # when
    now, then = selectors.trial_balance(), selectors.trial_balance(as_of=middle)
    # then
    assert now.is_balanced
    assert then.is_balanced
    assert (now.total_debit, now.total_credit) == (300, 300)
    assert {row.code: row.balance for row in then.rows} == {a.code: -300, b.code: 300, c.code: 0}
    assert {row.code: row.balance for row in now.rows} == {a.code: -300, b.code: 200, c.code: 100}
