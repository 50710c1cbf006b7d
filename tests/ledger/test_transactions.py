"""Transaction shape: durable with retries when alone, a savepoint inside the caller's transaction."""

from __future__ import annotations

import pytest
from django.db import OperationalError, connection, transaction
from django.test.utils import CaptureQueriesContext

from core import transactions
from core.transactions import lock_in_pk_order, service_write
from ledger import services
from ledger.errors import LedgerErrorCode
from ledger.models import Account, JournalEntry
from tests.refusals import is_refusal, refused


class FakeSqlError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def db_conflict(sqlstate: str) -> OperationalError:
    error = OperationalError(f"simulated {sqlstate}")
    error.__cause__ = FakeSqlError(sqlstate)
    return error


@pytest.fixture
def no_backoff(monkeypatch):
    monkeypatch.setattr(transactions, "_backoff", lambda attempt: None)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("sqlstate", ["40P01", "40001"])
def test_conflicts_are_retried_in_a_fresh_durable_transaction(no_backoff, sqlstate):
    # given: a unit of work that hits a deadlock twice
    attempts = []

    @service_write
    def work() -> str:
        attempts.append(connection.in_atomic_block)
        if len(attempts) < 3:
            raise db_conflict(sqlstate)
        return "done"

    # when
    result = work()
    # then
    assert result == "done"
    assert attempts == [True, True, True]


@pytest.mark.django_db(transaction=True)
def test_other_errors_are_not_retried(no_backoff):
    calls = []

    @service_write
    def work() -> None:
        calls.append(1)
        raise db_conflict("23505")

    with pytest.raises(OperationalError):
        work()
    assert calls == [1]


@pytest.mark.django_db(transaction=True)
def test_retries_give_up_after_max_attempts(no_backoff):
    calls = []

    @service_write(max_attempts=3)
    def work() -> None:
        calls.append(1)
        raise db_conflict("40P01")

    with pytest.raises(OperationalError):
        work()
    assert len(calls) == 3


@pytest.mark.django_db(transaction=True)
def test_inside_a_caller_transaction_there_is_no_retry(no_backoff):
    # given
    calls = []

    @service_write
    def work() -> None:
        calls.append(1)
        raise db_conflict("40P01")

    # when / then: the caller's transaction is the one to re-run
    with pytest.raises(OperationalError), transaction.atomic():
        work()
    assert calls == [1]


@pytest.mark.django_db(transaction=True)
def test_an_operation_commits_on_its_own(make_account):
    # given
    a, b = make_account(), make_account()
    # when
    services.entry_post(actor=None, idempotency_key="alone", lines=[(a, "debit", 1), (b, "credit", 1)])
    # then
    assert JournalEntry.objects.filter(idempotency_key="alone").exists()


@pytest.mark.django_db(transaction=True)
def test_an_operation_joins_the_callers_transaction(make_account):
    # given
    a, b = make_account(), make_account()

    # when: the caller fails after the ledger wrote
    class CallerFailed(Exception):
        pass

    def caller() -> None:
        with transaction.atomic(durable=True):
            services.entry_post(actor=None, idempotency_key="joined", lines=[(a, "debit", 1), (b, "credit", 1)])
            raise CallerFailed

    with pytest.raises(CallerFailed):
        caller()
    # then: the entry went with it
    assert not JournalEntry.objects.exists()
    a.refresh_from_db()
    assert a.version == 0


@pytest.mark.django_db(transaction=True)
def test_a_refusal_inside_the_callers_transaction_keeps_the_callers_work(make_account):
    # given
    a, b = make_account(), make_account(debits_must_not_exceed_credits=True)
    # when
    with transaction.atomic(durable=True):
        services.entry_post(actor=None, idempotency_key="ok", lines=[(a, "debit", 5), (b, "credit", 5)])
        with refused(LedgerErrorCode.LIMIT_EXCEEDED):
            services.entry_post(actor=None, idempotency_key="too-much", lines=[(b, "debit", 6), (a, "credit", 6)])
        services.entry_post(actor=None, idempotency_key="ok-2", lines=[(b, "debit", 5), (a, "credit", 5)])
    # then
    assert list(JournalEntry.objects.values_list("idempotency_key", flat=True)) == ["ok", "ok-2"]


