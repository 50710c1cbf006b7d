"""Caps under real concurrency (PostgreSQL, real threads): whatever the interleaving, no cap is exceeded.

Each test queues pending issuances and releases many threads at once to run them (as Celery workers would).
"""

import pytest

from tests.factories import make_org
from tests.race_condition import race
from voucher_service.programs.selectors import budget_figures, budget_for, current_fiscal_year
from voucher_service.vouchers.models import EntityYearTotal, Issuance, IssuanceKind, OneTimeAward, Voucher
from voucher_service.vouchers.services import issuance_execute

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def queue(program, entities, amount, award_code=""):
    return [
        Issuance.objects.create(
            kind=IssuanceKind.AWARD if award_code else IssuanceKind.APPLICATION,
            program=program,
            entity=entity,
            amount=amount,
            award_code=award_code,
            fiscal_year=current_fiscal_year(),
        ).pk
        for entity in entities
    ]


def run_all(ids, threads=16):
    outcomes = race([lambda pk=pk: issuance_execute(issuance_id=pk) for pk in ids], threads=threads)
    assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok]
    return [o.value for o in outcomes]


def test_fifty_concurrent_issuances_stop_exactly_at_the_entity_cap(program, entity):
    # given 50 issuances of 10 yuan for one entity whose yearly cap is 300 yuan
    ids = queue(program, [entity] * 50, 1_000)
    # when they all run at once
    results = run_all(ids)
    # then exactly 30 succeed: the cap, to the fen
    assert sum(r.status == "succeeded" for r in results) == 30
    assert {r.failure_code for r in results if r.status == "failed"} == {"entity_cap_exceeded"}
    total = EntityYearTotal.objects.get(entity=entity, program=program)
    assert total.issued == 30_000 == total.cap
    assert sum(Voucher.objects.filter(entity=entity).values_list("face_value", flat=True)) == 30_000


def test_racing_issuances_stop_exactly_at_the_program_cap(program):
    # given 60 entities each asking 20 yuan from a 1,000 yuan budget
    entities = [make_org(jurisdiction="640104") for _ in range(60)]
    ids = queue(program, entities, 2_000)
    # when
    results = run_all(ids)
    # then exactly 50 are issued, the budget is exactly spent and never below zero
    assert sum(r.status == "succeeded" for r in results) == 50
    figures = budget_figures(budget_for(program, current_fiscal_year()))
    assert (figures.issued, figures.remaining) == (100_000, 0)
    assert {r.failure_code for r in results if r.status == "failed"} == {"program_budget_exceeded"}


def test_the_settling_in_award_cannot_be_issued_twice_even_concurrently(program, entity):
    from datetime import date

    entity.settled_on = date(current_fiscal_year(), 2, 1)
    entity.save()
    ids = queue(program, [entity] * 12, 10_000, award_code="settling_in")
    results = run_all(ids, threads=12)
    assert sum(r.status == "succeeded" for r in results) == 1
    assert {r.failure_code for r in results if r.status == "failed"} == {"award_already_granted"}
    assert OneTimeAward.objects.filter(entity=entity).count() == 1


def test_the_same_issuance_delivered_to_many_workers_issues_once(program, entity):
    (pk,) = queue(program, [entity], 5_000)
    results = run_all([pk] * 20)
    assert {r.status for r in results} == {"succeeded"}
    assert Voucher.objects.count() == 1


def test_the_same_file_uploaded_at_once_is_queued_once(program, program_admin):
    # given one CSV, sent by eight requests at the same instant (a double click, a retry without a key…)
    from voucher_service.vouchers.bulk import bulk_issuance_create
    from voucher_service.vouchers.errors import VoucherError, VoucherErrorCode
    from voucher_service.vouchers.models import BulkIssuance

    entities = [make_org(jurisdiction="640104") for _ in range(3)]
    content = ("uscc,amount\n" + "".join(f"{e.uscc},10\n" for e in entities)).encode()

    def upload():
        return bulk_issuance_create(
            actor=program_admin, program=program, content=content, file_name="v.csv", mode="all_or_nothing"
        )

    # when
    outcomes = race([upload] * 8)
    # then exactly one is queued and the others are refused as duplicates of it
    assert sum(o.ok for o in outcomes) == 1
    refusals = [o.error for o in outcomes if not o.ok]
    assert all(isinstance(e, VoucherError) and e.code == VoucherErrorCode.DUPLICATE_FILE for e in refusals), refusals
    assert BulkIssuance.objects.count() == 1
    assert Issuance.objects.filter(bulk__isnull=False).count() == 3
