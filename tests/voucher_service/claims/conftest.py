"""Fixtures for the claims tests (the builders are in ``tests/claims.py``): uploads under a temporary MEDIA_ROOT,
the seed policies with this year's budgets, and the Baoding cast. Every scenario leaves a ledger that verifies,
explained and reconciled (checked after each test)."""

from __future__ import annotations

import pytest

from tests.claims import Cast, list_provider, load_seeds
from tests.factories import make_user
from voucher_service.programs.models import Program


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _ledger_stays_consistent(request):
    """Every claims scenario must leave a ledger that verifies: balanced, chained, explained and reconciled."""
    yield
    if "db" not in request.fixturenames and "transactional_db" not in request.fixturenames:
        return
    from ledger.verification import verify_ledger

    report = verify_ledger()
    assert report.ok, report.render()


@pytest.fixture
def seeded(ningxia_agency, baoding_agency):
    load_seeds()


@pytest.fixture
def bd(seeded, baoding_agency, baoding_entity) -> Cast:
    """Baoding: the DRC's cast, an applicant of an enterprise in a city-managed district (竞秀区), a listed provider."""
    baoding_entity.category = "enterprise"
    baoding_entity.save(update_fields=["category"])
    return Cast(
        program=Program.objects.get(code="baoding-compute-measures-5"),
        agency=baoding_agency,
        entity=baoding_entity,
        applicant=make_user(baoding_entity, "applicant", username="bd_applicant"),
        reviewer=make_user(baoding_agency, "reviewer", username="bd_reviewer"),
        reviewer2=make_user(baoding_agency, "reviewer", username="bd_reviewer2"),
        finance=make_user(baoding_agency, "finance", username="bd_finance"),
        auditor=make_user(baoding_agency, "auditor", username="bd_auditor"),
        provider=list_provider("130602"),
    )
