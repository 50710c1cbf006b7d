"""Fixtures for the voucher tests: a small published program in Ningxia with its budget open for this year
(``tests.factories.make_program``)."""

from __future__ import annotations

import pytest

from tests.factories import apply, client_for, make_program


@pytest.fixture
def program(program_admin, ningxia_agency):
    return make_program(program_admin, ningxia_agency)


@pytest.fixture
def application(program, applicant, entity) -> int:
    """The id of an application the applicant submitted through the API."""
    response = apply(client_for(applicant), program, entity)
    assert response.status_code == 201
    return response.json()["id"]


@pytest.fixture(autouse=True)
def _ledger_stays_consistent(request):
    """Every voucher scenario must leave a ledger that verifies: balanced, chained, within every limit."""
    yield
    if "db" not in request.fixturenames and "transactional_db" not in request.fixturenames:
        return
    from ledger.verification import verify_ledger

    report = verify_ledger()
    assert report.ok, report.render()
