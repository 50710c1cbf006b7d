"""Reminders: vouchers expiring within 30 days with money left, claim windows closing within 7 days; once each."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from tests.claims import issue_voucher, submitted
from tests.factories import make_program, make_user
from voucher_service.notifications.models import Notification
from voucher_service.notifications.reminders import reminders_send, window_closing
from voucher_service.notifications.services import emails_send_pending
from voucher_service.programs.rules import ClaimWindow
from voucher_service.vouchers.models import Voucher
from voucher_service.vouchers.services import voucher_revoke

pytestmark = pytest.mark.django_db


def valid_until(voucher: Voucher, day: date) -> None:
    Voucher.objects.filter(pk=voucher.pk).update(valid_until=day)


def md(day: date) -> str:
    return f"{day.month:02d}-{day.day:02d}"


@pytest.mark.parametrize(("days_left", "reminded"), [(-1, False), (0, True), (30, True), (31, False)])
def test_a_voucher_is_reminded_within_30_days_of_its_end(cast, program, entity, days_left, reminded):
    # given a voucher with money on it, valid until today + days_left
    today = timezone.localdate()
    voucher = issue_voucher(program, entity, 10_000)
    valid_until(voucher, today + timedelta(days=days_left))
    # when
    written = reminders_send(today=today)
    # then only its entity's applicant is reminded, and only inside the 30 days
    expected = ["yc_applicant"] if reminded else []
    assert [n.recipient.username for n in Notification.objects.filter(kind="voucher_expiring")] == expected
    assert written["vouchers"] == len(expected)


def test_a_voucher_reminder_is_written_and_emailed_once(cast, program, entity):
    # given a voucher ending in 10 days
    today = timezone.localdate()
    voucher = issue_voucher(program, entity, 10_000)
    valid_until(voucher, today + timedelta(days=10))
    # when beat sends reminders on two days running
    first = reminders_send(today=today)
    emails_send_pending()
    second = reminders_send(today=today + timedelta(days=1))
    emails_send_pending()
    # then one notification and one email, which says what is left and until when
    assert (first["vouchers"], second["vouchers"]) == (1, 0)
    (message,) = mail.outbox
    assert message.to == ["yc_applicant@example.cn"]
    assert voucher.serial in message.subject
    assert "100.00" in message.subject
    assert (today + timedelta(days=10)).isoformat() in message.subject


def test_a_closed_or_fully_held_voucher_is_not_reminded(bd, django_capture_on_commit_callbacks):
    # given two vouchers ending soon: one revoked, one whose whole balance a claim holds
    today = timezone.localdate()
    revoked = issue_voucher(bd.program, bd.entity, 1_000 * 100)
    admin = make_user(bd.agency, "program_admin", username="bd_admin_reminders")
    voucher_revoke(actor=admin, voucher=revoked, reason="重复发放")
    held = issue_voucher(bd.program, bd.entity, 1_000 * 100)
    submitted(bd, django_capture_on_commit_callbacks)
    held.account.refresh_from_db()
    assert held.account.pending_debits == held.face_value
    for voucher in (revoked, held):
        valid_until(voucher, today + timedelta(days=5))
    # when
    written = reminders_send(today=today)
    # then
    assert written["vouchers"] == 0


@pytest.mark.parametrize(("days_to_close", "reminded"), [(0, True), (7, True), (8, False)])
def test_a_claim_window_is_reminded_within_7_days_of_closing(
    cast, program_admin, ningxia_agency, entity, other_entity, days_to_close, reminded
):
    # given a program whose claim window opened 10 days ago, an entity holding a voucher of it, and one without
    today = timezone.localdate()
    windowed = make_program(
        program_admin,
        ningxia_agency,
        code="nx-windows",
        claim_windows=[{"opens": md(today - timedelta(days=10)), "closes": md(today + timedelta(days=days_to_close))}],
    )
    issue_voucher(windowed, entity, 10_000)
    # when beat sends reminders twice
    first = reminders_send(today=today)
    second = reminders_send(today=today)
    # then the holder's applicant is reminded once; the outsider, whose entity holds no voucher, is not
    told = [n.recipient.username for n in Notification.objects.filter(kind="claim_window_closing")]
    assert told == (["yc_applicant"] if reminded else [])
    assert (first["claim_windows"], second["claim_windows"]) == ((1, 0) if reminded else (0, 0))


def test_a_window_that_wraps_the_new_year_closes_next_year():
    # given a window from 15 December to 5 January
    window = ClaimWindow(opens=(12, 15), closes=(1, 5))
    # when / then
    assert window_closing(window, date(2026, 12, 30)) == date(2027, 1, 5)
    assert window_closing(window, date(2026, 12, 20)) is None  # 16 days ahead
    assert window_closing(window, date(2027, 1, 2)) == date(2027, 1, 5)
    assert window_closing(window, date(2027, 1, 6)) is None  # closed
