"""Uploads cannot exhaust memory: permission and size first, hashing in chunks, rows counted while streaming
(issue 10, item 3). Memory is measured with tracemalloc around the view call only (the test builds the request
before it starts counting)."""

from __future__ import annotations

import tracemalloc

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIRequestFactory, force_authenticate

from voucher_service.vouchers.api.views import BulkIssuanceViewSet
from voucher_service.vouchers.bulk_csv import MAX_BYTES, MAX_ROWS
from voucher_service.vouchers.models import BulkIssuance

URL = "/api/v1/issuances/bulk/"
MB = 1024 * 1024


def call_view(user, program, content: bytes, **headers):
    request = APIRequestFactory().post(
        URL,
        {"program": program.pk, "mode": "all_or_nothing", "file": SimpleUploadedFile("big.csv", content)},
        format="multipart",
        **headers,
    )
    force_authenticate(request, user=user)
    view = BulkIssuanceViewSet.as_view({"post": "create"})
    tracemalloc.start()
    try:
        response = view(request)
        response.render()
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return response, peak


@pytest.mark.django_db
def test_an_applicant_uploading_a_large_file_is_refused_before_it_is_read(program, applicant):
    # given an applicant (no bulk rights) sending 20 MB with an Idempotency-Key (whose fingerprint hashed the
    # whole upload in memory before any check)
    content = b"x" * (20 * MB)
    # when
    response, peak = call_view(applicant, program, content, HTTP_IDEMPOTENCY_KEY="big-1")
    # then refused, without holding the file in memory
    assert response.status_code == 403
    assert peak < 2 * MB, f"peak {peak / MB:.1f} MB"
    assert not BulkIssuance.objects.exists()


@pytest.mark.django_db
def test_an_oversized_upload_is_refused_by_its_declared_size(program, program_admin):
    content = b"x" * (MAX_BYTES + 1 * MB)
    response, peak = call_view(program_admin, program, content, HTTP_IDEMPOTENCY_KEY="big-2")
    assert response.status_code == 413
    assert response.data["error"]["code"] == "too_large"
    assert peak < 2 * MB, f"peak {peak / MB:.1f} MB"


@pytest.mark.django_db
def test_a_file_of_empty_rows_stops_at_the_row_limit(program, program_admin):
    # given 10 MB of empty rows (it took 1.18 GB and 9 s before too_many_rows)
    content = b"uscc,amount,memo\n" + b",,\n" * ((MAX_BYTES - 100) // 3)
    # when
    response, peak = call_view(program_admin, program, content, HTTP_IDEMPOTENCY_KEY="rows-1")
    # then refused as soon as the limit is passed, in bounded memory
    assert response.status_code == 400
    assert response.data["error"]["fields"]["file"][0]["code"] == "too_many_rows"
    assert str(MAX_ROWS) in response.data["error"]["fields"]["file"][0]["message"]
    assert peak < 150 * MB, f"peak {peak / MB:.1f} MB"


def test_the_idempotency_fingerprint_hashes_a_spooled_upload_in_chunks(monkeypatch):
    # given an upload spooled to disk (as Django does past 2.5 MB), which the fingerprint must not read whole
    from django.core.files.uploadedfile import TemporaryUploadedFile

    from voucher_service.api.idempotency import _canonical

    upload = TemporaryUploadedFile("x.csv", "text/csv", 0, "utf-8")
    upload.write(b"uscc,amount\n" * 100_000)
    upload.seek(0)
    sizes: list[int] = []
    real_read = upload.file.read

    def read(size=-1):
        sizes.append(size)
        return real_read(size)

    monkeypatch.setattr(upload.file, "read", read)
    # when
    digest = _canonical(upload)["file_sha256"]
    # then every read was of one chunk, never of the whole file
    assert len(digest) == 64
    assert sizes
    assert all(0 < size <= 64 * 1024 for size in sizes)
