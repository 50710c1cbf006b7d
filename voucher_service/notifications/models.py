"""Notifications: what each person is told, in the portal and by email, and how they want their email.

Every notification is derived from something already recorded: an audit event (a step of an application, a
voucher or a claim) or, for reminders, the state of a voucher or of a program's claim window. So each one has a
``key`` ("event:<id>", "voucher-expiry:<voucher>:<date>", "claim-window:<program>:<date>") that is unique per
recipient: processing the same event or reminder twice (a redelivered task, two sweepers) writes nothing twice.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class EmailMode(models.TextChoices):
    EACH = "each", _("One email per event")
    DIGEST = "digest", _("One daily digest")


class NotificationPreference(models.Model):
    """How a user wants their email. No row: one email per event, in the site's default language."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    email_mode = models.CharField(_("email"), max_length=8, choices=EmailMode.choices, default=EmailMode.EACH)
    language = models.CharField(_("language of emails"), max_length=10, choices=settings.LANGUAGES, default="zh-hans")
    updated_at = models.DateTimeField(auto_now=True)

    objects: ClassVar[models.Manager[NotificationPreference]]

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.email_mode}"


class EmailStatus(models.TextChoices):
    PENDING = "pending", _("To be emailed")
    DIGEST = "digest", _("Waits for the daily digest")
    SENT = "sent", _("Emailed")
    SKIPPED = "skipped", _("Not emailed (no address)")


class Notification(models.Model):
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=40)
    key = models.CharField(max_length=100)
    # The audit event it was derived from (None for a reminder).
    event = models.ForeignKey("accounts.AuditEvent", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    # What it is about, for the link: "claims.claim", "vouchers.voucher", "vouchers.voucherapplication" or
    # "programs.program" (a claim window), and its primary key.
    target_type = models.CharField(max_length=64, blank=True, default="")
    target_id = models.CharField(max_length=64, blank=True, default="")
    # "act" (the recipient must do something) or "wait" (the recipient is told where their matter stands).
    audience = models.CharField(max_length=8, default="wait")
    # The facts the message is written from, in the recipient's language when shown (JSON-safe; money in yuan).
    params = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)
    email_status = models.CharField(max_length=8, choices=EmailStatus.choices, default=EmailStatus.PENDING)
    emailed_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[models.Manager[Notification]]

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.UniqueConstraint(fields=["recipient", "key"], name="notification_once_per_recipient"),
            models.CheckConstraint(condition=Q(audience__in=["act", "wait"]), name="notification_audience_known"),
        ]
        indexes = [
            models.Index(fields=["recipient", "read_at"], name="notification_unread_idx"),
            models.Index(fields=["email_status", "recipient"], name="notification_email_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.recipient_id} {self.key} ({self.kind})"


class ProcessedEvent(models.Model):
    """An audit event whose notifications have been written (possibly none): the sweeper skips it."""

    event = models.OneToOneField(
        "accounts.AuditEvent", on_delete=models.PROTECT, primary_key=True, related_name="notification_processing"
    )
    processed_at = models.DateTimeField(default=timezone.now)
    notified = models.PositiveIntegerField(default=0)

    objects: ClassVar[models.Manager[ProcessedEvent]]

    def __str__(self) -> str:
        return f"event {self.event_id}: {self.notified}"


class DigestRun(models.Model):
    """One daily digest per user and day: the second run of the same day sends nothing."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    notifications = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(default=timezone.now)

    objects: ClassVar[models.Manager[DigestRun]]

    class Meta:
        verbose_name = _("daily digest")
        verbose_name_plural = _("daily digests")
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="digest_once_per_user_day")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.day}"
