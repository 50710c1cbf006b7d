"""The database itself refuses bad writes that bypass the service layer.

CHECK constraints and the unique keys hold on both backends. PostgreSQL adds triggers: the journal is
append-only and every entry's postings sum to zero at commit (deferred). On SQLite the ORM guards refuse
updates and deletes made through models; raw SQL there is caught afterwards by ``verify_ledger``.
"""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from ledger import services
from ledger.models import AppendOnlyError, ChainLink, JournalEntry, Posting
from ledger.sealing import seal_pending

pytestmark = pytest.mark.django_db


@pytest.fixture
def posted(funded, make_account):
    _, wallet = funded(1_000)
    shop = make_account()
    entry = services.entry_post(
        actor=None, idempotency_key="sale", lines=[(wallet, "debit", 100), (shop, "credit", 100)]
    )
    return wallet, shop, entry


def execute(sql: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])


BAD_WRITES_ON_EVERY_BACKEND = {
    "zero posting amount": "INSERT INTO ledger_posting (entry_id, account_id, direction, amount, account_version, "
    "balance_after, recorded_at) VALUES ({entry}, {shop}, 'credit', 0, 99, 0, '2026-01-01')",
    "negative posting amount": "INSERT INTO ledger_posting (entry_id, account_id, direction, amount, "
    "account_version, balance_after, recorded_at) VALUES ({entry}, {shop}, 'credit', -5, 99, 0, '2026-01-01')",
    "unknown direction": "INSERT INTO ledger_posting (entry_id, account_id, direction, amount, account_version, "
    "balance_after, recorded_at) VALUES ({entry}, {shop}, 'both', 5, 99, 0, '2026-01-01')",
    "duplicate account version": "INSERT INTO ledger_posting (entry_id, account_id, direction, amount, "
    "account_version, balance_after, recorded_at) VALUES ({entry}, {shop}, 'credit', 5, 1, 0, '2026-01-01')",
    "negative counter": "UPDATE ledger_account SET pending_credits = -1 WHERE id = {shop}",
    "debit limit broken": "UPDATE ledger_account SET posted_debits = posted_credits + 1 WHERE id = {wallet}",
    "debit limit broken by pending": "UPDATE ledger_account SET pending_debits = 901 WHERE id = {wallet}",
    "both limit flags": "UPDATE ledger_account SET credits_must_not_exceed_debits = TRUE WHERE id = {wallet}",
    "hold of zero": "INSERT INTO ledger_hold (idempotency_key, request_fingerprint, debit_account_id, "
    "credit_account_id, amount, currency, status, created_at, expires_at, memo, metadata, "
    "debit_version_created, credit_version_created) VALUES ('h', 'f', {wallet}, {shop}, 0, 'CNY', 'pending', "
    "'2026-01-01', '2026-01-02', '', '{{}}', 1, 1)",
}


@pytest.mark.parametrize("name", sorted(BAD_WRITES_ON_EVERY_BACKEND))
def test_check_constraints_refuse_raw_bad_writes(posted, name):
    # given
    wallet, shop, entry = posted
    sql = BAD_WRITES_ON_EVERY_BACKEND[name].format(entry=entry.pk, shop=shop.pk, wallet=wallet.pk)
    # when / then
    with pytest.raises(IntegrityError), transaction.atomic():
        execute(sql)


@pytest.mark.parametrize(
    "write",
    [
        lambda: Posting.objects.filter(amount=100).update(amount=1),
        lambda: Posting.objects.all().delete(),
        lambda: JournalEntry.objects.update(memo="rewritten"),
        lambda: JournalEntry.objects.first().delete(),  # type: ignore[union-attr]
        lambda: JournalEntry.objects.first().save(),  # type: ignore[union-attr]
        lambda: Posting.objects.first().save(),  # type: ignore[union-attr]
        lambda: ChainLink.objects.update(hash="0" * 64),
        lambda: ChainLink.objects.all().delete(),
        lambda: ChainLink.objects.first().save(),  # type: ignore[union-attr]
    ],
    ids=[
        "update-postings",
        "delete-postings",
        "update-entries",
        "delete-entry",
        "save-entry",
        "save-posting",
        "update-links",
        "delete-links",
        "save-link",
    ],
)
def test_orm_refuses_to_change_the_journal(posted, write):
    seal_pending()
    with pytest.raises(AppendOnlyError):
        write()


RAW_CHANGES_REFUSED_BY_POSTGRESQL = {
    "update posting amount": "UPDATE ledger_posting SET amount = amount + 1 WHERE entry_id = {entry}",
    "delete posting": "DELETE FROM ledger_posting WHERE entry_id = {entry}",
    "update entry memo": "UPDATE ledger_journalentry SET memo = 'rewritten' WHERE id = {entry}",
    "delete entry": "DELETE FROM ledger_journalentry WHERE id = {entry}",
    "update chain link hash": "UPDATE ledger_chainlink SET hash = repeat('0', 64) WHERE entry_id = {entry}",
    "delete chain link": "DELETE FROM ledger_chainlink WHERE entry_id = {entry}",
}


@pytest.mark.postgres
@pytest.mark.parametrize("name", sorted(RAW_CHANGES_REFUSED_BY_POSTGRESQL))
def test_postgresql_triggers_make_the_journal_append_only(posted, name):
    # given: the entry is sealed, so it has a chain link to attack too
    _, _, entry = posted
    assert seal_pending() >= 1
    # when / then
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        execute(RAW_CHANGES_REFUSED_BY_POSTGRESQL[name].format(entry=entry.pk))


def insert_raw_entry(entry_id: int, postings: list[tuple[int, str, int]]) -> None:
    now = timezone.now()
    execute(
        "INSERT INTO ledger_journalentry (id, idempotency_key, request_fingerprint, currency, effective_at, "
        "recorded_at, memo, metadata, body_digest) VALUES (%s, %s, 'f', 'CNY', %s, %s, '', '{}', 'd')",
        [entry_id, f"raw-{entry_id}", now, now],
    )
    for version, (account_id, direction, amount) in enumerate(postings, start=100):
        execute(
            "INSERT INTO ledger_posting (entry_id, account_id, direction, amount, account_version, balance_after, "
            "recorded_at) VALUES (%s, %s, %s, %s, %s, 0, %s)",
            [entry_id, account_id, direction, amount, version, now],
        )


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("postings", "message"),
    [
        (lambda w, s: [(w, "debit", 10), (s, "credit", 9)], "does not balance"),
        (lambda w, s: [(w, "debit", 10)], "at least two"),
    ],
    ids=["unbalanced", "single-posting"],
)
def test_postgresql_refuses_an_unbalanced_entry_at_commit(posted, postings, message):
    # given
    wallet, shop, entry = posted
    with transaction.atomic():
        insert_raw_entry(entry.pk + 1, postings(wallet.pk, shop.pk))
        # when: the check is deferred to COMMIT; SET CONSTRAINTS ALL IMMEDIATE runs it now, inside the test
        with pytest.raises(IntegrityError, match=message):
            execute("SET CONSTRAINTS ALL IMMEDIATE")
        transaction.set_rollback(True)


@pytest.mark.postgres
def test_postgresql_accepts_a_balanced_raw_entry(posted):
    # given
    wallet, shop, entry = posted
    # when
    with transaction.atomic():
        insert_raw_entry(entry.pk + 1, [(wallet.pk, "debit", 7), (shop.pk, "credit", 7)])
        execute("SET CONSTRAINTS ALL IMMEDIATE")
        execute("SET CONSTRAINTS ALL DEFERRED")
    # then
    assert JournalEntry.objects.filter(pk=entry.pk + 1).exists()
