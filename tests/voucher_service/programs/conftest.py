"""Fixtures for the programs tests: the seed policies, loaded through the management command."""

from __future__ import annotations

import pytest

from tests.factories import Seeds, load_policies


@pytest.fixture
def seeds(ningxia_agency, baoding_agency) -> Seeds:
    """Loaded after the persona agencies exist, so the fixture adopts them as the issuing agencies."""
    load_policies()
    return Seeds()


TEST_STAND_IN_PREFIX = "t:"


def _stand_ins_are_explained(entries):
    return ()


@pytest.fixture(autouse=True)
def _ledger_stays_consistent(request):
    """Every programs scenario (openings, cap changes, suspensions…) leaves a ledger that verifies, the domain's
    explanations and budget reconciliation included.

    These tests stand in for the voucher domain with entries and holds keyed ``t:…`` (an issuance, a hold, a
    redemption); for them alone the stand-ins count as explained. Every real programs entry must still explain
    itself, and every budget must still reconcile with its program's versions."""
    from ledger import explanations

    explanations.register_entry_explainer(TEST_STAND_IN_PREFIX, _stand_ins_are_explained)
    explanations.register_hold_explainer(TEST_STAND_IN_PREFIX, _stand_ins_are_explained)
    try:
        yield
        if "db" not in request.fixturenames and "transactional_db" not in request.fixturenames:
            return
        from ledger.verification import verify_ledger

        report = verify_ledger()
        assert report.ok, report.render()
    finally:
        explanations.unregister(TEST_STAND_IN_PREFIX)
