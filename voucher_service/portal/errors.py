"""Showing a service's refusal on the form that asked for it: per field where the service names one."""

from __future__ import annotations

from collections.abc import Mapping

from django import forms
from django.core.exceptions import ValidationError

from core.errors import ServiceError

# What a service raises when it refuses (a typed domain error, or Django's ValidationError from accounts).
SERVICE_ERRORS: tuple[type[Exception], ...] = (ServiceError, ValidationError)


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)


def show_on_form(form: forms.Form, exc: Exception, paths: Mapping[str, str] | None = None) -> None:
    """Put ``exc`` on ``form``: each field the service names on the form field it maps to (``paths``: the
    service's field path to the form's field name; the same name by default), the rest above the form."""
    paths = paths or {}
    fields = getattr(exc, "fields", None)
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        fields = {
            name: [{"message": m} for error in errors for m in error.messages]
            for name, errors in exc.error_dict.items()
        }
    placed = False
    for path, problems in (fields or {}).items():
        target = paths.get(path, path)
        for problem in problems:
            message = str(problem.get("message", ""))
            if target in form.fields:
                form.add_error(target, message)
            else:
                form.add_error(
                    None, f"{path}: {message}" if path not in ("", "__all__", "non_field_errors") else message
                )
            placed = True
    if not placed:
        form.add_error(None, _message(exc))
