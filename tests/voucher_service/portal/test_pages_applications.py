"""The agency's application decisions: pending applications with their eligibility answer; a reviewer approves
(the voucher is issued, by the same service as the API) or rejects with a reason; others find nothing, finance is
not offered the form and a forged decision is refused; a decision sent twice acts once."""

from __future__ import annotations

import pytest

from tests.factories import make_org, make_user
from tests.voucher_service.portal.conftest import browser_client
from voucher_service.vouchers.models import ApplicationStatus, Issuance, Voucher
from voucher_service.vouchers.services import application_submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def application(bd):
    return application_submit(
        actor=bd.applicant, program=bd.program, entity=bd.entity, amount=200_000 * 100, purpose="大模型训练"
    )


def test_application_pages_are_absent_for_those_outside_the_agency(bd, application):
    # given
    other_reviewer = make_user(make_org("agency", jurisdiction="640000"), "reviewer", username="elsewhere")
    # when / then
    assert browser_client(bd.applicant).get("/work/applications/").status_code == 404
    assert browser_client(bd.applicant).get(f"/work/applications/{application.pk}/").status_code == 404
    assert browser_client(other_reviewer).get(f"/work/applications/{application.pk}/").status_code == 404


def test_a_reviewer_sees_the_pending_application_and_its_eligibility(bd, application):
    # given
    client = browser_client(bd.reviewer)
    # when
    listing = client.get("/work/applications/").content.decode()
    page = client.get(f"/work/applications/{application.pk}/").content.decode()
    # then
    assert f'href="/work/applications/{application.pk}/"' in listing
    assert 'class="yours"' in listing
    assert 'id="eligibility-submitted"' in page
    assert page.count('<li class="pass">') >= len(application.eligibility)
    assert 'id="application-form"' in page


def test_a_reviewer_approves_and_the_voucher_is_issued(bd, application, django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = browser_client(bd.reviewer).post(
            f"/work/applications/{application.pk}/", {"decision": "approve", "idempotency_key": "k-approve"}
        )
    # then
    assert response.status_code == 302
    assert response["Location"] == "/work/applications/"
    application.refresh_from_db()
    assert application.status == ApplicationStatus.APPROVED
    assert application.decided_by == bd.reviewer
    voucher = Voucher.objects.get(entity=bd.entity, program=bd.program)
    assert voucher.issuance.application == application


def test_a_rejection_needs_a_reason_on_its_field_and_keeps_what_was_typed(bd, application):
    # given
    client = browser_client(bd.reviewer)
    # when
    missing = client.post(
        f"/work/applications/{application.pk}/", {"decision": "reject", "amount": "100.00", "idempotency_key": "k"}
    )
    rejected = client.post(
        f"/work/applications/{application.pk}/", {"decision": "reject", "reason": "材料不全", "idempotency_key": "k2"}
    )
    # then
    assert missing.status_code == 400
    assert list(missing.context["form"].errors) == ["reason"]
    assert 'value="100.00"' in missing.content.decode()
    assert rejected.status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.REJECTED
    assert application.rejection_reason == "材料不全"


def test_an_amount_above_the_request_is_refused_on_its_field(bd, application):
    # when
    response = browser_client(bd.reviewer).post(
        f"/work/applications/{application.pk}/",
        {"decision": "approve", "amount": "999999.00", "idempotency_key": "k"},
    )
    # then
    assert response.status_code == 400
    assert response.context["form"].errors["amount"]
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED


def test_finance_is_not_offered_the_decision_and_a_forged_one_is_refused(bd, application):
    # given finance of the agency: applications are decided by reviewers
    client = browser_client(bd.finance)
    # when
    page = client.get(f"/work/applications/{application.pk}/").content.decode()
    forged = client.post(f"/work/applications/{application.pk}/", {"decision": "approve", "idempotency_key": "k"})
    # then
    assert 'id="application-form"' not in page
    assert 'id="refusal"' in page
    assert forged.status_code == 400
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED


def test_an_approval_sent_twice_issues_one_voucher(bd, application, django_capture_on_commit_callbacks):
    # given
    client = browser_client(bd.reviewer)
    body = {"decision": "approve", "idempotency_key": "same"}
    # when
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(f"/work/applications/{application.pk}/", body)
    with django_capture_on_commit_callbacks(execute=True):
        second = client.post(f"/work/applications/{application.pk}/", body)
    # then
    assert first.status_code == second.status_code == 302
    assert Issuance.objects.filter(application=application).count() == 1
    assert Voucher.objects.filter(entity=bd.entity, program=bd.program).count() == 1
