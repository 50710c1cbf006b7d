"""POST /api/v1/claims/{id}/payout/ with PORTAL_FINANCE_REQUIRE_TOTP: a finance user gives a second factor first.
A session must have passed it (django-otp's ``is_verified``); a bearer token sends the authenticator's current
code in X-OTP-Code (good once, the portal's throttle). A refusal is a 403 that writes no payout."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from accounts.models import AuditEvent
from accounts.tokens import token_issue
from tests.claims import TODAY, YUAN, approve_all, issue_voucher, submitted
from voucher_service.claims.models import Claim, Payout
from voucher_service.claims.notice import notices_close

pytestmark = pytest.mark.django_db

BODY = {"paid_on": TODAY().isoformat(), "bank_reference": "CZ-2FA-1"}


def code(device: TOTPDevice, *, ahead: int = 0) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift + ahead):0{device.digits}d}"


def wrong(device: TOTPDevice) -> str:
    return f"{(int(code(device)) + 1) % 10**device.digits:0{device.digits}d}"


@pytest.fixture
def capture_commits(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


@pytest.fixture
def required(settings):
    settings.PORTAL_FINANCE_REQUIRE_TOTP = True


@pytest.fixture
def payable(bd, django_capture_on_commit_callbacks) -> Claim:
    issue_voucher(bd.program, bd.entity, 500_000 * YUAN)
    claim = approve_all(bd, submitted(bd, django_capture_on_commit_callbacks))
    notices_close(today=claim.notice_ends_on + timedelta(days=1))
    claim.refresh_from_db()
    assert claim.status == "payable", claim.status
    return claim


@pytest.fixture
def device(bd) -> TOTPDevice:
    return TOTPDevice.objects.create(user=bd.finance, name="portal", confirmed=True)


def token_client(user) -> APIClient:
    _token, raw = token_issue(actor=user, user=user, name="payouts")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def pay(client, claim: Claim, capture, **headers):
    with capture(execute=True):
        return client.post(f"/api/v1/claims/{claim.pk}/payout/", BODY, format="json", headers=headers)


def refused(response, error_code: str) -> None:
    assert response.status_code == 403, response.content[:300]
    assert response.json()["error"]["code"] == error_code
    assert not Payout.objects.exists()


def test_with_the_setting_off_a_token_pays_without_a_code(bd, payable, settings, capture_commits):
    # given
    settings.PORTAL_FINANCE_REQUIRE_TOTP = False
    # when
    response = pay(token_client(bd.finance), payable, capture_commits)
    # then
    assert response.status_code == 202, response.json()
    assert Payout.objects.filter(claim=payable).exists()


def test_a_token_with_the_current_code_pays(bd, payable, required, device, capture_commits):
    # when
    response = pay(token_client(bd.finance), payable, capture_commits, **{"X-OTP-Code": code(device)})
    # then
    assert response.status_code == 202, response.json()
    payable.refresh_from_db()
    assert payable.status == "paid"


def test_a_token_without_a_code_is_refused(bd, payable, required, device, capture_commits):
    # when
    response = pay(token_client(bd.finance), payable, capture_commits)
    # then
    refused(response, "second_factor_required")
    assert "X-OTP-Code" in response.json()["error"]["message"]


def test_a_token_whose_user_has_no_authenticator_is_refused(bd, payable, required, capture_commits):
    # when even a code-like header is sent
    response = pay(token_client(bd.finance), payable, capture_commits, **{"X-OTP-Code": "123456"})
    # then
    refused(response, "second_factor_required")


def test_a_wrong_code_is_refused_audited_and_throttles(bd, payable, required, device, capture_commits):
    # given
    client = token_client(bd.finance)
    # when a wrong code, then at once the right one
    first = pay(client, payable, capture_commits, **{"X-OTP-Code": wrong(device)})
    then = pay(client, payable, capture_commits, **{"X-OTP-Code": code(device)})
    # then both are refused: the wrong one, and the right one while the device waits after a failure
    refused(first, "second_factor_invalid")
    refused(then, "second_factor_invalid")
    assert AuditEvent.objects.filter(action="account.totp_failure", actor=bd.finance).count() == 1


def test_a_used_code_is_refused_the_second_time(bd, payable, required, device, capture_commits):
    # given a code spent on a payout
    client = token_client(bd.finance)
    the_code = code(device)
    assert pay(client, payable, capture_commits, **{"X-OTP-Code": the_code}).status_code == 202
    # when the same code is sent again (no Idempotency-Key: a new request)
    again = pay(client, payable, capture_commits, **{"X-OTP-Code": the_code})
    # then the code is refused before anything else is looked at, and there is still the one payout
    assert again.status_code == 403, again.content[:300]
    assert again.json()["error"]["code"] == "second_factor_invalid"
    assert Payout.objects.filter(claim=payable).count() == 1


def test_an_idempotent_replay_needs_no_new_code(bd, payable, required, device, capture_commits):
    # given a payout recorded with a key and a code
    client = token_client(bd.finance)
    the_code = code(device)
    headers = {"X-OTP-Code": the_code, "Idempotency-Key": "payout-2fa-1"}
    first = pay(client, payable, capture_commits, **headers)
    # when the client retries the very same request (its code now used)
    replay = pay(client, payable, capture_commits, **headers)
    # then the first answer is replayed and nothing runs twice
    assert first.status_code == 202, first.json()
    assert replay.status_code == 202
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert Payout.objects.filter(claim=payable).count() == 1


def test_a_refused_request_leaves_its_key_free(bd, payable, required, device, capture_commits):
    # given a request refused for its missing code
    client = token_client(bd.finance)
    refused(pay(client, payable, capture_commits, **{"Idempotency-Key": "k-1"}), "second_factor_required")
    # when it is sent again with the code and the same key
    retry = pay(client, payable, capture_commits, **{"Idempotency-Key": "k-1", "X-OTP-Code": code(device)})
    # then it runs
    assert retry.status_code == 202, retry.json()
    assert "Idempotent-Replayed" not in retry


def session_client(user) -> APIClient:
    """A portal login's session (not ``force_authenticate``): the API sees it through SessionAuthentication."""
    client = APIClient()
    client.force_login(user)
    return client


