"""Notification writes: derive them from audit events, email them (one by one or in a daily digest), mark them
read, and the user's email preference. Reminders are in ``reminders``.

Idempotency, everywhere: an event is processed once (``ProcessedEvent``, its primary key is the event's), a
notification exists once per recipient and key, an email is sent by whoever locks its pending row, and a digest
once per user and day (``DigestRun``). Redelivered tasks and overlapping sweepers therefore write nothing twice.

Derived notifications are not themselves audited (they are a function of audited events and of the vouchers'
and programs' state); what a person does to them (marking read, choosing a digest) is.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import audit_record
from accounts.models import AuditEvent, User
from core.errors import field_error
from core.transactions import service_write
from voucher_service.db import insert_unless_conflict
from voucher_service.notifications import emails, selectors
from voucher_service.notifications.errors import NotificationError, NotificationErrorCode
from voucher_service.notifications.models import (
    DigestRun,
    EmailMode,
    EmailStatus,
    Notification,
    NotificationPreference,
    ProcessedEvent,
)
from voucher_service.notifications.recipients import derive

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outgoing:
    """One notification to write: to whom, of what kind, about what."""

    recipient_id: int
    kind: str
    key: str
    audience: str
    target_type: str
    target_id: str
    params: dict[str, Any]
    event_id: int | None = None


def _email_status(user: User, modes: dict[int, str]) -> str:
    if not user.email:
        return EmailStatus.SKIPPED
    return EmailStatus.DIGEST if modes.get(user.pk) == EmailMode.DIGEST else EmailStatus.PENDING


def deliver(outgoing: Iterable[Outgoing]) -> int:
    """Write the notifications that do not exist yet (per recipient and key); each waits for its email as its
    recipient prefers. Returns how many were new. Runs in the caller's transaction."""
    items = list(outgoing)
    if not items:
        return 0
    users = {u.pk: u for u in User.objects.filter(pk__in={i.recipient_id for i in items}, is_active=True)}
    modes = dict(NotificationPreference.objects.filter(user_id__in=list(users)).values_list("user_id", "email_mode"))
    existing = set(
        Notification.objects.filter(recipient_id__in=list(users), key__in={i.key for i in items}).values_list(
            "recipient_id", "key"
        )
    )
    fresh = [
        Notification(
            recipient_id=i.recipient_id,
            kind=i.kind,
            key=i.key,
            event_id=i.event_id,
            audience=i.audience,
            target_type=i.target_type,
            target_id=i.target_id,
            params=i.params,
            email_status=_email_status(users[i.recipient_id], modes),
        )
        for i in items
        if i.recipient_id in users and (i.recipient_id, i.key) not in existing
    ]
    # A concurrent writer of the same (recipient, key) loses quietly: the row it wanted exists.
    Notification.objects.bulk_create(fresh, ignore_conflicts=True)
    return len(fresh)


@service_write
def event_notify(*, event_id: int) -> int:
    """Write the notifications an audit event calls for, once: a second call (a redelivered task, the sweeper)
    finds the event processed and writes nothing. Returns how many notifications were written."""
    event = AuditEvent.objects.filter(pk=event_id).first()
    if event is None:
        return 0
    if not _mark_processed(event.pk):
        return 0  # processed already (or by a concurrent worker, which committed first)
    derived = derive(event)
    if derived is None:
        return 0
    written = deliver(
        Outgoing(
            recipient_id=user_id,
            kind=kind,
            key=f"event:{event.pk}",
            audience=audience,
            target_type=derived.target_type,
            target_id=derived.target_id,
            params=derived.params,
            event_id=event.pk,
        )
        for user_id, (kind, audience) in sorted(derived.deliveries.items())
    )
    if written:  # the marker says 0 already
        ProcessedEvent.objects.filter(event_id=event.pk).update(notified=written)
    return written


def _mark_processed(event_id: int) -> bool:
    """Insert the event's ``ProcessedEvent`` marker unless it exists: True if this call inserted it. One
    ``INSERT … ON CONFLICT DO NOTHING RETURNING`` (a concurrent worker's insert is waited for, as the unique key
    would be), instead of a savepoint, an INSERT that may fail and its release."""
    return insert_unless_conflict(ProcessedEvent(event_id=event_id, notified=0), ("event",))


# --- Email ----------------------------------------------------------------------------------------------------


def _language(user_id: int) -> str:
    language = NotificationPreference.objects.filter(user_id=user_id).values_list("language", flat=True).first()
    return language or settings.LANGUAGE_CODE


@service_write
def notification_email_send(*, notification_id: int) -> bool:
    """Email one pending notification. Whoever locks the row sends it; anyone else finds it sent (or skips it
    while it is locked). True if this call sent it. A failure to send leaves it pending for the next sweep."""
    locked = (
        Notification.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("recipient")
        .filter(pk=notification_id, email_status=EmailStatus.PENDING)
        .first()
    )
    if locked is None:
        return False
    emails.send_one(locked, locked.recipient.email, _language(locked.recipient_id))
    locked.email_status, locked.emailed_at = EmailStatus.SENT, timezone.now()
    locked.save(update_fields=["email_status", "emailed_at"])
    return True


