"""Every report endpoint for every role, answered exactly as ``voucher_service/reports/scope.py`` says.

Roles: staff (the platform's operators); the program's agency auditor (Ningxia, the program's jurisdiction); an
agency auditor elsewhere (Baoding); an audit firm's auditor with a grant in force, without one, after the grant's
date, and with a grant in force for another (Baoding's) program; a compute platform's auditor; an applicant of an
entity of the worked example; the program's reviewer, finance and program administrator; anonymous.

Endpoints: the program's reports (budget statement, cap-compliance proof, each read and export), a program the
reader cannot see, the registers (read and export), the ledger-wide reads (chain head, verification requests and
runs, each listed and one read), starting a verification, spot checks (listed, one read, one drawn), a claim's
evidence bundle, background exports (listed; the auditor's: read and downloaded) and auditor grants (listed, one
read, one made, one revoked). Answers: 200 read, 201 made, 202 accepted, 403 refused (they may know the program
exists, the report is not theirs), 404 it does not exist for them, 401 anonymous.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import OrganizationKind, User
from tests.claims import Cast, claim_body, create, list_provider
from tests.factories import client_for, make_org, make_program, make_user
from voucher_service.reports.api.urls import REGISTERS
from voucher_service.reports.catalog import ENTITY_REGISTERS
from voucher_service.reports.models import AuditorGrant
from voucher_service.reports.services import (
    export_job_create,
    export_job_run,
    grant_create,
    verification_execute,
    verification_request,
)
from voucher_service.reports.spot_checks import spot_check_draw

pytestmark = pytest.mark.django_db

PROGRAM_REPORTS = ("budget-statement", "cap-compliance")
# Read by every auditor in scope (spot checks: of the programs they audit), refused to everyone else.
LEDGER_WIDE = ("chain-head/", "verifications/", "verification-runs/", "spot-checks/")

# role -> (the example's program reports, a Baoding program's reports, auditor-only registers, entity registers,
# ledger-wide reads). A Baoding program: Baoding's auditor reads it; Ningxia's agency users cannot see it (404);
# the applicants and the audit firm's users see it published but may not read its reports (403).
EXPECTED = {
    "staff": (200, 200, 200, 200, 200),
    "auditor": (200, 404, 200, 200, 200),
    "foreign_auditor": (404, 200, 200, 200, 200),
    "granted_firm_auditor": (200, 404, 200, 200, 200),
    "ungranted_firm_auditor": (403, 403, 403, 403, 403),
    "expired_firm_auditor": (403, 403, 403, 403, 403),
    "other_program_firm_auditor": (404, 200, 200, 200, 200),
    "platform_auditor": (403, 403, 403, 403, 403),
    "applicant": (403, 403, 403, 200, 403),
    "reviewer": (403, 404, 403, 403, 403),
    "finance": (403, 404, 403, 403, 403),
    "program_admin": (403, 404, 403, 403, 403),
    "anonymous": (401, 401, 401, 401, 401),
}

# role -> (start a verification, draw a spot check of the example's program, read one of its spot checks, the
# evidence bundle of a claim of entity A in the example's program, background exports listed (each their own),
# the auditor's export read or downloaded, grants listed (each those they may see), the example's grant read,
# grant the example's program, revoke a grant of it, read one verification request and one run). The bundle:
# refused to those who see the claim (its entity, the program's agency), absent for everyone else. An export is
# its requester's alone (staff too see only their own). A grant: made and revoked by the program's administrator
# (or staff), read by them and its grantee; the program does not exist for a grant from elsewhere (a field error).
EXPECTED_MORE = {
    "staff": (202, 201, 200, 200, 200, 404, 200, 200, 201, 200, 200),
    "auditor": (202, 201, 200, 200, 200, 200, 200, 404, 403, 404, 200),
    "foreign_auditor": (202, 404, 404, 404, 200, 404, 200, 404, 400, 404, 200),
    "granted_firm_auditor": (202, 201, 200, 200, 200, 404, 200, 200, 403, 404, 200),
    "ungranted_firm_auditor": (403, 403, 403, 404, 200, 404, 200, 404, 403, 404, 403),
    "expired_firm_auditor": (403, 403, 403, 404, 200, 404, 200, 404, 403, 404, 403),
    "other_program_firm_auditor": (202, 404, 404, 404, 200, 404, 200, 404, 403, 404, 200),
    "platform_auditor": (403, 403, 403, 404, 200, 404, 200, 404, 403, 404, 403),
    "applicant": (403, 403, 403, 403, 200, 404, 200, 404, 403, 404, 403),
    "reviewer": (403, 403, 403, 403, 200, 404, 200, 404, 403, 404, 403),
    "finance": (403, 403, 403, 403, 200, 404, 200, 404, 403, 404, 403),
    "program_admin": (403, 403, 403, 403, 200, 404, 200, 200, 201, 200, 403),
    "anonymous": (401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401),
}


@pytest.fixture
def out_of_reach(baoding_agency):
    """A published program of Baoding: staff and Baoding's auditor read it; Ningxia's auditors and the grant do not."""
    admin = make_user(baoding_agency, "program_admin", username="bd_admin_matrix")
    return make_program(admin, baoding_agency, code="bd-matrix")


@pytest.fixture
def firm():
    return make_org(OrganizationKind.AUDIT_FIRM, jurisdiction="640000", name="宁夏某会计师事务所")


@pytest.fixture
def readers(world, staff, auditor, reviewer, finance, program_admin, baoding_agency, out_of_reach, firm):
    granted, ungranted, expired, elsewhere = (
        make_user(firm, "auditor", username=f"cpa_{n}") for n in ("in", "none", "old", "bd")
    )
    today = timezone.localdate()
    for grantee in (granted, expired):
        grant_create(
            actor=program_admin, audit_firm=firm, username=grantee.username, programs=[world.program], until=today
        )
    old = AuditorGrant.objects.get(grantee=expired)
    AuditorGrant.objects.filter(pk=old.pk).update(until=today - timedelta(days=1))
    grant_create(
        actor=User.objects.get(username="bd_admin_matrix"),
        audit_firm=firm,
        username=elsewhere.username,
        programs=[out_of_reach],
        until=today,
    )
    platform = make_org(OrganizationKind.PLATFORM, jurisdiction="640100", name="宁夏某算力平台")
    return {
        "staff": staff,
        "auditor": auditor,
        "foreign_auditor": make_user(baoding_agency, "auditor", username="bd_auditor"),
        "granted_firm_auditor": granted,
        "ungranted_firm_auditor": ungranted,
        "expired_firm_auditor": expired,
        "other_program_firm_auditor": elsewhere,
        "platform_auditor": make_user(platform, "auditor", username="platform_auditor"),
        "applicant": world.entity_a.memberships.get().user,
        "reviewer": reviewer,
        "finance": finance,
        "program_admin": program_admin,
        "anonymous": None,
    }


def endpoints(program_id: int, foreign_id: int) -> list[tuple[str, int]]:
    """(url, column of EXPECTED) for every report endpoint."""
    rows: list[tuple[str, int]] = []
    for name in PROGRAM_REPORTS:
        for suffix in ("", "export/"):
            rows.append((f"/api/v1/reports/programs/{program_id}/{name}/{suffix}", 0))
            rows.append((f"/api/v1/reports/programs/{foreign_id}/{name}/{suffix}", 1))
    for name in REGISTERS:
        column = 3 if name in ENTITY_REGISTERS else 2
        rows += [(f"/api/v1/reports/{name}/", column), (f"/api/v1/reports/{name}/export/", column)]
    rows += [(f"/api/v1/reports/{path}", 4) for path in LEDGER_WIDE]
    return rows


def test_every_report_endpoint_answers_every_role_as_the_scope_says(world, readers, out_of_reach):
    # given the worked example, a Baoding program, and a reader of every role
    urls = endpoints(world.program.pk, out_of_reach.pk)
    assert len(urls) == 8 + 2 * len(REGISTERS) + len(LEDGER_WIDE)
    # when each reads each endpoint
    answers = {
        (role, url): client_for(user).get(url).status_code for role, user in readers.items() for url, _col in urls
    }
    # then every answer is the matrix's
    wrong = {
        (role, url): (answers[(role, url)], EXPECTED[role][column])
        for role in readers
        for url, column in urls
        if answers[(role, url)] != EXPECTED[role][column]
    }
    assert wrong == {}


@pytest.fixture
def rows_of(world, readers, firm, settings, tmp_path, ningxia_agency):
    """One of each row the matrix reads: a draft claim of entity A, a spot check, a verification and its run, the
    auditor's finished export, the granted auditor's grant; and an auditor of the firm outside the matrix."""
    settings.MEDIA_ROOT = str(tmp_path)
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    applicant, auditor = readers["applicant"], readers["auditor"]
    provider = list_provider("640100")
    cast = Cast(world.program, ningxia_agency, world.entity_a, applicant, None, None, None, auditor, provider)
    claim = create(cast, claim_body(cast, amount=100 * 100, conditions=()))
    assert claim.status_code == 201, claim.json()
    today = timezone.localdate()
    check = spot_check_draw(actor=auditor, program=world.program, date_from=today, date_to=today, size=1)
    verification = verification_request(actor=auditor)
    done = verification_execute(verification.pk)
    assert done is not None
    assert done.run is not None
    job = export_job_create(
        actor=auditor, report="vouchers", file_format="csv", params={}, as_of=timezone.now(), total_rows=3
    )
    export_job_run(job.pk)
    return {
        "claim": claim.json()["id"],
        "spot_check": check.pk,
        "verification": verification.pk,
        "run": done.run.pk,
        "job": job.pk,
        "grant": AuditorGrant.objects.get(grantee=readers["granted_firm_auditor"]).pk,
        "outsider": make_user(firm, "auditor", username="cpa_outside"),
    }


def more_requests(world: Any, rows: dict[str, Any], program_admin: Any) -> list[tuple[int, str, str, Any]]:
    """(column of EXPECTED_MORE, method, url, body or a function making the body) for every other endpoint."""
    today = timezone.localdate()
    firm = rows["outsider"].memberships.get().organization

    def fresh_grant() -> str:
        made = grant_create(
            actor=program_admin, audit_firm=firm, username="cpa_outside", programs=[world.program], until=today
        )
        return f"/api/v1/reports/auditor-grants/{made.pk}/revoke/"

    day = today.isoformat()
    body = {"program": world.program.pk, "date_from": day, "date_to": day, "size": 1}
    grant = {"audit_firm": firm.pk, "username": "cpa_outside", "programs": [world.program.pk], "until": day}
    return [
        (0, "post", "/api/v1/reports/verifications/", None),
        (1, "post", "/api/v1/reports/spot-checks/", body),
        (2, "get", f"/api/v1/reports/spot-checks/{rows['spot_check']}/", None),
        (3, "get", f"/api/v1/reports/claims/{rows['claim']}/evidence-bundle/", None),
        (4, "get", "/api/v1/reports/exports/", None),
        (5, "get", f"/api/v1/reports/exports/{rows['job']}/", None),
        (5, "get", f"/api/v1/reports/exports/{rows['job']}/download/", None),
        (6, "get", "/api/v1/reports/auditor-grants/", None),
        (7, "get", f"/api/v1/reports/auditor-grants/{rows['grant']}/", None),
        (8, "post", "/api/v1/reports/auditor-grants/", grant),
        (9, "post", fresh_grant, None),
        (10, "get", f"/api/v1/reports/verifications/{rows['verification']}/", None),
        (10, "get", f"/api/v1/reports/verification-runs/{rows['run']}/", None),
    ]


def test_every_other_report_endpoint_answers_every_role_as_the_scope_says(world, readers, rows_of, program_admin):
    # given the worked example with one of each row, and a reader of every role
    requests = more_requests(world, rows_of, program_admin)
    # when each makes each request (a revocation: of a grant made for it)
    answers: dict[tuple[str, int, str], int] = {}
    for role, user in readers.items():
        for column, method, target, body in requests:
            url = target() if callable(target) else target
            response = getattr(client_for(user), method)(url, body, format="json")
            answers[(role, column, method + " " + url.split("/reports/")[1])] = response.status_code
    # then every answer is the matrix's
    wrong = {key: (status, EXPECTED_MORE[key[0]][key[1]]) for key, status in answers.items()}
    wrong = {key: pair for key, pair in wrong.items() if pair[0] != pair[1]}
    assert wrong == {}


AUDITORS_READING = ("staff", "auditor", "foreign_auditor", "granted_firm_auditor", "other_program_firm_auditor")


def test_registers_read_by_a_role_hold_only_its_rows(world, readers, out_of_reach):
    # when the vouchers register is read by the roles that may read it
    counts = {
        role: client_for(readers[role]).get("/api/v1/reports/vouchers/").json()["count"]
        for role in (*AUDITORS_READING, "applicant")
    }
    # then each sees its scope: the example's three vouchers, none of Baoding's programs, entity A's two for its
    # applicant
    assert counts == {
        "staff": 3,
        "auditor": 3,
        "foreign_auditor": 0,
        "granted_firm_auditor": 3,
        "other_program_firm_auditor": 0,
        "applicant": 2,
    }
