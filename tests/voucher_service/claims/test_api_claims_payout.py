"""POST /api/v1/claims/{id}/payout/ (202, posted once by a task), …/clawback/ and …/recover/."""

import pytest

from accounts.selectors import organization_barred_until
from ledger.models import JournalEntry
from ledger.selectors import balance
from tests.claims import (
    TODAY,
    YUAN,
    approve_all,
    assert_budgets_add_up,
    claim_body,
    create,
    issue_voucher,
    pay,
    submitted,
)
from tests.factories import client_for
from voucher_service.claims.ledger_accounts import claims_account
from voucher_service.claims.models import Payout
from voucher_service.claims.services import payout_execute
from voucher_service.programs.selectors import budget_accounts

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_second_factor(settings):
    """Force-authenticated clients give no second factor; production's PORTAL_FINANCE_REQUIRE_TOTP (on with
    DATABASE_URL) is off here: test_api_claims_payout_second_factor tests it."""
    settings.PORTAL_FINANCE_REQUIRE_TOTP = False


@pytest.fixture
def paid(bd, django_capture_on_commit_callbacks):
    voucher = issue_voucher(bd.program, bd.entity, 500_000 * YUAN)
    claim = approve_all(bd, submitted(bd, django_capture_on_commit_callbacks))
    assert pay(bd, claim, django_capture_on_commit_callbacks).status_code == 202
    claim.refresh_from_db()
    voucher.refresh_from_db()
    return claim, voucher


def test_a_payout_that_empties_the_voucher_exhausts_it(paid):
    claim, voucher = paid
    # the voucher's 500,000 yuan bound the subsidy (50 % of 1,000,000 = 500,000), and it is spent
    assert (claim.status, claim.paid_amount) == ("paid", 500_000 * YUAN)
    assert voucher.status == "exhausted"
    assert balance(voucher.account) == 0
    assert_budgets_add_up()


def test_the_payout_posts_once_however_often_the_task_runs(paid):
    claim, _ = paid
    entries = JournalEntry.objects.count()
    payout = Payout.objects.get(claim=claim)
    for _ in range(3):
        assert payout_execute(payout_id=payout.pk).status == "succeeded"
    assert JournalEntry.objects.count() == entries


def test_only_finance_pays_and_only_a_payable_claim_once(bd, django_capture_on_commit_callbacks):
    issue_voucher(bd.program, bd.entity, 500_000 * YUAN)
    claim = approve_all(bd, submitted(bd, django_capture_on_commit_callbacks))
    body = {"paid_on": TODAY().isoformat(), "bank_reference": "CZ-1"}
    url = f"/api/v1/claims/{claim.pk}/payout/"
    # in notice: a conflict for finance, a refusal for anyone else
    assert client_for(bd.finance).post(url, body, format="json").status_code == 409
    assert client_for(bd.reviewer).post(url, body, format="json").status_code == 403
    assert client_for(bd.applicant).post(url, body, format="json").status_code == 403
    assert pay(bd, claim, django_capture_on_commit_callbacks).status_code == 202
    assert client_for(bd.finance).post(url, body, format="json").status_code == 409


def test_an_idempotency_key_replays_the_payout_answer(bd, django_capture_on_commit_callbacks):
    from voucher_service.claims.notice import notices_close

    issue_voucher(bd.program, bd.entity, 500_000 * YUAN)
    claim = approve_all(bd, submitted(bd, django_capture_on_commit_callbacks))
    notices_close(today=claim.notice_ends_on.replace(year=claim.notice_ends_on.year + 1))
    client = client_for(bd.finance)
    body = {"paid_on": TODAY().isoformat(), "bank_reference": "CZ-7"}
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(f"/api/v1/claims/{claim.pk}/payout/", body, format="json", HTTP_IDEMPOTENCY_KEY="pay-7")
    again = client.post(f"/api/v1/claims/{claim.pk}/payout/", body, format="json", HTTP_IDEMPOTENCY_KEY="pay-7")
    assert (first.status_code, again.status_code) == (202, 202)
    assert again["Idempotent-Replayed"] == "true"
    assert Payout.objects.filter(claim=claim).count() == 1


