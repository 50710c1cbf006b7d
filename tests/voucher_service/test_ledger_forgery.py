"""verify_ledger against a forger who has the database (issue 10, item 7a and 7c).

The review's attack: a script with database access posted a balanced entry moving money from a program's
appropriation to its budget, with a correct digest and bumped versions; the budget then exceeded the program's
cap and verification printed OK. Here the forger does better still: they call the ledger's own posting path,
so every balance, version, digest and chain link is exactly what an honest post would make. Only the domain can
say the entry has no cause.
"""

from __future__ import annotations

import pytest
from django.db import connection

from ledger import services
from ledger.models import Account
from ledger.verification import verify_ledger
from tests.factories import client_for, make_program
from voucher_service.programs.models import FiscalYearBudget
from voucher_service.programs.selectors import budget_accounts, current_fiscal_year
from voucher_service.vouchers.models import Voucher

pytestmark = pytest.mark.django_db

LEDGER_CHECKS = (
    "entries_balance",
    "ledger_balances",
    "balance_rows_match_postings",
    "versions_have_no_gaps",
    "balance_after_chain",
    "entry_digests",
    "hash_chain",
    "seals",
    "limits",
)


@pytest.fixture
def program(program_admin, ningxia_agency):
    return make_program(program_admin, ningxia_agency)  # annual cap 1,000 yuan, 300 per entity


@pytest.fixture
def voucher(program, applicant, reviewer, entity, django_capture_on_commit_callbacks):
    body = {"program": program.pk, "entity": entity.pk, "amount": "200.00", "purpose": "模型训练"}
    application = client_for(applicant).post("/api/v1/voucher-applications/", body, format="json").json()
    with django_capture_on_commit_callbacks(execute=True):
        approved = client_for(reviewer).post(f"/api/v1/voucher-applications/{application['id']}/approve/")
    assert approved.status_code == 202, approved.json()
    return Voucher.objects.get()


def accounts_of(program):
    return budget_accounts(program, current_fiscal_year())


def assert_only_the_domain_objects(report):
    for check in LEDGER_CHECKS:
        assert report.problem_counts[check] == 0, report.render()
    assert not report.ok


def test_an_honest_ledger_is_explained_entry_by_entry(voucher, program, program_admin):
    # given an opening, an issuance, a cap raise and a revocation, all made by the services
    from voucher_service.programs.services import program_update
    from voucher_service.vouchers.services import voucher_revoke

    program_update(actor=program_admin, program=program, rules={"annual_cap": "1500.00"})
    voucher_revoke(actor=program_admin, voucher=voucher, reason="核查不实")
    # when / then
    report = verify_ledger()
    assert report.ok, report.render()


def test_a_forged_balanced_entry_into_a_budget_is_reported(voucher, program):
    # given the forger's perfect entry: 500 yuan from the appropriation into the budget, under a key of their own
    accounts = accounts_of(program)
    forged = services.entry_post(
        actor=None,
        idempotency_key="adjustment-2026-1",
        lines=[(accounts.appropriation, "debit", 50_000), (accounts.budget_account, "credit", 50_000)],
        memo="年度预算调整",
    )
    # when
    report = verify_ledger()
    # then every ledger check passes (it is a perfect entry), and the domain reports it twice
    assert_only_the_domain_objects(report)
    [unexplained] = report.problems["entries_explained"]
    assert unexplained.startswith(f"entry #{forged.pk} (key 'adjustment-2026-1'")
    assert "no domain record explains it" in unexplained
    [over_cap] = report.problems["reconciliation"]
    assert over_cap.startswith(f"programs.budget_caps: budget {program.code} {current_fiscal_year()}")
    assert "funds the budget with 150000 fen, but its cap is 100000" in over_cap


def test_a_forged_entry_dressed_as_a_cap_change_is_reported(voucher, program):
    # given the forger borrows the domain's own key shape, naming a version that does not exist
    accounts = accounts_of(program)
    year = current_fiscal_year()
    services.entry_post(
        actor=None,
        idempotency_key=f"programs:{program.pk}:{year}:cap:v7",
        lines=[(accounts.appropriation, "debit", 50_000), (accounts.budget_account, "credit", 50_000)],
    )
    # when
    report = verify_ledger()
    # then
    assert_only_the_domain_objects(report)
    assert "names version 7, which is not a published version" in report.problems["entries_explained"][0]
    assert any("cap change entry" in p for p in report.problems["reconciliation"])


