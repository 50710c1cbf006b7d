"""/api/v1/reports/verifications/, /verification-runs/ and /chain-head/: verify the ledger over HTTP."""

from __future__ import annotations

import pytest

from ledger.history import chain_head_at
from tests.factories import client_for

pytestmark = pytest.mark.django_db


def test_start_a_verification_and_read_its_result(auditor, world, django_capture_on_commit_callbacks):
    # when
    client = client_for(auditor)
    with django_capture_on_commit_callbacks(execute=True):
        accepted = client.post("/api/v1/reports/verifications/")
    # then
    assert accepted.status_code == 202
    result = client.get(accepted["Location"]).json()
    head = chain_head_at()
    assert result["status"] == "succeeded"
    assert result["run"]["ok"] is True
    assert result["run"]["head_hash"] == head.head_hash
    assert result["run"]["requested_by"] == auditor.username
    assert all(check["ok"] for check in result["run"]["checks"].values())
    history = client.get("/api/v1/reports/verification-runs/").json()
    assert history["results"][0]["id"] == result["run"]["id"]


def test_the_chain_head_is_the_pin_to_keep(auditor, world):
    # when
    body = client_for(auditor).get("/api/v1/reports/chain-head/").json()
    # then
    head = chain_head_at()
    assert body["pin"] == f"{head.height}:{head.head_hash}"
    assert body["unsealed"] == 0


def test_a_reviewer_may_not_verify(reviewer, world):
    # when
    response = client_for(reviewer).post("/api/v1/reports/verifications/")
    # then
    assert response.status_code == 403
