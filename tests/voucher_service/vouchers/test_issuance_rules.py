"""Issuance-time rules: the fiscal year of issuance, the cap in force, a program that stops issuing."""

import pytest

from tests.factories import make_org
from voucher_service.programs.selectors import current_fiscal_year
from voucher_service.programs.services import program_suspend, program_update
from voucher_service.vouchers.models import EntityYearTotal, Issuance, IssuanceKind, Voucher
from voucher_service.vouchers.services import issuance_execute


def queue(program, entity, amount, year=None):
    return Issuance.objects.create(
        kind=IssuanceKind.APPLICATION,
        program=program,
        entity=entity,
        amount=amount,
        fiscal_year=year or current_fiscal_year(),
    )


@pytest.mark.django_db
def test_an_issuance_queued_last_year_draws_on_this_years_budget(program, entity):
    # given an issuance approved on 31 December of last year and run now
    issuance = queue(program, entity, 5_000, year=current_fiscal_year() - 1)
    # when
    result = issuance_execute(issuance_id=issuance.pk)
    # then it is issued from this year's budget, valid to the end of this year
    assert result.status == "succeeded"
    assert (result.fiscal_year, result.voucher.fiscal_year) == (current_fiscal_year(), current_fiscal_year())
    assert result.voucher.valid_until.year == current_fiscal_year()


@pytest.mark.django_db
def test_a_raised_per_entity_cap_applies_within_the_year(program, program_admin, entity):
    # given the entity reached the 300 yuan cap
    assert issuance_execute(issuance_id=queue(program, entity, 30_000).pk).status == "succeeded"
    assert issuance_execute(issuance_id=queue(program, entity, 100).pk).failure_code == "entity_cap_exceeded"
    # when the agency raises the cap to 400 yuan
    program_update(actor=program_admin, program=program, rules={"per_entity_annual_cap": "400.00"})
    # then 100 yuan more can be issued, and not a fen beyond
    assert issuance_execute(issuance_id=queue(program, entity, 10_000).pk).status == "succeeded"
    assert issuance_execute(issuance_id=queue(program, entity, 1).pk).failure_code == "entity_cap_exceeded"
    assert EntityYearTotal.objects.get(entity=entity, program=program).cap == 40_000


@pytest.mark.django_db
def test_a_lowered_cap_leaves_the_entity_exactly_full(program, program_admin, entity):
    assert issuance_execute(issuance_id=queue(program, entity, 25_000).pk).status == "succeeded"
    program_update(actor=program_admin, program=program, rules={"per_entity_annual_cap": "100.00"})
    assert issuance_execute(issuance_id=queue(program, entity, 1).pk).failure_code == "entity_cap_exceeded"
    assert EntityYearTotal.objects.get(entity=entity, program=program).cap == 25_000


@pytest.mark.django_db
def test_a_suspended_program_issues_nothing_already_queued(program, program_admin, entity):
    issuance = queue(program, entity, 1_000)
    program_suspend(actor=program_admin, program=program, reason="审计")
    result = issuance_execute(issuance_id=issuance.pk)
    assert (result.status, result.failure_code) == ("failed", "program_suspended")
    assert not Voucher.objects.exists()


@pytest.mark.django_db
def test_an_inactive_entity_is_refused_at_issuance(program):
    entity = make_org(jurisdiction="640104")
    issuance = queue(program, entity, 1_000)
    entity.is_active = False
    entity.save()
    assert issuance_execute(issuance_id=issuance.pk).failure_code == "not_eligible"


@pytest.mark.django_db
def test_a_worker_takes_the_waiting_issuances_of_the_program_along(program):
    # given three approvals waiting for the same program's budget
    waiting = [queue(program, make_org(jurisdiction="640104"), 1_000) for _ in range(3)]
    # when the first task runs
    issuance_execute(issuance_id=waiting[0].pk)
    # then all three are decided, each against the caps, and the other tasks find nothing left to do
    assert set(Issuance.objects.values_list("status", flat=True)) == {"succeeded"}
    assert issuance_execute(issuance_id=waiting[2].pk).status == "succeeded"
    assert Voucher.objects.count() == 3
