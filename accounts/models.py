"""Who: jurisdictions, organisations, users, memberships with roles, API tokens and the audit trail.

This package depends on nothing else in the project; ``ledger`` and ``voucher_service`` build on it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.validators import validate_uscc


class AdministrationType(models.TextChoices):
    """How a county-level division relates to its city; it decides who pays (funding splits)."""

    CITY_DISTRICT = "city_district", _("City-managed district (市管区)")
    PROVINCE_COUNTY = "province_county", _("Province-administered county (省直管县)")
    OTHER = "other", _("Other")


class JurisdictionLevel(models.TextChoices):
    PROVINCE = "province", _("Province-level")
    PREFECTURE = "prefecture", _("Prefecture-level")
    COUNTY = "county", _("County-level")


class Jurisdiction(models.Model):
    """A GB/T 2260 administrative division (six-digit code) with a link to its parent."""

    code = models.CharField(_("division code"), max_length=6, primary_key=True)
    name = models.CharField(_("name"), max_length=100)
    level = models.CharField(_("level"), max_length=16, choices=JurisdictionLevel.choices)
    admin_type = models.CharField(
        _("administration type"),
        max_length=20,
        choices=AdministrationType.choices,
        default=AdministrationType.OTHER,
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent"),
    )
    # Materialised ancestry ("640000/640100/640104"): a jurisdiction's subtree is one indexed prefix query.
    path = models.CharField(max_length=64, editable=False, db_index=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("jurisdiction")
        verbose_name_plural = _("jurisdictions")
        constraints = [
            models.CheckConstraint(condition=Q(code__regex=r"^[1-9][0-9]{5}$"), name="jurisdiction_code_six_digits"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def save(self, *args, **kwargs) -> None:
        self.path = f"{self.parent.path}/{self.code}" if self.parent_id and self.parent else self.code
        super().save(*args, **kwargs)

    def covers(self, other: Jurisdiction) -> bool:
        """True when ``other`` is this division or lies inside it."""
        return other.path == self.path or other.path.startswith(self.path + "/")


class User(AbstractUser):
    """The project's user model, present from the first migration so it can grow without a painful swap."""

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def save(self, *args, **kwargs) -> None:
        """A changed password revokes every API token of the user, in the same transaction.

        Here rather than in one service because a password changes through several doors (the admin's password
        form, ``manage.py changepassword``, later the portal), and each ends in ``set_password`` + ``save``: a
        token issued under the old password must not outlive it (a stolen password's tokens die with it).
        """
        password_changed = getattr(self, "_password", None) is not None and not self._state.adding
        if not password_changed:
            super().save(*args, **kwargs)
            return
        from accounts.tokens import tokens_revoke_for_user  # tokens import this module

        with transaction.atomic():
            super().save(*args, **kwargs)
            tokens_revoke_for_user(self, reason="password_changed")


class OrganizationKind(models.TextChoices):
    AGENCY = "agency", _("Government agency")
    ENTITY = "entity", _("Voucher holder (entity)")
    PROVIDER = "provider", _("Compute provider")
    PLATFORM = "platform", _("Compute platform")


class EntityCategory(models.TextChoices):
    """The holder categories named by the policies (docs/POLICIES.md)."""

    UNIVERSITY = "university", _("University (高校)")
    RESEARCH_INSTITUTE = "research_institute", _("Research institute (科研机构)")
    COMPUTE_INTERMEDIARY = (
        "compute_intermediary",
        _("Compute intermediary service organisation (算力中介服务机构)"),
    )
    TECH_SME = "tech_sme", _("Tech-based small or micro enterprise (科技型中小微企业)")
    MAKER = "maker", _("Maker without a legal entity (创客)")
    ENTERPRISE = "enterprise", _("Enterprise (企业)")


