"""Redemption claims (兑付): a holder that paid a provider in full asks for the subsidy on its vouchers.

A claim carries its evidence (contract, invoices, payments, delivery, files), is evaluated automatically, reviewed
stage by stage, publicly noticed (公示) and paid from the voucher accounts, split between payers; a paid claim can
be clawed back. The life of a claim::

    draft → submitted → evaluating → in_review (stage 1..n) → in_notice → payable → paid [→ clawed_back]
                 side exits: refused (evaluation), returned (→ resubmitted), rejected, withdrawn

Caps and where the database enforces them:

* a voucher's balance: its ledger account may not go below zero, and a passing evaluation **holds** the subsidy
  on it (no expiry: the reserve lasts while the claim is open), so two claims never spend the same balance;
* an invoice is subsidised once across all programs, a contract once per program: partial unique constraints on
  the rows of claims that count (``counts``: evaluated and not refused, rejected, returned or withdrawn);
* the entity's yearly cap and the program's yearly budget for claims: ``ClaimYearTotal`` with a CHECK;
* a rate rule's own cap and ``once_per_entity``: ``RuleTotal`` with CHECKs;
* one decision per stage and round: a unique constraint; nobody decides two stages of one claim: one
  ``ClaimStageDecider`` per person and claim; the submitter never decides: a CHECK on the decision row.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from voucher_service.programs.models import Program, ProgramVersion
from voucher_service.vouchers.models import Voucher


class ClaimStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    EVALUATING = "evaluating", _("Evaluating")
    IN_REVIEW = "in_review", _("In review")
    IN_NOTICE = "in_notice", _("In public notice")
    PAYABLE = "payable", _("Payable")
    PAID = "paid", _("Paid")
    REFUSED = "refused", _("Refused by the evaluation")
    RETURNED = "returned", _("Returned for correction")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    CLAWED_BACK = "clawed_back", _("Clawed back")


# The claim holds its reserve (ledger holds, totals, invoice and contract) in these statuses.
RESERVING_STATUSES = (ClaimStatus.IN_REVIEW, ClaimStatus.IN_NOTICE, ClaimStatus.PAYABLE)
# The entity may change the claim (fields and evidence) only here.
EDITABLE_STATUSES = (ClaimStatus.DRAFT, ClaimStatus.RETURNED)
# The entity may withdraw before payout.
WITHDRAWABLE_STATUSES = (
    ClaimStatus.DRAFT,
    ClaimStatus.SUBMITTED,
    ClaimStatus.EVALUATING,
    ClaimStatus.IN_REVIEW,
    ClaimStatus.RETURNED,
    ClaimStatus.IN_NOTICE,
    ClaimStatus.PAYABLE,
)


class PlatformOrder(models.Model):
    """An order recorded by a designated platform (the Horinger platform), which a claim of such a program cites."""

    platform = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="platform_orders")
    order_number = models.CharField(_("order number"), max_length=64)
    buyer_uscc = models.CharField(_("buyer USCC"), max_length=18)
    provider = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    amount = models.BigIntegerField(_("amount (fen)"))
    service_starts_on = models.DateField()
    service_ends_on = models.DateField()
    fingerprint = models.CharField(max_length=64)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    objects: ClassVar[models.Manager[PlatformOrder]]

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["platform", "order_number"], name="platform_order_number_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="platform_order_amount_positive"),
            models.CheckConstraint(
                condition=Q(service_ends_on__gte=F("service_starts_on")), name="platform_order_period_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.platform_id}:{self.order_number}"


class Claim(models.Model):
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="claims")
    entity = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="claims")
    provider = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="provider_claims")
    platform_order_number = models.CharField(max_length=64, blank=True, default="")
    platform_order = models.ForeignKey(
        PlatformOrder, on_delete=models.PROTECT, null=True, blank=True, related_name="claims"
    )
    contract_number = models.CharField(_("contract number"), max_length=100)
    contract_signed_on = models.DateField()
    contract_amount = models.BigIntegerField(_("contract amount (fen)"))
    contract_starts_on = models.DateField()
    contract_ends_on = models.DateField()
    delivery_starts_on = models.DateField()
    delivery_ends_on = models.DateField()
    service_type = models.CharField(max_length=16)
    quantity = models.DecimalField(max_digits=20, decimal_places=3)
    unit = models.CharField(max_length=32)
    # Rate-rule condition codes the claim asks for (``major_project_lead``…).
    conditions = models.JSONField(default=list)
    declaration_accepted = models.BooleanField(default=False)
    # The vouchers asked for, in order (empty: the entity's active vouchers of the program, soonest-expiring first).
    requested_vouchers = models.JSONField(default=list)
    status = models.CharField(max_length=16, choices=ClaimStatus.choices, default=ClaimStatus.DRAFT)
    round = models.PositiveIntegerField(default=0)  # +1 on each submission
    stage_index = models.PositiveIntegerField(default=0)  # the review stage now deciding (0-based)
    program_version = models.ForeignKey(ProgramVersion, on_delete=models.PROTECT, null=True, blank=True)
    fiscal_year = models.PositiveSmallIntegerField(null=True, blank=True)
    subsidy = models.BigIntegerField(null=True, blank=True)  # what the evaluation (and condition reviews) gave
    approved_amount = models.BigIntegerField(null=True, blank=True)  # what the stages approved so far
    paid_amount = models.BigIntegerField(default=0)
    clawed_back_amount = models.BigIntegerField(default=0)
    flags = models.JSONField(default=list)  # e.g. ["related_party"] for a reviewer to weigh
    # What the claim reserves while it is open: {"fiscal_year", "amount", "rules": {code: fen}} (reserve.py).
    reserve = models.JSONField(default=dict)
    # True while the claim's contract (and invoices) count as subsidised: the uniqueness below applies then.
    counts = models.BooleanField(default=False)
    notice_starts_on = models.DateField(null=True, blank=True)
    notice_ends_on = models.DateField(null=True, blank=True)
    outcome_reason = models.CharField(max_length=1000, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects: ClassVar[models.Manager[Claim]]

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "contract_number"], condition=Q(counts=True), name="claim_contract_once_per_program"
            ),
            models.CheckConstraint(condition=Q(contract_amount__gt=0), name="claim_contract_amount_positive"),
            models.CheckConstraint(
                condition=Q(contract_ends_on__gte=F("contract_starts_on"))
                & Q(delivery_ends_on__gte=F("delivery_starts_on")),
                name="claim_periods_ordered",
            ),
            models.CheckConstraint(
                condition=Q(paid_amount__gte=0)
                & Q(clawed_back_amount__gte=0)
                & Q(clawed_back_amount__lte=F("paid_amount")),
                name="claim_paid_amounts_range",
            ),
            models.CheckConstraint(
                condition=Q(approved_amount__isnull=True) | Q(approved_amount__gt=0), name="claim_approved_positive"
            ),
        ]
        indexes = [models.Index(fields=["status", "notice_ends_on"], name="claim_status_notice_idx")]

    def __str__(self) -> str:
        return f"claim #{self.pk} ({self.status})"


class ClaimInvoice(models.Model):
    """An invoice (发票): a 20-digit 全电发票 number, or a 发票代码 (10 or 12 digits) with an 8-digit 号码."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="invoices")
    issuer_uscc = models.CharField(max_length=18)
    code = models.CharField(max_length=12, blank=True, default="")
    number = models.CharField(max_length=20)
    issued_on = models.DateField()
    amount = models.BigIntegerField()
    counts = models.BooleanField(default=False)  # the claim's ``counts``, copied so one index can say "once"

    objects: ClassVar[models.Manager[ClaimInvoice]]

    class Meta:
        ordering = ["claim_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["issuer_uscc", "code", "number"], condition=Q(counts=True), name="claim_invoice_subsidised_once"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="claim_invoice_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.issuer_uscc}/{self.code}{self.number}"


