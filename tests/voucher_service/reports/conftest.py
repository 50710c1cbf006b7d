"""Fixtures of the report tests: the worked example (world.py), an auditor, and a ledger that verifies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.factories import client_for, make_user
from tests.voucher_service.claims import conftest as claims_fixtures
from tests.voucher_service.reports.world import build_world

# The claims tests' Baoding cast and seeded policies, for the claims part of the worked example.
seeded, bd = claims_fixtures.seeded, claims_fixtures.bd


@pytest.fixture
def world(program_admin, reviewer, ningxia_agency, entity, other_entity, django_capture_on_commit_callbacks):
    applicants = [make_user(entity, "applicant"), make_user(other_entity, "applicant")]
    return build_world(
        django_capture_on_commit_callbacks,
        program_admin=program_admin,
        reviewer=reviewer,
        agency=ningxia_agency,
        a=entity,
        b=other_entity,
        users=applicants,
    )


@pytest.fixture
def forged_ledger():
    """Asked for by tests that write the journal past the service: the ledger then does not verify, on purpose."""
    return True


@pytest.fixture(autouse=True)
def _ledger_stays_consistent(request):
    """Every report scenario leaves a ledger that verifies (except a forgery's, which says so)."""
    yield
    if "db" not in request.fixturenames and "transactional_db" not in request.fixturenames:
        return
    if "forged_ledger" in request.fixturenames:
        return
    from ledger.verification import verify_ledger

    report = verify_ledger()
    assert report.ok, report.render()


@dataclass
class Claimed:
    cast: Any
    first: Any
    second: Any
    moment_0: Any
    moment_1: Any
    moment_2: Any


@pytest.fixture
def claimed(bd, django_capture_on_commit_callbacks, settings, tmp_path):
    """The claims part of the worked example (yuan), on a program with a 30,000 rule cap and a 100,000 entity cap:

    1. two vouchers of 50,000; claim 1 on 40,000 of cost at 50 % reserves 20,000 under the capped rule  -> moment 0;
    2. a stage lowers it to 15,000 and it is paid so (partly paid: 15,000 of 20,000)              -> moment 1;
    3. claim 2 on 40,000: the rule has 15,000 left, so 15,000 (the rule cap reached exactly), paid;
    4. finance claws back 5,000 of claim 1 (the rule's count stays: the service keeps it)          -> moment 2.
    """
    from datetime import timedelta

    from tests.claims import Cast, approve_all, claim_body, issue_voucher, pay, submitted
    from tests.factories import make_org, make_user
    from tests.voucher_service.reports.world import sealed_now
    from voucher_service.programs.services import program_create, program_publish

    settings.MEDIA_ROOT = tmp_path / "media"
    capture = django_capture_on_commit_callbacks
    admin = make_user(bd.agency, "program_admin", username="bd_admin_caps")
    rules = {
        "annual_cap": "5000000.00",
        "eligible_categories": ["enterprise"],
        "per_entity_annual_cap": "100000.00",
        "rate_rules": [{"code": "capped", "description": "封顶", "rate": "0.50", "cap": "30000.00"}],
        "combination": "stack",
    }
    program = program_create(
        actor=admin, code="capped-rules", name="带上限的算力补贴", jurisdiction=bd.agency.jurisdiction,
        issuing_agency=bd.agency, rules=rules, valid_from=bd.program.valid_from, valid_until=bd.program.valid_until,
    )  # fmt: skip
    program = program_publish(actor=admin, program=program)
    entity = make_org(jurisdiction="130602", category="enterprise", name="保定封顶科技有限公司")
    cast = Cast(program, bd.agency, entity, make_user(entity, "applicant", username="caps_applicant"),
                bd.reviewer, bd.reviewer2, bd.finance, bd.auditor, bd.provider)  # fmt: skip
    for _ in range(2):
        issue_voucher(program, entity, 50_000 * 100)
    first = submitted(cast, capture, claim_body(cast, amount=40_000 * 100, conditions=("capped",)))
    assert first.subsidy == 20_000 * 100
    moment_0 = sealed_now()
    first = approve_all(cast, first, amount="15000.00", reason="部分费用不合规")
    assert pay(cast, first, capture).status_code == 202
    moment_1 = sealed_now()
    second = submitted(cast, capture, claim_body(cast, amount=40_000 * 100, conditions=("capped",)))
    assert second.subsidy == 15_000 * 100
    assert pay(cast, approve_all(cast, second), capture).status_code == 202
    clawback = client_for(bd.finance).post(
        f"/api/v1/claims/{first.pk}/clawback/", {"reason_code": "audit_finding", "amount": "5000.00"}, format="json"
    )
    assert clawback.status_code == 201, clawback.json()
    moment_2 = sealed_now() + timedelta(microseconds=1)
    return Claimed(cast, first, second, moment_0, moment_1, moment_2)
