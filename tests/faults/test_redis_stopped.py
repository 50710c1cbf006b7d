"""Injected fault: Redis (a private ``redis-server`` on a spare port, the broker) is stopped while requests submit
work: approvals to issue, a claim to evaluate, a payout to post (PostgreSQL). Every request still answers 202 and
its rows are committed (the task is sent after commit, ``core.transactions.enqueue_on_commit``, robustly). Redis
comes back empty; the sweepers (``requeue_stalled`` of vouchers and of claims, beat jobs) find the work whose task
never ran and send it again, and a worker does it all, once.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from ledger.models import JournalEntry
from ledger.verification import verify_ledger
from tests.factories import client_for
from tests.faults.processes import app_sending_to, wait_until
from tests.faults.scenes import draft_claim, payable_claim, voucher_for_first_entity
from tests.stress.operations import YUAN
from voucher_service.claims import tasks as claims_tasks
from voucher_service.claims.models import Claim, Payout
from voucher_service.claims.payout import payout_key
from voucher_service.vouchers import tasks as voucher_tasks
from voucher_service.vouchers.models import Issuance, IssuanceStatus, Voucher
from voucher_service.vouchers.services import application_submit

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def sweep_as_if_later(monkeypatch) -> dict[str, dict[str, int]]:
    """The beat's sweepers, run as they would three minutes from now (the work has stalled by then)."""
    later = timezone.now() + timedelta(minutes=3)
    with monkeypatch.context() as patch:
        patch.setattr(timezone, "now", lambda: later)
        return {"vouchers": voucher_tasks.requeue_stalled(), "claims": claims_tasks.requeue_stalled()}


def test_requests_made_while_redis_is_down_answer_202_and_the_sweepers_deliver_everything_once_it_is_back(
    world, redis_server, start_worker, monkeypatch, settings
):
    # A force-authenticated client gives no second factor (production turns PORTAL_FINANCE_REQUIRE_TOTP on):
    # what is under test here is the broker, and test_api_claims_payout_second_factor tests the factor.
    settings.PORTAL_FINANCE_REQUIRE_TOTP = False
    # given three applications, a draft claim and a payable claim (their tasks run eagerly here)
    crew = world.crews[0]
    applications = [
        application_submit(
            actor=crew.applicant, program=world.programs[2], entity=entity, amount=100 * YUAN, purpose="模型训练"
        )
        for entity in world.entities[1:4]
    ]
    voucher_for_first_entity(world)
    payable = payable_claim(world, "paid")
    draft = draft_claim(world, "draft")
    with app_sending_to(redis_server.url):
        # when Redis stops and the requests come in
        redis_server.stop()
        started = time.monotonic()
        reviewer, applicant, finance = client_for(crew.reviewer), client_for(crew.applicant), client_for(crew.finance)
        answers = [reviewer.post(f"/api/v1/voucher-applications/{a.pk}/approve/") for a in applications]
        answers.append(applicant.post(f"/api/v1/claims/{draft.pk}/submit/"))
        answers.append(
            finance.post(
                f"/api/v1/claims/{payable.pk}/payout/",
                {"paid_on": timezone.localdate().isoformat(), "bank_reference": "CZ-REDIS-DOWN"},
            )
        )
        # then every one is accepted at once and its work recorded, waiting for a task that was never sent
        assert [a.status_code for a in answers] == [202] * 5, [a.content[:300] for a in answers]
        assert time.monotonic() - started < 10, "a send waited for Redis"
        issuances = Issuance.objects.filter(application__in=applications)
        assert sorted(issuances.values_list("status", flat=True)) == [IssuanceStatus.PENDING] * 3
        assert Claim.objects.get(pk=draft.pk).status == "submitted"
        assert Payout.objects.get(claim=payable).status == "pending"
        # and when Redis is back (empty: nothing was persisted) and the sweepers run
        redis_server.start()
        swept = sweep_as_if_later(monkeypatch)
        assert swept == {"vouchers": {"issuances": 3, "bulks": 0}, "claims": {"evaluations": 1, "payouts": 1}}
        start_worker()
        # then a worker does all of it
        wait_until(lambda: not issuances.filter(status=IssuanceStatus.PENDING).exists(), 20, "the issuances")
        wait_until(lambda: Payout.objects.get(claim=payable).status == "succeeded", 20, "the payout")
        wait_until(lambda: Claim.objects.get(pk=draft.pk).status not in ("submitted", "evaluating"), 20, "the claim")
    # once each
    assert sorted(issuances.values_list("status", flat=True)) == [IssuanceStatus.SUCCEEDED] * 3
    assert Voucher.objects.filter(program=world.programs[2]).count() == 3
    assert JournalEntry.objects.filter(idempotency_key=payout_key(payable.pk)).count() == 1
    evaluated = Claim.objects.get(pk=draft.pk)
    assert evaluated.evaluations.count() == 1
    assert evaluated.status in ("in_review", "refused")
    report = verify_ledger()
    assert report.ok, report.render()
