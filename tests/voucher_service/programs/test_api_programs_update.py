"""PATCH /api/v1/programs/{id}/: edits by the issuing agency's administrator; a rules change is a new version."""

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts.audit import SYSTEM
from accounts.models import AuditEvent
from ledger.services import account_create, entry_post
from tests.factories import client_for
from tests.snapshots import row_counts
from voucher_service.programs import services
from voucher_service.programs.budgets import budget_open
from voucher_service.programs.models import ProgramVersion
from voucher_service.programs.selectors import budget_accounts, program_latest_version

pytestmark = pytest.mark.django_db


def url(program) -> str:
    return f"/api/v1/programs/{program.pk}/"


def test_a_rules_change_on_a_published_program_is_a_new_published_version(seeds, program_admin):
    # given Ningxia at version 1
    # when its administrator raises the cap and adds a per-entity cap (other rules are kept)
    response = client_for(program_admin).patch(
        url(seeds.ningxia),
        {"rules": {"annual_cap": "45000000.00", "per_entity_annual_cap": "2000000.00"}, "note": "2026 调整"},
        format="json",
    )
    # then version 2 is in force with the change, version 1 is unchanged
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["current_version"]["number"] == 2
    assert body["rules"]["annual_cap"] == "45000000.00"
    assert body["rules"]["per_entity_annual_cap"] == "2000000.00"
    assert body["rules"]["eligible_categories"] == [
        "university",
        "research_institute",
        "compute_intermediary",
        "tech_sme",
        "maker",
    ]
    v1, v2 = ProgramVersion.objects.filter(program=seeds.ningxia).order_by("number")
    assert v1.rules["annual_cap"] == 4_000_000_000
    assert v2.rules["annual_cap"] == 4_500_000_000
    assert v2.published_at is not None
    assert v2.created_by == program_admin
    assert v2.note == "2026 调整"
    # and the audit event holds the before and after values
    event = AuditEvent.objects.get(action="program.update")
    assert event.before["version"] == 1
    assert event.before["rules"]["annual_cap"] == 4_000_000_000
    assert event.after["version"] == 2
    assert event.after["rules"]["annual_cap"] == 4_500_000_000


