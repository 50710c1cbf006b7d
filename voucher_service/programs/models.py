"""Programs (the policies agencies run), their versioned rules, and the compute-provider registry.

A ``Program`` holds what identifies a policy and where it stands: jurisdiction, agencies, legal basis, status and
validity window. Its award rules live in ``ProgramVersion.rules`` (a JSON document validated by ``rules.py``):
publishing a change adds a version, and a published version is never changed again, so a claim can always be
re-read under the exact rules it was evaluated with.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Jurisdiction, Organization
from voucher_service.programs.rules import ProgramRules
from voucher_service.programs.rules_parser import rules_from_document


def actor_user(actor: Any) -> Any:
    """The user to store as "who" (created_by, changed_by…): None for the system actor (``accounts.audit.SYSTEM``)."""
    return actor if getattr(actor, "pk", None) else None


class ProgramStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    SUSPENDED = "suspended", _("Suspended")
    EXPIRED = "expired", _("Expired")


class Program(models.Model):
    # A stable key for the policy fixture (load_policies matches programs by it), e.g. "ningxia-2023-8-9".
    code = models.SlugField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.PROTECT, related_name="programs", verbose_name=_("jurisdiction")
    )
    # The agency that administers the program in this service; only its program administrators change it.
    issuing_agency = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="issued_programs", verbose_name=_("issuing agency")
    )
    responsible_agencies = models.ManyToManyField(
        Organization, blank=True, related_name="responsible_for_programs", verbose_name=_("responsible agencies")
    )
    legal_document_number = models.CharField(_("document number"), max_length=100, blank=True, default="")
    legal_clause = models.CharField(_("clause"), max_length=100, blank=True, default="")
    legal_title = models.CharField(_("document title"), max_length=300, blank=True, default="")
    legal_issuer = models.CharField(_("document issuer"), max_length=200, blank=True, default="")
    status = models.CharField(_("status"), max_length=16, choices=ProgramStatus.choices, default=ProgramStatus.DRAFT)
    # The status an expired program had when it expired (published or suspended), so an extension restores it
    # instead of reviving a suspended program as published. Empty unless the program is expired.
    status_before_expiry = models.CharField(
        _("status before expiry"), max_length=16, choices=ProgramStatus.choices, blank=True, default=""
    )
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    # NULL: no end date (some policies give none). Moved only by a recorded ProgramExtension once published.
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects: ClassVar[models.Manager[Program]]

    class Meta:
        ordering = ["id"]
        verbose_name = _("program")
        verbose_name_plural = _("programs")
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True)
                | Q(valid_from__isnull=True)
                | Q(valid_until__gte=F("valid_from")),
                name="program_window_ordered",
            ),
            # Anything but a draft has a start date: a program cannot be in force from "some day".
            models.CheckConstraint(
                condition=Q(status=ProgramStatus.DRAFT) | Q(valid_from__isnull=False),
                name="program_published_has_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def status_on(self, day: date) -> str:
        """The status as it is on ``day``: a published or suspended program whose window ended before ``day`` is
        expired from that moment, whether or not the expiry job (``programs_expire_due``) has marked it yet."""
        ended = self.valid_until is not None and self.valid_until < day
        if ended and self.status in (ProgramStatus.PUBLISHED, ProgramStatus.SUSPENDED):
            return ProgramStatus.EXPIRED
        return self.status

    def window_covers(self, day: date) -> bool:
        return (
            self.valid_from is not None
            and self.valid_from <= day
            and (self.valid_until is None or day <= self.valid_until)
        )


class ProgramVersionQuerySet(models.QuerySet["ProgramVersion"]):
    def update(self, **kwargs: Any) -> int:
        if self.filter(published_at__isnull=False).exists():
            raise ImmutableRecordError(_("A published program version cannot be changed."))
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        if self.filter(published_at__isnull=False).exists():
            raise ImmutableRecordError(_("A published program version cannot be deleted."))
        return super().delete()


class ImmutableRecordError(RuntimeError):
    pass


class VersionSource(models.TextChoices):
    API = "api", _("Agency (API)")
    FIXTURE = "fixture", _("Policy fixture (load_policies)")


class ProgramVersion(models.Model):
    """One numbered set of rules. A draft version may be edited; once published it is frozen."""

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    # The stored rules document (money in fen); see rules.py for its shape.
    rules = models.JSONField()
    note = models.CharField(_("note"), max_length=300, blank=True, default="")
    # Where the rules came from. load_policies compares the fixture with the last version *it* loaded, so a
    # reload does not revert a change an agency made through the API, yet a changed fixture still adds a version.
    source = models.CharField(_("source"), max_length=8, choices=VersionSource.choices, default=VersionSource.API)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    published_at = models.DateTimeField(null=True, blank=True, db_index=True)

    objects: ClassVar[ProgramVersionQuerySet] = ProgramVersionQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["program_id", "number"]
        verbose_name = _("program version")
        verbose_name_plural = _("program versions")
        constraints = [
            models.UniqueConstraint(fields=["program", "number"], name="program_version_number_unique"),
            models.CheckConstraint(condition=Q(number__gte=1), name="program_version_number_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.program.code} v{self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The guard reads the stored row, not this instance: publishing (draft -> published) is the last write.
        if self.pk is not None and ProgramVersion.objects.filter(pk=self.pk, published_at__isnull=False).exists():
            raise ImmutableRecordError(_("A published program version cannot be changed."))
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        if self.is_published:
            raise ImmutableRecordError(_("A published program version cannot be deleted."))
        return super().delete(*args, **kwargs)

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    def parsed(self) -> ProgramRules:
        """The typed rules (see rules.py).

        A published version is frozen (``save`` refuses, and so does a PostgreSQL trigger) and its typed rules are
        immutable values, so they are parsed once per process: every application, approval, issuance and claim
        reads the version in force and would otherwise parse the same document again each time."""
        if self.pk is None or self.published_at is None:
            return rules_from_document(self.rules)
        return _published_rules(self.pk, self.published_at, self.rules)


_PUBLISHED_RULES: dict[tuple[int, datetime], ProgramRules] = {}
_PUBLISHED_RULES_KEPT = 256


def _published_rules(pk: int, published_at: datetime, document: Any) -> ProgramRules:
    # Keyed by the publication too: a test database that rolls back may give a new version an old one's id.
    key = (pk, published_at)
    rules = _PUBLISHED_RULES.get(key)
    if rules is None:
        rules = rules_from_document(document)
        if len(_PUBLISHED_RULES) >= _PUBLISHED_RULES_KEPT:
            _PUBLISHED_RULES.clear()
        _PUBLISHED_RULES[key] = rules
    return rules


class AppendOnlyRow(models.Model):
    """A record of why something changed: written once, never edited or removed (PostgreSQL triggers agree)."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ImmutableRecordError(_("This record is append-only."))
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ImmutableRecordError(_("This record is append-only."))


