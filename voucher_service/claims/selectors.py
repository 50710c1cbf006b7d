"""Claim reads, always narrowed to what the user may see (anything else is absent: the API answers 404).

* an entity's members see its own claims;
* a member of one of the program's agencies (the issuing agency or a responsible one), whatever the role, sees the
  program's claims (its auditors read them all);
* staff see everything;
* a platform sees its own orders, and the program's agencies see the orders cited by their claims.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from accounts.models import AuditEvent, OrganizationKind, Role
from accounts.selectors import user_memberships
from ledger.models import HoldStatus, JournalEntry
from voucher_service.claims.models import (
    EDITABLE_STATUSES,
    Claim,
    ClaimDecision,
    ClaimEvaluation,
    ClaimEvidence,
    ClaimHold,
    ClaimInvoice,
    ClaimPayment,
    ClaimStatus,
    Clawback,
    Decision,
    Objection,
    ObjectionStatus,
    Payout,
    PlatformOrder,
)
from voucher_service.programs.models import Program
from voucher_service.programs.rules import ReviewStage


def _memberships(user: Any) -> tuple[list[int], list[int]]:
    """(the user's agencies, the user's other organisations), read in one statement."""
    rows = list(user_memberships(user).values_list("organization_id", "organization__kind"))
    agencies = [pk for pk, kind in rows if kind == OrganizationKind.AGENCY]
    own = [pk for pk, kind in rows if kind != OrganizationKind.AGENCY]
    return agencies, own


def claims_visible_to(user: Any) -> QuerySet[Claim]:
    base = Claim.objects.select_related("program", "entity", "provider", "program_version")
    if not getattr(user, "is_authenticated", False):
        return base.none()
    if user.is_staff:
        return base
    agencies, own = _memberships(user)
    programs = Program.objects.filter(Q(issuing_agency_id__in=agencies) | Q(responsible_agencies__in=agencies))
    return base.filter(Q(program_id__in=programs.values("pk")) | Q(entity_id__in=own))


def claim_history(claim: Claim) -> QuerySet[AuditEvent]:
    """Who did what to the claim, when, with which amount and reason (the audit trail of the claim's row)."""
    return (
        AuditEvent.objects.filter(target_type=Claim._meta.label_lower, target_id=str(claim.pk))
        .select_related("actor")
        .order_by("id")
    )


def claim_evidence(claim: Claim) -> QuerySet[ClaimEvidence]:
    return claim.evidence.order_by("pk")


def claims_under_notice() -> QuerySet[Claim]:
    """What the public sees: every claim in its notice period (paused ones too)."""
    return (
        Claim.objects.filter(status=ClaimStatus.IN_NOTICE)
        .select_related("program", "entity")
        .order_by("notice_ends_on", "pk")
    )


def objections_visible_to(user: Any) -> QuerySet[Objection]:
    return Objection.objects.filter(claim__in=claims_visible_to(user).values("pk")).select_related("claim")


def objections_open_visible_to(user: Any) -> QuerySet[Objection]:
    """The open objections to the claims the user may see, oldest first: what the program's reviewers resolve."""
    return (
        objections_visible_to(user)
        .filter(status=ObjectionStatus.OPEN)
        .select_related("claim__program", "claim__entity", "claim__provider")
        .order_by("filed_at", "pk")
    )


def payable_claims_visible_to(user: Any) -> QuerySet[Claim]:
    """The payable claims with no payout recorded yet, of the user's programs, oldest notice first: what finance
    pays."""
    return (
        claims_visible_to(user).filter(status=ClaimStatus.PAYABLE, payout__isnull=True).order_by("notice_ends_on", "pk")
    )


def claim_payout(claim: Claim) -> Payout | None:
    """The claim's payout (recorded, perhaps not yet posted), with its split by payer, or None."""
    return Payout.objects.filter(claim=claim).select_related("requested_by").first()


def platform_orders_visible_to(user: Any) -> QuerySet[PlatformOrder]:
    base = PlatformOrder.objects.select_related("platform", "provider")
    if not getattr(user, "is_authenticated", False):
        return base.none()
    if user.is_staff:
        return base
    agencies, own = _memberships(user)
    programs = Program.objects.filter(Q(issuing_agency_id__in=agencies) | Q(responsible_agencies__in=agencies))
    cited = Claim.objects.filter(program_id__in=programs.values("pk")).values("platform_order_id")
    return base.filter(Q(platform_id__in=own) | Q(pk__in=cited))


# --- Auditor reports ----------------------------------------------------------------------------------------


def claims_of_programs(program_ids: Any) -> QuerySet[Claim]:
    return Claim.objects.filter(program_id__in=program_ids)


def payouts_of_programs(program_ids: Any) -> QuerySet[Payout]:
    return Payout.objects.filter(claim__program_id__in=program_ids)


def clawbacks_of_programs(program_ids: Any) -> QuerySet[Clawback]:
    return Clawback.objects.filter(claim__program_id__in=program_ids)


def audit_targets(program_ids: Any) -> list[tuple[str, QuerySet]]:
    """(audit target type, a queryset of primary keys) of the claims of these programs."""
    return [("claims.claim", Claim.objects.filter(program_id__in=program_ids).values("pk"))]


@dataclass(frozen=True)
class Awaiting:
    """What a claim waits for next and from whom (None when nothing more will happen). ``party`` says who that is:
    ``applicant`` (the claim's entity), ``service`` (the automatic checks), ``agency`` or ``public``; ``until`` is
    the last day of a public notice."""

    what: str
    who: str
    party: str = ""
    until: date | None = None


def claim_current_stage(claim: Claim) -> ReviewStage | None:
    """The review stage a claim in review waits on."""
    if claim.status != ClaimStatus.IN_REVIEW or claim.program_version is None:
        return None
    stages = claim.program_version.parsed().review_stages
    return stages[claim.stage_index] if claim.stage_index < len(stages) else None


def claim_awaiting(claim: Claim) -> Awaiting | None:
    status = claim.status
    agency = claim.program.issuing_agency.name
    if status in (ClaimStatus.DRAFT, ClaimStatus.RETURNED):
        what = _("completion and submission") if status == ClaimStatus.DRAFT else _("correction and resubmission")
        return Awaiting(what, claim.entity.name, "applicant")
    if status in (ClaimStatus.SUBMITTED, ClaimStatus.EVALUATING):
        return Awaiting(_("the automatic checks"), _("the service"), "service")
    stage = claim_current_stage(claim)
    if stage is not None:
        return Awaiting(
            stage.name, _("%(agency)s (%(role)s)") % {"agency": agency, "role": Role(stage.role).label}, "agency"
        )
    if status == ClaimStatus.IN_NOTICE:
        return Awaiting(
            _("the public notice (公示), until %(day)s") % {"day": claim.notice_ends_on},
            _("the public (objections)"),
            "public",
            claim.notice_ends_on,
        )
    if status == ClaimStatus.PAYABLE:
        finance = _("%(agency)s (%(role)s)") % {"agency": agency, "role": Role.FINANCE.label}
        return Awaiting(_("the payout"), finance, "agency")
    return None


def claim_is_editable(claim: Claim) -> bool:
    """The entity may still change the claim's fields and evidence (a draft, or returned for correction)."""
    return claim.status in EDITABLE_STATUSES


def claim_return_request(claim: Claim) -> ClaimDecision | None:
    """What the reviewer asked to fix, for a claim returned for correction: the decision that returned it."""
    if claim.status != ClaimStatus.RETURNED:
        return None
    return claim.decisions.filter(decision=Decision.RETURN).order_by("-pk").first()


def claim_invoices(claim: Claim) -> list[ClaimInvoice]:
    return list(claim.invoices.order_by("pk"))


def claim_payments(claim: Claim) -> list[ClaimPayment]:
    return list(claim.payments.order_by("pk"))


def review_queue(user: Any) -> QuerySet[Claim]:
    """Claims in review at one of the user's programs, oldest first: what the reviewers and finance work on."""
    return (
        claims_visible_to(user)
        .filter(status=ClaimStatus.IN_REVIEW)
        .select_related("program", "entity", "program_version")
        .order_by("submitted_at", "pk")
    )


def claim_latest_evaluation(claim: Claim) -> ClaimEvaluation | None:
    """The newest automatic evaluation: its checks and the subsidy's breakdown."""
    return claim.evaluations.order_by("-pk").first()


@dataclass(frozen=True)
class ReserveEvent:
    """A change in what one claim counts against its caps, read from the ledger's holds: ``amount`` (fen, against
    the entity-year cap) and ``rules`` ({rule code: fen}, against each rule's cap) are the changes, not totals."""

    at: datetime
    claim_id: int
    entity_id: int
    entity_name: str
    fiscal_year: int
    version_id: int | None
    amount: int
    rules: dict[str, int]
    counts: dict[str, int]  # {rule code: +1 placed, -1 taken back}, against ``once_per_entity``


def claim_reserve_history(program_id: int, as_of: datetime) -> Iterator[ReserveEvent]:
    """Every reserve the claims of a program placed, released or settled up to ``as_of``, in time order.

    A reserve is the holds one evaluation (or a recomputation) placed on the vouchers; each hold records its
    reserve's subsidy and rule allocation. Placing it counts them; voiding its holds takes them back; posting them
    (the payout) keeps what was paid, spread over the same rules (``subsidy.reallocate_rules``). A clawback moves
    money between payers and the claims accounts and leaves the counts as they are, as the service does."""
    from voucher_service.claims.subsidy import reallocate_rules

    holds = (
        ClaimHold.objects.filter(claim__program_id=program_id, hold__created_at__lte=as_of)
        .select_related("hold", "claim__entity", "voucher")
        .order_by("claim_id", "pk")
    )
    reserves: dict[tuple[int, int], list[ClaimHold]] = {}
    for claim_hold in holds.iterator(2000):
        key = (claim_hold.claim_id, int(claim_hold.hold.metadata.get("reserve", -claim_hold.pk)))
        reserves.setdefault(key, []).append(claim_hold)
    events: list[tuple[datetime, int, int, ReserveEvent]] = []
    for (claim_id, number), rows in reserves.items():
        meta, claim = rows[0].hold.metadata, rows[0].claim
        subsidy = int(meta.get("subsidy", sum(row.amount for row in rows)))
        rules = {code: int(part) for code, part in dict(meta.get("rules", {})).items()}
        facts = (claim_id, claim.entity_id, claim.entity.name, rows[0].voucher.fiscal_year, claim.program_version_id)
        placed = min(row.hold.created_at for row in rows)
        events.append((placed, claim_id, number, ReserveEvent(placed, *facts, subsidy, rules, dict.fromkeys(rules, 1))))
        resolved = [row.hold for row in rows if row.hold.resolved_at is not None and row.hold.resolved_at <= as_of]
        if not resolved or len(resolved) < len(rows):
            continue
        at = max(hold.resolved_at for hold in resolved if hold.resolved_at is not None)
        posted = sum(hold.posted_amount or 0 for hold in resolved if hold.status == HoldStatus.POSTED)
        kept = reallocate_rules(rules, str(meta.get("combination", "")), posted) if posted else {}
        change = {code: kept.get(code, 0) - rules.get(code, 0) for code in rules.keys() | kept.keys()}
        counts = {code: -1 for code in rules if not kept.get(code)}
        events.append((at, claim_id, number, ReserveEvent(at, *facts, posted - subsidy, change, counts)))
    for _at, _claim, _number, item in sorted(events, key=lambda e: e[:3]):
        yield item


def claims_submitted_in(program_id: int, start: datetime, end: datetime) -> list[int]:
    """The ids of a program's claims submitted (a ``claim.submit`` in the audit trail) between two moments, in id
    order: a spot check's population, the same whenever it is asked for once ``end`` has passed."""
    submitted = (
        AuditEvent.objects.filter(
            action="claim.submit", target_type="claims.claim", occurred_at__gte=start, occurred_at__lte=end
        )
        .values_list("target_id", flat=True)
        .distinct()
    )
    ids = {int(pk) for pk in submitted}
    return list(Claim.objects.filter(program_id=program_id, pk__in=ids).order_by("pk").values_list("pk", flat=True))


def claim_ledger(claim: Claim) -> tuple[list[ClaimHold], list[int]]:
    """A claim's ledger holds (with their vouchers) and the ids of its journal entries: the holds' postings and the
    entries naming the claim (payout, clawbacks, recoveries), in id order."""
    holds = list(claim.holds.select_related("hold", "voucher").order_by("pk"))
    entries = {claim_hold.hold.entry_id for claim_hold in holds if claim_hold.hold.entry_id is not None}
    entries |= set(JournalEntry.objects.filter(metadata__claim=claim.pk).values_list("pk", flat=True))
    return holds, sorted(entries)