@pytest.mark.django_db
def test_lock_in_pk_order_locks_rows_sorted_by_pk(make_account):
    # given
    accounts = [make_account() for _ in range(3)]
    ids = [accounts[2].pk, accounts[0].pk, accounts[1].pk, accounts[0].pk]
    # when
    with CaptureQueriesContext(connection) as queries:
        locked = lock_in_pk_order(Account, ids)
    # then
    assert [a.pk for a in locked] == sorted({a.pk for a in accounts})
    sql = queries.captured_queries[-1]["sql"]
    assert "ORDER BY" in sql
    if connection.vendor == "postgresql":
        assert "FOR UPDATE" in sql


@pytest.mark.django_db
def test_lock_in_pk_order_accepts_a_queryset(make_account):
    a, b = make_account(), make_account(currency="USD")
    assert lock_in_pk_order(Account.objects.filter(currency="USD"), [a.pk, b.pk]) == [b]


@pytest.mark.django_db
def test_posting_path_stays_lean(make_account):
    """The hot path is a fixed handful of statements, whatever the number of lines."""
    a, b, c = make_account(), make_account(), make_account()
    with CaptureQueriesContext(connection) as queries:
        services.entry_post(
            actor=None, idempotency_key="lean", lines=[(a, "debit", 3), (b, "credit", 2), (c, "credit", 1)]
        )
    if connection.vendor == "postgresql":
        # One call of ledger_post_entry, straight on psycopg (so not captured here), and inside the caller's
        # transaction no savepoint around it: a refusal is an outcome, not a database error.
        assert queries.captured_queries == []
    else:
        # SQLite: a savepoint, the locks (none), a key check and separate writes (entry, queue, postings, balances).
        assert len(queries.captured_queries) <= 10


@pytest.mark.django_db(transaction=True)
def test_a_post_requests_its_seal_only_when_the_outermost_transaction_commits(make_account, monkeypatch):
    # given
    from ledger import sealing

    requested: list[bool] = []
    monkeypatch.setattr(sealing, "enqueue_seal", lambda: requested.append(True))
    a, b = make_account(), make_account()
    # when: inside a caller's transaction
    with transaction.atomic(durable=True):
        services.entry_post(actor=None, idempotency_key="inside", lines=[(a, "debit", 1), (b, "credit", 1)])
        assert connection.in_atomic_block
        assert requested == []
    # then
    assert requested == [True]
    # when: the caller rolls back, or the post is a replay
    with transaction.atomic(durable=True):
        services.entry_post(actor=None, idempotency_key="undone", lines=[(a, "debit", 1), (b, "credit", 1)])
        transaction.set_rollback(True)
    services.entry_post(actor=None, idempotency_key="inside", lines=[(a, "debit", 1), (b, "credit", 1)])
    # then: no further request
    assert requested == [True]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_post_alone_is_one_round_trip_and_its_own_transaction(make_account, monkeypatch, tmp_path):
    # given: nothing open, and the seal request recorded
    from ledger import sealing

    requested: list[bool] = []
    monkeypatch.setattr(sealing, "enqueue_seal", lambda: requested.append(True))
    a, b = make_account(), make_account()
    connection.ensure_connection()
    trace = tmp_path / "libpq.trace"
    # when: the wire protocol is traced around one post
    with trace.open("w") as sink:
        connection.connection.pgconn.trace(sink.fileno())
        entry = services.entry_post(actor=None, idempotency_key="alone", lines=[(a, "debit", 4), (b, "credit", 4)])
        connection.connection.pgconn.untrace()
    # then: one Execute, no BEGIN or COMMIT; committed (another connection sees it) and a seal was requested
    # A libpq trace line: timestamp, F (frontend) or B (backend), length, message type, contents.
    sent = [fields[3] for fields in (line.split("\t") for line in trace.read_text().splitlines()) if fields[1] == "F"]
    assert [message for message in sent if message in ("Execute", "Query")] == ["Execute"]
    assert not connection.in_atomic_block
    assert JournalEntry.objects.filter(pk=entry.pk, body_digest=entry.body_digest).exists()
    assert requested == [True]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_post_alone_is_retried_after_a_deadlock(make_account, monkeypatch, no_backoff):
    # given: the database reports a deadlock on the first two tries
    from ledger import services as ledger_services

    real_post = ledger_services.post_in_database
    failures = iter([db_conflict("40P01"), db_conflict("40P01")])

    def flaky(draft):
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return real_post(draft)

    monkeypatch.setattr(ledger_services, "post_in_database", flaky)
    a, b = make_account(), make_account()
    # when
    entry = services.entry_post(actor=None, idempotency_key="retried", lines=[(a, "debit", 4), (b, "credit", 4)])
    # then
    assert list(JournalEntry.objects.values_list("pk", flat=True)) == [entry.pk]


