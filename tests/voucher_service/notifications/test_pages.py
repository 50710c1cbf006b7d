"""The portal's notification pages: the unread count in the header, the list, mark-read (POST with CSRF), the
email preference; nobody reads or marks another person's notification."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import AuditEvent
from tests.voucher_service.portal.conftest import browser_client
from voucher_service.notifications.messages import Kind
from voucher_service.notifications.models import Notification, NotificationPreference
from voucher_service.notifications.services import Outgoing, deliver

pytestmark = pytest.mark.django_db


def tell(user, *claims: int) -> list[Notification]:
    deliver(
        Outgoing(
            recipient_id=user.pk,
            kind=Kind.CLAIM_RETURNED,
            key=f"test:{claim}",
            audience="wait",
            target_type="claims.claim",
            target_id=str(claim),
            params={"claim": claim, "reason": "发票不清晰"},
        )
        for claim in claims
    )
    return list(Notification.objects.filter(recipient=user).order_by("pk"))


def badge(page) -> str:
    html = page.content.decode()
    start = html.index('id="notifications-badge"')
    return html[start : html.index("</a>", start)]


def test_the_header_counts_unread_notifications(cast):
    # given two notifications of the applicant
    tell(cast["applicant"], 11, 12)
    # when any page is opened
    page = browser_client(cast["applicant"]).get("/programs/")
    # then the header shows 2, and nothing for a user with none
    assert ">2</span>" in badge(page)
    assert "</span>" not in badge(browser_client(cast["outsider"]).get("/programs/"))
    assert 'id="notifications-badge"' not in Client().get("/programs/").content.decode()


def test_the_list_shows_the_notifications_in_the_page_language(cast):
    # given
    tell(cast["applicant"], 11)
    client = browser_client(cast["applicant"])
    # when
    chinese = client.get("/me/notifications/").content.decode()
    english = client.get("/me/notifications/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    # then
    assert "兑付申请 #11 被退回补正" in chinese
    assert "原因：发票不清晰" in chinese
    assert "Claim #11 was returned for correction" in english


def test_marking_one_read_lowers_the_count_and_is_audited(cast):
    # given
    first, _second = tell(cast["applicant"], 11, 12)
    client = browser_client(cast["applicant"])
    # when
    response = client.post(f"/me/notifications/{first.pk}/read/")
    # then
    assert response.status_code == 302
    assert response["Location"] == "/me/notifications/"
    first.refresh_from_db()
    assert first.read_at is not None
    assert ">1</span>" in badge(client.get("/me/notifications/"))
    assert AuditEvent.objects.filter(action="notification.read", target_id=str(first.pk)).count() == 1


def test_opening_one_marks_it_read_and_follows_its_link(cast):
    # given
    (notification,) = tell(cast["applicant"], 11)
    # when
    response = browser_client(cast["applicant"]).post(f"/me/notifications/{notification.pk}/read/", {"go": "1"})
    # then
    assert response.status_code == 302
    assert response["Location"] == "/me/claims/11/"


def test_mark_all_read(cast):
    # given
    tell(cast["applicant"], 11, 12, 13)
    client = browser_client(cast["applicant"])
    # when
    response = client.post("/me/notifications/read-all/", follow=True)
    # then
    assert response.status_code == 200
    assert not Notification.objects.filter(recipient=cast["applicant"], read_at__isnull=True).exists()
    assert "</span>" not in badge(response)


def test_marking_read_is_a_post_with_a_csrf_token(cast):
    # given
    (notification,) = tell(cast["applicant"], 11)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(cast["applicant"])
    # when
    by_get = browser_client(cast["applicant"]).get(f"/me/notifications/{notification.pk}/read/")
    forged = strict.post(f"/me/notifications/{notification.pk}/read/")
    # then
    assert by_get.status_code == 405
    assert forged.status_code == 403
    notification.refresh_from_db()
    assert notification.read_at is None


def test_nobody_reads_or_marks_another_persons_notification(cast):
    # given the applicant's notification
    (notification,) = tell(cast["applicant"], 11)
    # when the outsider tries to mark it, and lists their own
    marked = browser_client(cast["outsider"]).post(f"/me/notifications/{notification.pk}/read/")
    listed = browser_client(cast["outsider"]).get("/me/notifications/").content.decode()
    # then it is not found, stays unread and is not listed
    assert marked.status_code == 404
    notification.refresh_from_db()
    assert notification.read_at is None
    assert "#11" not in listed


def test_the_pages_ask_anonymous_visitors_to_log_in(cast):
    # given / when
    responses = [Client().get("/me/notifications/"), Client().get("/me/notifications/preferences/")]
    # then
    assert all(r.status_code == 302 and r["Location"].startswith("/login/?next=") for r in responses)


def test_choosing_the_daily_digest(cast):
    # given
    client = browser_client(cast["reviewer"])
    form = client.get("/me/notifications/preferences/").content.decode()
    assert 'value="each" required id="id_email_mode_0" checked' in form
    # when
    response = client.post("/me/notifications/preferences/", {"email_mode": "digest", "language": "en"})
    # then
    assert response.status_code == 302
    preference = NotificationPreference.objects.get(user=cast["reviewer"])
    assert (preference.email_mode, preference.language) == ("digest", "en")
    assert 'value="digest" required id="id_email_mode_1" checked' in client.get(response["Location"]).content.decode()


def test_a_wrong_choice_is_shown_on_its_field_and_nothing_is_saved(cast):
    # given / when
    response = browser_client(cast["reviewer"]).post(
        "/me/notifications/preferences/", {"email_mode": "hourly", "language": "en"}
    )
    # then
    assert response.status_code == 200
    assert 'id="id_email_mode_error"' in response.content.decode()
    assert not NotificationPreference.objects.filter(user=cast["reviewer"]).exists()
