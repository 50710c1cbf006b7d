"""The Idempotency-Key contract for money-moving POSTs (voucher_service.api.idempotency)."""

import pytest

from ledger.models import JournalEntry
from ledger.services import account_create
from tests.factories import client_for
from tests.race_condition import race

pytestmark = pytest.mark.urls("tests.voucher_service.idempotency_urls")
BODY = {"source": "src", "target": "dst", "amount": "12.34"}


@pytest.fixture
def accounts(db):
    return account_create(code="src", name="source"), account_create(code="dst", name="target")


def post(user, body=BODY, key="key-1"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client_for(user).post("/transfer/", body, format="json", **headers)


@pytest.mark.django_db
def test_same_key_same_body_replays_the_first_result(accounts, applicant):
    # given
    first = post(applicant)
    # when
    again = post(applicant)
    # then
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Location"] == first["Location"]
    assert again["Idempotent-Replayed"] == "true"
    assert JournalEntry.objects.count() == 1


@pytest.mark.django_db
def test_same_key_different_body_is_409(accounts, applicant):
    post(applicant)
    response = post(applicant, {**BODY, "amount": "99.00"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert JournalEntry.objects.count() == 1


@pytest.mark.django_db
def test_keys_are_scoped_per_user(accounts, applicant, outsider):
    post(applicant)
    assert post(outsider).status_code == 201
    assert JournalEntry.objects.count() == 2


@pytest.mark.django_db
def test_without_a_key_every_post_runs(accounts, applicant):
    post(applicant, key=None)
    post(applicant, key=None)
    assert JournalEntry.objects.count() == 2


@pytest.mark.django_db
def test_a_failed_request_releases_the_key(accounts, applicant):
    # given a request refused for bad input (nothing written)
    refused = post(applicant, {**BODY, "amount": "1.234"})
    # when the client corrects the body and retries with the same key
    corrected = post(applicant, {**BODY, "amount": "1.23"})
    # then
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"]["amount"]
    assert corrected.status_code == 201
    assert JournalEntry.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "x" * 256, "bad\nkey"])
def test_a_malformed_key_is_a_400_on_the_header(accounts, applicant, key):
    response = post(applicant, key=key)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]["fields"]
    assert JournalEntry.objects.count() == 0


@pytest.mark.django_db
def test_a_stale_in_progress_claim_can_be_taken_over(accounts, applicant):
    from datetime import timedelta

    from django.utils import timezone

    from voucher_service.api.idempotency import request_fingerprint  # noqa: F401  (documents the mechanism)
    from voucher_service.models import IdempotencyRecord

    # given a claim left behind by a request that died 10 minutes ago, before its operation committed
    post(applicant, key="crashed")
    IdempotencyRecord.objects.filter(key="crashed").update(
        status="in_progress", executed=False, created_at=timezone.now() - timedelta(minutes=10)
    )
    # when
    retried = post(applicant, key="crashed")
    # then
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried


@pytest.mark.django_db
def test_a_fresh_in_progress_claim_answers_409_retry_later(accounts, applicant):
    from voucher_service.models import IdempotencyRecord

    # given a request with this key still running: claimed, its operation not committed yet
    post(applicant, key="busy")
    IdempotencyRecord.objects.filter(key="busy").update(status="in_progress", executed=False)
    response = post(applicant, key="busy")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_request_in_progress"
    assert response["Retry-After"] == "1"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_move_money_once(accounts, applicant):
    # given 40 identical requests released at the same instant
    calls = [lambda: post(applicant, key="race") for _ in range(40)]
    # when
    outcomes = race(calls, threads=20)
    # then exactly one ran; the others replayed it or were told to retry
    responses = [outcome.value for outcome in outcomes]
    assert all(outcome.ok for outcome in outcomes), [o.error for o in outcomes if not o.ok]
    assert {r.status_code for r in responses} <= {201, 409}
    created = [r for r in responses if r.status_code == 201]
    assert created
    assert len({r.json()["entry"] for r in created}) == 1
    assert JournalEntry.objects.count() == 1


# The crash-safety of the key needs the operation's real transaction (the before-commit fence), so these run with
# transaction=True: on SQLite and on PostgreSQL alike.


@pytest.mark.django_db(transaction=True)
def test_an_executed_request_whose_answer_was_lost_is_never_run_again(accounts, applicant):
    from datetime import timedelta

    from django.utils import timezone

    from voucher_service.models import IdempotencyRecord

    # given a request that committed, then the process died before recording its answer
    assert post(applicant, key="lost").status_code == 201
    record = IdempotencyRecord.objects.get(key="lost")
    assert record.executed
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        status="in_progress", response_body=None, created_at=timezone.now() - timedelta(hours=1)
    )
    # when the client retries with the same key, long after
    retried = post(applicant, key="lost")
    # then nothing runs again
    assert retried.status_code == 409
    assert retried.json()["error"]["code"] == "idempotency_request_executed"
    assert JournalEntry.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_request_whose_claim_was_taken_over_rolls_back(accounts, applicant):
    # when another request takes the key over while this one runs
    response = post(applicant, {**BODY, "simulate_takeover": True}, key="fenced")
    # then this one's money movement is rolled back and it says why
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_request_superseded"
    assert JournalEntry.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_the_fence_marks_the_record_in_the_same_transaction(accounts, applicant):
    from voucher_service.models import IdempotencyRecord

    assert post(applicant, key="marked").status_code == 201
    record = IdempotencyRecord.objects.get(key="marked")
    assert (record.executed, record.status) == (True, "completed")


# --- Retention (issue 10, item 14) -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_records_past_the_retention_period_are_purged(settings):
    # given one record two days old and one an hour old (IDEMPOTENCY_KEY_RETENTION_HOURS: 24)
    from datetime import timedelta

    from django.utils import timezone

    from tests.factories import make_user
    from voucher_service.api.idempotency import idempotency_records_purge
    from voucher_service.models import IdempotencyRecord
    from voucher_service.tasks import purge_idempotency_records

    user = make_user(None)
    now = timezone.now()
    old = IdempotencyRecord.objects.create(user=user, key="old", method="POST", path="/x", fingerprint="f")
    IdempotencyRecord.objects.filter(pk=old.pk).update(created_at=now - timedelta(hours=48))
    IdempotencyRecord.objects.create(user=user, key="new", method="POST", path="/x", fingerprint="f")
    # when the beat task runs
    assert purge_idempotency_records.delay().get() == 1
    # then only the fresh one is left, and a second run finds nothing
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
    assert idempotency_records_purge() == 0
    assert settings.IDEMPOTENCY_KEY_RETENTION_HOURS == 24


def test_the_purge_is_on_the_beat_schedule():
    from voucher_service.celery import _beat_schedule

    assert _beat_schedule()["api-purge-idempotency-records"]["task"] == "api.purge_idempotency_records"