@pytest.mark.postgres  # the autocommit fast path is PostgreSQL's; Django's sqlite3 manual mode is its own story
@pytest.mark.django_db(transaction=True)
def test_a_post_under_manual_transaction_management_stays_in_the_callers_transaction(make_account):
    # given: the caller manages the transaction itself (autocommit off, no atomic block)
    a, b = make_account(), make_account()
    transaction.set_autocommit(False)
    try:
        # when: it posts, then rolls back
        services.entry_post(actor=None, idempotency_key="manual", lines=[(a, "debit", 4), (b, "credit", 4)])
        transaction.rollback()
    finally:
        transaction.set_autocommit(True)
    # then: the post was part of the caller's transaction, not committed on its own
    assert not JournalEntry.objects.filter(idempotency_key="manual").exists()


@pytest.mark.django_db(transaction=True)
def test_a_post_with_a_before_commit_hook_runs_in_a_durable_transaction(make_account):
    # given: a unit of work that must commit with the post (the API's idempotency fence)
    seen: list[bool] = []
    a, b = make_account(), make_account()
    # when
    with transactions.before_commit(lambda: seen.append(connection.in_atomic_block)):
        services.entry_post(actor=None, idempotency_key="fenced", lines=[(a, "debit", 4), (b, "credit", 4)])
    # then: the hook ran once, inside the post's transaction
    assert seen == [True]
    assert JournalEntry.objects.filter(idempotency_key="fenced").exists()


