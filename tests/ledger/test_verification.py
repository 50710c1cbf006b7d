"""verify_ledger: passes on a healthy ledger, names the row that was tampered with, records its runs."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from ledger import selectors, services
from ledger.hashing import chain_hash, entry_body_digest
from ledger.models import ChainLink, Hold, JournalEntry, Posting, VerificationRun
from ledger.sealing import seal_pending
from ledger.tasks import verify_ledger_task
from ledger.verification import verify_ledger

pytestmark = pytest.mark.django_db


@pytest.fixture
def busy_ledger(funded, make_account):
    """Entries, a reversal, a posted, a voided and an open hold: every kind of record the verifier reads."""
    _, wallet = funded(10_000)
    shop = make_account()
    sale = services.entry_post(actor=None, idempotency_key="s1", lines=[(wallet, "debit", 700), (shop, "credit", 700)])
    services.entry_post(actor=None, idempotency_key="s2", lines=[(wallet, "debit", 300), (shop, "credit", 300)])
    services.entry_reverse(sale, actor=None, idempotency_key="r1")
    expiry = timezone.now() + dt.timedelta(hours=1)
    for key in ("h-post", "h-void", "h-open"):
        services.hold_create(
            actor=None, idempotency_key=key, debit_account=wallet, credit_account=shop, amount=500, expires_at=expiry
        )
    services.hold_post(Hold.objects.get(idempotency_key="h-post"), amount=200)
    services.hold_void(Hold.objects.get(idempotency_key="h-void"))
    return wallet, shop


def run_command() -> str:
    out = io.StringIO()
    call_command("verify_ledger", stdout=out)
    return out.getvalue()


GUARDED_TABLES = ("ledger_journalentry", "ledger_posting", "ledger_chainlink", "ledger_chainseal")


def raw_update(sql: str, params: list) -> None:
    """Change a row behind the ledger's back, as the tables' owner can: switch the append-only triggers off for it
    (the application's role cannot, tests/test_database_roles.py)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Run the deferred checks of the fixture's inserts now, as their COMMIT would have: the tamper
            # happens to a committed journal, not to one whose commit-time checks are still pending (and a table
            # with pending trigger events cannot be altered).
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for table in GUARDED_TABLES:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        try:
            cursor.execute(sql, params)
        finally:
            if connection.vendor == "postgresql":
                for table in GUARDED_TABLES:
                    cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def test_a_healthy_ledger_passes_and_prints_the_head_hash(busy_ledger):
    # when
    output = run_command()
    # then
    assert "Ledger verification: OK" in output
    assert f"Chain head hash: {selectors.chain_head().head_hash}" in output


def test_an_empty_ledger_passes():
    assert verify_ledger().ok


def test_a_tampered_posting_amount_is_found_and_named(busy_ledger):
    # given
    wallet, _ = busy_ledger
    posting = Posting.objects.filter(account=wallet).order_by("-pk").first()
    assert posting is not None
    raw_update("UPDATE ledger_posting SET amount = amount + 1 WHERE id = %s", [posting.pk])
    # when
    out = io.StringIO()
    with pytest.raises(CommandError, match="entries_balance"):
        call_command("verify_ledger", stdout=out)
    # then
    report = out.getvalue()
    assert f"#{posting.pk}" in report
    assert f"entry #{posting.entry_id} does not balance" in report
    # the amount is covered by the entry's body digest, which its chain link hashes
    for check in ("entries_balance", "ledger_balances", "balance_rows_match_postings", "entry_digests"):
        assert f"[FAIL] {check}" in report
    assert f"entry #{posting.entry_id}: stored body digest" in report


def test_a_rewritten_memo_breaks_the_entry_digest(busy_ledger):
    # given
    entry_id = JournalEntry.objects.get(idempotency_key="s1").pk
    raw_update("UPDATE ledger_journalentry SET memo = 'nothing to see' WHERE id = %s", [entry_id])
    # when
    report = verify_ledger()
    # then
    assert not report.ok
    assert report.problem_counts["entry_digests"] == 1
    assert report.problems["entry_digests"][0].startswith(f"entry #{entry_id}: stored body digest")


def test_a_rewritten_memo_with_a_recomputed_digest_breaks_the_hash_chain(busy_ledger):
    # given: the forger rewrites the memo and stores the matching body digest, after the entry was sealed
    seal_pending()
    entry = JournalEntry.objects.get(idempotency_key="s1")
    link = ChainLink.objects.get(entry=entry)
    entry.memo = "nothing to see"
    forged = entry_body_digest(entry, Posting.objects.filter(entry=entry))
    raw_update(
        "UPDATE ledger_journalentry SET memo = %s, body_digest = %s WHERE id = %s", [entry.memo, forged, entry.pk]
    )
    # when
    report = verify_ledger()
    # then: the digest recomputes, but the chain link sealed over the old digest does not
    assert report.problem_counts["entry_digests"] == 0
    assert report.problem_counts["hash_chain"] == 1
    assert report.problems["hash_chain"][0].startswith(f"link #{link.position} (entry #{entry.pk}): stored hash")


def test_a_rewritten_link_breaks_the_hash_chain_from_there_on(busy_ledger):
    # given: a link whose hash is recomputed over a forged digest (the next link still names the old hash)
    seal_pending()
    link = ChainLink.objects.order_by("position")[1]
    forged = chain_hash(link.prev_hash, link.position, "f" * 64)
    raw_update("UPDATE ledger_chainlink SET hash = %s WHERE position = %s", [forged, link.position])
    # when
    report = verify_ledger()
    # then
    assert report.problem_counts["hash_chain"] == 2  # its own recomputation and the next link's prev_hash
    assert f"link #{link.position + 1}" in report.problems["hash_chain"][1]


def test_verification_seals_first_and_every_entry_is_linked(busy_ledger):
    # given: nothing sealed yet
    assert ChainLink.objects.count() == 0
    # when
    report = verify_ledger()
    # then
    assert report.ok
    assert ChainLink.objects.count() == JournalEntry.objects.count() == report.entry_count
    assert report.head_hash == selectors.chain_head().head_hash == ChainLink.objects.order_by("position").last().hash  # type: ignore[union-attr]


def test_an_entry_left_unsealed_past_the_grace_period_is_reported(busy_ledger, monkeypatch):
    # given: a sealer that has not run, and entries older than the grace period (here: any age)
    from ledger import verification

    monkeypatch.setattr(verification, "SEAL_GRACE", dt.timedelta(seconds=-1))
    # when
    report = verify_ledger(seal=False)
    # then
    assert report.problem_counts["sealed"] == JournalEntry.objects.count() == 5
    assert "is not sealed" in report.problems["sealed"][0]
    assert ChainLink.objects.count() == 0  # seal=False writes nothing
    assert verify_ledger().ok  # sealing fixes it


def test_a_tampered_balance_row_is_found(busy_ledger):
    # given
    wallet, _ = busy_ledger
    raw_update(
        "UPDATE ledger_account SET posted_credits = posted_credits + 5, version = version + 1 WHERE id = %s",
        [wallet.pk],
    )
    # when
    report = verify_ledger()
    # then
    assert report.problem_counts["balance_rows_match_postings"] == 1
    assert report.problem_counts["versions_have_no_gaps"] == 1
    assert report.problem_counts["balance_after_chain"] == 1


def test_a_tampered_pending_amount_is_found(busy_ledger):
    wallet, _ = busy_ledger
    raw_update("UPDATE ledger_account SET pending_debits = 0 WHERE id = %s", [wallet.pk])
    assert verify_ledger().problem_counts["pending_matches_open_holds"] == 1


def test_a_tampered_balance_after_is_found(busy_ledger):
    wallet, _ = busy_ledger
    posting = Posting.objects.filter(account=wallet).order_by("account_version")[1]
    raw_update("UPDATE ledger_posting SET balance_after = 0 WHERE id = %s", [posting.pk])
    report = verify_ledger()
    assert f"posting #{posting.pk}" in report.problems["balance_after_chain"][0]


def test_the_periodic_task_records_a_verification_run(busy_ledger):
    # when
    result = verify_ledger_task.delay().get()
    # then
    run = VerificationRun.objects.get()
    assert result == {"run": run.pk, "ok": True, "head_hash": selectors.chain_head().head_hash}
    assert run.ok is True
    assert run.finished_at is not None
    assert run.finished_at >= run.started_at
    assert run.report["checks"]["hash_chain"]["ok"] is True
    assert run.report["checks"]["sealed"]["ok"] is True
    assert run.head_hash == ChainLink.objects.order_by("position").last().hash  # type: ignore[union-attr]
    assert run.entry_count == 5  # funding, two sales, a reversal, a posted hold


def test_the_periodic_task_records_a_failure(busy_ledger):
    raw_update("UPDATE ledger_journalentry SET memo = 'x' WHERE id = %s", [JournalEntry.objects.first().pk])  # type: ignore[union-attr]
    verify_ledger_task.delay()
    run = VerificationRun.objects.get()
    assert run.ok is False
    assert run.report["checks"]["entry_digests"]["ok"] is False