def test_an_unverified_session_is_refused(bd, payable, required, device, capture_commits):
    # when a logged-in session that has not given its code posts a payout
    response = pay(session_client(bd.finance), payable, capture_commits)
    # then
    refused(response, "second_factor_required")


def test_a_session_that_gave_its_code_pays(bd, payable, required, device, capture_commits):
    # given a session that gave its code in the portal
    client = session_client(bd.finance)
    verified = client.post(
        "/account/authenticator/verify/",
        urlencode({"token": code(device), "next": "/work/payouts/"}),
        content_type="application/x-www-form-urlencoded",
    )
    assert verified.status_code == 302, verified.content[:300]
    # when
    response = pay(client, payable, capture_commits)
    # then
    assert response.status_code == 202, response.json()
    assert Payout.objects.filter(claim=payable).exists()


def test_a_session_with_the_setting_off_pays_unverified(bd, payable, settings, capture_commits):
    # given
    settings.PORTAL_FINANCE_REQUIRE_TOTP = False
    # when
    response = pay(session_client(bd.finance), payable, capture_commits)
    # then
    assert response.status_code == 202, response.json()


def test_a_user_without_finance_role_gets_the_permission_refusal(bd, payable, required, capture_commits):
    # when a reviewer (not finance) tries with a token and no code
    response = pay(token_client(bd.reviewer), payable, capture_commits)
    # then the refusal is the service's, not the second factor's
    refused(response, "permission_denied")


def test_the_schema_documents_the_code_header_and_the_refusals(openapi_document):
    # given
    operation = openapi_document["paths"]["/api/v1/claims/{id}/payout/"]["post"]
    # then
    headers = {p["name"]: p for p in operation["parameters"] if p["in"] == "header"}
    assert "X-OTP-Code" in headers
    assert not headers["X-OTP-Code"].get("required")
    assert "second_factor_required" in operation["responses"]["403"]["description"]
    assert "second_factor_invalid" in operation["responses"]["403"]["description"]
