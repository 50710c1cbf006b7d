"""The agency's objections page: open objections with their reason, resolved in the page by a reviewer of the
program (dismissed, or upheld by rejecting or lowering), the same service as the API's resolve; others find
nothing, finance is not offered the form and a forged one is refused."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import make_org, make_user
from tests.voucher_service.portal.builders import claim_in_notice, end_notice, objected
from tests.voucher_service.portal.conftest import browser_client
from voucher_service.claims.models import ClaimStatus, ObjectionStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def objection(bd, django_capture_on_commit_callbacks):
    return objected(claim_in_notice(bd, django_capture_on_commit_callbacks))


def test_objection_pages_are_absent_for_those_outside_the_agency(bd, objection):
    # given the claim's applicant, a reviewer of another agency, and an anonymous visitor
    other_reviewer = make_user(make_org("agency", jurisdiction="640000"), "reviewer", username="elsewhere")
    # when / then
    assert browser_client(bd.applicant).get("/work/objections/").status_code == 404
    assert browser_client(bd.applicant).get(f"/work/objections/{objection.pk}/").status_code == 404
    assert browser_client(other_reviewer).get(f"/work/objections/{objection.pk}/").status_code == 404
    assert Client().get("/work/objections/").status_code == 302


def test_a_reviewer_sees_the_open_objection_with_its_reason(bd, objection):
    # given / when
    page = browser_client(bd.reviewer).get("/work/objections/").content.decode()
    # then
    assert f'href="/work/objections/{objection.pk}/"' in page
    assert "该企业未实际使用算力" in page
    assert 'class="yours"' in page


def test_a_reviewer_dismisses_the_objection_and_the_claim_becomes_payable_after_the_notice(bd, objection):
    # given
    client = browser_client(bd.reviewer)
    assert 'id="resolve-form"' in client.get(f"/work/objections/{objection.pk}/").content.decode()
    # when
    response = client.post(
        f"/work/objections/{objection.pk}/",
        {"outcome": "dismissed", "reason": "经核查，算力使用属实", "idempotency_key": "k-dismiss"},
    )
    # then
    assert response.status_code == 302
    assert response["Location"] == "/work/objections/"
    objection.refresh_from_db()
    assert objection.status == ObjectionStatus.DISMISSED
    assert objection.resolved_by == bd.reviewer
    assert end_notice(objection.claim).status == ClaimStatus.PAYABLE
    assert f"#{objection.pk}" not in client.get("/work/objections/").content.decode()


def test_upholding_with_a_lower_amount_lowers_the_claim(bd, objection):
    # given
    claim = objection.claim
    lower = (claim.approved_amount or 0) - 10_000 * 100
    # when
    response = browser_client(bd.reviewer).post(
        f"/work/objections/{objection.pk}/",
        {"outcome": "upheld", "amount": f"{lower // 100}.00", "reason": "部分算力未使用", "idempotency_key": "k-up"},
    )
    # then
    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.approved_amount == lower
    assert claim.status == ClaimStatus.IN_NOTICE


def test_a_refused_amount_is_shown_on_its_field_and_what_was_typed_is_kept(bd, objection):
    # given an amount above the claim's
    too_much = f"{(objection.claim.approved_amount or 0) // 100 + 1}.00"
    # when
    response = browser_client(bd.reviewer).post(
        f"/work/objections/{objection.pk}/",
        {"outcome": "upheld", "amount": too_much, "reason": "理由", "idempotency_key": "k-bad"},
    )
    # then the service's refusal sits on the amount, with the input kept
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["amount"]
    assert f'value="{too_much}"' in response.content.decode()
    objection.refresh_from_db()
    assert objection.status == ObjectionStatus.OPEN


def test_a_missing_reason_is_shown_on_its_field(bd, objection):
    # when
    response = browser_client(bd.reviewer).post(
        f"/work/objections/{objection.pk}/", {"outcome": "dismissed", "reason": "", "idempotency_key": "k-empty"}
    )
    # then
    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["reason"]
    assert 'class="field invalid"' in response.content.decode()


def test_finance_is_not_offered_the_form_and_a_forged_resolution_is_refused(bd, objection):
    # given finance of the program's agency, who sees the objection but does not resolve objections
    client = browser_client(bd.finance)
    # when
    page = client.get(f"/work/objections/{objection.pk}/").content.decode()
    forged = client.post(
        f"/work/objections/{objection.pk}/", {"outcome": "dismissed", "reason": "x", "idempotency_key": "k-forged"}
    )
    # then
    assert 'id="resolve-form"' not in page
    assert 'id="refusal"' in page
    assert forged.status_code == 400
    objection.refresh_from_db()
    assert objection.status == ObjectionStatus.OPEN


def test_a_resolution_sent_twice_acts_once(bd, objection):
    # given
    client = browser_client(bd.reviewer)
    body = {"outcome": "dismissed", "reason": "属实", "idempotency_key": "same"}
    # when
    first = client.post(f"/work/objections/{objection.pk}/", body)
    second = client.post(f"/work/objections/{objection.pk}/", body)
    # then the repeat answers where the first went, and the service ran once (a second run would be refused)
    assert first.status_code == second.status_code == 302
    assert second["Location"] == first["Location"]
    objection.refresh_from_db()
    assert objection.status == ObjectionStatus.DISMISSED
