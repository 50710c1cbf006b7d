"""POST /api/v1/programs/: a program administrator creates a draft; bad input writes nothing."""

from __future__ import annotations

import pytest

from accounts.models import AuditEvent
from tests.factories import client_for
from tests.snapshots import row_counts
from voucher_service.programs.models import Program, ProgramStatus

pytestmark = pytest.mark.django_db

URL = "/api/v1/programs/"


def payload(agency, **overrides):
    body = {
        "code": "ningxia-pilot",
        "name": "宁夏算力券试点",
        "jurisdiction": "640000",
        "issuing_agency": agency.pk,
        "responsible_agencies": [agency.pk],
        "legal_document_number": "宁发改〔2026〕1号",
        "valid_from": "2026-01-01",
        "valid_until": "2026-12-31",
        "rules": {
            "annual_cap": "1000000.00",
            "eligible_categories": ["tech_sme", "maker"],
            "rate_rules": [{"code": "local_platform", "description": "本地平台", "rate": "0.50"}],
        },
    }
    return body | overrides


def test_a_program_admin_creates_a_draft(program_admin, ningxia_agency):
    # when Ningxia's program administrator creates a program
    response = client_for(program_admin).post(URL, payload(ningxia_agency), format="json")
    # then it is a draft with an unpublished version 1, in yuan on the way out and fen in storage
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == ProgramStatus.DRAFT
    assert body["latest_version"]["number"] == 1
    assert body["latest_version"]["published_at"] is None
    assert body["current_version"] is None
    assert body["rules"]["annual_cap"] == "1000000.00"
    program = Program.objects.get(pk=body["id"])
    assert program.versions.get().rules["annual_cap"] == 100_000_000
    # and the creation is audited with the after values
    event = AuditEvent.objects.get(action="program.create")
    assert event.actor == program_admin
    assert event.before is None
    assert event.after["code"] == "ningxia-pilot"
    assert event.after["rules"]["annual_cap"] == 100_000_000


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"rules": {"annual_cap": "-100.00", "eligible_categories": ["tech_sme"]}}, "rules.annual_cap"),
        ({"rules": {"annual_cap": 100, "eligible_categories": ["tech_sme"]}}, "rules.annual_cap"),
        ({"rules": {"annual_cap": "00100", "eligible_categories": ["tech_sme"]}}, "rules.annual_cap"),
        ({"rules": {"annual_cap": " 100.00", "eligible_categories": ["tech_sme"]}}, "rules.annual_cap"),
        (
            {
                "rules": {
                    "annual_cap": "100.00",
                    "eligible_categories": ["tech_sme"],
                    "rate_rules": [{"code": "x", "description": "d", "rate": "1.01"}],
                }
            },
            "rules.rate_rules.0.rate",
        ),
        ({"valid_from": "2026-06-01", "valid_until": "2026-05-31"}, "valid_until"),
        ({"rules": {"annual_cap": "100.00", "eligible_categories": ["astronaut"]}}, "rules.eligible_categories.0"),
        ({"jurisdiction": "130600"}, "jurisdiction"),
        ({"code": "not a slug"}, "code"),
    ],
)
def test_bad_input_is_a_400_with_field_errors_and_writes_nothing(program_admin, ningxia_agency, change, field):
    # given the row counts before
    before = row_counts()
    # when a program is created with one bad field
    response = client_for(program_admin).post(URL, payload(ningxia_agency, **change), format="json")
    # then the answer is a 400 naming that field, and nothing was written (no program, version or audit event)
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"], response.json()
    assert row_counts() == before


def test_a_duplicate_code_is_refused(program_admin, ningxia_agency):
    client = client_for(program_admin)
    assert client.post(URL, payload(ningxia_agency), format="json").status_code == 201
    response = client.post(URL, payload(ningxia_agency), format="json")
    assert response.status_code == 400
    assert "code" in response.json()["error"]["fields"]


@pytest.mark.parametrize("persona", ["reviewer", "auditor", "finance", "foreign_admin", "applicant"])
def test_only_a_program_admin_of_the_issuing_agency_may_create(request, ningxia_agency, persona):
    # given a user who is not a program administrator of Ningxia's agency
    user = request.getfixturevalue(persona)
    before = row_counts()
    # when they try to create a program issued by it
    response = client_for(user).post(URL, payload(ningxia_agency), format="json")
    # then they are refused and nothing is written
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert row_counts() == before
