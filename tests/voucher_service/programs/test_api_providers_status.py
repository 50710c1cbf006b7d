"""POST /api/v1/providers/{id}/status/: suspend, delist or re-list, always with a reason."""

from __future__ import annotations

from datetime import date

import pytest

from accounts.audit import SYSTEM
from accounts.models import AuditEvent, OrganizationKind
from tests.factories import client_for, make_org
from voucher_service.programs.models import ProviderStatusChange
from voucher_service.programs.providers import provider_register

pytestmark = pytest.mark.django_db


@pytest.fixture
def listing(db):
    provider = make_org(OrganizationKind.PROVIDER, jurisdiction="640104")
    return provider_register(actor=SYSTEM, organization=provider, service_types=["gpu"], valid_from=date(2024, 1, 1))


def set_status(user, listing, **body):
    return client_for(user).post(f"/api/v1/providers/{listing.pk}/status/", body, format="json")


def test_a_status_change_records_its_reason(listing, program_admin):
    response = set_status(program_admin, listing, status="suspended", reason="发票异常")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "suspended"
    change = ProviderStatusChange.objects.filter(listing=listing).last()
    assert (change.from_status, change.to_status, change.reason) == ("listed", "suspended", "发票异常")
    assert change.changed_by == program_admin
    assert AuditEvent.objects.get(action="provider.status").detail["reason"] == "发票异常"
    # and it can be re-listed later
    assert set_status(program_admin, listing, status="listed", reason="核查完毕").json()["status"] == "listed"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "suspended", "reason": ""}, "reason"),
        ({"status": "vanished", "reason": "x"}, "status"),
        ({"status": "listed", "reason": "x"}, "status"),  # already listed
    ],
)
def test_bad_changes_are_400_and_write_nothing(listing, program_admin, body, field):
    response = set_status(program_admin, listing, **body)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert ProviderStatusChange.objects.filter(listing=listing).count() == 1


@pytest.mark.parametrize("persona", ["reviewer", "auditor", "foreign_admin", "applicant"])
def test_only_staff_and_covering_admins_may_change_status(listing, request, persona):
    response = set_status(request.getfixturevalue(persona), listing, status="delisted", reason="x")
    assert response.status_code == 403
    listing.refresh_from_db()
    assert listing.status == "listed"
