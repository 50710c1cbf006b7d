"""A whole Baoding claim through the API: draft → submitted → evaluated → three stages → notice → payable → paid."""

import pytest

from ledger.selectors import balance
from tests.claims import YUAN, approve_all, issue_voucher, pay, submitted
from tests.factories import client_for
from voucher_service.programs.selectors import budget_accounts, budget_figures, budget_for

pytestmark = pytest.mark.django_db


def test_a_local_platform_claim_is_paid_half_and_split_between_city_and_district(
    bd, django_capture_on_commit_callbacks
):
    # given a 1,000,000 yuan voucher and a 1,000,000 yuan purchase on the city's own platform
    voucher = issue_voucher(bd.program, bd.entity, 1_000_000 * YUAN)
    # when the claim is submitted
    claim = submitted(bd, django_capture_on_commit_callbacks)
    # then the evaluation gives 50 %: 500,000 yuan, bound by the rate, and holds it on the voucher
    assert claim.status == "in_review", claim.outcome_reason
    detail = client_for(bd.applicant).get(f"/api/v1/claims/{claim.pk}/").json()
    assert detail["subsidy"] == "500000.00"
    assert detail["evaluation"]["breakdown"]["bound_by"] == "rate"
    assert detail["stage"] == "初审"
    voucher.account.refresh_from_db()
    assert voucher.account.pending_debits == 500_000 * YUAN
    # when the three stages approve, the notice ends and finance pays
    claim = approve_all(bd, claim)
    assert claim.status == "in_notice"
    response = pay(bd, claim, django_capture_on_commit_callbacks)
    # then it is paid, from the voucher, half by the city and half by the district (竞秀区 is city-managed)
    assert response.status_code == 202, response.json()
    claim.refresh_from_db()
    assert (claim.status, claim.paid_amount) == ("paid", 500_000 * YUAN)
    funding = budget_accounts(bd.program, voucher.fiscal_year).funding
    assert balance(funding["city"]) == balance(funding["district"]) == 250_000 * YUAN
    assert balance(voucher.account) == 500_000 * YUAN
    figures = budget_figures(budget_for(bd.program, voucher.fiscal_year))
    assert figures.spent == 500_000 * YUAN
    # and the history tells who did what
    history = client_for(bd.auditor).get(f"/api/v1/claims/{claim.pk}/history/").json()
    assert [row["action"] for row in history][:3] == ["claim.create", "claim.evidence", "claim.evidence"]
    assert {"claim.submit", "claim.evaluate", "claim.approve", "claim.payable", "claim.pay"} <= {
        r["action"] for r in history
    }
