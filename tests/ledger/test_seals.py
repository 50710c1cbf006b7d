"""Signed seals and pinned heads: a forger with the database but without the key (issue 10, item 7b and 7c).

The chain alone is recomputable by anyone who can write the tables: rewrite an entry, store its new digest,
recompute every link after it and the head, and the old verification found nothing wrong. The seals are HMACs
under a key the database never holds; the pins are heads kept outside it.
"""

from __future__ import annotations

import io
import os
import stat

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from ledger import services
from ledger.hashing import chain_hash, entry_body_digest
from ledger.models import ChainHead, ChainLink, ChainSeal, JournalEntry, Posting
from ledger.sealing import UnsignedChainHead, seal_pending
from ledger.signing import current_key, key_id_of
from ledger.verification import Pin, verify_ledger
from tests.ledger.test_verification import raw_update

pytestmark = pytest.mark.django_db

OLD_CHECKS_THAT_A_FULL_REWRITE_PASSES = ("entries_balance", "entry_digests", "hash_chain", "balance_after_chain")


@pytest.fixture
def sealed(funded, make_account):
    """Five entries, sealed in three batches (so there are seals in the middle of the chain, not only at its end)."""
    _, wallet = funded(10_000)
    shop = make_account()
    seal_pending()
    for n in range(2):
        services.entry_post(
            actor=None, idempotency_key=f"sale-{n}", lines=[(wallet, "debit", 100), (shop, "credit", 100)]
        )
    seal_pending()
    for n in range(2, 4):
        services.entry_post(
            actor=None, idempotency_key=f"sale-{n}", lines=[(wallet, "debit", 100), (shop, "credit", 100)]
        )
    seal_pending()
    return wallet, shop


def rewrite_chain_from(position: int) -> None:
    """What a forger with the database does after changing an entry: recompute every link from there, and the head."""
    links = list(ChainLink.objects.order_by("position").select_related("entry"))
    previous = links[position - 2].hash if position > 1 else "0" * 64
    for link in links[position - 1 :]:
        new_hash = chain_hash(previous, link.position, link.entry.body_digest)
        raw_update(
            "UPDATE ledger_chainlink SET prev_hash = %s, hash = %s WHERE position = %s",
            [previous, new_hash, link.position],
        )
        previous = new_hash
    raw_update("UPDATE ledger_chainhead SET head_hash = %s WHERE id = 1", [previous])


def forge_memo(entry: JournalEntry, memo: str) -> None:
    entry.memo = memo
    digest = entry_body_digest(entry, Posting.objects.filter(entry=entry))
    raw_update("UPDATE ledger_journalentry SET memo = %s, body_digest = %s WHERE id = %s", [memo, digest, entry.pk])


def test_every_sealing_batch_signs_the_head(sealed):
    # then: one seal per batch, each over the head it made, and the whole ledger verifies
    seals = list(ChainSeal.objects.order_by("height"))
    assert [seal.height for seal in seals] == [1, 3, 5]
    head = ChainHead.objects.get()
    assert (seals[-1].height, seals[-1].head_hash) == (head.height, head.head_hash)
    assert seals[-1].key_id == current_key().key_id
    report = verify_ledger()
    assert report.ok, report.render()
    assert str(report.pin) == f"5:{head.head_hash}"


def test_a_forged_chain_link_is_reported_though_the_chain_recomputes(sealed):
    # given a forger rewrote entry 2's memo, stored its new digest, and recomputed every link after it and the head
    link = ChainLink.objects.get(position=2)
    forge_memo(link.entry, "nothing to see")
    rewrite_chain_from(2)
    # when
    report = verify_ledger()
    # then the chain itself recomputes (what the old verification checked)...
    for check in OLD_CHECKS_THAT_A_FULL_REWRITE_PASSES:
        assert report.problem_counts[check] == 0, report.render()
    # ...but the seals signed over the old heads do not match it, and the forger could not sign new ones
    assert not report.ok
    problems = report.problems["seals"]
    assert any(p.startswith("seal #3 signed head") and "rewritten after it was sealed" in p for p in problems)
    assert any(p.startswith("seal #5 signed head") for p in problems)
    assert any("links #2 to #5 are covered by no valid seal" in p for p in problems)


def test_a_forged_seal_is_reported(sealed):
    # given the forger rewrote the chain and also wrote seals for the new heads, with a key of their own
    forge_memo(ChainLink.objects.get(position=2).entry, "nothing to see")
    rewrite_chain_from(2)
    forger_key = b"the forger's own key, not the one in the environment"
    from ledger.signing import SigningKey

    forged = SigningKey(key_id_of(forger_key), forger_key)
    for height in (3, 5):
        head_hash = ChainLink.objects.get(position=height).hash
        raw_update(
            "UPDATE ledger_chainseal SET head_hash = %s, signature = %s, key_id = %s WHERE height = %s",
            [head_hash, forged.sign(height, head_hash), forged.key_id, height],
        )
    # when
    report = verify_ledger()
    # then
    assert any("signature does not verify" in p and p.startswith("seal #5") for p in report.problems["seals"])