def emails_send_pending(*, event_id: int | None = None) -> int:
    """Email the pending notifications (of one event, or every recent one). Returns how many were sent."""
    sent = 0
    for notification_id in selectors.emails_pending(event_id=event_id):
        try:
            sent += notification_email_send(notification_id=notification_id)
        except OSError:  # SMTP refused or unreachable: the notification stays pending, the next sweep retries
            logger.warning("could not email notification %s", notification_id, exc_info=True)
    return sent


@service_write
def digest_send(*, user_id: int, day: date) -> int:
    """The user's daily digest of ``day``: every notification waiting for it, in one email; at most one per user
    and day (a second run that day sends nothing; what arrives meanwhile waits for tomorrow's)."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.email:
        return 0
    waiting = list(
        Notification.objects.select_for_update()
        .filter(recipient=user, email_status=EmailStatus.DIGEST)
        .order_by("created_at", "pk")
    )
    if not waiting:
        return 0
    try:
        with transaction.atomic():
            run = DigestRun.objects.create(user=user, day=day)
    except IntegrityError:
        return 0
    emails.send_digest(waiting, user.email, _language(user.pk), day.isoformat())
    Notification.objects.filter(pk__in=[n.pk for n in waiting]).update(
        email_status=EmailStatus.SENT, emailed_at=timezone.now()
    )
    run.notifications = len(waiting)
    run.save(update_fields=["notifications"])
    return len(waiting)


def digests_send(*, day: date | None = None) -> int:
    """Every user's daily digest of ``day`` (today). Returns how many digests were sent."""
    day = day or timezone.localdate()
    sent = 0
    for user_id in selectors.digest_recipients():
        try:
            sent += bool(digest_send(user_id=user_id, day=day))
        except OSError:
            logger.warning("could not send the digest of user %s", user_id, exc_info=True)
    return sent


def notifications_sweep() -> dict[str, int]:
    """Process the recent events no task processed (lost on the way, or written in bulk), then email what is
    pending. Idempotent; beat runs it every minute."""
    events = selectors.events_unprocessed()
    written = sum(event_notify(event_id=event_id) for event_id in events)
    return {"events": len(events), "notifications": written, "emails": emails_send_pending()}


# --- What a person does ---------------------------------------------------------------------------------------


def _own(actor: Any, notification_id: int) -> Notification:
    found = selectors.notifications_of(actor).select_for_update().filter(pk=notification_id).first()
    if found is None:  # someone else's, or none: the same answer
        raise NotificationError(NotificationErrorCode.NOT_FOUND, _("No such notification."))
    return found


@service_write
def notification_mark_read(*, actor: Any, notification_id: int) -> Notification:
    notification = _own(actor, notification_id)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
        audit_record(actor=actor, action="notification.read", target=notification)
    return notification


@service_write
def notifications_mark_all_read(*, actor: Any) -> int:
    unread = selectors.notifications_of(actor).filter(read_at__isnull=True)
    count = unread.update(read_at=timezone.now())
    if count:
        audit_record(actor=actor, action="notification.read_all", target=actor, detail={"count": count})
    return count


@service_write
def preference_set(*, actor: Any, email_mode: str, language: str) -> NotificationPreference:
    """Choose one email per event or one daily digest (and the emails' language). What waits for email follows
    the choice: switching to the digest gathers the pending ones into it, switching back sends them singly."""
    if email_mode not in EmailMode.values:
        raise NotificationError(
            NotificationErrorCode.INVALID,
            _("Choose one email per event or a daily digest."),
            fields=field_error("email_mode", "invalid_choice", _("Choose one email per event or a daily digest.")),
        )
    if language not in dict(settings.LANGUAGES):
        raise NotificationError(
            NotificationErrorCode.INVALID,
            _("Choose a language."),
            fields=field_error("language", "invalid_choice", _("Choose a language.")),
        )
    preference, _created = NotificationPreference.objects.select_for_update().get_or_create(user_id=actor.pk)
    before = {"email_mode": preference.email_mode, "language": preference.language}
    preference.email_mode, preference.language = email_mode, language
    preference.save()
    waiting, wanted = (
        (EmailStatus.PENDING, EmailStatus.DIGEST)
        if email_mode == EmailMode.DIGEST
        else (EmailStatus.DIGEST, EmailStatus.PENDING)
    )
    Notification.objects.filter(recipient_id=actor.pk, email_status=waiting).update(email_status=wanted)
    audit_record(
        actor=actor,
        action="notification.preference",
        target=preference,
        before=before,
        after={"email_mode": email_mode, "language": language},
    )
    return preference
