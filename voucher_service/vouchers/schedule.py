"""Periodic jobs of the voucher domain, merged into the Celery beat schedule by voucher_service/celery.py."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    # Work whose task was lost (broker down at commit, worker killed) is re-sent; the tasks are idempotent.
    "vouchers-requeue-stalled": {"task": "vouchers.requeue_stalled", "schedule": 300.0},
    # Shortly after midnight Beijing time, so a voucher valid "until 31 December" is usable all that day.
    "vouchers-expire": {"task": "vouchers.expire_vouchers", "schedule": crontab(minute=10, hour=0)},
}
