"""The hold-expiry beat task releases due holds once; running it again changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from ledger import selectors, services, tasks
from ledger.errors import LedgerErrorCode
from ledger.models import HoldStatus
from ledger.schedule import BEAT_SCHEDULE
from tests.refusals import refused
from tests.snapshots import ledger_snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def holds(funded, make_account):
    """Two holds that expired a minute ago and one that is still open."""
    _, wallet = funded(10_000)
    shop = make_account()
    past = timezone.now() - dt.timedelta(minutes=10)

    def hold(key: str, expires_at: dt.datetime):
        return services.hold_create(
            actor=None,
            idempotency_key=key,
            debit_account=wallet,
            credit_account=shop,
            amount=1_000,
            expires_at=expires_at,
            now=past,
        )

    expired = [hold("old-1", past + dt.timedelta(minutes=9)), hold("old-2", past + dt.timedelta(minutes=9))]
    fresh = hold("fresh", timezone.now() + dt.timedelta(hours=1))
    return wallet, expired, fresh


def test_expire_task_releases_due_holds_only(holds):
    # given
    wallet, expired, fresh = holds
    # when
    released = tasks.expire_holds.delay().get()
    # then
    assert released == 2
    for hold in expired:
        hold.refresh_from_db()
        assert hold.status == HoldStatus.EXPIRED
        assert hold.resolved_at is not None
    fresh.refresh_from_db()
    assert fresh.status == HoldStatus.PENDING
    assert selectors.account_balance(wallet).pending_debits == 1_000


def test_expire_task_is_idempotent(holds):
    # given
    tasks.expire_holds.delay()
    before = ledger_snapshot()
    # when
    released_again = tasks.expire_holds.delay().get()
    # then
    assert released_again == 0
    assert ledger_snapshot() == before


def test_expire_task_accepts_hold_ids(holds):
    # given
    _, expired, fresh = holds
    # when
    released = tasks.expire_holds.delay([expired[0].pk, fresh.pk]).get()
    # then
    assert released == 1
    expired[1].refresh_from_db()
    assert expired[1].status == HoldStatus.PENDING


def test_an_expired_hold_can_no_longer_be_posted_after_expiry_ran(holds):

    _, expired, _ = holds
    tasks.expire_holds.delay()
    with refused(LedgerErrorCode.HOLD_ALREADY_RESOLVED):
        services.hold_post(expired[0])


def test_beat_schedule_names_registered_tasks():
    # then
    assert {entry["task"] for entry in BEAT_SCHEDULE.values()} == {
        tasks.expire_holds.name,
        tasks.verify_ledger_task.name,
        tasks.seal_ledger_task.name,
    }
    assert all(entry["schedule"] > 0 for entry in BEAT_SCHEDULE.values())


def test_the_seal_task_chains_committed_entries_and_is_idempotent(make_account):
    # given
    from ledger.models import ChainLink

    a, b = make_account(), make_account()
    entries = [
        services.entry_post(actor=None, idempotency_key=f"seal-{n}", lines=[(a, "debit", 1), (b, "credit", 1)])
        for n in range(3)
    ]
    # when
    sealed = tasks.seal_ledger_task.delay().get()
    sealed_again = tasks.seal_ledger_task.delay().get()
    # then
    assert (sealed, sealed_again) == (3, 0)
    assert list(ChainLink.objects.order_by("position").values_list("entry_id", flat=True)) == [e.pk for e in entries]


def test_seal_ledger_command_prints_the_head(make_account):
    import io

    from django.core.management import call_command

    from ledger import selectors

    a, b = make_account(), make_account()
    services.entry_post(actor=None, idempotency_key="cmd", lines=[(a, "debit", 1), (b, "credit", 1)])
    out = io.StringIO()
    call_command("seal_ledger", stdout=out)
    assert out.getvalue().strip() == f"Sealed 1 entry; chain head #1 {selectors.chain_head().head_hash}"
