"""POST /api/v1/claims/: a draft; bad input is a 400 naming each field, and writes nothing."""

import pytest

from accounts.models import AuditEvent
from tests.claims import YUAN, claim_body, create, issue_voucher, submitted, yuan
from tests.factories import client_for, make_org
from voucher_service.claims.models import Claim

pytestmark = pytest.mark.django_db


def refused(cast, body, user=None):
    before = (Claim.objects.count(), AuditEvent.objects.count())
    response = create(cast, body, user)
    assert response.status_code == 400, response.json()
    assert (Claim.objects.count(), AuditEvent.objects.count()) == before
    return response.json()["error"]["fields"]


def test_a_draft_is_created_with_its_lines(bd):
    # when
    response = create(bd, claim_body(bd, amount=12_345_67))
    # then
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["contract"]["amount"], body["invoices"][0]["amount"]) == (
        "draft",
        "12345.67",
        "12345.67",
    )
    assert body["evaluation"] is None
    assert body["delivery"]["quantity"] == "1200.000"


def test_amounts_that_disagree_are_refused_by_field(bd):
    # given payments that do not add up to the invoices, and both above the contract
    body = claim_body(bd, amount=100 * YUAN)
    body["payments"][0]["amount"] = "90.00"
    body["contract"]["amount"] = "80.00"
    # then
    fields = refused(bd, body)
    assert fields["payments"][0]["code"] == "amounts_disagree"
    assert fields["contract.amount"][0]["code"] == "below_invoiced"


def test_dates_out_of_order_are_refused(bd):
    body = claim_body(bd)
    body["contract"]["ends_on"] = "2020-01-01"
    body["delivery"]["ends_on"], body["delivery"]["starts_on"] = (
        body["delivery"]["starts_on"],
        body["delivery"]["ends_on"],
    )
    fields = refused(bd, body)
    assert fields["contract.ends_on"][0]["code"] == "dates_out_of_order"
    assert fields["delivery.ends_on"][0]["code"] == "dates_out_of_order"


def test_an_unknown_provider_does_not_exist(bd):
    # given an organisation that is not in the provider registry
    stranger = make_org("provider", jurisdiction="130602")
    fields = refused(bd, claim_body(bd, provider=stranger.pk))
    assert fields["provider"][0]["code"] == "does_not_exist"
    assert refused(bd, claim_body(bd, provider=999_999))["provider"][0]["code"] == "does_not_exist"


def test_invoice_numbers_have_their_legal_shapes(bd):
    body = claim_body(bd)
    body["invoices"] = [
        {**body["invoices"][0], "number": "123"},
        {**body["invoices"][0], "code": "1234567890", "number": "12345678", "amount": "0.01"},
    ]
    body["invoices"][0]["amount"] = yuan(1_000_000 * YUAN - 1)
    fields = refused(bd, body)
    assert list(fields) == ["invoices.0.number"]


def test_a_second_claim_on_a_subsidised_invoice_is_refused_naming_the_first(bd, django_capture_on_commit_callbacks):
    # given a claim whose evaluation counted its invoice
    issue_voucher(bd.program, bd.entity, 1_000_000 * YUAN)
    body = claim_body(bd, amount=100_000 * YUAN)
    first = submitted(bd, django_capture_on_commit_callbacks, body)
    assert first.status == "in_review"
    # when another draft names the same invoice
    again = claim_body(bd, amount=100_000 * YUAN, invoices=body["invoices"])
    fields = refused(bd, again)
    # then it is refused at once, naming the first claim
    assert fields["invoices.0.number"][0]["code"] == "already_claimed"
    assert f"#{first.pk}" in fields["invoices.0.number"][0]["message"]


def test_unknown_fields_wrong_types_and_unknown_conditions(bd):
    body = claim_body(bd, conditions=["free_money"], status="paid")
    body["contract"]["amount"] = 1000
    fields = refused(bd, body)
    assert fields["status"][0]["code"] == "unknown_field"
    assert fields["contract.amount"][0]["code"] == "invalid"


def test_an_undelivered_or_non_compute_service_is_refused(bd):
    from tests.claims import TODAY

    body = claim_body(bd)
    body["delivery"].update(service_type="storage", ends_on=(TODAY().replace(year=TODAY().year + 1)).isoformat())
    body["contract"]["ends_on"] = body["delivery"]["ends_on"]
    fields = refused(bd, body)
    assert {"delivery.service_type", "delivery.ends_on"} <= set(fields)


def test_only_an_applicant_of_the_entity_creates_its_claims(bd, outsider):
    response = create(bd, claim_body(bd), outsider)
    # the entity is not one of the outsider's own: it "does not exist" for them
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["entity"][0]["code"] == "does_not_exist"
    assert client_for(bd.reviewer).post("/api/v1/claims/", claim_body(bd), format="json").status_code == 400
