"""What the reports package keeps: export jobs (large exports run in the background), verification requests made
over HTTP, and the grants that let a third-party auditor read named programs until a date."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from voucher_service.programs.models import Program


class FileFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "XLSX"
    # The journal only: canonical JSON lines that the offline verifier (scripts/verify_journal_export.py) checks.
    JSONL = "jsonl", "JSON Lines"


class ExportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    EXPIRED = "expired", _("Expired")


class ExportJob(models.Model):
    """One export too large to stream in a request: written by a Celery task to Django's storage, downloadable by
    whoever asked for it until ``expires_at``, then removed."""

    report = models.CharField(max_length=40)
    file_format = models.CharField(max_length=8, choices=FileFormat.choices)
    # The report's validated parameters (filters, the program of a per-program report), as JSON-safe values.
    params = models.JSONField(default=dict)
    as_of = models.DateTimeField()
    language = models.CharField(max_length=10)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=12, choices=ExportStatus.choices, default=ExportStatus.QUEUED)
    total_rows = models.BigIntegerField(default=0)
    rows_written = models.BigIntegerField(default=0)
    file_name = models.CharField(max_length=300, blank=True, default="")
    file_size = models.BigIntegerField(null=True, blank=True)
    file_sha256 = models.CharField(max_length=64, blank=True, default="")
    failure_message = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[models.Manager[ExportJob]]

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rows_written__gte=0) & Q(total_rows__gte=0), name="report_export_progress_non_negative"
            ),
            models.CheckConstraint(
                condition=~Q(status="succeeded") | (~Q(file_name="") & Q(expires_at__isnull=False)),
                name="report_export_succeeded_has_file",
            ),
        ]
        indexes = [models.Index(fields=["status", "expires_at"], name="report_export_due_idx")]

    def __str__(self) -> str:
        return f"export #{self.pk} {self.report}.{self.file_format} ({self.status})"


class VerificationStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class VerificationRequest(models.Model):
    """A verification of the whole ledger asked for over HTTP; the run itself is the ledger's
    (``ledger.VerificationRun``), kept with every other run, scheduled or asked for."""

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=12, choices=VerificationStatus.choices, default=VerificationStatus.QUEUED)
    run = models.OneToOneField(
        "ledger.VerificationRun", on_delete=models.PROTECT, null=True, blank=True, related_name="request"
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    failure_message = models.CharField(max_length=500, blank=True, default="")

    objects: ClassVar[models.Manager[VerificationRequest]]

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"verification request #{self.pk} ({self.status})"


class AuditorGrant(models.Model):
    """Read access for one auditor of an audit firm to named programs, until a date (inclusive). It ends by itself
    on that date, or earlier when revoked; granting, revoking and every export read are audited."""

    grantee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    audit_firm = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="auditor_grants")
    programs = models.ManyToManyField(Program, related_name="+")
    until = models.DateField(_("until"))
    note = models.CharField(_("note"), max_length=500, blank=True, default="")
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    granted_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects: ClassVar[models.Manager[AuditorGrant]]

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True, revoked_by__isnull=True) | Q(revoked_at__isnull=False),
                name="auditor_grant_revocation_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"grant #{self.pk} to {self.grantee_id} until {self.until}"


class SpotCheck(models.Model):
    """A reproducible random sample (抽查) of a program's claims submitted in a period: the population is every
    such claim recorded by ``as_of``, by id; the sample is ``random.Random(seed).sample(ids, size)`` in Python,
    sorted. The seed, the population's size and the SHA-256 of its ids are kept, so anyone can redraw it."""

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="+")
    date_from = models.DateField()
    date_to = models.DateField()
    as_of = models.DateTimeField()
    size = models.PositiveIntegerField()
    seed = models.CharField(max_length=64)
    population = models.PositiveIntegerField()
    population_sha256 = models.CharField(max_length=64)
    claim_ids = models.JSONField(default=list)
    drawn_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    drawn_at = models.DateTimeField(default=timezone.now)

    objects: ClassVar[models.Manager[SpotCheck]]

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(date_from__lte=F("date_to")), name="spot_check_period"),
            models.CheckConstraint(condition=Q(size__gt=0), name="spot_check_size"),
        ]

    def __str__(self) -> str:
        return f"spot check #{self.pk} of program {self.program_id} (seed {self.seed})"