class ProgramExtension(AppendOnlyRow):
    """A recorded move of a program's end date, with its reason and legal reference (append-only)."""

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="extensions")
    decided_on = models.DateField(_("decided on"))
    previous_end = models.DateField(_("previous end"), null=True, blank=True)
    new_end = models.DateField(_("new end"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=500)
    legal_reference = models.CharField(_("legal reference"), max_length=300, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects: ClassVar[models.Manager[ProgramExtension]]

    class Meta:
        ordering = ["program_id", "id"]
        verbose_name = _("program extension")
        verbose_name_plural = _("program extensions")

    def __str__(self) -> str:
        return f"{self.program.code}: {self.previous_end} -> {self.new_end or '∞'}"


# --- Provider registry --------------------------------------------------------------------------------------


class ListingStatus(models.TextChoices):
    LISTED = "listed", _("Listed")
    SUSPENDED = "suspended", _("Suspended")
    DELISTED = "delisted", _("Delisted")


class ServiceType(models.TextChoices):
    GPU = "gpu", _("GPU compute")
    NPU = "npu", _("NPU compute")
    CPU = "cpu", _("CPU compute")
    STORAGE = "storage", _("Storage")
    NETWORK = "network", _("Network")


# Vouchers pay for compute; storage and network services are listed but not subsidised as compute.
COMPUTE_SERVICE_TYPES = frozenset({ServiceType.GPU.value, ServiceType.NPU.value, ServiceType.CPU.value})


class ProviderListing(models.Model):
    """A compute provider's (or platform's) entry in the registry."""

    organization = models.OneToOneField(
        Organization, on_delete=models.PROTECT, related_name="provider_listing", verbose_name=_("organization")
    )
    # Where the compute is located, which decides jurisdiction-scoped programs (区内 resources).
    jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.PROTECT, related_name="provider_listings", verbose_name=_("jurisdiction")
    )
    platforms = models.ManyToManyField(
        Organization, blank=True, related_name="platform_listings", verbose_name=_("sells through platforms")
    )
    service_types = models.JSONField(_("service types"), default=list)
    valid_from = models.DateField(_("listed from"))
    valid_until = models.DateField(_("listed until"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=ListingStatus.choices, default=ListingStatus.LISTED)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects: ClassVar[models.Manager[ProviderListing]]

    class Meta:
        ordering = ["id"]
        verbose_name = _("provider listing")
        verbose_name_plural = _("provider listings")
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=F("valid_from")),
                name="provider_listing_window_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization} ({self.status})"

    @property
    def sells_compute(self) -> bool:
        return bool(COMPUTE_SERVICE_TYPES & set(self.service_types))


class ProviderListingRevision(AppendOnlyRow):
    """What a listing said from ``recorded_at`` on: where its compute is, what it sells, through which platforms,
    and its window (append-only; ``providers.py`` writes one with every registration and every change).

    Claims are judged against the listing as it was on the delivery dates, not as it is today.
    """

    listing = models.ForeignKey(ProviderListing, on_delete=models.PROTECT, related_name="revisions")
    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    service_types = models.JSONField(default=list)
    platforms = models.JSONField(default=list)  # organisation ids, sorted
    valid_from = models.DateField()
    valid_until = models.DateField(null=True, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects: ClassVar[models.Manager[ProviderListingRevision]]

    class Meta:
        ordering = ["listing_id", "recorded_at", "id"]
        verbose_name = _("provider listing revision")
        verbose_name_plural = _("provider listing revisions")

    def __str__(self) -> str:
        return f"{self.listing_id} as of {self.recorded_at:%Y-%m-%d}"


class ProviderStatusChange(AppendOnlyRow):
    """Every status a listing has had, with who changed it and why (append-only)."""

    listing = models.ForeignKey(ProviderListing, on_delete=models.PROTECT, related_name="status_changes")
    from_status = models.CharField(max_length=16, choices=ListingStatus.choices, blank=True, default="")
    to_status = models.CharField(max_length=16, choices=ListingStatus.choices)
    reason = models.CharField(_("reason"), max_length=500)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects: ClassVar[models.Manager[ProviderStatusChange]]

    class Meta:
        ordering = ["listing_id", "id"]
        verbose_name = _("provider status change")
        verbose_name_plural = _("provider status changes")

    def __str__(self) -> str:
        return f"{self.listing_id}: {self.from_status or '∅'} -> {self.to_status}"


# --- Fiscal-year budgets (the ledger layout is documented in budgets.py) ------------------------------------


class FiscalYearBudget(models.Model):
    """A program's budget for one calendar (fiscal) year and the ledger accounts that hold it."""

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="budgets")
    year = models.PositiveSmallIntegerField(_("fiscal year"))
    # The version whose annual cap is in force for the year, and that cap (fen); the ledger holds the same amount.
    version = models.ForeignKey(ProgramVersion, on_delete=models.PROTECT, related_name="+")
    cap = models.BigIntegerField(_("annual cap (fen)"))
    appropriation_account = models.OneToOneField(
        "ledger.Account", on_delete=models.PROTECT, related_name="+", verbose_name=_("appropriation account")
    )
    budget_account = models.OneToOneField(
        "ledger.Account", on_delete=models.PROTECT, related_name="+", verbose_name=_("budget account")
    )
    lapsed_account = models.OneToOneField(
        "ledger.Account", on_delete=models.PROTECT, related_name="+", verbose_name=_("lapsed account")
    )
    opened_at = models.DateTimeField(default=timezone.now, editable=False)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects: ClassVar[models.Manager[FiscalYearBudget]]

    class Meta:
        ordering = ["program_id", "year"]
        verbose_name = _("fiscal-year budget")
        verbose_name_plural = _("fiscal-year budgets")
        constraints = [
            models.UniqueConstraint(fields=["program", "year"], name="budget_one_per_program_year"),
            models.CheckConstraint(condition=Q(cap__gt=0), name="budget_cap_positive"),
            models.CheckConstraint(condition=Q(year__gte=2000) & Q(year__lte=2200), name="budget_year_range"),
        ]

    def __str__(self) -> str:
        return f"{self.program.code} {self.year}"


class BudgetFundingSource(models.Model):
    """The account of one payer (city, district, county…) named by the program's funding-split rules."""

    budget = models.ForeignKey(FiscalYearBudget, on_delete=models.PROTECT, related_name="funding_sources")
    payer = models.CharField(_("payer"), max_length=16)
    account = models.OneToOneField("ledger.Account", on_delete=models.PROTECT, related_name="+")

    objects: ClassVar[models.Manager[BudgetFundingSource]]

    class Meta:
        ordering = ["budget_id", "id"]
        verbose_name = _("budget funding source")
        verbose_name_plural = _("budget funding sources")
        constraints = [models.UniqueConstraint(fields=["budget", "payer"], name="funding_source_one_per_payer")]

    def __str__(self) -> str:
        return f"{self.budget} {self.payer}"
