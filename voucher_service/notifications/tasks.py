"""Celery tasks of notifications: thin wrappers that take ids and call services. All are idempotent."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from voucher_service.notifications import reminders, services


@shared_task(
    name="notifications.notify_event",
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def notify_event(event_id: int) -> int:
    written = services.event_notify(event_id=event_id)
    # Only what this call wrote can be waiting for its email here. A redelivery after a crash between the two
    # steps finds the event processed and writes nothing; what the first delivery left pending, the sweeper
    # (every minute) sends. Most events tell nobody, and they no longer pay a query for it.
    if written:
        services.emails_send_pending(event_id=event_id)
    return written


@shared_task(name="notifications.sweep", acks_late=True)
def sweep() -> dict[str, int]:
    return services.notifications_sweep()


@shared_task(name="notifications.send_digests", acks_late=True)
def send_digests() -> int:
    return services.digests_send()


@shared_task(name="notifications.send_reminders", acks_late=True)
def send_reminders() -> dict[str, int]:
    written = reminders.reminders_send()
    services.emails_send_pending()
    return written
