"""Claim writes, one module per step (house style: every public function is one durable transaction that takes
``actor=`` and writes an audit event in it; asynchronous work is queued on commit). This module names them all:

* drafting (``drafts``): ``claim_create``, ``claim_update``, ``claim_withdraw``; evidence (``evidence``):
  ``evidence_upload``;
* submission and evaluation (``evaluation``): ``claim_submit``, then the task runs ``claim_evaluate``;
* review (``review``): ``claim_decide``;
* public notice (``notice``): ``objection_file``, ``objection_resolve``, ``notices_close``;
* money (``payout``): ``payout_request`` (the task runs ``payout_execute``), ``clawback_record``,
  ``clawback_recover``;
* platforms (``platform``): ``platform_order_record``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from voucher_service.claims.drafts import claim_create, claim_update, claim_withdraw
from voucher_service.claims.evaluation import claim_evaluate, claim_submit
from voucher_service.claims.evidence import evidence_upload
from voucher_service.claims.models import Claim, ClaimStatus, Payout, PayoutStatus
from voucher_service.claims.notice import notices_close, objection_file, objection_resolve
from voucher_service.claims.payout import clawback_record, clawback_recover, payout_execute, payout_request
from voucher_service.claims.platform import platform_order_record
from voucher_service.claims.review import claim_decide

STALL_AFTER = timedelta(minutes=2)


def stalled_work(now: datetime | None = None) -> tuple[list[int], list[int]]:
    """Claims waiting for an evaluation and payouts waiting to post, longer than a task takes: ids to re-send."""
    cutoff = (now or timezone.now()) - STALL_AFTER
    claims = Claim.objects.filter(
        status__in=[ClaimStatus.SUBMITTED, ClaimStatus.EVALUATING], submitted_at__lt=cutoff
    ).values_list("pk", flat=True)
    payouts = Payout.objects.filter(status=PayoutStatus.PENDING, created_at__lt=cutoff).values_list("pk", flat=True)
    return list(claims[:1000]), list(payouts[:1000])


__all__ = [
    "claim_create",
    "claim_decide",
    "claim_evaluate",
    "claim_submit",
    "claim_update",
    "claim_withdraw",
    "clawback_record",
    "clawback_recover",
    "evidence_upload",
    "notices_close",
    "objection_file",
    "objection_resolve",
    "payout_execute",
    "payout_request",
    "platform_order_record",
    "stalled_work",
]
