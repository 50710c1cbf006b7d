"""The worked example every report test reads (numbers in yuan; the program: 1,000 a year, 300 per entity).

1. opening: cap 1,000.00;
2. voucher V1 of 200.00 to entity A and V2 of 300.00 to entity B (B's yearly cap reached exactly)   -> moment 1;
3. version 2 of the rules lapses unused amounts; V3 of 100.00 to A (A's cap reached exactly);
   V1 is revoked and its 200.00 returns to the budget (V1 was issued under version 1)               -> moment 2;
4. V3 expires and its 100.00 lapses (version 2)                                                     -> moment 3.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from accounts.audit import SYSTEM
from ledger.sealing import seal_pending
from tests.factories import make_program
from voucher_service.programs.services import program_update
from voucher_service.vouchers import services
from voucher_service.vouchers.models import Voucher


@dataclass
class World:
    program: Any
    entity_a: Any
    entity_b: Any
    v1: Voucher
    v2: Voucher
    v3: Voucher
    moment_1: datetime
    moment_2: datetime
    moment_3: datetime


def sealed_now() -> datetime:
    """Now, once the sealer has run (it runs within a second of each post; its task is debounced in tests)."""
    seal_pending()
    return timezone.now()


def issue(capture: Any, *, applicant: Any, reviewer: Any, program: Any, entity: Any, amount: int) -> Voucher:
    application = services.application_submit(
        actor=applicant, program=program, entity=entity, amount=amount, purpose="模型训练"
    )
    with capture(execute=True):
        issuance = services.application_approve(actor=reviewer, application=application)
    issuance.refresh_from_db()
    assert issuance.voucher is not None, issuance.failure_message
    return issuance.voucher


def build_world(capture: Any, *, program_admin: Any, reviewer: Any, agency: Any, a: Any, b: Any, users: Any) -> World:
    program = make_program(program_admin, agency, code="nx-audit")
    v1 = issue(capture, applicant=users[0], reviewer=reviewer, program=program, entity=a, amount=20_000)
    v2 = issue(capture, applicant=users[1], reviewer=reviewer, program=program, entity=b, amount=30_000)
    moment_1 = sealed_now()
    with capture(execute=True):
        program_update(actor=program_admin, program=program, rules={"unused_amounts": "lapse"})
    v3 = issue(capture, applicant=users[0], reviewer=reviewer, program=program, entity=a, amount=10_000)
    services.voucher_revoke(actor=program_admin, voucher=v1, reason="核查不实")
    moment_2 = sealed_now()
    yesterday = timezone.localdate() - timedelta(days=200)  # past the claim grace period too
    Voucher.objects.filter(pk=v3.pk).update(valid_from=yesterday, valid_until=yesterday)
    services.vouchers_expire_due(actor=SYSTEM)
    moment_3 = sealed_now()
    return World(program, a, b, v1, v2, v3, moment_1, moment_2, moment_3)
