"""Vouchers and how they come to exist: applications (申领), issuances (the unit of asynchronous work), one-time
awards, per-entity yearly totals and bulk uploads.

Caps and where the database enforces them:

* the program's annual cap: the year's budget account in the ledger may not go below zero (a ledger limit);
* the entity's yearly cap: ``EntityYearTotal`` holds the cap it was opened with and a CHECK constraint;
* one-time awards: a unique constraint on ``OneTimeAward`` (program, entity, award);
* a voucher's balance: its ledger account may not go below zero (a ledger limit).
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


class ApplicationStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class VoucherApplication(models.Model):
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="applications")
    entity = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="voucher_applications")
    requested_amount = models.BigIntegerField(_("requested amount (fen)"))
    approved_amount = models.BigIntegerField(_("approved amount (fen)"), null=True, blank=True)
    purpose = models.CharField(_("purpose"), max_length=1000)
    # A fixed one-time award (its condition code in the program's rules), or "" for an ordinary voucher.
    award_code = models.CharField(max_length=64, blank=True, default="")
    fiscal_year = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=16, choices=ApplicationStatus.choices, default=ApplicationStatus.SUBMITTED)
    # The automatic checks at submission: [{"check": "...", "ok": bool, "message": "..."}].
    eligibility = models.JSONField(default=list)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.CharField(max_length=1000, blank=True, default="")

    objects: ClassVar[models.Manager[VoucherApplication]]

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(requested_amount__gt=0), name="application_requested_positive"),
            models.CheckConstraint(
                condition=Q(approved_amount__isnull=True)
                | (Q(approved_amount__gt=0) & Q(approved_amount__lte=F("requested_amount"))),
                name="application_approved_within_request",
            ),
        ]

    def __str__(self) -> str:
        return f"application #{self.pk} {self.entity} {self.program.code}"


class IssuanceKind(models.TextChoices):
    APPLICATION = "application", _("Approved application")
    AWARD = "award", _("Direct one-time award")
    BULK = "bulk", _("Bulk upload row")


class IssuanceStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class Issuance(models.Model):
    """One request to issue one voucher. The Celery task carries only its id; running it twice issues once."""

    kind = models.CharField(max_length=16, choices=IssuanceKind.choices)
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="issuances")
    entity = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="issuances")
    amount = models.BigIntegerField(_("amount (fen)"))
    award_code = models.CharField(max_length=64, blank=True, default="")
    fiscal_year = models.PositiveSmallIntegerField()
    memo = models.CharField(max_length=500, blank=True, default="")
    application = models.OneToOneField(
        VoucherApplication, on_delete=models.PROTECT, null=True, blank=True, related_name="issuance"
    )
    bulk = models.ForeignKey("BulkIssuance", on_delete=models.PROTECT, null=True, blank=True, related_name="issuances")
    bulk_row = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=IssuanceStatus.choices, default=IssuanceStatus.PENDING)
    failure_code = models.CharField(max_length=64, blank=True, default="")
    failure_message = models.CharField(max_length=500, blank=True, default="")
    voucher = models.OneToOneField("Voucher", on_delete=models.PROTECT, null=True, blank=True, related_name="issuance")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[models.Manager[Issuance]]

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="issuance_amount_positive"),
            models.CheckConstraint(
                condition=~Q(status=IssuanceStatus.SUCCEEDED) | Q(voucher__isnull=False),
                name="issuance_succeeded_has_voucher",
            ),
            models.UniqueConstraint(fields=["bulk", "bulk_row"], name="issuance_bulk_row_unique"),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="issuance_status_idx")]

    def __str__(self) -> str:
        return f"issuance #{self.pk} ({self.status})"


class VoucherStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    EXHAUSTED = "exhausted", _("Exhausted")
    EXPIRED = "expired", _("Expired")
    REVOKED = "revoked", _("Revoked")


class Voucher(models.Model):
    serial = models.CharField(_("serial number"), max_length=40, unique=True)
    # Anyone holding the voucher can verify it with this; it reveals nothing and cannot be guessed.
    token = models.CharField(max_length=64, unique=True)
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="vouchers")
    program_version = models.ForeignKey(ProgramVersion, on_delete=models.PROTECT, related_name="+")
    entity = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="vouchers")
    fiscal_year = models.PositiveSmallIntegerField()
    face_value = models.BigIntegerField(_("face value (fen)"))
    award_code = models.CharField(max_length=64, blank=True, default="")
    account = models.OneToOneField("ledger.Account", on_delete=models.PROTECT, related_name="+")
    valid_from = models.DateField()
    valid_until = models.DateField()
    status = models.CharField(max_length=16, choices=VoucherStatus.choices, default=VoucherStatus.ACTIVE)
    issued_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    close_reason = models.CharField(max_length=1000, blank=True, default="")
    # What was left when it was revoked or expired, and whether that went back to the budget or lapsed.
    closed_amount = models.BigIntegerField(default=0)
    closed_to = models.CharField(max_length=20, blank=True, default="")

    objects: ClassVar[models.Manager[Voucher]]

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(face_value__gt=0), name="voucher_face_value_positive"),
            models.CheckConstraint(condition=Q(valid_until__gte=F("valid_from")), name="voucher_window_ordered"),
            models.CheckConstraint(
                condition=Q(closed_amount__gte=0) & Q(closed_amount__lte=F("face_value")),
                name="voucher_closed_amount_range",
            ),
        ]
        indexes = [models.Index(fields=["status", "valid_until"], name="voucher_status_until_idx")]

    def __str__(self) -> str:
        return self.serial


class EntityYearTotal(models.Model):
    """What one entity has received from one program in one fiscal year, against its per-entity cap.

    ``cap`` is copied from the program version in force when the row was opened (NULL: the program has no
    per-entity cap), so the CHECK constraint can hold the line in the database under any interleaving.
    """

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="+")
    entity = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    fiscal_year = models.PositiveSmallIntegerField()
    cap = models.BigIntegerField(null=True, blank=True)
    issued = models.BigIntegerField(default=0)
    returned = models.BigIntegerField(default=0)

    objects: ClassVar[models.Manager[EntityYearTotal]]

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["program", "entity", "fiscal_year"], name="entity_year_total_unique"),
            models.CheckConstraint(
                condition=Q(issued__gte=0) & Q(returned__gte=0) & Q(returned__lte=F("issued")),
                name="entity_year_total_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(cap__isnull=True) | Q(issued__lte=F("cap") + F("returned")),
                name="entity_year_total_within_cap",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entity} {self.program.code} {self.fiscal_year}"


class OneTimeAward(models.Model):
    """A fixed award granted once per entity, ever (the unique constraint is the guarantee)."""

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="+")
    entity = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    award_code = models.CharField(max_length=64)
    voucher = models.OneToOneField(Voucher, on_delete=models.PROTECT, related_name="one_time_award")
    granted_at = models.DateTimeField(default=timezone.now)

    objects: ClassVar[models.Manager[OneTimeAward]]

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["program", "entity", "award_code"], name="one_time_award_once"),
        ]

    def __str__(self) -> str:
        return f"{self.award_code} → {self.entity}"


class SerialCounter(models.Model):
    """The last voucher sequence number used per program and year; locked to hand out the next ones."""

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="+")
    fiscal_year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    objects: ClassVar[models.Manager[SerialCounter]]

    class Meta:
        constraints = [models.UniqueConstraint(fields=["program", "fiscal_year"], name="serial_counter_unique")]

    def __str__(self) -> str:
        return f"{self.program_id}/{self.fiscal_year}: {self.last}"


class BulkMode(models.TextChoices):
    ALL_OR_NOTHING = "all_or_nothing", _("All or nothing")
    VALID_ROWS_ONLY = "valid_rows_only", _("Valid rows only")


class BulkStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    COMPLETED = "completed", _("Completed")
    FAILED = "failed", _("Failed")


class BulkIssuance(models.Model):
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="bulk_issuances")
    fiscal_year = models.PositiveSmallIntegerField()
    mode = models.CharField(max_length=20, choices=BulkMode.choices)
    status = models.CharField(max_length=16, choices=BulkStatus.choices, default=BulkStatus.QUEUED)
    file_name = models.CharField(max_length=255, blank=True, default="")
    file_sha256 = models.CharField(max_length=64)
    total_rows = models.PositiveIntegerField(default=0)
    # Rows refused at upload (valid_rows_only mode): [{"row": n, "fields": {...}}].
    rejected_rows = models.JSONField(default=list)
    processed_rows = models.PositiveIntegerField(default=0)
    succeeded_rows = models.PositiveIntegerField(default=0)
    failed_rows = models.PositiveIntegerField(default=0)
    failure_message = models.CharField(max_length=500, blank=True, default="")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[models.Manager[BulkIssuance]]

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(processed_rows__lte=F("total_rows"))
                & Q(processed_rows=F("succeeded_rows") + F("failed_rows")),
                name="bulk_progress_consistent",
            ),
        ]

    def __str__(self) -> str:
        return f"bulk #{self.pk} ({self.status})"
