"""Fixtures of the report tests: the worked example (world.py), an auditor, and a ledger that verifies."""

from __future__ import annotations

import pytest

from tests.factories import make_user
from tests.voucher_service.claims.conftest import bd, seeded  # noqa: F401 (the claims cast, for claims scenarios)
from tests.voucher_service.reports.world import build_world


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
