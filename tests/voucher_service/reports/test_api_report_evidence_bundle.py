"""GET /api/v1/reports/claims/{id}/evidence-bundle/: one zip of a claim's facts, decisions, evaluations, ledger
entries and files, with a manifest of SHA-256s."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pytest

from accounts.models import AuditEvent
from ledger.models import ChainLink, JournalEntry
from tests.factories import client_for

pytestmark = pytest.mark.django_db


def bundle(reader, claim):
    return client_for(reader).get(f"/api/v1/reports/claims/{claim.pk}/evidence-bundle/")


def test_the_bundle_holds_every_file_its_manifest_names_with_its_sha256(bd, claimed):
    # when the auditor reads the bundle of claim 1 (partly paid, then clawed back)
    response = bundle(bd.auditor, claimed.first)
    # then it is a zip whose manifest names every other file with its size and SHA-256
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="claim-{claimed.first.pk}-evidence.zip"'
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    manifest = json.loads(archive.read("manifest.json"))
    names = sorted(archive.namelist())
    assert sorted([f["name"] for f in manifest["files"]] + ["manifest.json"]) == names
    for item in manifest["files"]:
        content = archive.read(item["name"])
        assert (len(content), hashlib.sha256(content).hexdigest()) == (item["size"], item["sha256"])
    evidence = [name for name in names if name.startswith("evidence/")]
    assert [name.split("-", 1)[1] for name in evidence] == [
        "contract.pdf",
        "invoice.pdf",
        "payment_proof.pdf",
        "usage_statement.pdf",
    ]
    # the claim's amounts, its three decisions and its evaluation
    claim = json.loads(archive.read("claim.json"))
    assert (claim["subsidy"], claim["approved_amount"], claim["paid_amount"], claim["clawed_back_amount"]) == (
        2_000_000,
        1_500_000,
        1_500_000,
        500_000,
    )
    assert [d["decision"] for d in json.loads(archive.read("decisions.json"))] == ["approve"] * 3
    assert json.loads(archive.read("evaluations.json"))[0]["subsidy"] == 2_000_000
    # and its ledger: the hold (20,000 held, 15,000 posted), the hold's posting, the payout and the clawback,
    # each entry with the digest and chain position the journal holds
    ledger = json.loads(archive.read("ledger.json"))
    assert [(h["amount"], h["status"], h["posted_amount"]) for h in ledger["holds"]] == [
        (2_000_000, "posted", 1_500_000)
    ]
    memos = [entry["memo"] for entry in ledger["entries"]]
    assert len(memos) == 3
    assert memos[1:] == [
        f"Payout of claim #{claimed.first.pk}",
        f"Clawback of claim #{claimed.first.pk} (audit_finding)",
    ]
    for entry in ledger["entries"]:
        stored = JournalEntry.objects.get(pk=entry["id"])
        assert entry["body_digest"] == stored.body_digest
        assert entry["position"] == ChainLink.objects.get(entry=stored).position
    assert AuditEvent.objects.filter(action="report.evidence_bundle", target_id=str(claimed.first.pk)).count() == 1


def test_only_auditors_of_the_program_read_it(bd, claimed, auditor, outsider):
    # when
    answers = {
        "reviewer": bundle(bd.reviewer, claimed.first).status_code,
        "applicant": bundle(claimed.cast.applicant, claimed.first).status_code,
        "ningxia_auditor": bundle(auditor, claimed.first).status_code,
        "outsider": bundle(outsider, claimed.first).status_code,
        "anonymous": bundle(None, claimed.first).status_code,
    }
    # then those who see the claim are refused; to everyone else it does not exist
    assert answers == {"reviewer": 403, "applicant": 403, "ningxia_auditor": 404, "outsider": 404, "anonymous": 401}
