"""Fixtures for the programs tests: the seed policies, loaded through the management command."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import AuditEvent
from voucher_service.programs.models import Program, ProgramVersion

NINGXIA = "ningxia-2023-8-9"
YINCHUAN = "yinchuan-compute-capital-draft"
BAODING = "baoding-compute-measures-5"
HOHHOT = "hohhot-2025-11-3-1"
HORINGER_PLATFORM = "和林格尔多云算力监测与调度平台"


class Seeds:
    """The four seed programs, by city."""

    def __init__(self) -> None:
        self.ningxia = Program.objects.get(code=NINGXIA)
        self.yinchuan = Program.objects.get(code=YINCHUAN)
        self.baoding = Program.objects.get(code=BAODING)
        self.hohhot = Program.objects.get(code=HOHHOT)


def load_policies(*args: str) -> str:
    out = StringIO()
    call_command("load_policies", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def seeds(ningxia_agency, baoding_agency) -> Seeds:
    """Loaded after the persona agencies exist, so the fixture adopts them as the issuing agencies."""
    load_policies()
    return Seeds()


def row_counts() -> dict[str, int]:
    """What a refused write must leave unchanged."""
    return {
        "programs": Program.objects.count(),
        "versions": ProgramVersion.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


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
