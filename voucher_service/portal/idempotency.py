"""Idempotency for the portal's money-moving forms: a double click or a reload never acts twice.

Each such form carries a hidden ``idempotency_key`` made when the form is rendered. The first POST with it claims
the key (the API's ``IdempotencyRecord``, so keys share one table and one purge), runs the service with the key
marked executed inside the service's own transaction (``core.transactions.before_commit``), and records where it
redirected. A repeat of the same POST redirects there again without running anything; the same key with other
input is refused; a failure releases the key, so the corrected form may be sent again with it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from collections.abc import Callable
from typing import Any

from django import forms
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _

from core.transactions import before_commit
from voucher_service.models import IdempotencyRecord, IdempotencyStatus
from voucher_service.portal.errors import SERVICE_ERRORS, show_on_form

FIELD = "idempotency_key"
MAX_KEY_LENGTH = 255
IGNORED = {FIELD, "csrfmiddlewaretoken"}


def new_key() -> str:
    return uuid.uuid4().hex


class Replayed(Exception):
    """This form was sent before and carried out: ``location`` is where its answer pointed."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


class Refused(Exception):
    """The key cannot be used for this request (reused with other input, still running, or malformed)."""


def _fingerprint(request: HttpRequest) -> str:
    data = {k: v for k, v in request.POST.lists() if k not in IGNORED}
    files = {}
    for name in request.FILES:
        upload: Any = request.FILES[name]
        digest = hashlib.sha256()
        for chunk in upload.chunks():
            digest.update(chunk)
        upload.seek(0)
        files[name] = digest.hexdigest()
    text = json.dumps({"path": request.path, "data": data, "files": files}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _mark_executed(record: IdempotencyRecord) -> None:
    if not IdempotencyRecord.objects.filter(pk=record.pk, attempt=record.attempt).update(executed=True):
        raise Refused(_("This form is being sent by another request."))


def _claim(request: HttpRequest, key: str, fingerprint: str) -> IdempotencyRecord:
    user_id = int(request.user.pk or 0)
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(
                user_id=user_id,
                key=key,
                method="POST",
                path=request.path,
                fingerprint=fingerprint,
                attempt=uuid.uuid4().hex,
            )
    except IntegrityError:
        pass
    existing = IdempotencyRecord.objects.filter(user_id=user_id, key=key).first()
    if existing is None:  # released between our insert and our read: the form may simply be sent again
        raise Refused(_("Please send the form again."))
    if existing.fingerprint != fingerprint:
        raise Refused(_("This form was already sent with other values. Reload the page to start again."))
    if existing.status == IdempotencyStatus.COMPLETED:
        raise Replayed((existing.response_headers or {}).get("Location", "/"))
    raise Refused(_("This form is still being processed. Wait a moment and reload the page."))


def run_once(request: HttpRequest, operation: Callable[[], str]) -> str:
    """Run ``operation`` (which calls one service and returns the URL to redirect to) at most once per form key.

    Raises ``Replayed`` for a repeat, ``Refused`` for a key that cannot be used; whatever the operation raises
    (a service's refusal) releases the key and propagates, for the view to show on the form."""
    key = (request.POST.get(FIELD) or "").strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise Refused(_("The form has expired. Reload the page and send it again."))
    record = _claim(request, key, _fingerprint(request))
    try:
        with before_commit(functools.partial(_mark_executed, record)):
            location = operation()
    except BaseException:
        IdempotencyRecord.objects.filter(pk=record.pk, attempt=record.attempt, executed=False).delete()
        raise
    IdempotencyRecord.objects.filter(pk=record.pk, attempt=record.attempt).update(
        status=IdempotencyStatus.COMPLETED,
        response_status=303,
        response_body=None,
        response_headers={"Location": location},
        completed_at=timezone.now(),
    )
    return location


def submit_once(request: HttpRequest, form: forms.Form, operation: Callable[[], str]) -> HttpResponse | None:
    """A money form's one run, as every portal form sends it: the redirect ``operation`` chose (or, for a repeat,
    the one it chose the first time), or ``None`` with the refusal shown on ``form`` for the page to render."""
    try:
        return redirect(run_once(request, operation))
    except Replayed as replay:
        return redirect(replay.location)
    except Refused as exc:
        form.add_error(None, str(exc))
    except SERVICE_ERRORS as exc:
        show_on_form(form, exc)
    return None
