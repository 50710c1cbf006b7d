"""scripts/verify_journal_export.py: a standalone check of a journal export against a pinned chain head. It
passes on an honest export and fails on a one-byte change anywhere in it."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from ledger.history import chain_head_at
from tests.factories import client_for

pytestmark = pytest.mark.django_db
SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "verify_journal_export.py"


def verifier():
    spec = importlib.util.spec_from_file_location("verify_journal_export", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def export(user, **query):
    response = client_for(user).get("/api/v1/reports/journal/export/", {"file_format": "jsonl", **query})
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def test_an_honest_export_verifies_against_the_pinned_head(auditor, world, tmp_path):
    # given an export and the head an auditor pinned
    data = export(auditor)
    head = chain_head_at()
    path = tmp_path / "journal.jsonl"
    path.write_bytes(data)
    # when the script runs as an auditor would run it
    run = subprocess.run(  # noqa: S603 - our own script, with a path this test wrote
        [sys.executable, str(SCRIPT), str(path), "--pin", f"{head.height}:{head.head_hash}"],
        capture_output=True,
        text=True,
        check=False,
    )
    # then
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("OK: ")
    assert f"chain head #{head.height}" in run.stdout


def test_a_one_byte_change_anywhere_fails(auditor, world):
    # given an export of one entity's entries (with the chain from its first link to the head)
    data = export(auditor, entity=world.entity_b.pk)
    head = chain_head_at()
    check = verifier()
    assert check.verify(data, (head.height, head.head_hash)).ok
    # when each byte in turn is changed, then the export no longer verifies
    for index in range(len(data)):
        changed = bytearray(data)
        changed[index] ^= 0x01
        assert not check.verify(bytes(changed), (head.height, head.head_hash)).ok, f"byte {index} went unnoticed"


def test_a_rewritten_entry_with_a_fresh_trailer_is_caught_by_its_digest_and_the_pin(auditor, world):
    # given a forger who changes an amount and recomputes the trailer
    import hashlib
    import json

    check = verifier()
    lines = export(auditor).splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if b'"type":"entry"' in line)
    entry = json.loads(lines[index])
    entry["memo"] = entry["memo"] + "!"
    lines[index] = check.canonical(entry) + b"\n"
    body = b"".join(lines[:-1])
    trailer = {"type": "trailer", "lines": len(lines) - 1, "sha256": hashlib.sha256(body).hexdigest()}
    forged = body + check.canonical(trailer) + b"\n"
    head = chain_head_at()
    # when
    result = check.verify(forged, (head.height, head.head_hash))
    # then
    assert not result.ok
    assert any("recompute to digest" in problem for problem in result.problems)


def test_a_pin_the_export_does_not_reach_is_reported(auditor, world):
    # given
    check = verifier()
    data = export(auditor)
    head = chain_head_at()
    # when
    result = check.verify(data, (head.height + 5, head.head_hash))
    # then
    assert not result.ok
    assert "is not in this export" in result.problems[0]
