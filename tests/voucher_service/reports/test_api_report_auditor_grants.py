"""/api/v1/reports/auditor-grants/: a program administrator grants a third-party auditor read access to named
programs until a date; it ends by itself, can be revoked, and is audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AuditEvent, OrganizationKind
from tests.factories import client_for, make_org, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def firm_auditor(db):
    firm = make_org(OrganizationKind.AUDIT_FIRM, jurisdiction="640000", name="某某会计师事务所")
    return make_user(firm, "auditor", username="cpa_auditor")


def grant(admin, firm_auditor, programs, until):
    firm = firm_auditor.memberships.get().organization
    body = {"audit_firm": firm.pk, "username": firm_auditor.username, "programs": programs, "until": until.isoformat()}
    return client_for(admin).post("/api/v1/reports/auditor-grants/", body)


def test_a_granted_auditor_reads_the_program_until_the_date(program_admin, firm_auditor, world):
    # given no grant: nothing to read
    url = f"/api/v1/reports/programs/{world.program.pk}/budget-statement/"
    assert client_for(firm_auditor).get(url).status_code == 403
    # when the program administrator grants it until tomorrow
    response = grant(program_admin, firm_auditor, [world.program.pk], timezone.localdate() + timedelta(days=1))
    # then
    assert response.status_code == 201, response.json()
    assert response.json()["in_force"] is True
    assert client_for(firm_auditor).get(url).status_code == 200
    assert client_for(firm_auditor).get("/api/v1/reports/vouchers/").json()["count"] == 3
    assert AuditEvent.objects.filter(action="report.grant").count() == 1


def test_a_grant_ends_by_itself(program_admin, firm_auditor, world):
    # given a grant that ended yesterday (as if written then)
    response = grant(program_admin, firm_auditor, [world.program.pk], timezone.localdate())
    from voucher_service.reports.models import AuditorGrant

    AuditorGrant.objects.filter(pk=response.json()["id"]).update(until=timezone.localdate() - timedelta(days=1))
    # when
    read = client_for(firm_auditor).get(f"/api/v1/reports/programs/{world.program.pk}/budget-statement/")
    # then
    assert read.status_code == 403


def test_a_revoked_grant_reads_nothing(program_admin, firm_auditor, world):
    # given
    grant_id = grant(program_admin, firm_auditor, [world.program.pk], timezone.localdate()).json()["id"]
    # when
    revoked = client_for(program_admin).post(f"/api/v1/reports/auditor-grants/{grant_id}/revoke/")
    # then
    assert revoked.status_code == 200
    assert revoked.json()["in_force"] is False
    assert client_for(firm_auditor).get("/api/v1/reports/vouchers/").status_code == 403


def test_only_the_programs_administrator_grants(reviewer, foreign_admin, firm_auditor, world):
    # when
    by_reviewer = grant(reviewer, firm_auditor, [world.program.pk], timezone.localdate())
    by_foreigner = grant(foreign_admin, firm_auditor, [world.program.pk], timezone.localdate())
    # then
    assert by_reviewer.status_code == 403
    assert by_foreigner.status_code == 400  # the program does not exist for Baoding's administrator
    assert "programs" in by_foreigner.json()["error"]["fields"]


def test_an_unknown_auditor_is_a_field_error(program_admin, firm_auditor, world):
    # when
    firm = firm_auditor.memberships.get().organization
    body = {"audit_firm": firm.pk, "username": "nobody", "programs": [world.program.pk], "until": "2999-01-01"}
    response = client_for(program_admin).post("/api/v1/reports/auditor-grants/", body)
    # then
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["username"][0]["code"] == "does_not_exist"