class ClaimPayment(models.Model):
    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="payments")
    bank_reference = models.CharField(max_length=64)
    paid_on = models.DateField()
    amount = models.BigIntegerField()

    objects: ClassVar[models.Manager[ClaimPayment]]

    class Meta:
        ordering = ["claim_id", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="claim_payment_amount_positive")]

    def __str__(self) -> str:
        return self.bank_reference


class ClaimEvidence(models.Model):
    """An uploaded file, typed by its content (PDF, OFD, JPEG, PNG), kept through Django's storage API."""

    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="evidence")
    kind = models.CharField(max_length=20)
    file = models.FileField(upload_to="claims/evidence/%Y/%m/", max_length=300)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    objects: ClassVar[models.Manager[ClaimEvidence]]

    class Meta:
        ordering = ["claim_id", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(size__gt=0) & Q(size__lte=20 * 1024 * 1024), name="evidence_size")
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.original_name}"


class ClaimHold(models.Model):
    """Every ledger hold a claim placed on a voucher (one per voucher per evaluation), for the explainer."""

    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="holds")
    voucher = models.ForeignKey(Voucher, on_delete=models.PROTECT, related_name="claim_holds")
    hold = models.OneToOneField("ledger.Hold", on_delete=models.PROTECT, related_name="+")
    amount = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    objects: ClassVar[models.Manager[ClaimHold]]

    class Meta:
        ordering = ["claim_id", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="claim_hold_amount_positive")]

    def __str__(self) -> str:
        return f"claim {self.claim_id} holds {self.amount} on {self.voucher_id}"


