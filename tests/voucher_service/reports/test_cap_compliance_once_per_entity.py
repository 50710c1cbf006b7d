"""The cap-compliance proof of a ``once_per_entity`` rule (a count, against one) and of a one-time award (the
vouchers of an award an entity holds, against one): used once is compliant; a second use written past the service
is reported as exceeded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.utils import timezone

from ledger.models import Hold
from tests.claims import Cast, approve_all, claim_body, issue_voucher, pay, submitted
from tests.factories import make_org, make_user
from tests.voucher_service.reports.test_api_report_cap_compliance import by_subject, compliance
from voucher_service.claims.models import ClaimHold
from voucher_service.programs.services import program_create, program_publish

pytestmark = pytest.mark.django_db

YUAN = 100


@dataclass
class OnceUsed:
    cast: Any
    first: Any
    second: Any


@pytest.fixture
def once_used(bd, django_capture_on_commit_callbacks, settings, tmp_path):
    """A program whose rule ``once`` (50 %) subsidises one claim per entity, ever, and ``base`` (10 %) every claim:

    1. a voucher of 50,000; claim 1 on 10,000 of cost: 5,000 under ``once`` + 1,000 under ``base`` = 6,000, paid;
    2. claim 2 on 10,000: ``once`` was used, so only ``base``: 1,000 (the service counted ``once`` no second time).
    """
    settings.MEDIA_ROOT = tmp_path / "media"
    capture = django_capture_on_commit_callbacks
    admin = make_user(bd.agency, "program_admin", username="bd_admin_once")
    rules = {
        "annual_cap": "5000000.00",
        "eligible_categories": ["enterprise"],
        "per_entity_annual_cap": "100000.00",
        "rate_rules": [
            {"code": "once", "description": "首次补贴", "rate": "0.50", "once_per_entity": True},
            {"code": "base", "description": "基础补贴", "rate": "0.10"},
        ],
        "combination": "stack",
    }
    program = program_create(
        actor=admin, code="once-rules", name="首次算力补贴", jurisdiction=bd.agency.jurisdiction,
        issuing_agency=bd.agency, rules=rules, valid_from=bd.program.valid_from, valid_until=bd.program.valid_until,
    )  # fmt: skip
    program = program_publish(actor=admin, program=program)
    entity = make_org(jurisdiction="130602", category="enterprise", name="保定首次科技有限公司")
    cast = Cast(program, bd.agency, entity, make_user(entity, "applicant", username="once_applicant"),
                bd.reviewer, bd.reviewer2, bd.finance, bd.auditor, bd.provider)  # fmt: skip
    issue_voucher(program, entity, 50_000 * YUAN)
    first = submitted(cast, capture, claim_body(cast, amount=10_000 * YUAN, conditions=("once", "base")))
    assert first.subsidy == 6_000 * YUAN
    assert pay(cast, approve_all(cast, first), capture).status_code == 202
    second = submitted(cast, capture, claim_body(cast, amount=10_000 * YUAN, conditions=("once", "base")))
    assert second.subsidy == 1_000 * YUAN
    return OnceUsed(cast, first, second)


def test_a_rule_used_once_per_entity_is_compliant_at_one_of_one(once_used):
    # when
    body = compliance(once_used.cast.auditor, once_used.cast.program)
    # then the rule counted one claim (claim 1, paid 5,000 under it), its cap of one claim, and nothing exceeded
    rows = by_subject(body)
    once = rows[("rule_cap", f"{once_used.cast.entity.name} once")]
    assert (once["cap_count"], once["highest_count"], once["exceeded"]) == (1, 1, False)
    assert (once["cap"], once["highest_use"]) == (None, "5000.00")
    assert ("rule_cap", f"{once_used.cast.entity.name} base") not in rows  # no cap, no count: nothing to prove
    assert body["compliant"] is True
    assert body["exceeded"] == 0


def test_a_second_use_written_past_the_service_is_reported_as_exceeded(once_used, forged_ledger):
    # given claim 2's reserve copied with 5,000 more under ``once``, written straight into the tables (the service
    # found ``once`` used and gave claim 2 nothing under it)
    original = ClaimHold.objects.filter(claim=once_used.second).select_related("hold").first()
    forged = Hold.objects.get(pk=original.hold_id)
    forged.pk, forged.entry, forged.resolved_at, forged.posted_amount = None, None, None, None
    forged.idempotency_key, forged.status, forged.amount = "forged-once-hold", "pending", 5_000 * YUAN
    forged.created_at = timezone.now()
    forged.metadata = {"claim": once_used.second.pk, "reserve": 99, "subsidy": 5_000 * YUAN, "rules": {"once": 500_000}}
    forged.save()
    ClaimHold.objects.create(claim=once_used.second, voucher=original.voucher, hold=forged, amount=5_000 * YUAN)
    # when
    body = compliance(once_used.cast.auditor, once_used.cast.program)
    # then the rule counted two claims against its one, and the proof says so plainly
    once = by_subject(body)[("rule_cap", f"{once_used.cast.entity.name} once")]
    assert (once["cap_count"], once["highest_count"], once["exceeded"]) == (1, 2, True)
    assert once["highest_use"] == "10000.00"
    assert body["compliant"] is False
    assert body["exceeded"] == 1


@pytest.fixture
def awarded(program_admin, reviewer, ningxia_agency, django_capture_on_commit_callbacks):
    """A program with the 100.00 settling-in award (once per entity), granted once to an entity settled this year."""
    from datetime import date

    from tests.factories import make_program
    from voucher_service.vouchers.services import award_grant

    program = make_program(program_admin, ningxia_agency, code="nx-award")
    newcomer = make_org(jurisdiction="640104", settled_on=date(timezone.localdate().year, 1, 2), name="银川新落户公司")
    with django_capture_on_commit_callbacks(execute=True):
        issuance = award_grant(actor=reviewer, program=program, entity=newcomer, award_code="settling_in")
    issuance.refresh_from_db()
    assert issuance.voucher is not None, issuance.failure_message
    return issuance.voucher


def test_a_one_time_award_granted_once_is_compliant(auditor, awarded):
    # when
    body = compliance(auditor, awarded.program)
    # then one voucher of the award, against one
    row = by_subject(body)[("one_time_award", f"{awarded.entity.name} settling_in")]
    assert (row["cap_count"], row["highest_count"], row["events"], row["exceeded"]) == (1, 1, 1, False)
    assert body["compliant"] is True


def test_a_second_award_voucher_written_past_the_service_is_reported_as_exceeded(auditor, awarded, forged_ledger):
    # given a copy of the award voucher, on an account of its own, inserted straight into the table (the service
    # refuses a second grant: 409 award_already_granted; verify_ledger reports the voucher as unexplained)
    from ledger import services as ledger
    from voucher_service.vouchers.models import Voucher

    copy = Voucher.objects.get(pk=awarded.pk)
    copy.pk, copy.serial, copy.token = None, awarded.serial + "-F", "f" * 64
    copy.account = ledger.account_create(code=f"forged:{awarded.serial}", name="forged")
    copy.issued_at = timezone.now()
    copy.save()
    # when
    body = compliance(auditor, awarded.program)
    # then two vouchers of a once-per-entity award: exceeded, plainly
    row = by_subject(body)[("one_time_award", f"{awarded.entity.name} settling_in")]
    assert (row["cap_count"], row["highest_count"], row["exceeded"]) == (1, 2, True)
    assert body["compliant"] is False
    assert body["exceeded"] == 1
