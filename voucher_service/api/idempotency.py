"""``Idempotency-Key`` for money-moving POSTs (Stripe's contract).

* Same key, same body: the first response is replayed (status, body, ``Location``), with
  ``Idempotent-Replayed: true``; the operation does not run again.
* Same key, different body (or another endpoint): 409 ``idempotency_key_reused``.
* Same key while the first request is still running: 409 ``idempotency_request_in_progress`` with ``Retry-After``.
* A request that fails (any 4xx/5xx) before its operation committed releases its key: nothing was written, so
  the client may fix the body and retry with the same key.

Exactly-once, even across crashes: the key is claimed first, in its own short transaction, with a fencing token
(``attempt``). The operation's own transaction then marks the record ``executed`` (``core.transactions.
before_commit``), but only while it still holds that token, so the mark commits or rolls back with the money.
A claim left by a request that died before committing goes stale after ``STALE_AFTER`` and may be taken over
under a new token; if the original request was only slow, its transaction loses the token and rolls back.
A claim whose operation committed but whose response was lost is never run again: the client is told to read
the resource instead.
"""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from core.transactions import before_commit, service_write
from voucher_service.api.errors import ApiError, ApiErrorCode, api_error_response
from voucher_service.db import insert_unless_conflict, update_where
from voucher_service.models import IdempotencyRecord, IdempotencyStatus

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
STALE_AFTER = timedelta(minutes=5)
REPLAYED_HEADERS = ("Location",)

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    name=HEADER,
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Any unique string (a UUID is best). Retrying with the same key and body replays the first result; "
        "the same key with a different body is refused with 409."
    ),
)


def _canonical(value: Any) -> Any:
    if isinstance(value, UploadedFile):
        # In chunks: an upload is never read into memory whole just to fingerprint it.
        digest = hashlib.sha256()
        for chunk in value.chunks():
            digest.update(chunk)
        value.seek(0)
        return {"file_sha256": digest.hexdigest()}
    if hasattr(value, "lists"):  # QueryDict (form/multipart): keep every value of repeated fields
        return {k: [_canonical(v) for v in vs] for k, vs in value.lists()}
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    return value