def test_links_appended_without_the_key_are_reported_and_sealing_stops(sealed, funded):
    # given an entry the forger linked into the chain by hand (no seal: they have no key)
    funded(50)
    entry = JournalEntry.objects.filter(chain_link__isnull=True).get()
    head = ChainHead.objects.get()
    link_hash = chain_hash(head.head_hash, head.height + 1, entry.body_digest)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ledger_chainlink (position, entry_id, prev_hash, hash, sealed_at) VALUES (%s, %s, %s, %s, %s)",
            [head.height + 1, entry.pk, head.head_hash, link_hash, entry.recorded_at],
        )
        cursor.execute("DELETE FROM ledger_unsealedentry WHERE entry_id = %s", [entry.pk])
    raw_update("UPDATE ledger_chainhead SET height = height + 1, head_hash = %s WHERE id = 1", [link_hash])
    # when the sealer runs next, and then verification
    with pytest.raises(UnsignedChainHead):
        seal_pending()
    report = verify_ledger()
    # then the sealer refuses to vouch for it, and verification says where
    assert "links #6 to #6 are covered by no valid seal" in " ".join(report.problems["seals"])
    assert any(p.startswith("sealing refused") for p in report.problems["seals"])


def test_removed_links_leave_seals_beyond_the_chain(sealed):
    # given the forger removed the last two entries and their links (truncating the end of the chain)
    doomed = list(ChainLink.objects.filter(position__gte=4).values_list("entry_id", flat=True))
    raw_update("DELETE FROM ledger_chainlink WHERE position >= %s", [4])
    raw_update(f"DELETE FROM ledger_posting WHERE entry_id IN ({', '.join(map(str, doomed))})", [])
    raw_update(f"DELETE FROM ledger_journalentry WHERE id IN ({', '.join(map(str, doomed))})", [])
    link = ChainLink.objects.get(position=3)
    raw_update("UPDATE ledger_chainhead SET height = 3, head_hash = %s WHERE id = 1", [link.hash])
    # when
    report = verify_ledger(seal=False)
    # then
    assert any("seal(s) from #5 to #5 lie beyond the end of the chain at #3" in p for p in report.problems["seals"])


def test_a_retired_key_still_verifies_its_seals_after_a_rotation(sealed, settings):
    # given the seals were made with the current key, which is then rotated out
    old_key = settings.LEDGER_SIGNING_KEY or current_key().secret.decode()
    settings.LEDGER_SIGNING_KEY = "a-brand-new-ledger-signing-key-0123456789-abcdefghij"
    # when the old key is listed as retired, everything verifies, and new seals use the new key
    settings.LEDGER_SIGNING_KEYS_RETIRED = [old_key]
    report = verify_ledger()
    assert report.ok, report.render()
    # and without it, the old seals are refused as signed with a key that is not configured
    settings.LEDGER_SIGNING_KEYS_RETIRED = []
    assert "which is not configured" in " ".join(verify_ledger(seal=False).problems["seals"])


def test_the_embedded_key_file_is_created_once_and_private(settings, tmp_path):
    # given no key in the environment (the embedded default)
    settings.LEDGER_SIGNING_KEY = ""
    settings.LEDGER_SIGNING_KEY_FILE = tmp_path / "ledger-signing.key"
    # when
    first, second = current_key(), current_key()
    # then
    assert first == second
    assert len(first.secret) >= 32
    assert stat.S_IMODE(os.stat(settings.LEDGER_SIGNING_KEY_FILE).st_mode) == 0o600


# --- Pinned heads ----------------------------------------------------------------------------------------------


def test_a_pinned_head_catches_a_rewrite_and_a_truncation(sealed):
    # given an auditor exported the head after a clean run
    pin = verify_ledger().pin
    # when the chain is later rewritten from link 2 on
    forge_memo(ChainLink.objects.get(position=2).entry, "nothing to see")
    rewrite_chain_from(2)
    # then the pin says so
    problems = verify_ledger(seal=False, pins=[pin]).problems["pinned_heads"]
    assert problems == [
        f"pinned head #5 was {pin.head_hash[:16]}…, the chain now has "
        f"{ChainLink.objects.get(position=5).hash[:16]}… there: history was rewritten"
    ]
    # and a pin beyond the end of the chain says links were removed
    missing = verify_ledger(seal=False, pins=[Pin(9, "a" * 64)]).problems["pinned_heads"]
    assert missing == [f"pinned head #9 {'a' * 16}… is missing: the chain ends at #5 (links were removed)"]


def test_the_command_exports_the_head_and_checks_a_pin_file(sealed, tmp_path):
    # given
    pin_file = tmp_path / "head.txt"
    out = io.StringIO()
    # when a clean run exports the head
    call_command("verify_ledger", "--export-head", str(pin_file), stdout=out)
    # then the file holds HEIGHT:HASH, and a later run against it passes
    pin = Pin.parse(pin_file.read_text())
    assert pin.height == 5
    call_command("verify_ledger", "--pin-file", str(pin_file), stdout=io.StringIO())
    # and after a rewrite the same command fails on the pin
    forge_memo(ChainLink.objects.get(position=4).entry, "rewritten")
    rewrite_chain_from(4)
    report = io.StringIO()
    with pytest.raises(CommandError, match="pinned_heads"):
        call_command("verify_ledger", "--pin", str(pin), stdout=report)
    assert "history was rewritten" in report.getvalue()


def test_a_malformed_pin_is_refused():
    with pytest.raises(CommandError, match="not a chain head pin"):
        call_command("verify_ledger", "--pin", "12:nothex", stdout=io.StringIO())


def test_the_periodic_task_pins_the_previous_runs_head(sealed):
    # given a recorded clean run
    from ledger.models import VerificationRun
    from ledger.verification import verification_run_record

    first = verification_run_record()
    assert first.ok
    assert first.head_height == 5
    # when the chain is rewritten and the next run comes
    forge_memo(ChainLink.objects.get(position=5).entry, "rewritten")
    rewrite_chain_from(5)
    second = verification_run_record()
    # then it fails on the previous run's head too
    assert second.ok is False
    assert second.report["checks"]["pinned_heads"]["ok"] is False
    assert VerificationRun.objects.count() == 2
