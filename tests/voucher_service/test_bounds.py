"""Bounded everything (issue 16, item 3): every limit on an input or on kept state is a setting read from the
environment (listed in .env.example, which test_compose checks), and each is tested at its edge here or beside
the feature it bounds:

* request body: here (one byte under the limit is parsed, one over is a 413);
* uploads: evidence files and bulk CSVs, here at the edge (and the 413/400 by declared size in
  vouchers/test_upload_limits.py and claims/test_api_claims_evidence.py);
* page size: test_pagination.py (the largest page is served, one more is a 400);
* export size and export file retention: reports/test_api_report_exports.py;
* idempotency record retention: here at the edge (and the purge beat job in test_idempotency.py);
* task time limits and the connection pool: here, read from the environment into Celery's and Django's config.
"""

from __future__ import annotations

import importlib.util
import json
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from unittest import mock

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from core.errors import ServiceError
from tests.factories import client_for
from voucher_service.celery import app as celery_app

SETTINGS = Path(__file__).resolve().parents[2] / "voucher_service" / "settings.py"
APPLICATIONS = "/api/v1/voucher-applications/"
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def load_settings(**environment: str) -> ModuleType:
    """The settings module as a process started with ``environment`` would read it (importing it writes nothing)."""
    spec = importlib.util.spec_from_file_location("bounded_settings", SETTINGS)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    with mock.patch.dict("os.environ", environment):
        spec.loader.exec_module(module)
    return module


def body_of(size: int) -> str:
    """A JSON body of exactly ``size`` bytes."""
    frame = json.dumps({"purpose": ""})
    return json.dumps({"purpose": "x" * (size - len(frame))})


@pytest.mark.django_db
def test_a_body_one_byte_under_the_limit_is_read_and_one_over_is_a_413(applicant, settings):
    # given a 10,000-byte limit on request bodies
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    client = client_for(applicant)
    # when bodies of exactly the limit and one byte more are posted
    at = client.post(APPLICATIONS, data=body_of(10_000), content_type="application/json")
    over = client.post(APPLICATIONS, data=body_of(10_001), content_type="application/json")
    # then the first reaches the serializer (which refuses its fields), the second is refused unread
    assert at.status_code == 400
    assert at.json()["error"]["code"] == "invalid"
    assert over.status_code == 413
    assert over.json()["error"]["code"] == "request_too_large"


def test_an_evidence_file_at_the_limit_is_taken_and_one_byte_more_is_refused(monkeypatch):
    from voucher_service.claims import evidence

    # given a 1,000-byte limit on evidence files
    monkeypatch.setattr(evidence, "MAX_BYTES", 1_000)
    padded = PDF + b"%" * (1_000 - len(PDF))
    # when / then
    assert evidence.check_file(SimpleUploadedFile("invoice.pdf", padded)) is not None
    with pytest.raises(ServiceError) as refused:
        evidence.check_file(SimpleUploadedFile("invoice.pdf", padded + b"%"))
    assert refused.value.fields is not None
    assert refused.value.fields["file"][0]["code"] == "too_large"


def test_a_bulk_file_at_the_limit_is_read_and_one_byte_more_is_refused(monkeypatch):
    from voucher_service.vouchers import bulk_csv

    # given a 1,000-byte limit on bulk files
    monkeypatch.setattr(bulk_csv, "MAX_BYTES", 1_000)
    content = b"uscc,amount,memo\n" + b"," * (1_000 - 17)
    # when / then
    assert bulk_csv._decode(content).startswith("uscc")
    with pytest.raises(ServiceError) as refused:
        bulk_csv._decode(content + b",")
    assert refused.value.fields is not None
    assert refused.value.fields["file"][0]["code"] == "too_large"


@pytest.mark.django_db
def test_an_idempotency_record_is_kept_for_its_retention_and_purged_just_after(settings):
    from tests.factories import make_user
    from voucher_service.api.idempotency import idempotency_records_purge
    from voucher_service.models import IdempotencyRecord

    # given records a minute younger and a minute older than IDEMPOTENCY_KEY_RETENTION_HOURS
    user, now = make_user(None), timezone.now()
    retention = timedelta(hours=settings.IDEMPOTENCY_KEY_RETENTION_HOURS)
    for key, age in (("younger", retention - timedelta(minutes=1)), ("older", retention + timedelta(minutes=1))):
        record = IdempotencyRecord.objects.create(user=user, key=key, method="POST", path="/x", fingerprint="f")
        IdempotencyRecord.objects.filter(pk=record.pk).update(created_at=now - age)
    # when the purge runs
    purged = idempotency_records_purge()
    # then only the older one is gone
    assert purged == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["younger"]