class Organization(models.Model):
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=OrganizationKind.choices)
    category = models.CharField(
        _("entity category"), max_length=32, choices=EntityCategory.choices, blank=True, default=""
    )
    # 统一社会信用代码. NULL (not "") when absent so that the unique constraint ignores makers without one.
    uscc = models.CharField(  # noqa: DJ001 (NULL, not "", so the partial unique index skips makers)
        _("unified social credit code"), max_length=18, null=True, blank=True, validators=[validate_uscc]
    )
    jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.PROTECT, related_name="organizations", verbose_name=_("jurisdiction")
    )
    settled_on = models.DateField(_("settled on (落户日期)"), null=True, blank=True)
    # Who last recorded ``settled_on`` (set by the services, never by a form): the settling-in award is a
    # separation of duties, so the person who certified the date may not also grant the award. On the row, not
    # read back from the audit trail, so no amount of later audited activity can push the fact out of sight.
    settled_on_certified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("settling-in date recorded by"),
    )
    address = models.CharField(_("address"), max_length=300, blank=True, default="")
    # A maker's personal ID number is never stored: only a keyed digest (to detect duplicates) and a hint.
    personal_id_digest = models.CharField(max_length=64, null=True, blank=True, editable=False)  # noqa: DJ001
    personal_id_hint = models.CharField(_("personal ID (masked)"), max_length=18, blank=True, default="")
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        constraints = [
            models.UniqueConstraint(fields=["uscc"], condition=Q(uscc__isnull=False), name="organization_uscc_unique"),
            models.UniqueConstraint(
                fields=["personal_id_digest"],
                condition=Q(personal_id_digest__isnull=False),
                name="organization_personal_id_unique",
            ),
            models.CheckConstraint(
                condition=Q(uscc__isnull=True) | Q(uscc__regex=r"^[0-9A-HJ-NPQRTUWXY]{18}$"),
                name="organization_uscc_format",
            ),
            # Only entities have a category, and every entity has one.
            models.CheckConstraint(
                condition=(Q(kind=OrganizationKind.ENTITY) & ~Q(category=""))
                | (~Q(kind=OrganizationKind.ENTITY) & Q(category="")),
                name="organization_category_iff_entity",
            ),
            # Everyone but an agency or a maker is a legal entity and so has a USCC.
            models.CheckConstraint(
                condition=Q(uscc__isnull=False)
                | Q(kind=OrganizationKind.AGENCY)
                | Q(kind=OrganizationKind.ENTITY, category=EntityCategory.MAKER),
                name="organization_uscc_required",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Cross-field rules, reported per field. The CHECK constraints in Meta enforce the same in the DB."""
        errors: dict[str, list[ValidationError]] = {}
        is_entity = self.kind == OrganizationKind.ENTITY
        if is_entity and not self.category:
            errors.setdefault("category", []).append(
                ValidationError(_("An entity must have a category."), code="required")
            )
        if not is_entity and self.category:
            errors.setdefault("category", []).append(
                ValidationError(_("Only entities have a category."), code="not_applicable")
            )
        is_maker = is_entity and self.category == EntityCategory.MAKER
        if not self.uscc and self.kind != OrganizationKind.AGENCY and not is_maker:
            errors.setdefault("uscc", []).append(
                ValidationError(_("A unified social credit code is required."), code="required")
            )
        if self.uscc and Organization.objects.filter(uscc=self.uscc).exclude(pk=self.pk).exists():
            errors.setdefault("uscc", []).append(
                ValidationError(_("An organization with this unified social credit code exists."), code="unique")
            )
        if self.settled_on is not None and self.settled_on > timezone.localdate():
            errors.setdefault("settled_on", []).append(
                ValidationError(_("The settling-in date cannot be in the future."), code="future_date")
            )
        if self.personal_id_digest and not is_maker:
            errors.setdefault("personal_id", []).append(
                ValidationError(_("Only a maker registers with a personal ID."), code="not_applicable")
            )
        if errors:
            raise ValidationError(errors)


class Role(models.TextChoices):
    APPLICANT = "applicant", _("Applicant")
    REVIEWER = "reviewer", _("Reviewer")
    FINANCE = "finance", _("Finance")
    PROGRAM_ADMIN = "program_admin", _("Program administrator")
    AUDITOR = "auditor", _("Auditor")


# Which roles make sense in which kind of organisation: an entity applies, an agency reviews, pays and audits.
ROLES_BY_KIND: dict[str, frozenset[str]] = {
    OrganizationKind.AGENCY: frozenset({Role.REVIEWER, Role.FINANCE, Role.PROGRAM_ADMIN, Role.AUDITOR}),
    OrganizationKind.ENTITY: frozenset({Role.APPLICANT}),
    OrganizationKind.PROVIDER: frozenset({Role.APPLICANT}),
    OrganizationKind.PLATFORM: frozenset({Role.APPLICANT, Role.AUDITOR}),
}


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["id"]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "organization", "role"], name="membership_unique_role"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization} ({self.role})"


class ApiToken(models.Model):
    """A bearer token. Only its SHA-256 digest is stored; the secret is shown once, at creation."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True, default="")
    # The first characters of the secret, kept in clear so people can tell their tokens apart.
    prefix = models.CharField(max_length=12, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        constraints = [
            models.CheckConstraint(condition=Q(expires_at__gt=models.F("created_at")), name="api_token_expires_after"),
        ]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and self.expires_at > now


class AppendOnlyAuditQuerySet(models.QuerySet):
    """Bulk updates and deletes are refused too (PostgreSQL triggers refuse the same in raw SQL)."""

    def update(self, **kwargs: Any) -> int:
        raise RuntimeError("Audit events are append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise RuntimeError("Audit events are append-only.")


class AuditEvent(models.Model):
    """One row per write, in the same transaction as the write. Rows are never changed or removed (the ORM
    refuses, and on PostgreSQL a trigger refuses UPDATE and DELETE, migration 0003)."""

    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64)
    # The organisation whose data this is, so each organisation can read its own trail.
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="audit_events"
    )
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    objects: ClassVar[AppendOnlyAuditQuerySet] = AppendOnlyAuditQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["target_type", "target_id"], name="audit_target_idx")]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.action} {self.target_type}#{self.target_id}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise RuntimeError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("Audit events are append-only.")
