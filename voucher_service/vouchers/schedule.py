"""Periodic jobs of the voucher domain, merged into the Celery beat schedule by voucher_service/celery.py."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    # Shortly after midnight Beijing time, so a voucher valid "until 31 December" is usable all that day.
    "vouchers-expire": {"task": "vouchers.expire_vouchers", "schedule": crontab(minute=10, hour=0)},
}
