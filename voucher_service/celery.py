"""The Celery application. Configuration comes from Django settings (the CELERY_* names)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voucher_service.settings")

app = Celery("voucher_service")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="voucher_service.ping", acks_late=True)
def ping(value: str = "pong") -> str:
    """A no-op round trip used by health and integration tests."""
    return value
