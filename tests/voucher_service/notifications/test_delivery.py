"""Delivery: once per event and recipient however often the work is redelivered; an email per event, or one
daily digest per user and day; in the recipient's language; a failed send is retried."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import AuditEvent
from voucher_service.notifications import services, tasks
from voucher_service.notifications.models import DigestRun, EmailStatus, Notification, ProcessedEvent
from voucher_service.vouchers.services import application_submit

pytestmark = pytest.mark.django_db


def apply_once(cast, program, entity, amount: int = 10_000) -> AuditEvent:
    application_submit(actor=cast["applicant"], program=program, entity=entity, amount=amount, purpose="训练")
    return AuditEvent.objects.filter(action="voucher_application.submit").latest("pk")


def test_a_redelivered_event_notifies_and_emails_once(cast, program, entity):
    # given an application's event
    event = apply_once(cast, program, entity)
    # when its task runs three times (redelivery after a lost ack), and the sweeper runs too
    first = tasks.notify_event(event.pk)
    again = tasks.notify_event(event.pk)
    tasks.notify_event(event.pk)
    swept = services.notifications_sweep()
    # then two reviewers were told once each, with one email each
    assert (first, again) == (2, 0)
    assert swept == {"events": 0, "notifications": 0, "emails": 0}
    assert Notification.objects.filter(event=event).count() == 2
    assert ProcessedEvent.objects.get(event=event).notified == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["nx_reviewer2@example.cn", "nx_reviewer@example.cn"]


def test_an_email_per_event_names_the_step_and_links_to_the_page(cast, program, entity, settings):
    # given the portal's address
    settings.PORTAL_BASE_URL = "https://vouchers.example.gov.cn"
    # when an application is processed
    tasks.notify_event(apply_once(cast, program, entity).pk)
    # then each reviewer's email (in zh-hans, the default) says what to decide and links to the work queue
    message = next(m for m in mail.outbox if m.to == ["nx_reviewer@example.cn"])
    assert "银川智算科技有限公司" in message.subject
    assert "100.00" in message.subject
    assert "https://vouchers.example.gov.cn/work/" in message.body
    assert "https://vouchers.example.gov.cn/me/notifications/preferences/" in message.body
    assert Notification.objects.get(recipient=cast["reviewer"]).email_status == EmailStatus.SENT


def test_an_email_is_written_in_the_recipients_language(cast, program, entity):
    # given a reviewer who reads English
    services.preference_set(actor=cast["reviewer"], email_mode="each", language="en")
    # when
    tasks.notify_event(apply_once(cast, program, entity).pk)
    # then
    english = next(m for m in mail.outbox if m.to == ["nx_reviewer@example.cn"])
    chinese = next(m for m in mail.outbox if m.to == ["nx_reviewer2@example.cn"])
    assert "applied for a voucher" in english.subject
    assert "applied for a voucher" not in chinese.subject


def test_a_user_without_an_address_is_told_in_the_portal_only(cast, program, entity):
    # given a reviewer without an email address
    cast["reviewer"].email = ""
    cast["reviewer"].save(update_fields=["email"])
    # when
    tasks.notify_event(apply_once(cast, program, entity).pk)
    # then
    assert Notification.objects.get(recipient=cast["reviewer"]).email_status == EmailStatus.SKIPPED
    assert [m.to for m in mail.outbox] == [["nx_reviewer2@example.cn"]]


def test_a_digest_gathers_the_days_notifications_into_one_email_once_a_day(cast, program, entity):
    # given a reviewer who wants a daily digest, and two applications
    services.preference_set(actor=cast["reviewer"], email_mode="digest", language="zh-hans")
    for amount in (10_000, 5_000):
        tasks.notify_event(apply_once(cast, program, entity, amount).pk)
    # then nothing was emailed to them one by one
    assert [m.to for m in mail.outbox] == [["nx_reviewer2@example.cn"]] * 2
    mail.outbox.clear()
    today = timezone.localdate()
    # when the digests go out, twice the same day
    sent = services.digests_send(day=today)
    again = services.digests_send(day=today)
    # then one email holds both
    assert (sent, again) == (1, 0)
    (digest,) = mail.outbox
    assert digest.to == ["nx_reviewer@example.cn"]
    assert digest.body.count("100.00") == 1
    assert digest.body.count("50.00") == 1
    assert DigestRun.objects.get(user=cast["reviewer"], day=today).notifications == 2
    # when another application comes the same day: it waits for tomorrow's digest
    tasks.notify_event(apply_once(cast, program, entity, 2_000).pk)
    mail.outbox.clear()
    assert services.digests_send(day=today) == 0
    assert services.digests_send(day=today + timedelta(days=1)) == 1
    assert "20.00" in mail.outbox[0].body


def test_choosing_the_digest_gathers_what_is_pending_and_switching_back_releases_it(cast, program, entity):
    # given a notification not yet emailed (its task has not sent it)
    event = apply_once(cast, program, entity)
    services.event_notify(event_id=event.pk)
    notification = Notification.objects.get(recipient=cast["reviewer"])
    assert notification.email_status == EmailStatus.PENDING
    # when the reviewer chooses the digest
    services.preference_set(actor=cast["reviewer"], email_mode="digest", language="zh-hans")
    # then it waits for the digest, and the pending emails go to the other reviewer only
    notification.refresh_from_db()
    assert notification.email_status == EmailStatus.DIGEST
    services.emails_send_pending()
    assert [m.to for m in mail.outbox] == [["nx_reviewer2@example.cn"]]
    # when they switch back, the next sweep emails it
    services.preference_set(actor=cast["reviewer"], email_mode="each", language="zh-hans")
    services.notifications_sweep()
    assert [m.to for m in mail.outbox][-1] == ["nx_reviewer@example.cn"]
    assert AuditEvent.objects.filter(action="notification.preference", actor=cast["reviewer"]).count() == 2


def test_a_failed_send_stays_pending_and_the_sweeper_retries_it(cast, program, entity, monkeypatch):
    # given an SMTP server that refuses
    from voucher_service.notifications import emails

    real = emails.send_mail

    def refused(*args, **kwargs):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr(emails, "send_mail", refused)
    event = apply_once(cast, program, entity)
    # when the event is processed
    tasks.notify_event(event.pk)
    # then the notifications exist and their emails wait
    assert set(Notification.objects.values_list("email_status", flat=True)) == {EmailStatus.PENDING}
    assert mail.outbox == []
    # when the server is back and the sweeper runs
    monkeypatch.setattr(emails, "send_mail", real)
    swept = services.notifications_sweep()
    # then both are sent, once
    assert swept["emails"] == 2
    assert services.notifications_sweep()["emails"] == 0
    assert len(mail.outbox) == 2


def test_the_sweeper_leaves_old_unprocessed_events_alone(cast, program, entity, monkeypatch):
    # given an event three days old that no task processed
    event = apply_once(cast, program, entity)
    later = timezone.now() + timedelta(days=3)
    monkeypatch.setattr(timezone, "now", lambda: later)
    # when
    swept = services.notifications_sweep()
    # then it is old news
    assert swept["events"] == 0
    assert not ProcessedEvent.objects.filter(event=event).exists()


def test_a_task_that_writes_nothing_looks_for_no_emails(cast, program, entity, monkeypatch):
    # given an event processed once already
    event = apply_once(cast, program, entity)
    tasks.notify_event(event.pk)
    looked: list[int | None] = []
    monkeypatch.setattr(services, "emails_send_pending", lambda *, event_id=None: looked.append(event_id) or 0)
    # when its task is redelivered
    written = tasks.notify_event(event.pk)
    # then it wrote nothing and did not query for pending emails
    assert (written, looked) == (0, [])


def test_emails_left_by_a_worker_that_died_after_writing_are_sent_by_the_sweeper(cast, program, entity):
    # given a first delivery that committed its notifications and died before emailing them
    event = apply_once(cast, program, entity)
    assert services.event_notify(event_id=event.pk) == 2
    # when the task is redelivered, then the sweeper runs
    redelivered = tasks.notify_event(event.pk)
    outbox_after_redelivery = len(mail.outbox)
    swept = services.notifications_sweep()
    # then the redelivery wrote and sent nothing, and the sweeper sent both emails, once
    assert (redelivered, outbox_after_redelivery) == (0, 0)
    assert swept["emails"] == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["nx_reviewer2@example.cn", "nx_reviewer@example.cn"]
