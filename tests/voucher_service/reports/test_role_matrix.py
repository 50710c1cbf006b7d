"""Every report endpoint for every role, answered exactly as ``voucher_service/reports/scope.py`` says.

Roles: staff; the program's agency auditor (Ningxia, the program's jurisdiction); an agency auditor elsewhere
(Baoding); an audit firm's auditor with a grant in force, without one, and after the grant's date; an applicant
of an entity of the worked example; the program's reviewer, finance and program administrator; anonymous.

Endpoints: the program's reports (budget statement, cap-compliance proof, each read and export), a program the
reader cannot see, the registers (read and export), and the ledger-wide reads (chain head, verification requests,
runs and spot checks), and a claim's evidence bundle in its own test. Answers: 200 read, 403 refused (they may know
the program exists, the report is not theirs), 404 the program does not exist for them, 401 anonymous.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import OrganizationKind
from tests.factories import client_for, make_org, make_program, make_user
from voucher_service.reports.api.urls import REGISTERS
from voucher_service.reports.catalog import ENTITY_REGISTERS
from voucher_service.reports.models import AuditorGrant
from voucher_service.reports.services import grant_create

pytestmark = pytest.mark.django_db

PROGRAM_REPORTS = ("budget-statement", "cap-compliance")
# Read by every auditor in scope (spot checks: of the programs they audit), refused to everyone else.
LEDGER_WIDE = ("chain-head/", "verifications/", "verification-runs/", "spot-checks/")

# role -> (the example's program reports, a Baoding program's reports, auditor-only registers, entity registers,
# ledger-wide). A Baoding program: Baoding's auditor reads it; Ningxia's agency users cannot see it (404); the
# applicants and the audit firm's users see it published but may not read its reports (403).
EXPECTED = {
    "staff": (200, 200, 200, 200, 200),
    "auditor": (200, 404, 200, 200, 200),
    "foreign_auditor": (404, 200, 200, 200, 200),
    "granted_firm_auditor": (200, 404, 200, 200, 200),
    "ungranted_firm_auditor": (403, 403, 403, 403, 403),
    "expired_firm_auditor": (403, 403, 403, 403, 403),
    "applicant": (403, 403, 403, 200, 403),
    "reviewer": (403, 404, 403, 403, 403),
    "finance": (403, 404, 403, 403, 403),
    "program_admin": (403, 404, 403, 403, 403),
    "anonymous": (401, 401, 401, 401, 401),
}


@pytest.fixture
def readers(world, staff, auditor, reviewer, finance, program_admin, baoding_agency):
    firm = make_org(OrganizationKind.AUDIT_FIRM, jurisdiction="640000", name="宁夏某会计师事务所")
    granted, ungranted, expired = (make_user(firm, "auditor", username=f"cpa_{n}") for n in ("in", "none", "old"))
    today = timezone.localdate()
    for grantee in (granted, expired):
        grant_create(
            actor=program_admin, audit_firm=firm, username=grantee.username, programs=[world.program], until=today
        )
    old = AuditorGrant.objects.get(grantee=expired)
    AuditorGrant.objects.filter(pk=old.pk).update(until=today - timedelta(days=1))
    return {
        "staff": staff,
        "auditor": auditor,
        "foreign_auditor": make_user(baoding_agency, "auditor", username="bd_auditor"),
        "granted_firm_auditor": granted,
        "ungranted_firm_auditor": ungranted,
        "expired_firm_auditor": expired,
        "applicant": world.entity_a.memberships.get().user,
        "reviewer": reviewer,
        "finance": finance,
        "program_admin": program_admin,
        "anonymous": None,
    }


@pytest.fixture
def out_of_reach(baoding_agency):
    """A published program of Baoding: staff and Baoding's auditor read it; Ningxia's auditors and the grant do not."""
    admin = make_user(baoding_agency, "program_admin", username="bd_admin_matrix")
    return make_program(admin, baoding_agency, code="bd-matrix")


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


def test_registers_read_by_a_role_hold_only_its_rows(world, readers, out_of_reach):
    # when the vouchers register is read by the roles that may read it
    counts = {
        role: client_for(readers[role]).get("/api/v1/reports/vouchers/").json()["count"]
        for role in ("staff", "auditor", "foreign_auditor", "granted_firm_auditor", "applicant")
    }
    # then each sees its scope: the example's three vouchers, none for Baoding, entity A's two for its applicant
    assert counts == {"staff": 3, "auditor": 3, "foreign_auditor": 0, "granted_firm_auditor": 3, "applicant": 2}