def test_a_forger_who_also_raises_the_budget_row_is_still_over_the_version_cap(voucher, program):
    # given the forged transfer and the budget row edited to match it
    accounts = accounts_of(program)
    services.entry_post(
        actor=None,
        idempotency_key="adjustment-2026-2",
        lines=[(accounts.appropriation, "debit", 50_000), (accounts.budget_account, "credit", 50_000)],
    )
    FiscalYearBudget.objects.filter(pk=accounts.budget.pk).update(cap=150_000)
    # when
    problems = verify_ledger().problems["reconciliation"]
    # then the cap is compared with the program version in force
    assert any("its cap 150000 is not the annual cap of its version" in p for p in problems)


def test_a_forged_voucher_payment_is_reported(voucher, program):
    # given money taken from the budget to an account that looks like a voucher's
    accounts = accounts_of(program)
    fake = services.account_create(code="vouchers:FAKE-0001", name="voucher FAKE-0001")
    services.entry_post(
        actor=None,
        idempotency_key=f"vouchers:issue:{voucher.issuance.pk}:1:{voucher.issuance.pk}9",
        lines=[(accounts.budget_account, "debit", 10_000), (fake, "credit", 10_000)],
    )
    # when
    report = verify_ledger()
    # then
    assert_only_the_domain_objects(report)
    assert "it credits an account that is no voucher's" in report.problems["entries_explained"][0]


def test_a_forged_refund_from_an_active_voucher_is_reported(voucher, program):
    # given the voucher's money moved to the lapsed account as if it had been revoked
    accounts = accounts_of(program)
    services.entry_post(
        actor=None,
        idempotency_key=f"vouchers:close:{voucher.pk}",
        lines=[(voucher.account, "debit", 20_000), (accounts.lapsed, "credit", 20_000)],
    )
    # when
    report = verify_ledger()
    # then
    assert "its voucher was never revoked or expired" in report.problems["entries_explained"][0]


def test_an_edited_entity_total_is_reported(voucher, entity):
    from voucher_service.vouchers.models import EntityYearTotal

    EntityYearTotal.objects.filter(entity=entity).update(issued=0)
    problems = verify_ledger().problems["reconciliation"]
    assert any(p.startswith(f"vouchers.totals: entity #{entity.pk}") for p in problems)


# --- A truncated journal ----------------------------------------------------------------------------------------


def truncate(*tables: str) -> None:
    """As the tables' owner can (the application's role cannot: tests/test_database_roles.py)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        else:
            for table in tables:
                cursor.execute(f"DELETE FROM {table}")


JOURNAL = ("ledger_posting", "ledger_chainlink", "ledger_unsealedentry", "ledger_hold", "ledger_journalentry")


def test_a_truncated_journal_is_reported(voucher, program):
    # given the journal emptied behind the ledger's back
    verify_ledger()  # sealed and signed first
    truncate(*JOURNAL)
    # when
    report = verify_ledger(seal=False)
    # then the balance rows, the seals and the domain each say so
    assert report.problem_counts["balance_rows_match_postings"] > 0
    assert any("lie beyond the end of the chain at #0" in p for p in report.problems["seals"])
    reconciliation = " ".join(report.problems["reconciliation"])
    assert "no opening entry funds it" in reconciliation
    assert f"voucher {voucher.serial}: its account was credited 0 fen" in reconciliation


def test_a_journal_truncated_with_its_seals_and_balances_is_still_reported(voucher, program):
    # given a thorough forger: journal, seals and chain head emptied, and every balance row zeroed, so that what
    # is left is a perfectly consistent empty ledger
    pin = verify_ledger().pin
    truncate(*JOURNAL, "ledger_chainseal", "ledger_chainhead")
    Account.objects.update(posted_debits=0, posted_credits=0, pending_debits=0, pending_credits=0, version=0)
    # when
    report = verify_ledger(seal=False, pins=[pin])
    # then the ledger's own checks find nothing, but the domain's records and the auditor's pin do
    for check in ("entries_balance", "balance_rows_match_postings", "versions_have_no_gaps", "hash_chain", "seals"):
        assert report.problem_counts[check] == 0, report.render()
    assert "no opening entry funds it" in " ".join(report.problems["reconciliation"])
    assert report.problems["pinned_heads"] == [
        f"pinned head #{pin.height} {pin.head_hash[:16]}… is missing: the chain ends at #0 (links were removed)"
    ]
