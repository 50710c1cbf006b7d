"""The finance second factor on the API: with ``PORTAL_FINANCE_REQUIRE_TOTP`` on, a finance user records a
payout only after giving a TOTP code (django-otp, the portal's authenticator, ``accounts.two_factor``).

* A session (the portal's login): the session must have passed the second factor (``request.user.is_verified()``,
  django-otp's middleware): the code given after the password, at ``/account/authenticator/``.
* A bearer token: a token is a password, so the request itself carries the code: the token's user has a confirmed
  authenticator and the ``X-OTP-Code`` header is its current code. The code is checked by the same service as the
  portal's (``totp_verify``: good once, a wrong one audited) with the same throttle (each wrong code doubles the
  wait before the next is looked at).

Any other authentication is treated like a session (it must be verified), so the rule fails closed. A refusal is
403 ``second_factor_required`` (no verified session, no authenticator, no code) or ``second_factor_invalid``
(a wrong, used or throttled code); nothing is written but the audit of a wrong code. The check runs inside
``idempotent`` and outside its fence, so a replay of a recorded payout needs no new code and a refused request
leaves its key free.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter
from rest_framework.request import Request

from accounts.models import Role
from accounts.selectors import user_roles
from accounts.two_factor import totp_device, totp_throttled, totp_verify
from core.transactions import without_before_commit_hooks
from voucher_service.api.errors import ApiError, ApiErrorCode

OTP_HEADER = "X-OTP-Code"

OTP_PARAMETER = OpenApiParameter(
    name=OTP_HEADER,
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "The current code of the finance user's TOTP authenticator (enrolled in the portal at "
        "/account/authenticator/). Required with a bearer token when the deployment requires a second factor "
        "for finance (PORTAL_FINANCE_REQUIRE_TOTP); a code is good once. A session must instead have given its "
        "code after the password. Missing or wrong: 403 second_factor_required / second_factor_invalid."
    ),
)

NO_SESSION_FACTOR = _("Give your authenticator's code in the portal first: a payout needs a second factor.")
NO_DEVICE = _("Set up an authenticator in the portal first: a payout needs a second factor.")
NO_CODE = _("Send your authenticator's current code in the X-OTP-Code header: a payout needs a second factor.")
WRONG = _("That code is not right. Check the time on your phone and try again.")
WAIT = _("Too many wrong codes: wait a few seconds, then enter the code the app shows now.")


def second_factor_owed(request: Request) -> bool:
    """Whether this request's user must give a second factor before recording a payout."""
    if not getattr(settings, "PORTAL_FINANCE_REQUIRE_TOTP", False):
        return False
    return Role.FINANCE.value in user_roles(request.user)


def require_second_factor(request: Request) -> None:
    """Refuse (``ApiError``, 403) a finance request that has not given its second factor; see the module doc."""
    if not second_factor_owed(request):
        return
    if request.auth is None:
        verified = getattr(request.user, "is_verified", None)
        if not (verified and verified()):
            raise ApiError(ApiErrorCode.SECOND_FACTOR_REQUIRED, NO_SESSION_FACTOR)
        return
    _require_code(request)


def _require_code(request: Request) -> None:
    if totp_device(request.user) is None:
        raise ApiError(ApiErrorCode.SECOND_FACTOR_REQUIRED, NO_DEVICE)
    code = (request.headers.get(OTP_HEADER) or "").strip()
    if not code:
        raise ApiError(ApiErrorCode.SECOND_FACTOR_REQUIRED, NO_CODE)
    if totp_throttled(request.user):
        raise ApiError(ApiErrorCode.SECOND_FACTOR_INVALID, WAIT)
    # Its own transaction, not the payout's: a wrong code's audit and throttle count commit, and the
    # Idempotency-Key's fence is not spent on it.
    with without_before_commit_hooks():
        device = totp_verify(actor=request.user, token=code)
    if device is None:
        raise ApiError(ApiErrorCode.SECOND_FACTOR_INVALID, WRONG)
