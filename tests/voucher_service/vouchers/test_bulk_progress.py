"""Bulk progress is visible while a run is under way: written chunk by chunk to the shared cache."""

import pytest
from django.core.cache import cache

from tests.factories import client_for, make_org
from voucher_service.vouchers import bulk as bulk_module
from voucher_service.vouchers import issuance as issuance_module
from voucher_service.vouchers.models import BulkIssuance, BulkStatus
from voucher_service.vouchers.selectors import bulk_progress_key


@pytest.mark.django_db
def test_the_runner_publishes_progress_chunk_by_chunk(program, program_admin, monkeypatch):
    # given 5 rows, written 2 at a time, in an all-or-nothing batch (one transaction)
    entities = [make_org(jurisdiction="640104") for _ in range(5)]
    content = ("uscc,amount\n" + "\n".join(f"{e.uscc},1" for e in entities)).encode()
    created = bulk_module.bulk_issuance_create(
        actor=program_admin, program=program, content=content, file_name="f.csv", mode="all_or_nothing"
    )
    monkeypatch.setattr(issuance_module, "WRITE_CHUNK", 2)
    seen = []

    class SpyCache:
        def set(self, key, value, *args, **kwargs):
            if key == bulk_progress_key(created.pk):
                seen.append(value["processed_rows"])
            return cache.set(key, value, *args, **kwargs)

        def __getattr__(self, name):
            return getattr(cache, name)

    monkeypatch.setattr(bulk_module, "cache", SpyCache())
    # when
    finished = bulk_module.bulk_issuance_run(bulk_id=created.pk)
    # then progress was published after each chunk, before the batch committed
    assert seen == [2, 4, 5]
    assert (finished.status, finished.succeeded_rows) == ("completed", 5)


@pytest.mark.django_db
def test_the_api_shows_live_progress_while_running(program, program_admin):
    bulk = BulkIssuance.objects.create(
        program=program,
        fiscal_year=2026,
        mode="all_or_nothing",
        file_sha256="0" * 64,
        total_rows=10,
        status=BulkStatus.RUNNING,
        uploaded_by=program_admin,
    )
    cache.set(bulk_progress_key(bulk.pk), {"processed_rows": 4, "succeeded_rows": 4})
    body = client_for(program_admin).get(f"/api/v1/issuances/bulk/{bulk.pk}/").json()
    assert (body["processed_rows"], body["percent"], body["status"]) == (4, 40, "running")
