"""core.transactions: one decorator for a service write, tasks sent on commit (the retries are tested in
tests/ledger/test_transactions.py, on the ledger's writes)."""

from __future__ import annotations

import pytest
from django.db import transaction

from accounts.models import Jurisdiction
from core.transactions import before_commit, enqueue_on_commit, in_callers_transaction, service_write


class Refused(Exception):
    pass


@service_write
def rename(code: str, name: str, *, refuse: bool = False) -> None:
    Jurisdiction.objects.filter(code=code).update(name=name)
    if refuse:
        raise Refused


@pytest.mark.django_db(transaction=True)
def test_a_write_joins_the_callers_transaction_in_a_savepoint():
    # given a caller's transaction that renames one place, then calls a write that is refused
    with transaction.atomic():
        rename("640000", "宁夏")
        # when
        with pytest.raises(Refused):
            rename("640100", "银川", refuse=True)
        rename("130600", "保定")
    # then the refused write left nothing, and the caller's own work committed
    names = dict(Jurisdiction.objects.filter(code__in=["640000", "640100", "130600"]).values_list("code", "name"))
    assert names["640000"] == "宁夏"
    assert names["130600"] == "保定"
    assert names["640100"] != "银川"


@pytest.mark.django_db
def test_a_test_cases_own_transaction_is_not_the_callers():
    # given a test wrapped in its transaction (pytest-django's db), with a before-commit hook
    seen = []
    assert not in_callers_transaction()
    # when a write runs
    with before_commit(lambda: seen.append(in_callers_transaction())):
        rename("640000", "宁夏")
    # then it ran as alone, as in production: its own durable transaction ran the hook
    assert seen == [True]


@pytest.mark.django_db(transaction=True)
def test_a_task_is_sent_once_the_write_commits_and_never_after_a_rollback():
    # given a task that records what it is sent
    sent = []

    class Task:
        def delay(self, *ids: int) -> None:
            sent.append(ids)

    # when one write commits and another rolls back
    with transaction.atomic():
        enqueue_on_commit(Task(), 1, 2)
        assert sent == []

    def refused_write() -> None:
        with transaction.atomic():
            enqueue_on_commit(Task(), 3)
            raise Refused

    with pytest.raises(Refused):
        refused_write()
    # then only the committed one was sent, with its ids
    assert sent == [(1, 2)]


@pytest.mark.django_db(transaction=True)
def test_a_broker_outage_does_not_undo_or_fail_the_committed_write(caplog):
    # given a broker that is down
    class Down:
        def delay(self, *ids: int) -> None:
            raise ConnectionError("broker down")

    # when a write that enqueues commits
    with transaction.atomic():
        rename("640000", "宁夏回族自治区")
        enqueue_on_commit(Down(), 7)
    # then the write stands and the failure is logged, not raised
    assert Jurisdiction.objects.get(code="640000").name == "宁夏回族自治区"
    assert "broker down" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_a_task_run_eagerly_on_commit_does_not_run_the_callers_before_commit_hooks():
    # given a request-style unit of work with a before-commit hook, whose task runs a write as soon as it commits
    calls: list[str] = []

    class EagerTask:
        def delay(self, code: str) -> None:
            rename(code, "银川市")

    @service_write
    def rename_on_commit(code: str) -> None:
        enqueue_on_commit(EagerTask(), code)

    # when
    with before_commit(lambda: calls.append("hook")):
        rename_on_commit("640100")
    # then the task's write ran, and the hook once, in the caller's transaction, not again in the task's
    assert Jurisdiction.objects.get(code="640100").name == "银川市"
    assert calls == ["hook"]
