"""Injected fault: the Celery worker is killed with SIGKILL in the middle of an issuance and of a payout
(PostgreSQL; a real ``celery worker`` process on a private Redis). Its transaction never commits; the broker
delivers the unacknowledged task again (``acks_late``) once a new worker starts, and the work is done once.

The worker is caught mid-task deterministically: another session holds a ledger account the task posts to, so
the task waits inside its transaction (after its first writes) until the worker is killed.
"""

from __future__ import annotations

import pytest

from ledger.models import Account, JournalEntry
from ledger.verification import verify_ledger
from tests.faults.processes import app_sending_to, backends_waiting_for_a_lock, wait_until
from tests.faults.scenes import payable_claim, row_locked, voucher_for_first_entity
from tests.stress.operations import YUAN
from voucher_service.claims.models import Payout
from voucher_service.claims.payout import payout_key
from voucher_service.claims.services import payout_request
from voucher_service.programs.budgets import budget_require_open
from voucher_service.programs.selectors import current_fiscal_year
from voucher_service.vouchers.models import Issuance, Voucher
from voucher_service.vouchers.services import application_approve, application_submit

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
TABLE = Account._meta.db_table


def kill_while_blocked(worker) -> None:
    wait_until(lambda: backends_waiting_for_a_lock() >= 1, 20, "the worker to block inside its task")
    worker.kill()


def test_a_worker_killed_in_the_middle_of_an_issuance_issues_it_once_after_a_new_worker_starts(
    world, redis_server, start_worker
):
    # given an application, and a worker
    crew, program, entity = world.crews[0], world.programs[0], world.entities[0]
    application = application_submit(
        actor=crew.applicant, program=program, entity=entity, amount=200 * YUAN, purpose="模型训练"
    )
    budget = budget_require_open(program, current_fiscal_year())
    entries_before = JournalEntry.objects.count()
    first = start_worker()
    # when the approval's issuance is caught by the worker, which is killed half-way through it
    with app_sending_to(redis_server.url):
        with row_locked(TABLE, budget.budget_account.pk):
            issuance = application_approve(actor=crew.reviewer, application=application)
            kill_while_blocked(first)
        # then nothing of it was written
        assert Issuance.objects.get(pk=issuance.pk).status == "pending"
        assert not Voucher.objects.filter(program=program, entity=entity).exists()
        # and when a new worker starts, the task is delivered again and the voucher issued, once
        start_worker()
        wait_until(lambda: Issuance.objects.get(pk=issuance.pk).status != "pending", 20, "the redelivered issuance")
    issuance.refresh_from_db()
    assert issuance.status == "succeeded", (issuance.failure_code, issuance.failure_message)
    (voucher,) = Voucher.objects.filter(program=program, entity=entity)
    account = Account.objects.get(pk=voucher.account_id)
    assert (account.posted_credits, account.posted_debits) == (200 * YUAN, 0)
    assert JournalEntry.objects.count() == entries_before + 1
    report = verify_ledger()
    assert report.ok, report.render()


def test_a_worker_killed_in_the_middle_of_a_payout_pays_once_after_a_new_worker_starts(
    world, redis_server, start_worker
):
    # given a payable claim, and a worker
    voucher_for_first_entity(world)
    target = payable_claim(world)
    funding = budget_require_open(target.program, current_fiscal_year()).funding
    voucher = Voucher.objects.get(program=target.program, entity=target.entity)
    first = start_worker()
    # when finance requests the payout and the worker is killed half-way through posting it
    with app_sending_to(redis_server.url):
        with row_locked(TABLE, next(iter(funding.values())).pk):
            payout = payout_request(
                actor=world.crews[0].finance, claim=target, paid_on=target.notice_ends_on, bank_reference="CZ-1"
            )
            kill_while_blocked(first)
        # then nothing of it was written
        assert Payout.objects.get(pk=payout.pk).status == "pending"
        assert not JournalEntry.objects.filter(idempotency_key=payout_key(target.pk)).exists()
        # and when a new worker starts, the payout is posted, once
        start_worker()
        wait_until(lambda: Payout.objects.get(pk=payout.pk).status == "succeeded", 20, "the redelivered payout")
    target.refresh_from_db()
    assert (target.status, target.paid_amount) == ("paid", payout.amount)
    assert JournalEntry.objects.filter(idempotency_key=payout_key(target.pk)).count() == 1
    account = Account.objects.get(pk=voucher.account_id)
    assert (account.posted_debits, account.pending_debits) == (payout.amount, 0)
    report = verify_ledger()
    assert report.ok, report.render()
