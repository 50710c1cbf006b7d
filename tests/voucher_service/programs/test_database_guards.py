"""History that must not be rewritten: published versions, extensions and status changes (ORM and PostgreSQL)."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import DatabaseError, connection, transaction

from accounts.audit import SYSTEM
from accounts.models import OrganizationKind
from tests.factories import make_org
from voucher_service.programs import services
from voucher_service.programs.models import ImmutableRecordError, ProgramVersion
from voucher_service.programs.providers import provider_register
from voucher_service.programs.selectors import program_current_version
from voucher_service.vouchers.eligibility import entity_category_ok

pytestmark = pytest.mark.django_db


def test_extension_and_status_rows_are_append_only(seeds, program_admin):
    extension = services.program_extend(
        actor=program_admin, program=seeds.ningxia, new_end=date(2026, 12, 31), reason="延续"
    )
    listing = provider_register(
        actor=SYSTEM,
        organization=make_org(OrganizationKind.PROVIDER, jurisdiction="640104"),
        service_types=["gpu"],
        valid_from=date(2024, 1, 1),
    )
    change = listing.status_changes.get()
    for row in (extension, change):
        with pytest.raises(ImmutableRecordError):
            row.save()
        with pytest.raises(ImmutableRecordError):
            row.delete()


@pytest.mark.postgres
def test_postgresql_refuses_raw_updates_of_published_history(seeds, program_admin):
    # given a published version and an extension
    version = program_current_version(seeds.ningxia)
    services.program_extend(actor=program_admin, program=seeds.ningxia, new_end=date(2026, 12, 31), reason="延续")
    statements = [
        ("UPDATE programs_programversion SET rules = '{}' WHERE id = %s", [version.pk]),
        ("DELETE FROM programs_programversion WHERE id = %s", [version.pk]),
        ("UPDATE programs_programextension SET reason = 'x' WHERE program_id = %s", [seeds.ningxia.pk]),
    ]
    # when raw SQL tries to rewrite them, bypassing the ORM
    for sql, params in statements:
        with pytest.raises(DatabaseError, match="refused"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    # then the rows are unchanged
    assert ProgramVersion.objects.get(pk=version.pk).rules == version.rules


@pytest.mark.postgres
def test_postgresql_lets_a_draft_version_be_published(seeds, program_admin, ningxia_agency):
    program = services.program_create(
        actor=program_admin,
        code="pg-draft",
        name="草案",
        jurisdiction=ningxia_agency.jurisdiction,
        issuing_agency=ningxia_agency,
        valid_from=date(2026, 1, 1),
        rules={"annual_cap": "10.00", "eligible_categories": ["maker"]},
    )
    services.program_publish(actor=program_admin, program=program)
    assert program_current_version(program).number == 1


def test_entity_category_ok_follows_the_categories(seeds, entity, ningxia_agency):
    # given Ningxia's rules (tech_sme eligible, enterprise not) and a tech SME entity
    rules = program_current_version(seeds.ningxia).parsed()
    enterprise = make_org(jurisdiction="640104", category="enterprise")
    assert entity_category_ok(rules, entity)
    assert not entity_category_ok(rules, enterprise)
    assert not entity_category_ok(rules, ningxia_agency)
