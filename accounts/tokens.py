"""API tokens: issued once in clear, stored as a SHA-256 digest, expiring, revocable.

A token is 256 bits from ``secrets``; at that entropy a fast hash is safe (there is nothing to brute-force),
and a database leak reveals no usable token.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import ApiToken
from core.transactions import service_write

TOKEN_PREFIX = "vs_"  # noqa: S105 (a label, not a secret)
PREFIX_CHARS = 8  # of the random part, kept in clear to tell tokens apart
# Writing last_used_at on every request would turn each read into a write; once a minute is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@service_write
def token_issue(*, actor: Any, user: Any, name: str = "", ttl: timedelta | None = None) -> tuple[ApiToken, str]:
    """Create a token for ``user``. Returns the row and the secret, which is never retrievable again."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = timezone.now()
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=raw[: len(TOKEN_PREFIX) + PREFIX_CHARS],
        digest=token_digest(raw),
        created_at=now,
        expires_at=now + (ttl or timedelta(hours=settings.API_TOKEN_TTL_HOURS)),
    )
    audit_record(actor=actor, action="token.issue", target=token, after={"prefix": token.prefix, "name": name})
    return token, raw


def token_authenticate(raw: str) -> ApiToken | None:
    token = ApiToken.objects.select_related("user").filter(digest=token_digest(raw)).first()
    now = timezone.now()
    if token is None or not token.is_usable(now) or not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def tokens_revoke_for_user(user: Any, *, reason: str, actor: Any = None) -> int:
    """Revoke every usable token of ``user`` inside the caller's transaction (a password change, a deactivation);
    one audit event per token. Returns how many were revoked."""
    now = timezone.now()
    live = list(ApiToken.objects.select_for_update().filter(user_id=user.pk, revoked_at__isnull=True).order_by("pk"))
    for token in live:
        token.revoked_at = now
        token.save(update_fields=["revoked_at"])
        audit_record(
            actor=actor,
            action="token.revoke",
            target=token,
            after={"prefix": token.prefix},
            detail={"reason": reason},
        )
    return len(live)


@service_write
def token_revoke(*, actor: Any, token: ApiToken) -> ApiToken:
    """Revoke a token. Revoking an already revoked token changes nothing and succeeds."""
    locked = ApiToken.objects.select_for_update().get(pk=token.pk)
    if locked.revoked_at is None:
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="token.revoke", target=locked, after={"prefix": locked.prefix})
    return locked
