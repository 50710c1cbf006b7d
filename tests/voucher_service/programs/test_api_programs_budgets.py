"""GET /api/v1/programs/{id}/budgets/: each opened year's figures, read from the ledger, in yuan."""

from __future__ import annotations

import pytest

from accounts.audit import SYSTEM
from ledger.services import account_create, entry_post
from tests.factories import client_for
from voucher_service.programs.budgets import budget_accounts, budgets_open_year

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
    assert client_for(applicant).get(url(seeds.hohhot)).json()[0]["cap"] == "50000000.00"
