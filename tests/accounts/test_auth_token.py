"""/api/v1/auth/token/ and /api/v1/auth/tokens/: hashed storage, expiry, revocation."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import ApiToken, AuditEvent
from accounts.tokens import token_digest, token_issue
from tests.factories import DEFAULT_PASSWORD, client_for

URL = "/api/v1/auth/token/"


def bearer(raw):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.mark.django_db
def test_login_returns_a_token_that_is_stored_only_as_its_hash(applicant):
    # when
    response = client_for(None).post(
        URL, {"username": "yc_applicant", "password": DEFAULT_PASSWORD, "name": "ci"}, format="json"
    )
    # then
    assert response.status_code == 201, response.json()
    raw = response.json()["token"]
    stored = ApiToken.objects.get(user=applicant)
    assert stored.digest == token_digest(raw)
    assert raw not in str(ApiToken.objects.filter(pk=stored.pk).values().get())
    assert raw.startswith(stored.prefix)
    assert response.json()["expires_at"]
    assert AuditEvent.objects.filter(action="token.issue", actor=applicant).exists()


@pytest.mark.django_db
def test_the_token_authenticates_requests(applicant):
    _token, raw = token_issue(actor=applicant, user=applicant)
    response = bearer(raw).get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["username"] == "yc_applicant"
    assert response.json()["memberships"][0]["role"] == "applicant"


@pytest.mark.django_db
def test_wrong_password_is_401_and_issues_nothing(applicant):
    response = client_for(None).post(URL, {"username": "yc_applicant", "password": "wrong"}, format="json")
    assert response.status_code == 401
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_missing_fields_are_field_errors():
    response = client_for(None).post(URL, {}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"username", "password"}


@pytest.mark.django_db
def test_an_expired_token_is_refused(applicant):
    # given a token that expired a second ago
    token, raw = token_issue(actor=applicant, user=applicant, ttl=timedelta(hours=1))
    now = timezone.now()
    ApiToken.objects.filter(pk=token.pk).update(
        created_at=now - timedelta(hours=2), expires_at=now - timedelta(seconds=1)
    )
    # when
    response = bearer(raw).get("/api/v1/me/")
    # then
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


@pytest.mark.django_db
def test_delete_revokes_the_token_in_use(applicant):
    # given
    token, raw = token_issue(actor=applicant, user=applicant)
    client = bearer(raw)
    # when
    revoked = client.delete(URL)
    # then
    assert revoked.status_code == 204
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert client.get("/api/v1/me/").status_code == 401
    assert AuditEvent.objects.filter(action="token.revoke", target_id=str(token.pk)).count() == 1


@pytest.mark.django_db
def test_delete_without_a_token_is_a_clear_400(applicant):
    response = client_for(applicant).delete(URL)  # session-style auth, no token to revoke
    assert response.status_code == 400


@pytest.mark.django_db
def test_tokens_list_and_revoke_by_id_are_limited_to_their_owner(applicant, outsider):
    # given
    mine, _ = token_issue(actor=applicant, user=applicant, name="laptop")
    theirs, _ = token_issue(actor=outsider, user=outsider, name="theirs")
    client = client_for(applicant)
    # when
    listed = client.get("/api/v1/auth/tokens/").json()["results"]
    foreign_delete = client.delete(f"/api/v1/auth/tokens/{theirs.pk}/")
    own_delete = client.delete(f"/api/v1/auth/tokens/{mine.pk}/")
    # then
    assert [row["name"] for row in listed] == ["laptop"]
    assert "digest" not in listed[0]
    assert foreign_delete.status_code == 404
    assert own_delete.status_code == 204
    theirs.refresh_from_db()
    mine.refresh_from_db()
    assert theirs.revoked_at is None
    assert mine.revoked_at is not None


@pytest.mark.django_db
def test_a_deactivated_users_token_stops_working(applicant):
    _token, raw = token_issue(actor=applicant, user=applicant)
    applicant.is_active = False
    applicant.save()
    assert bearer(raw).get("/api/v1/me/").status_code == 401


@pytest.mark.django_db
def test_a_malformed_header_is_401():
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer a b")
    assert client.get("/api/v1/me/").status_code == 401


# --- Rate limit on password guessing ------------------------------------------------------------------------
# tests/conftest.py gives each test a fresh cache, so every test starts with the whole allowance. The login
# lockout (django-axes, tests/accounts/test_login_lockout.py) would step in first; these tests are about the
# throttle alone, so it is off for them.


@pytest.fixture
def _throttle_only(settings):
    settings.AXES_ENABLED = False


def _login_allowance() -> int:
    """Logins one client may attempt per window (AUTH_THROTTLE_RATE, 30/min unless the environment says)."""
    from rest_framework.throttling import ScopedRateThrottle

    throttle = ScopedRateThrottle()
    allowed, _period = throttle.parse_rate(throttle.THROTTLE_RATES["auth"])
    return allowed


def _login(password, *, remote_addr, forwarded_for=None):
    extra = {"REMOTE_ADDR": remote_addr}
    if forwarded_for is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client_for(None).post(URL, {"username": "yc_applicant", "password": password}, format="json", **extra)


@pytest.mark.django_db
@pytest.mark.usefixtures("_throttle_only")
def test_a_made_up_x_forwarded_for_does_not_reset_the_login_rate_limit(applicant):
    # given one machine that spent its allowance on wrong passwords, claiming a new address with each one
    spent = [
        _login("wrong", remote_addr="203.0.113.7", forwarded_for=f"198.51.100.{attempt}")
        for attempt in range(_login_allowance())
    ]
    # when it tries again, claiming yet another address
    response = _login("wrong", remote_addr="203.0.113.7", forwarded_for="192.0.2.99")
    # then it is throttled in the API's error format, and even the right password waits for the window
    assert {answer.status_code for answer in spent} == {401}
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"
    assert "Retry-After" in response
    assert _login(DEFAULT_PASSWORD, remote_addr="203.0.113.7", forwarded_for="192.0.2.100").status_code == 429
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
@pytest.mark.usefixtures("_throttle_only")
def test_the_login_rate_limit_counts_per_connecting_address(applicant):
    # given one address that spent its allowance
    for _attempt in range(_login_allowance() + 1):
        _login("wrong", remote_addr="203.0.113.7")
    # when another address logs in
    response = _login(DEFAULT_PASSWORD, remote_addr="203.0.113.8")
    # then it is not held back by the first one
    assert response.status_code == 201, response.json()


@pytest.mark.django_db
@pytest.mark.usefixtures("_throttle_only")
def test_behind_one_proxy_the_address_it_appended_is_the_client(applicant, settings):
    # given NUM_PROXIES=1: one proxy that appends the address it saw to X-Forwarded-For
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    # when one client spends the allowance through the proxy, putting a new made-up address in front each time
    for attempt in range(_login_allowance()):
        _login("wrong", remote_addr="10.0.0.2", forwarded_for=f"198.51.100.{attempt}, 203.0.113.7")
    blocked = _login("wrong", remote_addr="10.0.0.2", forwarded_for="192.0.2.99, 203.0.113.7")
    other_client = _login(DEFAULT_PASSWORD, remote_addr="10.0.0.2", forwarded_for="203.0.113.8")
    # then the client is the proxy's entry: that one is throttled, another client behind the same proxy is not
    assert blocked.status_code == 429
    assert other_client.status_code == 201, other_client.json()