def request_fingerprint(request: Request) -> str:
    files = getattr(request, "FILES", None) or {}
    payload = {
        "method": request.method,
        "path": request.path,
        "data": _canonical(request.data),
        "files": _canonical(dict(files.items())) if files else {},
    }
    text = json.dumps(payload, sort_keys=True, cls=DjangoJSONEncoder, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _user_id(request: Request) -> int:
    # Money-moving views require authentication, so the user always has a primary key here.
    return int(request.user.pk or 0)


def _claim(request: Request, key: str, fingerprint: str) -> tuple[IdempotencyRecord, bool]:
    """Insert the in-progress record, or return the one that already holds the key."""
    for _attempt in range(3):
        record = IdempotencyRecord(
            user_id=_user_id(request),
            key=key,
            method=request.method or "",
            path=request.path,
            fingerprint=fingerprint,
            attempt=uuid.uuid4().hex,
        )
        # Committed at once (autocommit): the claim must be visible to a concurrent twin before the work starts.
        if insert_unless_conflict(record, ("user", "key")):
            return record, True
        existing = IdempotencyRecord.objects.filter(user_id=_user_id(request), key=key).first()
        if existing is not None:
            return existing, False
        # The holder released the key between our insert and our read: claim it again.
    raise exceptions.Throttled(wait=1)


def _take_over_if_stale(record: IdempotencyRecord) -> bool:
    """A claim left by a request that died before committing may be taken over once stale; one retry wins."""
    cutoff = timezone.now() - STALE_AFTER
    new_attempt = uuid.uuid4().hex
    taken = IdempotencyRecord.objects.filter(
        pk=record.pk, status=IdempotencyStatus.IN_PROGRESS, executed=False, created_at__lt=cutoff
    ).update(created_at=timezone.now(), attempt=new_attempt)
    record.attempt = new_attempt
    return taken == 1


def _mark_executed(record: IdempotencyRecord) -> None:
    """Runs inside the operation's transaction, just before it commits. Our claim was taken over while the
    operation ran: refuse, so the operation rolls back (the other request owns the key now)."""
    if not update_where(IdempotencyRecord, {"id": record.pk, "attempt": record.attempt}, {"executed": True}):
        raise ApiError(
            ApiErrorCode.IDEMPOTENCY_REQUEST_SUPERSEDED,
            _("A newer request with this Idempotency-Key took over; this one was not applied."),
        )


def _release(record: IdempotencyRecord) -> None:
    """Free the key after a failure, unless the operation did commit (then the key must never run again)."""
    IdempotencyRecord.objects.filter(pk=record.pk, attempt=record.attempt, executed=False).delete()


def _replay(record: IdempotencyRecord) -> Response:
    response = Response(record.response_body, status=record.response_status)
    for name, value in (record.response_headers or {}).items():
        response[name] = value
    response["Idempotent-Replayed"] = "true"
    return response


def _existing_response(record: IdempotencyRecord, fingerprint: str) -> Response | None:
    """What to answer for a key that is already taken; None when the caller should run the operation."""
    if record.fingerprint != fingerprint:
        return api_error_response(
            ApiErrorCode.IDEMPOTENCY_KEY_REUSED, _("This Idempotency-Key was already used with a different request.")
        )
    if record.status == IdempotencyStatus.COMPLETED:
        return _replay(record)
    if record.executed:
        return api_error_response(
            ApiErrorCode.IDEMPOTENCY_REQUEST_EXECUTED,
            _("The request with this Idempotency-Key was carried out but its answer was lost; read the resource."),
        )
    if _take_over_if_stale(record):
        return None
    response = api_error_response(
        ApiErrorCode.IDEMPOTENCY_REQUEST_IN_PROGRESS, _("A request with this Idempotency-Key is still being processed.")
    )
    response["Retry-After"] = "1"
    return response


def _complete(record: IdempotencyRecord, response: Response) -> None:
    record.status = IdempotencyStatus.COMPLETED
    record.response_status = response.status_code
    record.response_body = json.loads(json.dumps(response.data, cls=DjangoJSONEncoder))
    record.response_headers = {h: response[h] for h in REPLAYED_HEADERS if response.has_header(h)}
    record.completed_at = timezone.now()
    update_where(
        IdempotencyRecord,
        {"id": record.pk, "attempt": record.attempt},
        {
            "status": record.status,
            "response_status": record.response_status,
            "response_body": record.response_body,
            "response_headers": record.response_headers,
            "completed_at": record.completed_at,
        },
    )


PURGE_BATCH = 5_000


def idempotency_records_purge(*, now: Any = None) -> int:
    """Delete the records older than ``settings.IDEMPOTENCY_KEY_RETENTION_HOURS`` (Stripe keeps keys 24 hours),
    in short batches. After that a key is free again: a request with it is a new request. Returns how many went.

    Plumbing, not a domain record, so no audit event: what the requests did is audited by their own services."""
    cutoff = (now or timezone.now()) - timedelta(hours=settings.IDEMPOTENCY_KEY_RETENTION_HOURS)
    purged = 0
    while batch := _purge_batch(cutoff):
        purged += batch
    return purged


@service_write
def _purge_batch(cutoff: Any) -> int:
    """One batch of ``idempotency_records_purge``, in its own transaction: how many records it deleted."""
    batch = list(
        IdempotencyRecord.objects.filter(created_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[:PURGE_BATCH]
    )
    return IdempotencyRecord.objects.filter(pk__in=batch).delete()[0] if batch else 0


def idempotent(view_method: Callable[..., Response]) -> Callable[..., Response]:
    """Decorate a DRF view method (``create`` or an ``@action``) that moves money."""

    @functools.wraps(view_method)
    def wrapper(self: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER)
        if key is None:
            return view_method(self, request, *args, **kwargs)
        key = key.strip()
        if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            raise exceptions.ValidationError(
                {HEADER: [_("An Idempotency-Key is 1 to 255 printable characters.")]}, code="invalid"
            )
        fingerprint = request_fingerprint(request)
        record, created = _claim(request, key, fingerprint)
        if not created and (answer := _existing_response(record, fingerprint)) is not None:
            return answer
        try:
            with before_commit(functools.partial(_mark_executed, record)):
                response = view_method(self, request, *args, **kwargs)
        except BaseException:
            _release(record)
            raise
        if 200 <= response.status_code < 300:
            _complete(record, response)
        else:
            _release(record)
        return response

    return wrapper