def test_every_bound_is_read_from_the_environment():
    # given a process started with every bound set
    environment = {
        "REQUEST_BODY_MAX_BYTES": "1001",
        "EVIDENCE_UPLOAD_MAX_BYTES": "1002",
        "BULK_UPLOAD_MAX_BYTES": "1003",
        "API_PAGE_SIZE": "7",
        "API_MAX_PAGE_SIZE": "70",
        "REPORTS_EXPORT_MAX_ROWS": "1004",
        "REPORTS_EXPORT_SYNC_MAX_ROWS": "1005",
        "REPORTS_EXPORT_TTL_HOURS": "3",
        "IDEMPOTENCY_KEY_RETENTION_HOURS": "5",
        "TASK_SOFT_TIME_LIMIT_SECONDS": "60",
        "TASK_TIME_LIMIT_SECONDS": "90",
        "DATABASE_URL": "postgres://app@127.0.0.1:5432/vs",
        "SECRET_KEY": "bounds-test-secret-key-0123456789abcdef0123456789abcdef",
        "PERSONAL_ID_HMAC_KEY": "bounds-test-hmac-key",
        "LEDGER_SIGNING_KEY": "bounds-test-ledger-key-0123456789",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
        "BROKER_VISIBILITY_TIMEOUT_SECONDS": "91",
        "DB_POOL": "1",
        "DB_POOL_MIN_SIZE": "1",
        "DB_POOL_MAX_SIZE": "3",
        "DB_POOL_TIMEOUT": "4",
    }
    # when its settings load
    settings = load_settings(**environment)
    # then each bound is what the environment said
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 1001
    assert (settings.EVIDENCE_UPLOAD_MAX_BYTES, settings.BULK_UPLOAD_MAX_BYTES) == (1002, 1003)
    assert (settings.REST_FRAMEWORK["PAGE_SIZE"], settings.API_MAX_PAGE_SIZE) == (7, 70)
    assert (settings.REPORTS_EXPORT_MAX_ROWS, settings.REPORTS_EXPORT_SYNC_MAX_ROWS) == (1004, 1005)
    assert (settings.REPORTS_EXPORT_TTL_HOURS, settings.IDEMPOTENCY_KEY_RETENTION_HOURS) == (3, 5)
    assert (settings.CELERY_TASK_SOFT_TIME_LIMIT, settings.CELERY_TASK_TIME_LIMIT) == (60, 90)
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS == {"visibility_timeout": 91}
    assert settings.DATABASES["default"]["OPTIONS"]["pool"] == {"min_size": 1, "max_size": 3, "timeout": 4}
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"]  # a dead connection is replaced as it leaves the pool


def test_a_hard_task_limit_not_above_the_soft_one_is_refused():
    with pytest.raises(ImproperlyConfigured, match="TASK_TIME_LIMIT_SECONDS"):
        load_settings(TASK_SOFT_TIME_LIMIT_SECONDS="60", TASK_TIME_LIMIT_SECONDS="60")


def test_a_visibility_timeout_not_above_the_hard_task_limit_is_refused():
    with pytest.raises(ImproperlyConfigured, match="BROKER_VISIBILITY_TIMEOUT_SECONDS"):
        load_settings(
            CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
            TASK_SOFT_TIME_LIMIT_SECONDS="60",
            TASK_TIME_LIMIT_SECONDS="120",
            BROKER_VISIBILITY_TIMEOUT_SECONDS="120",
        )


def test_every_task_runs_under_the_time_limits(settings):
    # Celery reads them from Django's settings: the soft one interrupts a task (its transaction rolls back), the
    # hard one kills its process; both fail the task and acknowledge it (no endless redelivery).
    assert celery_app.conf.task_soft_time_limit == settings.CELERY_TASK_SOFT_TIME_LIMIT
    assert celery_app.conf.task_time_limit == settings.CELERY_TASK_TIME_LIMIT > settings.CELERY_TASK_SOFT_TIME_LIMIT
    assert celery_app.conf.task_acks_on_failure_or_timeout is True


def test_the_page_size_bound_is_the_setting(settings):
    from voucher_service.api.pagination import MAX_PAGE_SIZE, LimitOffsetPagination

    assert LimitOffsetPagination.max_limit == MAX_PAGE_SIZE == settings.API_MAX_PAGE_SIZE
