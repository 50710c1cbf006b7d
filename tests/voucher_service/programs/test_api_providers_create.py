"""POST /api/v1/providers/: staff and program administrators covering the jurisdiction list providers."""

from __future__ import annotations

import json

import pytest

from accounts.models import AuditEvent, OrganizationKind
from tests.factories import client_for, make_org
from voucher_service.programs.models import ProviderListing, ProviderStatusChange

pytestmark = pytest.mark.django_db

URL = "/api/v1/providers/"


@pytest.fixture
def provider(db):
    return make_org(OrganizationKind.PROVIDER, jurisdiction="640104", name="银川智算中心")


@pytest.fixture
def platform(db):
    return make_org(OrganizationKind.PLATFORM, jurisdiction="640100", name="银川算力调度平台")


def counts() -> tuple[int, int, int]:
    return ProviderListing.objects.count(), ProviderStatusChange.objects.count(), AuditEvent.objects.count()


def body(provider, **overrides):
    return {"organization": provider.pk, "service_types": ["gpu", "npu"], "valid_from": "2024-01-01"} | overrides


@pytest.mark.parametrize("persona", ["program_admin", "staff"])
def test_a_provider_is_listed_with_a_history_row_and_an_audit_event(request, persona, provider, platform):
    user = request.getfixturevalue(persona)
    response = client_for(user).post(URL, body(provider, platforms=[platform.pk]), format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["status"] == "listed"
    assert data["jurisdiction"] == "640104"
    assert data["platforms"] == [platform.pk]
    assert len(data["status_history"]) == 1
    event = AuditEvent.objects.get(action="provider.list")
    assert event.after["service_types"] == ["gpu", "npu"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"service_types": ["quantum"]}, "service_types.0"),
        ({"service_types": []}, "service_types"),
        ({"valid_from": "2025-01-01", "valid_until": "2024-01-01"}, "valid_until"),
        ({"platforms": [999_999]}, "platforms"),
    ],
)
def test_bad_input_is_400_and_writes_nothing(program_admin, provider, change, field):
    before = counts()
    response = client_for(program_admin).post(URL, body(provider, **change), format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"]
    assert counts() == before


def test_an_entity_cannot_be_listed(program_admin, entity):
    response = client_for(program_admin).post(URL, body(entity), format="json")
    assert response.status_code == 400
    assert "organization" in response.json()["error"]["fields"]


@pytest.mark.parametrize("persona", ["reviewer", "auditor"])
def test_others_may_not_list(request, persona, provider):
    before = counts()
    response = client_for(request.getfixturevalue(persona)).post(URL, body(provider), format="json")
    assert response.status_code == 403
    assert counts() == before


@pytest.mark.parametrize("persona", ["foreign_admin", "applicant"])
def test_a_provider_the_caller_cannot_see_is_no_choice(request, persona, provider):
    # given a provider outside the caller's scope (issue 10, item 2: the choices were every provider)
    before = counts()
    # when
    response = client_for(request.getfixturevalue(persona)).post(URL, body(provider), format="json")
    missing = client_for(request.getfixturevalue(persona)).post(
        URL, body(provider, organization=999_999), format="json"
    )
    # then it answers exactly as for an id that does not exist
    assert response.status_code == 400
    [seen] = response.json()["error"]["fields"]["organization"]
    [absent] = missing.json()["error"]["fields"]["organization"]
    assert seen["code"] == absent["code"] == "does_not_exist"
    assert seen["message"].replace(str(provider.pk), "#") == absent["message"].replace("999999", "#")
    assert counts() == before


def test_another_jurisdictions_provider_cannot_be_listed_under_ones_own(foreign_admin, program_admin, provider, staff):
    # given Baoding's administrator names Baoding as where a Ningxia provider's compute is (issue 10, item 2)
    before = counts()
    # when (directly through the service, as if the organisation had been a choice)
    from accounts.models import Jurisdiction
    from voucher_service.programs.errors import ProgramError
    from voucher_service.programs.providers import provider_register

    with pytest.raises(ProgramError) as refused:
        provider_register(
            actor=foreign_admin,
            organization=provider,
            service_types=["gpu"],
            valid_from=body(provider)["valid_from"],
            jurisdiction=Jurisdiction.objects.get(code="130600"),
        )
    # then it is refused, and Ningxia's administrator keeps the provider
    assert refused.value.code == "permission_denied"
    assert counts() == before
    listed = client_for(program_admin).post(URL, body(provider), format="json")
    assert listed.status_code == 201, listed.json()


def test_a_listing_is_managed_by_whoever_covers_the_providers_own_jurisdiction(
    program_admin, foreign_admin, provider, staff
):
    # given a listing made (by staff) with its compute placed in Baoding
    created = client_for(staff).post(URL, body(provider, jurisdiction="130600"), format="json")
    assert created.status_code == 201, created.json()
    url = f"{URL}{created.json()['id']}/status/"
    change = {"status": "suspended", "reason": "核查"}
    # then Baoding's administrator cannot take it over, and Ningxia's is not locked out
    assert client_for(foreign_admin).post(url, change, format="json").status_code == 403
    assert client_for(program_admin).post(url, change, format="json").status_code == 200


@pytest.mark.parametrize("persona", ["foreign_admin", "applicant"])
def test_a_provider_the_caller_cannot_see_does_not_exist_for_them(request, persona, provider):
    before = counts()
    response = client_for(request.getfixturevalue(persona)).post(URL, body(provider), format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["organization"][0]["code"] == "does_not_exist"
    assert counts() == before


def _answer(response, pk):
    """What a caller learns: status, code, fields and messages, with the id they sent blanked out."""
    return response.status_code, json.loads(response.content.decode().replace(str(pk), "<id>"))


@pytest.mark.parametrize("field", ["platforms", "organization"])
def test_an_id_the_caller_cannot_see_is_indistinguishable_from_one_that_does_not_exist(program_admin, provider, field):
    # given a platform (and a provider) in Baoding, outside the Ningxia administrator's sight, and an unused id
    hidden = make_org(
        OrganizationKind.PLATFORM if field == "platforms" else OrganizationKind.PROVIDER, jurisdiction="130602"
    )
    missing = hidden.pk + 1000
    client = client_for(program_admin)

    def attempt(pk):
        change = {"platforms": [pk]} if field == "platforms" else {"organization": pk}
        return client.post(URL, body(provider) | change, format="json", HTTP_ACCEPT_LANGUAGE="en")

    before = counts()
    # when
    invisible, nonexistent = attempt(hidden.pk), attempt(missing)
    # then both are the same 400, and nothing is listed
    assert invisible.status_code == 400
    assert _answer(invisible, hidden.pk) == _answer(nonexistent, missing)
    assert counts() == before


def test_a_platform_listed_in_the_public_registry_may_be_named(program_admin, provider, staff):
    # given a Baoding platform that staff listed (the registry is public, so its id is known to all)
    platform = make_org(OrganizationKind.PLATFORM, jurisdiction="130602")
    assert client_for(staff).post(URL, body(platform), format="json").status_code == 201
    # when a Ningxia administrator lists a provider selling through it
    response = client_for(program_admin).post(URL, body(provider, platforms=[platform.pk]), format="json")
    # then
    assert response.status_code == 201, response.json()
