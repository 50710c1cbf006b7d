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
