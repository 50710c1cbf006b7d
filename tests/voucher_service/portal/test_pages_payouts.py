"""Finance's payout pages: payable claims, a payout recorded in the page once however often the form is sent
(its Idempotency-Key), the split by payer on the claim's page; others find nothing, a claim not yet payable is
not offered the form and a forged payout is refused. (The second factor in front of them: test_two_factor.)"""

from __future__ import annotations

import pytest

from accounts.models import Membership, Role
from ledger.money import fen_to_yuan
from tests.factories import make_user
from tests.voucher_service.portal.builders import claim_in_notice, payable_claim
from tests.voucher_service.portal.conftest import browser_client
from voucher_service.claims.models import ClaimStatus, Payout

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_second_factor_required(settings):
    settings.PORTAL_FINANCE_REQUIRE_TOTP = False


@pytest.fixture
def payable(bd, django_capture_on_commit_callbacks):
    return payable_claim(bd, django_capture_on_commit_callbacks)


def test_payout_pages_are_absent_for_everyone_but_finance(bd, payable):
    # given / when / then
    for user in (bd.applicant, bd.reviewer, bd.auditor):
        assert browser_client(user).get("/work/payouts/").status_code == 404
        assert browser_client(user).get(f"/work/payouts/{payable.pk}/").status_code == 404


def test_finance_sees_the_payable_claim(bd, payable):
    # given / when
    page = browser_client(bd.finance).get("/work/payouts/").content.decode()
    # then
    assert f'href="/work/payouts/{payable.pk}/"' in page
    assert 'class="yours"' in page


def test_a_payout_recorded_twice_is_recorded_once_and_the_claim_shows_the_split(
    bd, payable, django_capture_on_commit_callbacks
):
    # given
    client = browser_client(bd.finance)
    body = {"paid_on": "2026-03-02", "bank_reference": "CZ-2026-0042", "idempotency_key": "pay-once"}
    # when the form is sent twice (a double click, or a reload of the answer)
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(f"/work/payouts/{payable.pk}/", body)
    with django_capture_on_commit_callbacks(execute=True):
        second = client.post(f"/work/payouts/{payable.pk}/", body)
    # then one payout, posted; both answers lead to the claim's page
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == f"/work/claims/{payable.pk}/"
    assert Payout.objects.filter(claim=payable).count() == 1
    payable.refresh_from_db()
    assert payable.status == ClaimStatus.PAID
    # and the claim's page shows the split: a city-managed district, half each
    page = client.get(f"/work/claims/{payable.pk}/").content.decode()
    shares = dict(Payout.objects.get(claim=payable).shares)
    assert set(shares) == {"city", "district"}
    assert shares["city"] + shares["district"] == payable.approved_amount
    for payer, part in shares.items():
        assert f'<tr data-payer="{payer}"><td>' in page
        assert f'<td class="money">{fen_to_yuan(part)}</td>' in page
    assert "CZ-2026-0042" in page


def test_form_errors_are_shown_in_place_with_what_was_typed(bd, payable):
    # when
    response = browser_client(bd.finance).post(
        f"/work/payouts/{payable.pk}/", {"paid_on": "2026-02-30", "bank_reference": "", "idempotency_key": "k"}
    )
    # then
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"paid_on", "bank_reference"}
    assert 'value="2026-02-30"' in response.content.decode()
    assert not Payout.objects.exists()


def test_a_claim_under_notice_is_not_offered_a_payout_and_a_forged_one_is_refused(
    bd, django_capture_on_commit_callbacks
):
    # given a claim still under public notice
    claim = claim_in_notice(bd, django_capture_on_commit_callbacks)
    client = browser_client(bd.finance)
    # when
    page = client.get(f"/work/payouts/{claim.pk}/").content.decode()
    forged = client.post(
        f"/work/payouts/{claim.pk}/", {"paid_on": "2026-03-02", "bank_reference": "X", "idempotency_key": "k"}
    )
    # then
    assert 'id="payout-form"' not in page
    assert 'id="refusal"' in page
    assert forged.status_code == 400
    assert not Payout.objects.exists()


def test_finance_belonging_to_the_claiming_entity_is_not_offered_the_payout(bd, payable):
    # given a finance user of the agency who is also a member of the claiming entity
    insider = make_user(bd.agency, Role.FINANCE, username="insider_finance")
    Membership.objects.create(user=insider, organization=bd.entity, role=Role.APPLICANT)
    client = browser_client(insider)
    # when
    listing = client.get("/work/payouts/").content.decode()
    page = client.get(f"/work/payouts/{payable.pk}/").content.decode()
    forged = client.post(
        f"/work/payouts/{payable.pk}/", {"paid_on": "2026-03-02", "bank_reference": "X", "idempotency_key": "k"}
    )
    # then
    assert 'class="yours"' not in listing
    assert 'id="payout-form"' not in page
    assert 'id="refusal"' in page
    assert forged.status_code == 400
    assert not Payout.objects.exists()
