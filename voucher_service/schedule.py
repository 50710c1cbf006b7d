"""Celery beat entries of the project's plumbing, merged into the schedule by voucher_service/celery.py."""

from __future__ import annotations

from typing import Any

from celery.schedules import crontab

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    # Idempotency-Key records live IDEMPOTENCY_KEY_RETENTION_HOURS (24 by default); hourly keeps the table small.
    "api-purge-idempotency-records": {"task": "api.purge_idempotency_records", "schedule": crontab(minute=20)},
}
