"""Related parties (关联关系) and bars: what the claims domain asks of accounts.

A legal representative's ID number is kept only as a keyed digest and a masked hint; affiliations are declared
both ways; a bar is an append-only row whose newest entry decides.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AuditEvent, EntityBar, OrganizationKind
from accounts.selectors import organization_barred_until, organizations_related
from accounts.services import entity_bar
from tests.factories import client_for, make_org, valid_uscc

pytestmark = pytest.mark.django_db

# Two checksum-valid resident ID numbers (GB 11643).
REPRESENTATIVE = "11010519491231002X"
SOMEONE_ELSE = "110105194912310062"


def test_a_legal_representative_is_stored_only_as_digest_and_hint(program_admin):
    # when a program administrator registers a provider with its legal representative
    response = client_for(program_admin).post(
        "/api/v1/organizations/",
        {
            "name": "银川算力服务有限公司",
            "kind": "provider",
            "jurisdiction": "640104",
            "uscc": valid_uscc(),
            "legal_representative_id": REPRESENTATIVE,
        },
        format="json",
    )
    # then the number itself is nowhere: not in the answer, not in the audit trail
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["legal_representative_hint"] == "**************002X"
    assert REPRESENTATIVE not in str(body)
    assert REPRESENTATIVE not in str(list(AuditEvent.objects.values("before", "after", "detail")))


def test_an_invalid_legal_representative_id_is_refused_by_field(program_admin):
    response = client_for(program_admin).post(
        "/api/v1/organizations/",
        {
            "name": "x",
            "kind": "provider",
            "jurisdiction": "640104",
            "uscc": valid_uscc(),
            "legal_representative_id": "123",
        },
        format="json",
    )
    assert response.status_code == 400
    assert "legal_representative_id" in response.json()["error"]["fields"]


def test_same_representative_same_code_or_declared_affiliation_make_parties_related(program_admin, entity):
    # given a provider with the entity's representative, one declared affiliate, and one stranger
    from accounts.services import organization_update

    provider = make_org(OrganizationKind.PROVIDER, jurisdiction="640104")
    affiliate = make_org(OrganizationKind.PROVIDER, jurisdiction="640104")
    stranger = make_org(OrganizationKind.PROVIDER, jurisdiction="640104")
    organization_update(actor=program_admin, organization=entity, legal_representative_id=REPRESENTATIVE)
    organization_update(actor=program_admin, organization=provider, legal_representative_id=REPRESENTATIVE)
    organization_update(actor=program_admin, organization=stranger, legal_representative_id=SOMEONE_ELSE)
    response = client_for(program_admin).patch(
        f"/api/v1/organizations/{affiliate.pk}/", {"affiliates": [entity.pk]}, format="json"
    )
    assert response.status_code == 200, response.json()
    for organization in (entity, provider, stranger):
        organization.refresh_from_db()
    # then
    assert organizations_related(entity, provider) == "same_legal_representative"
    assert organizations_related(entity, affiliate) == "declared_affiliation"  # declared on the other side
    assert organizations_related(entity, entity) == "same_uscc"
    assert organizations_related(entity, stranger) is None


def test_the_newest_bar_decides_and_bars_are_append_only(program_admin, entity):
    # given a three-year bar, then a later decision cutting it short
    today = timezone.localdate()
    first = entity_bar(actor=program_admin, organization=entity, until=today + timedelta(days=1000), reason="fraud")
    # then it is in force
    assert organization_barred_until(entity, today) == first
    # when it is lifted by a newer, shorter bar
    entity_bar(actor=program_admin, organization=entity, until=today - timedelta(days=1), reason="appeal granted")
    # then the entity is free, and the first row is unchanged and cannot change
    assert organization_barred_until(entity, today) is None
    with pytest.raises(RuntimeError):
        first.save()
    with pytest.raises(RuntimeError):
        first.delete()
    assert EntityBar.objects.count() == 2