class ClaimEvaluation(models.Model):
    """One automatic evaluation: every check (with its message in zh-hans and en) and the subsidy's breakdown."""

    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="evaluations")
    round = models.PositiveIntegerField()
    program_version = models.ForeignKey(ProgramVersion, on_delete=models.PROTECT, related_name="+")
    passed = models.BooleanField()
    checks = models.JSONField(default=list)  # [{"check", "ok", "message": {"zh-hans", "en"}}]
    breakdown = models.JSONField(default=dict)  # every term, which one bound, the rules version
    subsidy = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    objects: ClassVar[models.Manager[ClaimEvaluation]]

    class Meta:
        ordering = ["claim_id", "id"]

    def __str__(self) -> str:
        return f"evaluation of claim {self.claim_id} round {self.round}: {self.passed}"


class Decision(models.TextChoices):
    APPROVE = "approve", _("Approve")
    REJECT = "reject", _("Reject")
    RETURN = "return", _("Return for correction")


class ClaimDecision(models.Model):
    """A stage's decision, kept forever (never overwritten): one per stage and round."""

    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="decisions")
    round = models.PositiveIntegerField()
    stage_index = models.PositiveIntegerField()
    stage_name = models.CharField(max_length=50)
    decision = models.CharField(max_length=8, choices=Decision.choices)
    amount = models.BigIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=1000, blank=True, default="")
    conditions = models.JSONField(default=list)  # [{"code", "confirmed", "reason"}] at the first stage
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # Copied from the claim so the row itself can refuse a submitter deciding their own claim.
    claim_submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(default=timezone.now)

    objects: ClassVar[models.Manager[ClaimDecision]]

    class Meta:
        ordering = ["claim_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["claim", "round", "stage_index"], name="claim_decision_once_per_stage"),
            models.CheckConstraint(
                condition=~Q(decided_by=F("claim_submitted_by")), name="claim_decision_not_by_submitter"
            ),
            models.CheckConstraint(condition=Q(amount__isnull=True) | Q(amount__gt=0), name="claim_decision_amount"),
        ]

    def __str__(self) -> str:
        return f"claim {self.claim_id} stage {self.stage_index}: {self.decision}"


class ClaimStageDecider(models.Model):
    """The stage a person decides on a claim: one row per person and claim, so nobody decides two stages."""

    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    stage_index = models.PositiveIntegerField()

    objects: ClassVar[models.Manager[ClaimStageDecider]]

    class Meta:
        constraints = [models.UniqueConstraint(fields=["claim", "user"], name="claim_one_stage_per_person")]

    def __str__(self) -> str:
        return f"{self.user_id} decides stage {self.stage_index} of claim {self.claim_id}"


class ObjectionStatus(models.TextChoices):
    OPEN = "open", _("Open")
    UPHELD = "upheld", _("Upheld")
    DISMISSED = "dismissed", _("Dismissed")


class Objection(models.Model):
    """异议: anyone may object to a claim under public notice; an open objection pauses it."""

    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="objections")
    reason = models.CharField(max_length=2000)
    contact = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=ObjectionStatus.choices, default=ObjectionStatus.OPEN)
    filed_at = models.DateTimeField(default=timezone.now)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=1000, blank=True, default="")
    lowered_to = models.BigIntegerField(null=True, blank=True)

    objects: ClassVar[models.Manager[Objection]]

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"objection #{self.pk} to claim {self.claim_id} ({self.status})"


class PayoutStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Succeeded")


