"""How the work is started: an audit event that notifies someone sends its task on commit (only those events);
beat runs the sweeper, the reminders and the digests; two workers on the same event write it once."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from accounts.models import AuditEvent
from voucher_service.celery import _beat_schedule
from voucher_service.celery import app as celery_app
from voucher_service.notifications import tasks
from voucher_service.notifications.models import Notification
from voucher_service.notifications.services import event_notify
from voucher_service.notifications.signals import _audit_event_saved
from voucher_service.programs.services import program_suspend
from voucher_service.vouchers.services import application_submit


def sent_tasks(callbacks) -> list:
    return [getattr(callback, "task", None) for callback in callbacks]


@pytest.mark.django_db
def test_an_event_that_notifies_sends_its_task_on_commit_and_others_send_none(
    cast, program, entity, django_capture_on_commit_callbacks
):
    # when an applicant applies, and an administrator suspends the program
    with django_capture_on_commit_callbacks(execute=False) as applying:
        application_submit(actor=cast["applicant"], program=program, entity=entity, amount=10_000, purpose="训练")
    with django_capture_on_commit_callbacks(execute=False) as suspending:
        program_suspend(actor=cast["program_admin"], program=program, reason="预算调整")
    # then the application's event sends notify_event with its id, the suspension sends nothing of ours
    event = AuditEvent.objects.get(action="voucher_application.submit")
    ours = [c for c in applying if getattr(c, "task", None) is tasks.notify_event]
    assert [c.args for c in ours] == [(event.pk,)]
    assert tasks.notify_event not in sent_tasks(suspending)


def test_the_signal_ignores_fixtures_and_updates():
    # given an unsaved event of a notifying kind
    event = AuditEvent(action="claim.submit", target_type="claims.claim", target_id="1")
    # when / then: loading fixtures (raw) or a save that is not a creation sends nothing (no transaction needed)
    _audit_event_saved(AuditEvent, event, created=True, raw=True)
    _audit_event_saved(AuditEvent, event, created=False)


def test_beat_runs_the_sweeper_the_reminders_and_the_digests():
    # given / when
    schedule = _beat_schedule()
    # then
    names = {entry["task"] for key, entry in schedule.items() if key.startswith("notifications-")}
    assert names == {"notifications.sweep", "notifications.send_reminders", "notifications.send_digests"}
    assert names <= set(celery_app.tasks)
    assert all(celery_app.tasks[name].acks_late for name in names | {"notifications.notify_event"})


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_on_one_event_write_its_notifications_once(cast, program, entity):
    # given an application's event, not yet processed
    application_submit(actor=cast["applicant"], program=program, entity=entity, amount=10_000, purpose="训练")
    event = AuditEvent.objects.get(action="voucher_application.submit")
    Notification.objects.filter(event=event).delete()
    from voucher_service.notifications.models import ProcessedEvent

    ProcessedEvent.objects.filter(event=event).delete()
    results: list[int] = []
    barrier = threading.Barrier(2)

    def work() -> None:
        try:
            barrier.wait()
            results.append(event_notify(event_id=event.pk))
        finally:
            connection.close()

    # when two workers process it at the same moment
    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then one wrote both reviewers' notifications, the other nothing
    assert sorted(results) == [0, 2]
    assert Notification.objects.filter(event=event).count() == 2