def test_a_text_change_is_audited_and_adds_no_version(seeds, program_admin):
    response = client_for(program_admin).patch(url(seeds.ningxia), {"legal_title": "新标题"}, format="json")
    assert response.status_code == 200
    assert seeds.ningxia.versions.count() == 1
    event = AuditEvent.objects.get(action="program.update")
    assert (event.before["legal_title"], event.after["legal_title"]) == ("促进人工智能创新发展政策措施", "新标题")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"rules": {"annual_cap": "-1.00"}}, "rules.annual_cap"),
        ({"rules": {"rate_rules": [{"code": "a", "description": "d", "rate": "1.5"}]}}, "rules.rate_rules.0.rate"),
        ({"rules": {"eligible_categories": ["pirate"]}}, "rules.eligible_categories.0"),
        ({"valid_until": "2026-12-31"}, "valid_until"),  # a published window moves only by an extension
        ({"code": "renamed"}, "code"),
    ],
)
def test_bad_edits_are_400_and_write_nothing(seeds, program_admin, body, field):
    before = row_counts()
    response = client_for(program_admin).patch(url(seeds.ningxia), body, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"]
    assert row_counts() == before


@pytest.mark.parametrize("persona", ["reviewer", "auditor", "finance"])
def test_other_roles_of_the_agency_get_403(seeds, request, persona):
    # given a member of Ningxia's agency who is not its program administrator (they can see the program)
    before = row_counts()
    response = client_for(request.getfixturevalue(persona)).patch(url(seeds.ningxia), {"name": "x"}, format="json")
    assert response.status_code == 403
    assert row_counts() == before


def test_a_foreign_admin_gets_404(seeds, foreign_admin):
    response = client_for(foreign_admin).patch(url(seeds.ningxia), {"name": "x"}, format="json")
    assert response.status_code == 404


def test_an_entity_gets_403_on_a_published_program_and_404_on_a_draft(seeds, applicant):
    client = client_for(applicant)
    assert client.patch(url(seeds.ningxia), {"name": "x"}, format="json").status_code == 403
    assert client.patch(url(seeds.yinchuan), {"name": "x"}, format="json").status_code == 404


def test_an_admin_of_a_parent_jurisdiction_cannot_change_a_city_program(seeds, program_admin):
    # given Yinchuan's draft, visible to Ningxia's regional agency but issued by Yinchuan's
    response = client_for(program_admin).patch(url(seeds.yinchuan), {"name": "x"}, format="json")
    # then Ningxia's administrator is refused
    assert response.status_code == 403


def test_a_draft_rules_change_adds_an_unpublished_version(program_admin, ningxia_agency):
    # given a draft created through the API
    created = (
        client_for(program_admin)
        .post(
            "/api/v1/programs/",
            {
                "code": "draft-x",
                "name": "草案",
                "jurisdiction": "640000",
                "issuing_agency": ningxia_agency.pk,
                "rules": {"eligible_categories": ["maker"]},
            },
            format="json",
        )
        .json()
    )
    # when its rules change
    response = client_for(program_admin).patch(
        f"/api/v1/programs/{created['id']}/", {"rules": {"annual_cap": "500.00"}}, format="json"
    )
    # then version 2 exists and nothing is published
    body = response.json()
    assert body["latest_version"]["number"] == 2
    assert body["latest_version"]["published_at"] is None
    assert body["current_version"] is None


def test_a_cap_below_what_this_year_issued_is_a_409(seeds, program_admin):
    # given Ningxia extended over this year, its budget open and 1,000 元 issued
    year = timezone.localdate().year
    services.program_extend(actor=program_admin, program=seeds.ningxia, new_end=None, reason="长期有效")
    budget_open(actor=SYSTEM, program=seeds.ningxia, year=year)
    voucher = account_create(code="test:voucher:api", name="voucher")
    entry_post(
        actor=SYSTEM,
        idempotency_key="t:api:issue",
        lines=[(budget_accounts(seeds.ningxia, year).budget_account, "debit", 100_000), (voucher, "credit", 100_000)],
    )
    before = row_counts()
    # when the administrator cuts the annual cap to 500 元
    response = client_for(program_admin).patch(url(seeds.ningxia), {"rules": {"annual_cap": "500.00"}}, format="json")
    # then it is refused in the program's terms (the cap, what is issued), never a ledger account code
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "cap_below_committed"
    assert error["message"] == (
        f"{year} 年度的年度上限不能降至 500.00 元：该年度预算中已有 1000.00 元已发放或被申领占用，"
        "因此上限最低只能降至 1000.00 元。"
    )
    assert "programs:" not in str(error)
    assert error["fields"]["rules.annual_cap"][0]["code"] == "below_committed"
    assert (error["cap"], error["committed"]) == ("40000000.00", "1000.00")
    assert row_counts() == before
    # and in English when asked
    english = client_for(program_admin).patch(
        url(seeds.ningxia), {"rules": {"annual_cap": "500.00"}}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert english.json()["error"]["message"].startswith(f"The annual cap for {year} cannot be cut to 500.00 yuan")


def test_a_cap_cut_down_to_exactly_what_is_issued_is_allowed(seeds, program_admin):
    year = timezone.localdate().year
    services.program_extend(actor=program_admin, program=seeds.ningxia, new_end=None, reason="长期有效")
    budget_open(actor=SYSTEM, program=seeds.ningxia, year=year)
    voucher = account_create(code="test:voucher:exact", name="voucher")
    entry_post(
        actor=SYSTEM,
        idempotency_key="t:api:exact",
        lines=[(budget_accounts(seeds.ningxia, year).budget_account, "debit", 100_000), (voucher, "credit", 100_000)],
    )
    response = client_for(program_admin).patch(url(seeds.ningxia), {"rules": {"annual_cap": "1000.00"}}, format="json")
    assert response.status_code == 200, response.json()


def test_a_published_program_cannot_lose_its_annual_cap(seeds, program_admin):
    # given Ningxia, published with a 40,000,000 元 cap
    before = row_counts()
    # when its administrator removes the cap
    response = client_for(program_admin).patch(url(seeds.ningxia), {"rules": {"annual_cap": None}}, format="json")
    # then it is a 400 on rules.annual_cap, and no version is added
    assert response.status_code == 400, response.json()
    assert "rules.annual_cap" in response.json()["error"]["fields"]
    assert row_counts() == before
    assert program_latest_version(seeds.ningxia).parsed().annual_cap == 40_000_000 * 100


def test_a_suspended_program_cannot_lose_its_annual_cap_either(seeds, foreign_admin):
    services.program_suspend(actor=foreign_admin, program=seeds.baoding, reason="核查")
    response = client_for(foreign_admin).patch(url(seeds.baoding), {"rules": {"annual_cap": None}}, format="json")
    assert response.status_code == 400
    assert "rules.annual_cap" in response.json()["error"]["fields"]


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        ({"per_entity_annual_cap": "40000000.01"}, "rules.per_entity_annual_cap"),
        (
            {"rate_rules": [{"code": "a", "description": "d", "rate": "0.3", "cap": "50000000.00"}]},
            "rules.rate_rules.0.cap",
        ),
        (
            {"fixed_awards": [{"code": "a", "description": "d", "amount": "40000001.00"}]},
            "rules.fixed_awards.0.amount",
        ),
        ({"annual_cap": "100.00", "per_entity_annual_cap": "200.00"}, "rules.per_entity_annual_cap"),
        ({"rate_rules": [{"code": "a", "description": "d", "rate": "0.00001"}]}, "rules.rate_rules.0.rate"),
    ],
)
def test_amounts_above_the_annual_cap_and_over_precise_rates_are_400(seeds, program_admin, rules, field):
    # given Ningxia's 40,000,000 元 annual cap
    before = row_counts()
    # when an edit sets an amount above the cap (or a rate with five decimals)
    response = client_for(program_admin).patch(url(seeds.ningxia), {"rules": rules}, format="json")
    # then it is refused on that field and nothing is written
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"]
    assert row_counts() == before


def test_a_draft_may_still_have_no_cap(program_admin, ningxia_agency):
    created = client_for(program_admin).post(
        "/api/v1/programs/",
        {
            "code": "draft-cap",
            "name": "草案",
            "jurisdiction": "640000",
            "issuing_agency": ningxia_agency.pk,
            "rules": {"annual_cap": "500.00", "eligible_categories": ["maker"]},
        },
        format="json",
    )
    response = client_for(program_admin).patch(
        f"/api/v1/programs/{created.json()['id']}/", {"rules": {"annual_cap": None}}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["rules"]["annual_cap"] is None
