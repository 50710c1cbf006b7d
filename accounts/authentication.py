"""Bearer-token authentication against hashed, expiring, revocable tokens (see accounts.tokens)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from accounts.tokens import token_authenticate


class HashedTokenAuthentication(authentication.BaseAuthentication):
    """Accepts ``Authorization: Bearer <token>`` (and the DRF-style ``Token <token>``)."""

    keywords = ("bearer", "token")

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode("latin-1").lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid token header."))
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed(_("Invalid token header.")) from exc
        token = token_authenticate(raw)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid, expired or revoked token."))
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class HashedTokenScheme(OpenApiAuthenticationExtension):
    """Describes the bearer token in the OpenAPI schema (drf-spectacular discovers subclasses on import)."""

    target_class = "accounts.authentication.HashedTokenAuthentication"
    name = "bearerToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "POST /api/v1/auth/token/ returns a token; send it as `Authorization: Bearer <token>`.",
        }
