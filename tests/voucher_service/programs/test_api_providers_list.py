"""GET /api/v1/providers/ and /api/v1/providers/{id}/: listed providers are public, the rest is for agencies."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import translation

from accounts.audit import SYSTEM
from accounts.models import OrganizationKind
from tests.factories import client_for, make_org
from voucher_service.programs.providers import provider_register, provider_set_status

pytestmark = pytest.mark.django_db

URL = "/api/v1/providers/"


@pytest.fixture
def listings(db):
    listed = make_org(OrganizationKind.PROVIDER, jurisdiction="640104", name="银川智算中心")
    suspended = make_org(OrganizationKind.PROVIDER, jurisdiction="640106", name="金凤超算")
    with translation.override("en"):  # the default registration reason is stored in the writer's language
        a = provider_register(
            actor=SYSTEM, organization=listed, service_types=["gpu", "storage"], valid_from=date(2024, 1, 1)
        )
        b = provider_register(actor=SYSTEM, organization=suspended, service_types=["cpu"], valid_from=date(2024, 1, 1))
    provider_set_status(actor=SYSTEM, listing=b, status="suspended", reason="核查")
    return a, b


def names(user) -> set[str]:
    return {row["organization_name"] for row in client_for(user).get(URL).json()["results"]}


def test_entities_see_listed_providers_only(listings, applicant):
    assert names(applicant) == {"银川智算中心"}
    assert client_for(applicant).get(f"{URL}{listings[1].pk}/").status_code == 404


def test_agencies_see_every_listing_with_its_history(listings, reviewer):
    assert names(reviewer) == {"银川智算中心", "金凤超算"}
    body = client_for(reviewer).get(f"{URL}{listings[1].pk}/").json()
    assert body["status"] == "suspended"
    assert [(h["from_status"], h["to_status"], h["reason"]) for h in body["status_history"]] == [
        ("", "listed", "Registered."),
        ("listed", "suspended", "核查"),
    ]
    assert body["service_types"] == ["cpu"]
    assert body["jurisdiction"] == "640106"
