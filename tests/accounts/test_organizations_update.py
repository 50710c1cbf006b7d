"""PATCH /api/v1/organizations/{id}/: what a program administrator may change, and what only staff may."""

import pytest

from accounts.models import AuditEvent, Membership, Organization, OrganizationKind
from tests.factories import client_for, make_org, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def finance_bureau(db):
    """Another agency in the Ningxia administrator's own jurisdiction (as 保定市财政局 is in Baoding's)."""
    agency = make_org(OrganizationKind.AGENCY, jurisdiction="640000", name="宁夏回族自治区财政厅")
    make_user(agency, "finance", username="nx_treasurer")
    return agency


def test_a_program_administrator_cannot_deactivate_another_agency(program_admin, finance_bureau):
    # given (issue 10, item 12: deactivating an agency removes every role its members hold)
    events_before = AuditEvent.objects.count()
    # when
    response = client_for(program_admin).patch(
        f"/api/v1/organizations/{finance_bureau.pk}/", {"is_active": False}, format="json"
    )
    # then
    assert response.status_code == 403, response.json()
    finance_bureau.refresh_from_db()
    assert finance_bureau.is_active
    assert Membership.objects.filter(organization=finance_bureau, organization__is_active=True).exists()
    assert AuditEvent.objects.count() == events_before


def test_nor_rename_its_own_agency_nor_register_one(program_admin, ningxia_agency):
    rename = client_for(program_admin).patch(f"/api/v1/organizations/{ningxia_agency.pk}/", {"name": "x"})
    register = client_for(program_admin).post(
        "/api/v1/organizations/", {"name": "某局", "kind": "agency", "jurisdiction": "640100"}, format="json"
    )
    assert rename.status_code == register.status_code == 403


def test_staff_may_change_agencies(staff, finance_bureau):
    response = client_for(staff).patch(f"/api/v1/organizations/{finance_bureau.pk}/", {"is_active": False})
    assert response.status_code == 200, response.json()
    assert not Organization.objects.get(pk=finance_bureau.pk).is_active


@pytest.mark.parametrize("kind", [OrganizationKind.ENTITY, OrganizationKind.PROVIDER])
def test_a_program_administrator_still_manages_entities_and_providers(program_admin, kind):
    organization = make_org(kind, jurisdiction="640104")
    response = client_for(program_admin).patch(f"/api/v1/organizations/{organization.pk}/", {"address": "银川"})
    assert response.status_code == 200, response.json()


def test_a_platform_is_staffs_too(program_admin, staff):
    # given a platform in the administrator's jurisdiction (issue 9, item 6: agencies and platforms are staff's)
    platform = make_org(OrganizationKind.PLATFORM, jurisdiction="640104")
    # when / then
    url = f"/api/v1/organizations/{platform.pk}/"
    assert client_for(program_admin).patch(url, {"address": "银川"}).status_code == 403
    assert client_for(staff).patch(url, {"address": "银川"}).status_code == 200
