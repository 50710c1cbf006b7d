"""POST /api/v1/claims/{id}/decide/: stages in order, each by its role; every decision kept; separation of duties."""

import pytest

from ledger.models import HoldStatus
from tests.claims import (
    YUAN,
    approve_all,
    attach_evidence,
    confirmations,
    decide,
    issue_voucher,
    pay,
    submitted,
)
from tests.factories import client_for, make_user
from voucher_service.claims.models import ClaimDecision

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_review(bd, django_capture_on_commit_callbacks):
    voucher = issue_voucher(bd.program, bd.entity, 1_000_000 * YUAN)
    claim = submitted(bd, django_capture_on_commit_callbacks)
    assert claim.status == "in_review"
    return claim, voucher


def test_stages_go_in_order_each_by_its_role(bd, in_review):
    claim, _voucher = in_review
    # the 初审 belongs to a reviewer: finance may not decide it
    assert decide(bd.finance, claim, conditions=confirmations(claim)).status_code == 403
    assert decide(bd.reviewer, claim, conditions=confirmations(claim)).status_code == 200
    # the 复审: another reviewer; the 财政: finance
    assert decide(bd.reviewer2, claim).status_code == 200
    response = decide(bd.finance, claim)
    assert response.status_code == 200
    assert response.json()["status"] == "in_notice"
    assert [d["stage_name"] for d in response.json()["decisions"]] == ["初审", "复审", "财政"]


def test_one_person_never_decides_two_stages_of_one_claim(bd, in_review):
    claim, _ = in_review
    assert decide(bd.reviewer, claim, conditions=confirmations(claim)).status_code == 200
    # when the same reviewer tries the second stage
    response = decide(bd.reviewer, claim)
    # then
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "separation_of_duties"
    assert ClaimDecision.objects.filter(claim=claim).count() == 1


def test_nobody_of_the_entity_or_the_provider_decides(bd, in_review):
    claim, _ = in_review
    # given a reviewer of the agency who is also an applicant of the claiming entity, and one of the provider
    insider = make_user(bd.agency, "reviewer", username="insider")
    insider.memberships.create(organization=bd.entity, role="applicant")
    provider_side = make_user(bd.agency, "reviewer", username="provider_side")
    provider_side.memberships.create(organization=bd.provider, role="applicant")
    # then neither decides
    for user in (insider, provider_side):
        response = decide(user, claim, conditions=confirmations(claim))
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "separation_of_duties"


def test_the_submitter_never_reviews_even_with_a_reviewer_role(bd, django_capture_on_commit_callbacks):
    # given the person who submitted also holds the reviewer role at the agency
    issue_voucher(bd.program, bd.entity, 1_000_000 * YUAN)
    bd.applicant.memberships.create(organization=bd.agency, role="reviewer")
    claim = submitted(bd, django_capture_on_commit_callbacks)
    # then they cannot decide their own claim
    response = decide(bd.applicant, claim, conditions=confirmations(claim))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "separation_of_duties"


def test_reject_needs_a_reason_and_voids_the_hold(bd, in_review):
    claim, voucher = in_review
    assert decide(bd.reviewer, claim, "reject").status_code == 400
    response = decide(bd.reviewer, claim, "reject", reason="合同与发票不符")
    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    voucher.account.refresh_from_db()
    assert voucher.account.pending_debits == 0
    assert {h.hold.status for h in claim.holds.all()} == {HoldStatus.VOIDED}


def test_a_returned_claim_is_amended_resubmitted_and_evaluated_again(bd, in_review, django_capture_on_commit_callbacks):
    claim, voucher = in_review
    # when the first stage returns it, saying what to fix
    response = decide(bd.reviewer, claim, "return", reason="请补充算力使用明细")
    assert response.json()["status"] == "returned"
    voucher.account.refresh_from_db()
    assert voucher.account.pending_debits == 0
    # then the entity amends it (a smaller purchase), adds evidence and resubmits
    amended = client_for(bd.applicant).patch(
        f"/api/v1/claims/{claim.pk}/",
        {
            "contract": {"amount": "400000.00"},
            "invoices": [{**response.json()["invoices"][0], "amount": "400000.00"}],
            "payments": [{**response.json()["payments"][0], "amount": "400000.00"}],
        },
        format="json",
    )
    assert amended.status_code == 200, amended.json()
    attach_evidence(claim, bd.applicant, kinds=("other",))
    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(bd.applicant).post(f"/api/v1/claims/{claim.pk}/submit/").status_code == 202
    claim.refresh_from_db()
    # and it is evaluated again: round 2, half of 400,000, back at the first stage
    assert (claim.status, claim.round, claim.subsidy, claim.stage_index) == ("in_review", 2, 200_000 * YUAN, 0)
    assert claim.evaluations.count() == 2
    # the reviewer who returned it decides the first stage again (the same stage is no second stage)
    assert decide(bd.reviewer, claim, conditions=confirmations(claim)).status_code == 200


def test_a_lower_approval_posts_the_hold_partially(bd, in_review, django_capture_on_commit_callbacks):
    claim, voucher = in_review
    assert decide(bd.reviewer, claim, amount="400000.00", conditions=confirmations(claim)).status_code == 400  # why?
    response = decide(bd.reviewer, claim, amount="400000.00", reason="部分发票不符", conditions=confirmations(claim))
    assert response.status_code == 200
    assert response.json()["approved_amount"] == "400000.00"
    assert decide(bd.reviewer2, claim, amount="450000.00").status_code == 400  # never above the stage before
    claim = approve_all_remaining(bd, claim)
    assert pay(bd, claim, django_capture_on_commit_callbacks).status_code == 202
    voucher.account.refresh_from_db()
    assert (voucher.account.posted_debits, voucher.account.pending_debits) == (400_000 * YUAN, 0)


def approve_all_remaining(bd, claim):
    for user in (bd.reviewer2, bd.finance):
        assert decide(user, claim).status_code == 200
    claim.refresh_from_db()
    return claim


def test_the_first_stage_must_judge_every_claimed_reviewer_condition(bd, in_review):
    claim, _ = in_review
    response = decide(bd.reviewer, claim)
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["conditions"][0]["code"] == "required"
    denied_without_reason = [{"code": "local_platform", "confirmed": False}]
    assert decide(bd.reviewer, claim, conditions=denied_without_reason).status_code == 400


def test_denying_the_only_condition_rejects_the_claim(bd, in_review):
    claim, voucher = in_review
    response = decide(bd.reviewer, claim, conditions=confirmations(claim, denied=("local_platform",)))
    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    voucher.account.refresh_from_db()
    assert voucher.account.pending_debits == 0


def test_a_claim_not_in_review_is_a_conflict_for_a_decider(bd, in_review):
    claim, _ = in_review
    claim = approve_all(bd, claim)
    assert decide(bd.reviewer, claim).status_code == 409
