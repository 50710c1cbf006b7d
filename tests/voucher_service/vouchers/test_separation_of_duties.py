"""Separation of duties on voucher money: no deciding for your own entity, no granting what you certified,
and platform staff do not decide subsidies."""

from datetime import date

import pytest
from django.utils import timezone

from accounts.models import AuditEvent, Membership
from tests.factories import apply, client_for
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


def _settle_and_body(program, program_admin, entity):
    """The administrator, who is also a reviewer (so may grant awards), records that the entity settled this year."""
    Membership.objects.get_or_create(user=program_admin, organization=program.issuing_agency, role="reviewer")
    settled = date(timezone.localdate().year, 3, 1).isoformat()
    patched = client_for(program_admin).patch(f"/api/v1/organizations/{entity.pk}/", {"settled_on": settled})
    assert patched.status_code == 200, patched.json()
    return {"program": program.pk, "entity": entity.pk, "award_code": "settling_in"}


@pytest.mark.django_db
def test_fifty_empty_patches_do_not_launder_who_certified_the_settling_date(program, program_admin, entity):
    # given the program administrator records the settling-in date, then sends 50 empty PATCHes (issue 10, item 1:
    # the certifier used to be looked up in the newest 50 audit events, and an empty PATCH wrote one)
    body = _settle_and_body(program, program_admin, entity)
    events_before = AuditEvent.objects.count()
    for _ in range(50):
        assert (
            client_for(program_admin).patch(f"/api/v1/organizations/{entity.pk}/", {}, format="json").status_code == 200
        )
    # when the same person grants the settling-in award
    response = client_for(program_admin).post("/api/v1/issuances/awards/", body, format="json")
    # then it is still refused, and the empty PATCHes wrote nothing
    assert response.status_code == 403, response.json()
    assert response.json()["error"]["code"] == "separation_of_duties"
    assert AuditEvent.objects.count() == events_before
    assert not Issuance.objects.exists()


@pytest.mark.django_db
def test_later_real_edits_do_not_launder_the_certifier_either(program, program_admin, entity):
    # given the certifier, then 51 genuine, audited edits of another field (more than the old window of 50)
    body = _settle_and_body(program, program_admin, entity)
    for n in range(51):
        edited = client_for(program_admin).patch(f"/api/v1/organizations/{entity.pk}/", {"address": f"路{n}号"})
        assert edited.status_code == 200
    # when / then: the fact is on the row, not in a window of the trail
    entity.refresh_from_db()
    assert entity.settled_on_certified_by == program_admin
    assert client_for(program_admin).post("/api/v1/issuances/awards/", body, format="json").status_code == 403


@pytest.mark.django_db
def test_a_no_op_update_writes_no_audit_event(program_admin, entity):
    # given
    events_before = AuditEvent.objects.count()
    # when: an empty PATCH, and one that sets the values the row already has
    empty = client_for(program_admin).patch(f"/api/v1/organizations/{entity.pk}/", {}, format="json")
    same = client_for(program_admin).patch(f"/api/v1/organizations/{entity.pk}/", {"name": entity.name}, format="json")
    # then
    assert empty.status_code == same.status_code == 200
    assert AuditEvent.objects.count() == events_before


@pytest.mark.django_db
def test_whoever_changes_the_date_last_is_the_certifier(program, program_admin, ningxia_agency, entity):
    # given one administrator recorded the date and a second one corrected it afterwards
    from tests.factories import make_user

    second = make_user(ningxia_agency, "program_admin", "reviewer", username="nx_admin2")
    body = _settle_and_body(program, program_admin, entity)
    corrected = date(timezone.localdate().year, 4, 1).isoformat()
    assert client_for(second).patch(f"/api/v1/organizations/{entity.pk}/", {"settled_on": corrected}).status_code == 200
    # then the second one certified the date: they may not grant the award, the first one may
    assert client_for(second).post("/api/v1/issuances/awards/", body, format="json").status_code == 403
    assert client_for(program_admin).post("/api/v1/issuances/awards/", body, format="json").status_code == 202


@pytest.mark.django_db
def test_the_migration_backfills_certifiers_from_the_whole_audit_trail(program, program_admin, entity):
    # given a certifier recorded only in the audit trail (as before the column existed), buried under 51 events
    import importlib
    from types import SimpleNamespace

    from django.apps import apps
    from django.db import connection

    from accounts.models import Organization

    _settle_and_body(program, program_admin, entity)
    for n in range(51):
        client_for(program_admin).patch(f"/api/v1/organizations/{entity.pk}/", {"address": f"路{n}号"})
    Organization.objects.filter(pk=entity.pk).update(settled_on_certified_by=None)
    migration = importlib.import_module("accounts.migrations.0003_security_hardening")
    # when
    migration.backfill_certifiers(apps, SimpleNamespace(connection=connection))
    # then
    entity.refresh_from_db()
    assert entity.settled_on_certified_by == program_admin