class Payout(models.Model):
    """Finance's record of a payout; a task posts it to the ledger once (idempotent under redelivery)."""

    claim = models.OneToOneField(Claim, on_delete=models.PROTECT, related_name="payout")
    paid_on = models.DateField()
    bank_reference = models.CharField(max_length=64)
    amount = models.BigIntegerField()
    shares = models.JSONField(default=list)  # [["city", fen], ["district", fen]]
    status = models.CharField(max_length=10, choices=PayoutStatus.choices, default=PayoutStatus.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[models.Manager[Payout]]

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payout_amount_positive")]

    def __str__(self) -> str:
        return f"payout of claim {self.claim_id} ({self.status})"


class ClawbackReason(models.TextChoices):
    FRAUD = "fraud", _("Fraud")
    DUPLICATE = "duplicate", _("Duplicate subsidy")
    INELIGIBLE = "ineligible", _("Not eligible")
    AUDIT_FINDING = "audit_finding", _("Audit finding")
    OTHER = "other", _("Other")


class Clawback(models.Model):
    """追回: part or all of a paid subsidy is owed back, reversed to each payer in the payout's proportions."""

    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="clawbacks")
    reason_code = models.CharField(max_length=16, choices=ClawbackReason.choices)
    amount = models.BigIntegerField()
    note = models.CharField(max_length=1000, blank=True, default="")
    shares = models.JSONField(default=list)
    recovered = models.BigIntegerField(default=0)
    barred_until = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    objects: ClassVar[models.Manager[Clawback]]

    class Meta:
        ordering = ["claim_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0) & Q(recovered__gte=0) & Q(recovered__lte=F("amount")),
                name="clawback_amounts_range",
            )
        ]

    def __str__(self) -> str:
        return f"clawback #{self.pk} of claim {self.claim_id}"


class ClawbackRecovery(models.Model):
    clawback = models.ForeignKey(Clawback, on_delete=models.PROTECT, related_name="recoveries")
    amount = models.BigIntegerField()
    received_on = models.DateField()
    reference = models.CharField(max_length=64)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    objects: ClassVar[models.Manager[ClawbackRecovery]]

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="clawback_recovery_positive")]

    def __str__(self) -> str:
        return f"recovery of {self.amount} on clawback {self.clawback_id}"


class ClaimYearTotal(models.Model):
    """Subsidy reserved and paid by claims in one fiscal year: per entity (``entity`` set) against the entity's
    yearly cap, or for the whole program (``entity`` NULL) against the year's annual cap. The CHECK holds the
    line under any interleaving (the row is locked by every claim it counts)."""

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="+")
    entity = models.ForeignKey(Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    fiscal_year = models.PositiveSmallIntegerField()
    cap = models.BigIntegerField(null=True, blank=True)
    reserved = models.BigIntegerField(default=0)
    paid = models.BigIntegerField(default=0)

    objects: ClassVar[models.Manager[ClaimYearTotal]]

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["program", "entity", "fiscal_year"],
                condition=Q(entity__isnull=False),
                name="claim_year_total_entity_unique",
            ),
            models.UniqueConstraint(
                fields=["program", "fiscal_year"], condition=Q(entity__isnull=True), name="claim_year_total_program"
            ),
            models.CheckConstraint(condition=Q(reserved__gte=0) & Q(paid__gte=0), name="claim_year_total_positive"),
            models.CheckConstraint(
                condition=Q(cap__isnull=True) | Q(cap__gte=F("reserved") + F("paid")), name="claim_year_total_cap"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.program_id}/{self.entity_id or '*'}/{self.fiscal_year}"


class RuleTotal(models.Model):
    """What one entity has received under one rate rule in one period (``period`` 0: ever; else the fiscal year):
    the amount against the rule's ``cap``, and the number of claims against ``once_per_entity``."""

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="+")
    entity = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    rule_code = models.CharField(max_length=64)
    period = models.PositiveSmallIntegerField()
    cap = models.BigIntegerField(null=True, blank=True)
    once = models.BooleanField(default=False)
    used = models.BigIntegerField(default=0)
    claims = models.PositiveIntegerField(default=0)

    objects: ClassVar[models.Manager[RuleTotal]]

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["program", "entity", "rule_code", "period"], name="rule_total_unique"),
            models.CheckConstraint(condition=Q(used__gte=0), name="rule_total_used_positive"),
            models.CheckConstraint(condition=Q(cap__isnull=True) | Q(used__lte=F("cap")), name="rule_total_cap"),
            models.CheckConstraint(condition=Q(once=False) | Q(claims__lte=1), name="rule_total_once"),
        ]

    def __str__(self) -> str:
        return f"{self.rule_code} {self.entity_id} {self.period}: {self.used}"
