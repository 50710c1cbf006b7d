"""Repeated failed logins lock the account, and separately the address, out (django-axes; issue 10, item 9).

Both doors that check a password are covered: the admin's login form and POST /api/v1/auth/token/ (the portal's
login will be a Django login view, which goes through the same ``authenticate``). A lockout is audited once.
"""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client
from django.utils import timezone

from accounts.models import ApiToken, AuditEvent
from tests.factories import DEFAULT_PASSWORD, client_for, make_user

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
LIMIT = settings.AXES_FAILURE_LIMIT


def token_login(username, password, address="203.0.113.7", **headers):
    return client_for(None).post(
        TOKEN_URL, {"username": username, "password": password}, format="json", REMOTE_ADDR=address, **headers
    )


def admin_login(username, password, address="203.0.113.7"):
    return Client(REMOTE_ADDR=address).post("/admin/login/?next=/admin/", {"username": username, "password": password})


@pytest.fixture
def admin_user(db):
    return make_user(None, username="ops", is_staff=True, is_superuser=True)


def test_the_token_endpoint_locks_an_account_out_after_the_failure_limit(applicant):
    # given LOGIN_FAILURE_LIMIT wrong passwords for one account
    failures = [token_login("yc_applicant", f"wrong-{n}").status_code for n in range(LIMIT)]
    # when the right password comes next
    locked = token_login("yc_applicant", DEFAULT_PASSWORD)
    # then it is refused too, in the API's error format, in Chinese by default and in English on request
    assert set(failures[:-1]) == {401}
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "login_locked_out"
    assert locked.json()["error"]["message"].startswith("此账号或此地址登录失败次数过多")
    assert int(locked["Retry-After"]) == int(settings.AXES_COOLOFF_TIME.total_seconds())
    english = token_login("yc_applicant", DEFAULT_PASSWORD, HTTP_ACCEPT_LANGUAGE="en")
    assert english.json()["error"]["message"].startswith("Too many failed logins")
    assert not ApiToken.objects.exists()


def test_the_account_stays_locked_from_another_address(applicant):
    for n in range(LIMIT):
        token_login("yc_applicant", f"wrong-{n}", address=f"198.51.100.{n + 1}")
    assert token_login("yc_applicant", DEFAULT_PASSWORD, address="192.0.2.50").status_code == 429


def test_one_address_trying_many_accounts_is_locked_out(applicant, outsider):
    # given one address guessing a different username each time
    for n in range(LIMIT):
        token_login(f"guess{n}", "wrong")
    # then every account is closed to that address, and open to others
    assert token_login("yc_applicant", DEFAULT_PASSWORD).status_code == 429
    assert token_login("jf_applicant", DEFAULT_PASSWORD, address="192.0.2.51").status_code == 201


def test_a_made_up_x_forwarded_for_does_not_escape_the_address_lockout(applicant):
    # NUM_PROXIES=0: the client's header is not believed; the connecting address is what counts
    for n in range(LIMIT):
        token_login(f"guess{n}", "wrong", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
    assert token_login("yc_applicant", DEFAULT_PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.9").status_code == 429


@pytest.mark.usefixtures("plain_static_storage")
def test_the_admin_login_is_locked_out_too(admin_user):
    # given (40 wrong passwords used to answer 40 × 200)
    for n in range(LIMIT):
        assert admin_login("ops", f"wrong-{n}").status_code in {200, 429}
    # when
    response = admin_login("ops", DEFAULT_PASSWORD)
    # then a short page, and no session
    assert response.status_code == 429
    assert "Retry-After" in response
    assert "sessionid" not in response.cookies


def test_a_lockout_is_audited_once(applicant):
    # when the limit is reached, and the locked-out client keeps trying
    for n in range(LIMIT + 5):
        token_login("yc_applicant", f"wrong-{n}")
    # then one audit event says who and from where
    events = AuditEvent.objects.filter(action="auth.lockout")
    assert events.count() == 1
    event = events.get()
    assert event.detail["username"] == "yc_applicant"
    assert event.detail["ip_address"] == "203.0.113.7"
    assert event.target_id == str(applicant.pk)


def test_the_lockout_ends_after_the_cool_off(applicant):
    # given a locked account
    for n in range(LIMIT):
        token_login("yc_applicant", f"wrong-{n}")
    assert token_login("yc_applicant", DEFAULT_PASSWORD).status_code == 429
    # when the cool-off has passed (the attempts are that old)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(hours=1))
    # then the right password works again
    assert token_login("yc_applicant", DEFAULT_PASSWORD).status_code == 201


def test_fewer_failures_than_the_limit_do_not_lock(applicant):
    for n in range(LIMIT - 1):
        token_login("yc_applicant", f"wrong-{n}")
    assert token_login("yc_applicant", DEFAULT_PASSWORD).status_code == 201
