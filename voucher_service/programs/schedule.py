"""Celery beat entries of the programs domain; ``voucher_service/celery.py`` merges them into the schedule.

Times are Asia/Shanghai (CELERY_TIMEZONE). Both jobs are idempotent, so they run daily: the fiscal-year opening
does its real work on 1 January and, if beat was down that day, on the first day it runs again.
"""

from __future__ import annotations

from typing import Any

from celery.schedules import crontab

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    # Just after midnight: a program whose last day was yesterday stops being "published" before business hours.
    "programs-expire": {"task": "programs.expire_programs", "schedule": crontab(minute=1, hour=0)},
    # Opens the current fiscal year's budgets (no-op once opened); on 1 January this is the year's opening.
    "programs-open-fiscal-year": {"task": "programs.open_fiscal_year", "schedule": crontab(minute=5, hour=0)},
}
