"""provider_in_scope(version, provider, on_date): the check the claims code runs for every purchase."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import timezone, translation

from accounts.audit import SYSTEM
from accounts.models import Organization, OrganizationKind
from tests.factories import HORINGER_PLATFORM, make_org
from voucher_service.programs.models import ServiceType
from voucher_service.programs.providers import provider_register, provider_set_status
from voucher_service.programs.selectors import program_current_version, provider_in_scope

pytestmark = pytest.mark.django_db

ON = date(2025, 6, 1)


def listed_provider(jurisdiction: str, *, platforms=(), services=(ServiceType.GPU,), valid_from=date(2023, 1, 1)):
    provider = make_org(OrganizationKind.PROVIDER, jurisdiction=jurisdiction)
    provider_register(
        actor=SYSTEM,
        organization=provider,
        service_types=list(services),
        valid_from=valid_from,
        platforms=platforms,
    )
    return provider


def test_ningxia_accepts_in_region_providers_only(seeds):
    # given Ningxia's rules, a provider in Yinchuan (640104) and one in Baoding (130602)
    version = program_current_version(seeds.ningxia)
    local = listed_provider("640104")
    remote = listed_provider("130602")
    # then only the in-region provider is in scope
    assert provider_in_scope(version, local, ON)
    with translation.override("en"):
        decision = provider_in_scope(version, remote, ON)
    assert not decision
    assert decision.reason == "The provider is not located in the program's jurisdiction."


def test_hohhot_accepts_only_the_designated_platform(seeds):
    # given Hohhot's rules, a provider selling through the Horinger platform and a Hohhot provider that does not
    version = program_current_version(seeds.hohhot)
    platform = Organization.objects.get(name=HORINGER_PLATFORM)
    on_platform = listed_provider("130602", platforms=[platform])
    off_platform = listed_provider("150102")
    # then the platform decides, not the location
    assert provider_in_scope(version, on_platform, ON)
    assert not provider_in_scope(version, off_platform, ON)


def test_unregistered_storage_only_and_out_of_window_providers_are_out(seeds):
    version = program_current_version(seeds.ningxia)
    unregistered = make_org(OrganizationKind.PROVIDER, jurisdiction="640104")
    storage = listed_provider("640104", services=(ServiceType.STORAGE, ServiceType.NETWORK))
    late = listed_provider("640104", valid_from=date(2025, 7, 1))
    assert provider_in_scope(version, unregistered, ON).reason
    assert not provider_in_scope(version, storage, ON)
    assert not provider_in_scope(version, late, ON)
    assert provider_in_scope(version, late, date(2025, 7, 1))


def test_a_delisting_applies_from_the_day_it_happens(seeds):
    # given an in-region provider delisted today
    version = program_current_version(seeds.ningxia)
    provider = listed_provider("640104")
    provider_set_status(actor=SYSTEM, listing=provider.provider_listing, status="delisted", reason="资质过期")
    # then purchases before today stay in scope and from today on they are not
    assert provider_in_scope(version, provider, ON)
    assert not provider_in_scope(version, provider, timezone.localdate())
