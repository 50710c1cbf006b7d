"""``voucher_service.db``: the plain-SQL helpers behave as the ORM calls they replace, on both databases."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from voucher_service.db import insert_unless_conflict, set_column_by_pk, update_where
from voucher_service.models import IdempotencyRecord, IdempotencyStatus

pytestmark = pytest.mark.django_db


def record(user, key: str, **fields) -> IdempotencyRecord:
    return IdempotencyRecord(user=user, key=key, method="POST", path="/x/", fingerprint="f" * 64, **fields)


def test_insert_unless_conflict_inserts_a_new_row_as_save_would(reviewer):
    # given an unsaved record relying on the model's defaults (status, attempt, executed, headers, created_at)
    fresh = record(reviewer, "k-1")
    # when it is inserted, in one statement
    with CaptureQueriesContext(connection) as queries:
        inserted = insert_unless_conflict(fresh, ("user", "key"))
    # then it is stored with every default, and the instance knows its primary key
    assert inserted is True
    assert len(queries) == 1
    stored = IdempotencyRecord.objects.get(pk=fresh.pk)
    assert (stored.status, stored.attempt, stored.executed) == (IdempotencyStatus.IN_PROGRESS, "", False)
    assert stored.response_headers == {}
    assert stored.response_body is None
    assert stored.created_at == fresh.created_at
    assert fresh._state.adding is False


def test_insert_unless_conflict_leaves_an_existing_key_alone(reviewer, finance):
    # given a record holding a key
    first = record(reviewer, "k-2", attempt="a" * 32)
    assert insert_unless_conflict(first, ("user", "key"))
    # when the same user's key is inserted again, and another user's same key
    again, other = record(reviewer, "k-2", attempt="b" * 32), record(finance, "k-2")
    # then the first stays as it was, the second user's is a row of its own
    assert insert_unless_conflict(again, ("user", "key")) is False
    assert again.pk is None
    assert insert_unless_conflict(other, ("user", "key")) is True
    assert IdempotencyRecord.objects.get(pk=first.pk).attempt == "a" * 32
    assert IdempotencyRecord.objects.filter(key="k-2").count() == 2


def test_set_column_by_pk_sets_each_rows_value_and_the_shared_ones(reviewer):
    # given three records
    rows = [record(reviewer, f"k-{n}") for n in range(3)]
    for row in rows:
        insert_unless_conflict(row, ("user", "key"))
    # when two get a status of their own and both a shared attempt
    updated = set_column_by_pk(
        IdempotencyRecord,
        "status",
        {rows[0].pk: IdempotencyStatus.COMPLETED, rows[1].pk: IdempotencyStatus.IN_PROGRESS},
        and_set={"attempt": "c" * 32},
    )
    # then only those two changed
    assert updated == 2
    stored = {r.pk: (r.status, r.attempt) for r in IdempotencyRecord.objects.filter(pk__in=[r.pk for r in rows])}
    assert stored == {
        rows[0].pk: (IdempotencyStatus.COMPLETED, "c" * 32),
        rows[1].pk: (IdempotencyStatus.IN_PROGRESS, "c" * 32),
        rows[2].pk: (IdempotencyStatus.IN_PROGRESS, ""),
    }


def test_update_where_sets_converted_values_on_the_matching_rows_only(reviewer):
    # given two records of one user, one with the attempt the update names
    mine, other = record(reviewer, "k-10", attempt="a" * 32), record(reviewer, "k-11", attempt="b" * 32)
    for row in (mine, other):
        insert_unless_conflict(row, ("user", "key"))
    done_at = timezone.now()
    # when the first is completed with a JSON body, headers and a time, in one statement
    with CaptureQueriesContext(connection) as queries:
        updated = update_where(
            IdempotencyRecord,
            {"id": mine.pk, "attempt": "a" * 32},
            {
                "status": IdempotencyStatus.COMPLETED,
                "response_body": {"issuance": {"id": 1, "amount": "200.00"}, "ok": [True, None]},
                "response_headers": {"Location": "/x/1/"},
                "completed_at": done_at,
            },
        )
    # then that row reads back as the ORM would have written it, and the other is untouched
    assert (updated, len(queries)) == (1, 1)
    stored = IdempotencyRecord.objects.get(pk=mine.pk)
    assert stored.status == IdempotencyStatus.COMPLETED
    assert stored.response_body == {"issuance": {"id": 1, "amount": "200.00"}, "ok": [True, None]}
    assert (stored.response_headers, stored.completed_at) == ({"Location": "/x/1/"}, done_at)
    assert IdempotencyRecord.objects.get(pk=other.pk).status == IdempotencyStatus.IN_PROGRESS


def test_update_where_matches_nothing_when_a_condition_fails(reviewer):
    # given a record whose attempt was taken over
    row = record(reviewer, "k-12", attempt="c" * 32)
    insert_unless_conflict(row, ("user", "key"))
    # when an update names the old attempt
    updated = update_where(IdempotencyRecord, {"id": row.pk, "attempt": "d" * 32}, {"executed": True})
    # then nothing changes, and the caller learns it from the count
    assert updated == 0
    assert IdempotencyRecord.objects.get(pk=row.pk).executed is False
    with pytest.raises(ValueError, match="at least one"):
        update_where(IdempotencyRecord, {}, {"executed": True})
