"""Who may read the API's self-description (the OpenAPI schema, Swagger UI and Redoc)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.permissions import BasePermission
from rest_framework.request import Request


class SchemaAccess(BasePermission):
    """Anyone when ``settings.API_SCHEMA_PUBLIC`` (the embedded and DEBUG default), else authenticated users.

    Decided per request, not when the views are built, so the setting is what is in force."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if settings.API_SCHEMA_PUBLIC:
            return True
        return bool(request.user and request.user.is_authenticated)
