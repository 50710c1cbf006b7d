"""Claims at the later steps, for the agency's pages: under public notice (all three stages approved through the
API), with an open objection, payable (the notice ended: the beat job's ``notices_close`` run for a later day)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.claims import Cast, approve_all, issue_voucher, submitted
from voucher_service.claims.models import Claim, ClaimStatus, Objection
from voucher_service.claims.notice import notices_close, objection_file


def claim_in_notice(cast: Cast, capture: Any) -> Claim:
    issue_voucher(cast.program, cast.entity, 1_000_000 * 100)
    claim = approve_all(cast, submitted(cast, capture))
    assert claim.status == ClaimStatus.IN_NOTICE, claim.status
    return claim


def objected(claim: Claim, reason: str = "该企业未实际使用算力") -> Objection:
    return objection_file(claim=claim, reason=reason, contact="13800000000")


def end_notice(claim: Claim) -> Claim:
    """The day after the notice ends, the beat job makes the claim payable (if no objection is open)."""
    assert claim.notice_ends_on is not None
    notices_close(today=claim.notice_ends_on + timedelta(days=1))
    claim.refresh_from_db()
    return claim


def payable_claim(cast: Cast, capture: Any) -> Claim:
    claim = end_notice(claim_in_notice(cast, capture))
    assert claim.status == ClaimStatus.PAYABLE, claim.status
    return claim
