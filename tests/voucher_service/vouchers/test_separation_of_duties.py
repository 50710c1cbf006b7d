"""Separation of duties on voucher money: no deciding for your own entity, no granting what you certified,
and platform staff do not decide subsidies."""

from datetime import date

import pytest
from django.utils import timezone

from accounts.models import Membership
from tests.factories import client_for
from tests.voucher_service.vouchers.conftest import apply
from voucher_service.vouchers.models import Issuance


@pytest.mark.django_db
def test_a_reviewer_who_belongs_to_the_entity_cannot_decide_its_application(program, applicant, reviewer, entity):
    # given the reviewer is also a member of the applying entity
    Membership.objects.create(user=reviewer, organization=entity, role="applicant")
    application = apply(client_for(applicant), program, entity).json()
    # when
    response = client_for(reviewer).post(f"/api/v1/voucher-applications/{application['id']}/approve/")
    # then
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "separation_of_duties"
    assert not Issuance.objects.exists()


@pytest.mark.django_db
def test_whoever_records_the_settling_date_cannot_also_grant_the_award(
    program, program_admin, reviewer, entity, ningxia_agency
):
    # given a program administrator who is also a reviewer (so may grant awards) records that the entity settled
    # this year
    Membership.objects.create(user=program_admin, organization=ningxia_agency, role="reviewer")
    settled = date(timezone.localdate().year, 3, 1).isoformat()
    patched = client_for(program_admin).patch(
        f"/api/v1/organizations/{entity.pk}/", {"settled_on": settled}, format="json"
    )
    assert patched.status_code == 200, patched.json()
    body = {"program": program.pk, "entity": entity.pk, "award_code": "settling_in"}
    # when the same person grants the settling-in award
    same = client_for(program_admin).post("/api/v1/issuances/awards/", body, format="json")
    # then it is refused, and a second person may grant it
    assert same.status_code == 403
    assert same.json()["error"]["code"] == "separation_of_duties"
    other = client_for(reviewer).post("/api/v1/issuances/awards/", body, format="json")
    assert other.status_code == 202, other.json()


@pytest.mark.django_db
def test_platform_staff_do_not_decide_subsidies(program, applicant, entity, staff):
    application = apply(client_for(applicant), program, entity).json()
    response = client_for(staff).post(f"/api/v1/voucher-applications/{application['id']}/approve/")
    assert response.status_code == 403
    assert not Issuance.objects.exists()
