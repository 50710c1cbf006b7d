"""GET /api/v1/programs/{id}/budgets/: each opened year's figures, read from the ledger, in yuan."""

from __future__ import annotations

import pytest

from accounts.audit import SYSTEM
from accounts.models import Organization, OrganizationKind
from ledger.services import account_create, entry_post
from tests.factories import client_for, make_user
from voucher_service.programs.budgets import budgets_open_year
from voucher_service.programs.selectors import budget_accounts

pytestmark = pytest.mark.django_db


def url(program) -> str:
    return f"/api/v1/programs/{program.pk}/budgets/"


def test_budgets_list_each_year_in_yuan(seeds, program_admin):
    # given Ningxia's 2024 and 2025 budgets, with 1,234,567.89 元 issued in 2025
    budgets_open_year(actor=SYSTEM, year=2024)
    budgets_open_year(actor=SYSTEM, year=2025)
    accounts = budget_accounts(seeds.ningxia, 2025)
    voucher = account_create(code="test:voucher", name="voucher")
    entry_post(
        actor=SYSTEM,
        idempotency_key="t:issue",
        lines=[(accounts.budget_account, "debit", 123_456_789), (voucher, "credit", 123_456_789)],
    )
    # when its administrator reads the budgets
    response = client_for(program_admin).get(url(seeds.ningxia))
    # then both years are listed with yuan strings
    assert response.status_code == 200
    by_year = {row["year"]: row for row in response.json()}
    assert set(by_year) == {2024, 2025}
    assert by_year[2025] == {
        "year": 2025,
        "cap": "40000000.00",
        "issued": "1234567.89",
        "held": "0.00",
        "spent": "0.00",
        "returned": "0.00",
        "lapsed": "0.00",
        "remaining": "38765432.11",
    }
    assert by_year[2024]["remaining"] == "40000000.00"


def test_budgets_follow_program_visibility(seeds, foreign_admin, applicant):
    budgets_open_year(actor=SYSTEM, year=2025)
    assert client_for(foreign_admin).get(url(seeds.ningxia)).status_code == 404
    assert client_for(applicant).get(url(seeds.yinchuan)).status_code == 404


@pytest.mark.parametrize("persona", ["program_admin", "reviewer", "finance", "auditor"])
def test_members_of_the_issuing_agency_read_the_budgets(seeds, request, persona):
    # given Ningxia's 2025 budget
    budgets_open_year(actor=SYSTEM, year=2025)
    # when any member of its issuing agency reads it
    response = client_for(request.getfixturevalue(persona)).get(url(seeds.ningxia))
    # then they get the figures
    assert response.status_code == 200
    assert response.json()[0]["cap"] == "40000000.00"


def test_an_agency_whose_jurisdiction_covers_the_program_and_staff_read_the_budgets(seeds, reviewer, staff):
    # given Yinchuan's program (640100), inside the Ningxia agency's jurisdiction (640000), and Hohhot's
    # then a member of the Ningxia agency may read Yinchuan's budgets, and staff anyone's
    assert client_for(reviewer).get(url(seeds.yinchuan)).status_code == 200
    assert client_for(staff).get(url(seeds.hohhot)).status_code == 200


def test_a_responsible_agency_reads_the_budgets(seeds):
    # given a member of 保定市财政局, one of Baoding's responsible agencies (not its issuing agency)
    finance_bureau = Organization.objects.get(name="保定市财政局", kind=OrganizationKind.AGENCY)
    member = make_user(finance_bureau, "finance", username="bd_finance")
    budgets_open_year(actor=SYSTEM, year=2025)
    # when they read Baoding's budgets
    response = client_for(member).get(url(seeds.baoding))
    # then they get them
    assert response.status_code == 200
    assert response.json()[0]["cap"] == "10000000.00"


@pytest.mark.parametrize("persona", ["applicant", "outsider"])
def test_entities_see_the_program_but_not_its_budget(seeds, request, persona):
    # given Hohhot's and Ningxia's published programs with their 2025 budgets, which an entity can see
    budgets_open_year(actor=SYSTEM, year=2025)
    client = client_for(request.getfixturevalue(persona))
    assert client.get(f"/api/v1/programs/{seeds.hohhot.pk}/").status_code == 200
    # when an entity's user asks for the budgets
    # then they are refused with 403, and no figure is disclosed
    for program in (seeds.hohhot, seeds.ningxia):
        response = client.get(url(program))
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "permission_denied"
        assert "cap" not in response.content.decode()
