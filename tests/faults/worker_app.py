"""The Celery app of the fault tests' worker subprocesses: the project's own app (settings from the environment
the test gives it), scanning for unacknowledged messages to deliver again every fraction of a second instead of
every ten seconds, so that redelivery after a SIGKILL takes seconds."""

from voucher_service.celery import app

app.conf.broker_transport_options = {
    **(app.conf.broker_transport_options or {}),
    "unacked_restore_interval": 0.1,
    "unacked_restore_throttle": 1,
}

__all__ = ["app"]