def test_seal_requests_are_debounced_per_process(monkeypatch):
    # given
    from ledger import sealing, tasks

    sent: list[dict] = []
    monkeypatch.setattr(tasks.seal_ledger_task, "apply_async", lambda **options: sent.append(options))
    monkeypatch.setattr(sealing, "_last_enqueued", -sealing.SEAL_DEBOUNCE_SECONDS)
    # when: a burst of commits
    for _ in range(50):
        sealing.enqueue_seal()
    # then: one task, delayed by the debounce window so it runs after every commit of that window
    assert sent == [{"countdown": sealing.SEAL_DEBOUNCE_SECONDS}]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_key_taken_after_the_check_is_replayed_on_the_portable_path(make_account, monkeypatch):
    # given: the entry exists, but the pre-lock key check misses it once (as if a twin committed just then)
    from ledger import services as ledger_services

    monkeypatch.setattr(ledger_services, "posts_in_database", lambda: False)
    a, b = make_account(), make_account()
    original = services.entry_post(actor=None, idempotency_key="twin", lines=[(a, "debit", 9), (b, "credit", 9)])
    real_lookup = ledger_services.fingerprint_for_key
    misses = iter([None])
    monkeypatch.setattr(
        ledger_services, "fingerprint_for_key", lambda table, key: next(misses, None) or real_lookup(table, key)
    )
    # when
    again = services.entry_post(actor=None, idempotency_key="twin", lines=[(a, "debit", 9), (b, "credit", 9)])
    # then
    assert again.pk == original.pk
    assert JournalEntry.objects.count() == 1
    a.refresh_from_db()
    assert (a.posted_debits, a.version) == (9, 1)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_twin_on_other_accounts_committing_the_key_mid_post_is_a_conflict(make_account):
    # given: one entry holds key "twin" uncommitted; another request under that key, on other accounts, passes
    # the function's key check (it cannot see the twin yet) and waits on the key in its insert
    import threading

    from tests.race_condition import run_in_thread, wait_for_lock_waiters

    a, b, c, d = (make_account() for _ in range(4))
    written, release = threading.Event(), threading.Event()

    def hold_the_commit() -> None:
        written.set()
        release.wait(10)

    def first() -> JournalEntry:
        with transactions.before_commit(hold_the_commit):
            return services.entry_post(actor=None, idempotency_key="twin", lines=[(a, "debit", 5), (b, "credit", 5)])

    def second() -> JournalEntry:
        return services.entry_post(actor=None, idempotency_key="twin", lines=[(c, "debit", 7), (d, "credit", 7)])

    first_thread, first_outcome = run_in_thread(first)
    assert written.wait(10)
    second_thread, second_outcome = run_in_thread(second)
    wait_for_lock_waiters(1)
    # when: the first commits
    release.set()
    first_thread.join(10)
    second_thread.join(10)
    # then: the second wrote nothing and is told the key is taken by another request
    assert first_outcome.ok
    assert is_refusal(second_outcome.error, LedgerErrorCode.IDEMPOTENCY_CONFLICT)
    assert list(JournalEntry.objects.values_list("pk", flat=True)) == [first_outcome.value.pk]
    assert list(Account.objects.filter(pk__in=[c.pk, d.pk]).values_list("version", flat=True)) == [0, 0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_database_refusal_in_the_append_rolls_back_cleanly(funded, make_account, monkeypatch):
    # given: the portable path with its limit check switched off, so only the database CHECK stands in the way
    from django.db import IntegrityError

    from ledger import services as ledger_services
    from tests.snapshots import ledger_snapshot

    _, wallet = funded(100)
    shop = make_account()
    before = ledger_snapshot()
    monkeypatch.setattr(ledger_services, "posts_in_database", lambda: False)
    monkeypatch.setattr(ledger_services, "_limit_breach", lambda account: None)
    # when
    with pytest.raises(IntegrityError, match="ledger_account_debits_limit"):
        services.entry_post(actor=None, idempotency_key="over", lines=[(wallet, "debit", 101), (shop, "credit", 101)])
    # then: nothing was written and the connection goes on working
    assert ledger_snapshot() == before
    services.entry_post(actor=None, idempotency_key="fine", lines=[(wallet, "debit", 100), (shop, "credit", 100)])
    assert JournalEntry.objects.filter(idempotency_key="fine").exists()


@pytest.mark.django_db(transaction=True)
def test_sealing_from_an_on_commit_callback_does_not_run_the_callers_before_commit_hooks(make_account, monkeypatch):
    # given: a request-style unit of work with a before-commit hook, sealing eagerly once it commits
    import time

    from ledger import sealing
    from ledger.sealing import seal_pending

    # The on-commit seal request is debounced per process: pin the window open so it sends nothing and this test
    # seals explicitly, whatever ran just before it.
    monkeypatch.setattr(sealing, "_last_enqueued", time.monotonic() + 3600)

    calls: list[str] = []
    a, b = make_account(), make_account()
    with transactions.before_commit(lambda: calls.append("hook")):
        services.entry_post(actor=None, idempotency_key="hooked", lines=[(a, "debit", 1), (b, "credit", 1)])
        # when
        sealed = seal_pending()
    # then: the hook ran once, in the post's transaction, not again in the seal's
    assert sealed == 1
    assert calls == ["hook"]
