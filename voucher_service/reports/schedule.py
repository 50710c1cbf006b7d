"""Periodic jobs of the reports package, merged into the Celery beat schedule by voucher_service/celery.py."""

BEAT_SCHEDULE = {
    # Exports past their expiry lose their file (the download link then answers 410).
    "reports-purge-exports": {"task": "reports.purge_exports", "schedule": 3600.0},
}
