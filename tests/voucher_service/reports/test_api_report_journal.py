"""GET /api/v1/reports/journal/ and its export: postings with digests and chain positions; the JSON Lines form that
the offline verifier checks."""

from __future__ import annotations

import pytest

from ledger.history import chain_head_at
from tests.factories import client_for

pytestmark = pytest.mark.django_db


def test_postings_carry_their_entry_digest_and_chain_position(auditor, world):
    # when
    response = client_for(auditor).get("/api/v1/reports/journal/", {"program": world.program.pk, "limit": 200})
    # then
    rows = response.json()["results"]
    assert response.status_code == 200
    assert rows
    assert all(len(row["body_digest"]) == 64 and row["chain_position"] for row in rows)
    revocation = [row for row in rows if row["idempotency_key"] == f"vouchers:close:{world.v1.pk}"]
    year = world.v1.fiscal_year
    assert sorted((row["account"], row["direction"], row["amount"]) for row in revocation) == [
        (f"programs:{world.program.pk}:{year}:budget", "credit", "200.00"),
        (f"vouchers:{world.v1.serial}", "debit", "200.00"),
    ]


def test_the_jsonl_export_ends_at_the_head_and_names_it(auditor, world):
    # when
    response = client_for(auditor).get("/api/v1/reports/journal/export/", {"file_format": "jsonl"})
    # then
    import json

    lines = [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]
    head = chain_head_at()
    assert response["Content-Type"] == "application/x-ndjson"
    assert lines[0]["type"] == "header"
    assert lines[0]["head"] == {"height": head.height, "hash": head.head_hash}
    assert lines[-2] == {**lines[-2], "type": "link", "position": head.height, "hash": head.head_hash}
    assert lines[-1]["type"] == "trailer"
    assert lines[-1]["lines"] == len(lines) - 1
