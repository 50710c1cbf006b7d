"""Finance users' second factor (TOTP, django-otp): enrolment with a QR code, the code asked after the password,
a wrong code refused (and audited), and PORTAL_FINANCE_REQUIRE_TOTP keeping finance pages and payouts closed
until the session has passed it."""

from __future__ import annotations

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AuditEvent
from tests.voucher_service.portal.conftest import browser_client
from voucher_service.claims.models import Payout

pytestmark = pytest.mark.django_db

PASSWORD = "totp-pass-2026"


def code(device: TOTPDevice, *, ahead: int = 0) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift + ahead):0{device.digits}d}"


def wrong(device: TOTPDevice) -> str:
    right = code(device)
    return f"{(int(right) + 1) % 10**device.digits:0{device.digits}d}"


@pytest.fixture
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def log_in(user) -> tuple[Client, object]:
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    client = Client()
    response = client.post("/login/", {"username": user.username, "password": PASSWORD})
    return client, response


def test_a_finance_user_enrols_an_authenticator(bd, settings):
    # given
    settings.PORTAL_FINANCE_REQUIRE_TOTP = False
    client = browser_client(bd.finance)
    # when a key is made, and the app's code for it is entered
    assert client.post("/account/authenticator/", {"action": "start"}).status_code == 302
    page = client.get("/account/authenticator/").content.decode()
    device = TOTPDevice.objects.get(user=bd.finance)
    confirmed = client.post("/account/authenticator/?next=/work/payouts/", {"action": "confirm", "token": code(device)})
    # then the QR code was shown (drawn here), the device is confirmed and this session has passed it
    assert 'id="totp-qr" src="data:image/svg+xml' in page
    assert 'id="totp-secret"' in page
    assert confirmed.status_code == 302
    assert confirmed["Location"] == "/work/payouts/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/work/payouts/").status_code == 200
    assert AuditEvent.objects.filter(action="account.totp_enrol", actor=bd.finance).count() == 1


def test_a_wrong_code_does_not_confirm_the_enrolment(bd):
    # given
    client = browser_client(bd.finance)
    client.post("/account/authenticator/", {"action": "start"})
    device = TOTPDevice.objects.get(user=bd.finance)
    # when
    response = client.post("/account/authenticator/", {"action": "confirm", "token": wrong(device)})
    # then
    assert response.status_code == 400
    assert response.context["form"].errors["token"]
    device.refresh_from_db()
    assert not device.confirmed
    assert AuditEvent.objects.filter(action="account.totp_failure", actor=bd.finance).exists()


def test_only_finance_users_enrol(bd):
    # given / when / then
    assert browser_client(bd.reviewer).get("/account/authenticator/").status_code == 404
    assert browser_client(bd.applicant).post("/account/authenticator/", {"action": "start"}).status_code == 404
    assert not TOTPDevice.objects.exists()


def test_an_enrolled_finance_user_gives_the_code_after_the_password(bd, fast_passwords, settings):
    # given a confirmed authenticator (the setting off: once enrolled, it is asked for anyway)
    settings.PORTAL_FINANCE_REQUIRE_TOTP = False
    device = TOTPDevice.objects.create(user=bd.finance, name="portal", confirmed=True)
    # when
    client, login = log_in(bd.finance)
    before = client.get("/work/payouts/")
    accepted = client.post("/account/authenticator/verify/", {"token": code(device), "next": "/work/"})
    # then
    assert login.status_code == 302
    assert login["Location"] == "/account/authenticator/verify/?next=%2Fwork%2F"
    assert before.status_code == 302
    assert before["Location"].startswith("/account/authenticator/verify/")
    assert accepted.status_code == 302
    assert accepted["Location"] == "/work/"
    assert client.get("/work/payouts/").status_code == 200


def test_a_wrong_code_is_refused_and_makes_the_next_one_wait(bd, fast_passwords):
    # given
    device = TOTPDevice.objects.create(user=bd.finance, name="portal", confirmed=True)
    client, _login = log_in(bd.finance)
    # when a wrong code, then at once the right one
    refused = client.post("/account/authenticator/verify/", {"token": wrong(device)})
    hurried = client.post("/account/authenticator/verify/", {"token": code(device)})
    # then both are refused on the field (django-otp's throttle), the failure is audited, nothing is verified
    assert refused.status_code == hurried.status_code == 400
    assert refused.context["form"].errors["token"]
    assert str(hurried.context["form"].errors["token"][0]) != str(refused.context["form"].errors["token"][0])
    assert AuditEvent.objects.filter(action="account.totp_failure", actor=bd.finance).count() == 1
    assert client.get("/work/payouts/").status_code == 302


def test_a_password_alone_does_not_replace_an_authenticator(bd):
    # given a finance user with an authenticator, in a session that has not given its code
    TOTPDevice.objects.create(user=bd.finance, name="portal", confirmed=True)
    client = browser_client(bd.finance)
    # when
    page = client.get("/account/authenticator/")
    start = client.post("/account/authenticator/", {"action": "start"})
    # then both ask for the present authenticator's code first, and no new key is made
    assert page.status_code == start.status_code == 302
    assert page["Location"].startswith("/account/authenticator/verify/?next=")
    assert TOTPDevice.objects.filter(user=bd.finance).count() == 1


def test_a_code_is_good_once(bd, fast_passwords):
    # given a session that passed the second factor with a code
    device = TOTPDevice.objects.create(user=bd.finance, name="portal", confirmed=True)
    first, _login = log_in(bd.finance)
    token = code(device)
    assert first.post("/account/authenticator/verify/", {"token": token}).status_code == 302
    # when someone else, with the password, replays the same code
    second, _login = log_in(bd.finance)
    replay = second.post("/account/authenticator/verify/", {"token": token})
    # then
    assert replay.status_code == 400


def test_a_user_without_finance_role_is_not_asked_for_a_code(bd, fast_passwords, settings):
    # given the setting on
    settings.PORTAL_FINANCE_REQUIRE_TOTP = True
    # when
    _client, login = log_in(bd.reviewer)
    # then
    assert login["Location"] == "/work/"


def test_when_required_finance_must_enrol_before_any_finance_page_or_payout(
    bd, settings, fast_passwords, django_capture_on_commit_callbacks
):
    # given the setting on, a payable claim, and a finance user with no authenticator
    from tests.voucher_service.portal.builders import payable_claim

    settings.PORTAL_FINANCE_REQUIRE_TOTP = True
    claim = payable_claim(bd, django_capture_on_commit_callbacks)
    client, login = log_in(bd.finance)
    # when
    listing = client.get("/work/payouts/")
    forged = client.post(
        f"/work/payouts/{claim.pk}/", {"paid_on": "2026-03-02", "bank_reference": "X", "idempotency_key": "k"}
    )
    # then every finance page leads to enrolment (the login itself goes on to the work queue), and no payout is
    # recorded
    assert login["Location"] == "/work/"
    assert listing.status_code == 302
    assert listing["Location"] == "/account/authenticator/?next=%2Fwork%2Fpayouts%2F"
    assert forged.status_code == 302
    assert forged["Location"].startswith("/account/authenticator/")
    assert not Payout.objects.exists()
    # and with the setting off the same pages open
    settings.PORTAL_FINANCE_REQUIRE_TOTP = False
    assert client.get("/work/payouts/").status_code == 200
