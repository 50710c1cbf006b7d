"""The Celery application. Configuration comes from Django settings (the CELERY_* names)."""

import os

from celery import Celery

from core import celery_filesystem

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voucher_service.settings")

# Before any connection: the embedded broker's messages must appear in its folder whole (see the module).
celery_filesystem.install()

app = Celery("voucher_service")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _beat_schedule() -> dict[str, dict]:
    """Each package owns its periodic jobs (a BEAT_SCHEDULE dict in its schedule.py); beat runs them all."""
    from ledger.schedule import BEAT_SCHEDULE as ledger_jobs
    from voucher_service.claims.schedule import BEAT_SCHEDULE as claim_jobs
    from voucher_service.notifications.schedule import BEAT_SCHEDULE as notification_jobs
    from voucher_service.programs.schedule import BEAT_SCHEDULE as program_jobs
    from voucher_service.reports.schedule import BEAT_SCHEDULE as report_jobs
    from voucher_service.schedule import BEAT_SCHEDULE as plumbing_jobs
    from voucher_service.vouchers.schedule import BEAT_SCHEDULE as voucher_jobs

    return {
        **ledger_jobs,
        **program_jobs,
        **voucher_jobs,
        **claim_jobs,
        **report_jobs,
        **notification_jobs,
        **plumbing_jobs,
    }


@app.on_after_configure.connect
def _install_beat_schedule(sender: Celery, **kwargs: object) -> None:
    # After the configuration is read, so the settings module is never imported half-way through this one.
    sender.conf.beat_schedule = _beat_schedule()


@app.task(name="voucher_service.ping", acks_late=True, ignore_result=False)
def ping(value: str = "pong") -> str:
    """A no-op round trip used by health and integration tests."""
    return value
