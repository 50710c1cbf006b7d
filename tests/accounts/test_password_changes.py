"""A password change revokes the user's API tokens; new tokens live a day; new passwords pass the validators."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from accounts.audit import SYSTEM
from accounts.models import ApiToken, AuditEvent, User
from accounts.services import user_create
from accounts.tokens import token_issue

pytestmark = pytest.mark.django_db


def bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_a_password_change_revokes_every_token_of_the_user(applicant, outsider):
    # given two tokens of the applicant, and one of someone else (issue 10, item 10)
    _, first = token_issue(actor=applicant, user=applicant)
    _, second = token_issue(actor=applicant, user=applicant)
    _, theirs = token_issue(actor=outsider, user=outsider)
    # when the password changes (as the admin's form, `changepassword` or the portal do: set_password, save)
    applicant.set_password("a-new-and-long-passphrase-2027")
    applicant.save()
    # then the old tokens are dead, audited; the other user's token lives
    assert bearer(first).get("/api/v1/me/").status_code == 401
    assert bearer(second).get("/api/v1/me/").status_code == 401
    assert bearer(theirs).get("/api/v1/me/").status_code == 200
    revocations = AuditEvent.objects.filter(action="token.revoke", detail__reason="password_changed")
    assert revocations.count() == 2


def test_saving_a_user_without_a_new_password_keeps_the_tokens(applicant):
    _, raw = token_issue(actor=applicant, user=applicant)
    applicant.first_name = "张"
    applicant.save()
    assert bearer(raw).get("/api/v1/me/").status_code == 200


def test_a_new_token_lives_a_day_by_default(applicant, settings):
    # given the default lifetime (API_TOKEN_TTL_HOURS unset: 24; it was 720)
    from voucher_service.settings import API_TOKEN_TTL_HOURS

    assert API_TOKEN_TTL_HOURS == 24
    settings.API_TOKEN_TTL_HOURS = API_TOKEN_TTL_HOURS
    # when
    token, _raw = token_issue(actor=applicant, user=applicant)
    # then
    assert token.expires_at - token.created_at == timedelta(hours=24)


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("short1", "password_too_short"),
        ("password123", "password_too_common"),
        ("1234567890123", "password_entirely_numeric"),
    ],
)
def test_user_create_runs_the_password_validators(password, code):
    # when (issue 10, item 14)
    with pytest.raises(ValidationError) as refused:
        user_create(actor=SYSTEM, username="weak", password=password)
    # then nothing is created, and the reason is the validator's
    assert code in [error.code for error in refused.value.error_dict["password"]]
    assert not User.objects.filter(username="weak").exists()


def test_user_create_refuses_a_password_like_the_username():
    with pytest.raises(ValidationError) as refused:
        user_create(actor=SYSTEM, username="zhangsan-reviewer", password="zhangsan-reviewer1")
    assert "password_too_similar" in [error.code for error in refused.value.error_dict["password"]]


def test_user_create_accepts_a_good_password_and_audits_it():
    user = user_create(actor=SYSTEM, username="li_si", password="correct-horse-battery-staple")
    assert user.check_password("correct-horse-battery-staple")
    assert AuditEvent.objects.filter(action="user.create", target_id=str(user.pk)).exists()
    assert not ApiToken.objects.exists()
