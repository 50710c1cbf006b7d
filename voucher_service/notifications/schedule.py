"""Periodic jobs of notifications, merged into the Celery beat schedule by voucher_service/celery.py."""

from __future__ import annotations

from typing import Any

from celery.schedules import crontab

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    # Events no task processed (bulk-written, or the broker was down at commit) and emails still pending.
    "notifications-sweep": {"task": "notifications.sweep", "schedule": 60.0},
    # Reminders at 09:00 Beijing time: vouchers expiring within 30 days with money left, claim windows closing
    # within 7 days. Once per voucher (and validity end) or window (and closing day) per person.
    "notifications-reminders": {"task": "notifications.send_reminders", "schedule": crontab(minute=0, hour=9)},
    # The daily digests, at 08:00 Beijing time, once per user and day.
    "notifications-digests": {"task": "notifications.send_digests", "schedule": crontab(minute=0, hour=8)},
}
