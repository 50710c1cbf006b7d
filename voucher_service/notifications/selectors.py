"""Notification reads: a user sees their own notifications and nobody else's."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import AuditEvent
from voucher_service.notifications.models import EmailMode, EmailStatus, Notification, NotificationPreference
from voucher_service.notifications.recipients import NOTIFYING_ACTIONS

# Events older than this that were never processed (the worker was down for days) are old news: not notified.
LOOKBACK = timedelta(days=2)


def notifications_of(user: Any) -> QuerySet[Notification]:
    if not getattr(user, "is_authenticated", False) or getattr(user, "pk", None) is None:
        return Notification.objects.none()
    return Notification.objects.filter(recipient_id=user.pk)


def unread_count(user: Any) -> int:
    return notifications_of(user).filter(read_at__isnull=True).count()


def preference_of(user: Any) -> NotificationPreference:
    """The user's preference, or the default (one email per event, the site's language), unsaved."""
    found = NotificationPreference.objects.filter(user_id=user.pk).first()
    return found or NotificationPreference(user_id=user.pk, email_mode=EmailMode.EACH, language=settings.LANGUAGE_CODE)


def events_unprocessed(now: datetime | None = None, limit: int = 500) -> list[int]:
    """Ids of recent audit events that notify someone and were not processed yet (a lost task, a bulk insert)."""
    since = (now or timezone.now()) - LOOKBACK
    return list(
        AuditEvent.objects.filter(
            action__in=NOTIFYING_ACTIONS, occurred_at__gte=since, notification_processing__isnull=True
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def emails_pending(*, event_id: int | None = None, now: datetime | None = None, limit: int = 500) -> list[int]:
    pending = Notification.objects.filter(email_status=EmailStatus.PENDING)
    if event_id is not None:
        pending = pending.filter(event_id=event_id)
    else:
        pending = pending.filter(created_at__gte=(now or timezone.now()) - LOOKBACK)
    return list(pending.order_by("pk").values_list("pk", flat=True)[:limit])


def digest_recipients() -> list[int]:
    """Users with notifications waiting for their daily digest."""
    return sorted(
        set(Notification.objects.filter(email_status=EmailStatus.DIGEST).values_list("recipient_id", flat=True))
    )