def test_a_clawback_reverses_each_payer_in_proportion_and_tracks_recovery(bd, paid):
    claim, voucher = paid
    funding = budget_accounts(bd.program, voucher.fiscal_year).funding
    # when finance claws back 100,000.01 yuan (an odd fen) as an audit finding
    response = client_for(bd.finance).post(
        f"/api/v1/claims/{claim.pk}/clawback/",
        {"reason_code": "audit_finding", "amount": "100000.01", "note": "审计发现重复计费"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    # then the city and the district are each reversed their half, exactly, and the amount is due
    assert balance(funding["city"]) + balance(funding["district"]) == 500_000 * YUAN - 10_000_001
    assert balance(claims_account(bd.program, voucher.fiscal_year, "clawback_due")) == 10_000_001
    claim.refresh_from_db()
    assert (claim.status, claim.clawed_back_amount) == ("clawed_back", 10_000_001)
    # when 60,000 yuan comes back
    recovered = client_for(bd.finance).post(
        f"/api/v1/claims/{claim.pk}/recover/",
        {
            "clawback": response.json()["id"],
            "amount": "60000.00",
            "received_on": TODAY().isoformat(),
            "reference": "R1",
        },
        format="json",
    )
    assert recovered.status_code == 201, recovered.json()
    assert recovered.json()["recovered"] == "60000.00"
    assert balance(claims_account(bd.program, voucher.fiscal_year, "clawback_recovered")) == 6_000_000
    # and no more than what was paid can be clawed back
    over = client_for(bd.finance).post(
        f"/api/v1/claims/{claim.pk}/clawback/", {"reason_code": "other", "amount": "400000.00"}, format="json"
    )
    assert over.status_code == 400
    assert over.json()["error"]["fields"]["amount"][0]["code"] == "max_value"
    assert_budgets_add_up()


def test_a_clawback_for_fraud_bars_the_entity_from_new_claims_and_applications(bd, paid):
    claim, _voucher = paid
    response = client_for(bd.finance).post(
        f"/api/v1/claims/{claim.pk}/clawback/", {"reason_code": "fraud", "amount": "500000.00"}, format="json"
    )
    assert response.status_code == 201, response.json()
    # barred for 36 months (the program's fraud_bar_months)
    bar = organization_barred_until(bd.entity, TODAY())
    assert bar is not None
    assert bar.until.year == TODAY().year + 3
    assert response.json()["barred_until"] == bar.until.isoformat()
    # a new claim is refused, and so is a voucher application
    assert create(bd, claim_body(bd)).json()["error"]["code"] == "entity_barred"
    application = client_for(bd.applicant).post(
        "/api/v1/voucher-applications/",
        {"program": bd.program.pk, "entity": bd.entity.pk, "amount": "1000.00", "purpose": "训练"},
        format="json",
    )
    assert application.status_code == 400
    assert any(c["check"] == "entity_not_barred" and not c["ok"] for c in application.json()["error"]["checks"])


def test_the_applicant_may_withdraw_before_payout_releasing_the_hold(bd, django_capture_on_commit_callbacks):
    voucher = issue_voucher(bd.program, bd.entity, 500_000 * YUAN)
    claim = approve_all(bd, submitted(bd, django_capture_on_commit_callbacks))
    response = client_for(bd.applicant).post(
        f"/api/v1/claims/{claim.pk}/withdraw/", {"reason": "重复申报"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "withdrawn"
    voucher.account.refresh_from_db()
    assert voucher.account.pending_debits == 0
    # the invoice is free again for a new claim
    claim.refresh_from_db()
    assert not claim.invoices.filter(counts=True).exists()
    assert client_for(bd.applicant).post(f"/api/v1/claims/{claim.pk}/withdraw/").status_code == 409


def test_what_a_claim_releases_after_its_voucher_expired_returns_to_the_budget(bd, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from accounts.audit import SYSTEM
    from tests.claims import decide
    from voucher_service.programs.selectors import budget_figures, budget_for
    from voucher_service.vouchers.services import vouchers_expire_due

    # given a claim holding 50,000 yuan on a 200,000 yuan voucher
    voucher = issue_voucher(bd.program, bd.entity, 200_000 * YUAN)
    claim = submitted(bd, django_capture_on_commit_callbacks, claim_body(bd, amount=100_000 * YUAN))
    assert claim.subsidy == 50_000 * YUAN
    budget = budget_for(bd.program, voucher.fiscal_year)
    remaining = budget_figures(budget).remaining
    # when the voucher expires after its grace: only the unheld 150,000 yuan return
    assert vouchers_expire_due(actor=SYSTEM, today=voucher.valid_until + timedelta(days=91)) == 1
    assert budget_figures(budget).remaining == remaining + 150_000 * YUAN
    # and then the claim is rejected: the released 50,000 yuan follow
    assert decide(bd.reviewer, claim, "reject", reason="材料不实").status_code == 200
    voucher.refresh_from_db()
    assert (voucher.status, voucher.closed_amount, balance(voucher.account)) == ("expired", 200_000 * YUAN, 0)
    assert budget_figures(budget).remaining == remaining + 200_000 * YUAN


def test_a_recovery_names_one_of_the_claims_clawbacks_and_only_finance_records_it(bd, paid):
    claim, _voucher = paid
    body = {"clawback": 999_999, "amount": "1.00", "received_on": TODAY().isoformat(), "reference": "R"}
    # someone without the role learns nothing about the clawbacks; finance is told which field is wrong
    assert client_for(bd.reviewer).post(f"/api/v1/claims/{claim.pk}/recover/", body, format="json").status_code == 403
    response = client_for(bd.finance).post(f"/api/v1/claims/{claim.pk}/recover/", body, format="json")
    assert response.status_code == 400
    assert "clawback" in response.json()["error"]["fields"]
