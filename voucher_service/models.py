"""Models of the project app itself: cross-cutting API plumbing. Domain models live in the domain apps."""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone


class IdempotencyStatus(models.TextChoices):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


class IdempotencyRecord(models.Model):
    """The first result of a money-moving POST, keyed by the client's ``Idempotency-Key``.

    Keys are scoped to the user who sent them (two clients can't collide). The unique constraint, not Python,
    guarantees that concurrent requests with one key run the operation once.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    fingerprint = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=IdempotencyStatus.choices, default=IdempotencyStatus.IN_PROGRESS)
    # A fencing token: who currently holds the claim. A takeover of a stale claim changes it, and the original
    # request's transaction then fails to mark the record executed and rolls back (see api/idempotency.py).
    attempt = models.CharField(max_length=32, default="")
    # Set inside the operation's own transaction: true means the operation committed, even if its response
    # was never recorded (the process died in between). Such a key is never run again.
    executed = models.BooleanField(default=False)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    response_headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_user_key_unique")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self) -> str:
        return f"{self.key} ({self.status})"


class BenchmarkRow(models.Model):
    """One row per request to the benchmarks' baseline endpoint (``voucher_service.api.baseline``): the cheapest
    authenticated write the API can make, which ``bench/`` measures every endpoint against. Nothing reads it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"benchmark row {self.pk}"
