"""Periodic jobs of the claims domain, merged into the Celery beat schedule by voucher_service/celery.py."""

from typing import Any

from celery.schedules import crontab

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    # After midnight Beijing time: a notice whose last working day was yesterday ends before business hours.
    "claims-close-notices": {"task": "claims.close_notices", "schedule": crontab(minute=15, hour=0)},
    # Evaluations and payouts whose task was lost are re-sent; the tasks are idempotent.
    "claims-requeue-stalled": {"task": "claims.requeue_stalled", "schedule": 300.0},
}
