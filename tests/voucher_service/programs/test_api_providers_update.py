"""PATCH /api/v1/providers/{id}/: edit a listing's platforms, services and dates, audited."""

from __future__ import annotations

from datetime import date

import pytest

from accounts.audit import SYSTEM
from accounts.models import AuditEvent, OrganizationKind
from tests.factories import client_for, make_org
from voucher_service.programs.providers import provider_register

pytestmark = pytest.mark.django_db


@pytest.fixture
def listing(db):
    provider = make_org(OrganizationKind.PROVIDER, jurisdiction="640104")
    return provider_register(actor=SYSTEM, organization=provider, service_types=["gpu"], valid_from=date(2024, 1, 1))


def url(listing) -> str:
    return f"/api/v1/providers/{listing.pk}/"


def test_an_admin_edits_a_listing_and_the_change_is_audited(listing, program_admin):
    platform = make_org(OrganizationKind.PLATFORM, jurisdiction="640100")
    response = client_for(program_admin).patch(
        url(listing), {"service_types": ["gpu", "storage"], "platforms": [platform.pk]}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["service_types"] == ["gpu", "storage"]
    event = AuditEvent.objects.get(action="provider.update")
    assert event.before["service_types"] == ["gpu"]
    assert event.after["service_types"] == ["gpu", "storage"]
    assert event.after["platforms"] == [platform.pk]


def test_a_bad_edit_is_400_and_writes_nothing(listing, program_admin):
    response = client_for(program_admin).patch(url(listing), {"valid_until": "2023-01-01"}, format="json")
    assert response.status_code == 400
    assert "valid_until" in response.json()["error"]["fields"]
    assert not AuditEvent.objects.filter(action="provider.update").exists()


@pytest.mark.parametrize(("persona", "status"), [("reviewer", 403), ("foreign_admin", 403), ("applicant", 403)])
def test_others_may_not_edit(listing, request, persona, status):
    response = client_for(request.getfixturevalue(persona)).patch(
        url(listing), {"service_types": ["cpu"]}, format="json"
    )
    assert response.status_code == status
    listing.refresh_from_db()
    assert listing.service_types == ["gpu"]
