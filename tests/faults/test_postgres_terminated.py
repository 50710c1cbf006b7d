"""Injected fault: every PostgreSQL connection of the service is terminated (``pg_terminate_backend``, from a
superuser's session) three times during a burst of requests (approvals with an Idempotency-Key, new
applications; after a quarter, half and three quarters of them) and of the issuance tasks they queue (a real
worker on a private Redis).

Requests either succeed or fail whole (a 500: the database went away; the broken connection is dropped after,
as a server does); the worker's tasks retry on the error; the client retries what failed, with the same key, as
the 409's Retry-After says (an approval that died holding its key leaves the key claimed until it is stale: the
retries run as if that much later). Afterwards nothing is half-written: an application is approved exactly when
it has one issuance and one approval event, every issuance is done, and the ledger verifies.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import psycopg
import pytest
from django.db import OperationalError, close_old_connections, connection
from django.db.utils import InterfaceError
from django.utils import timezone

from accounts.models import AuditEvent
from ledger.models import Account
from ledger.verification import verify_ledger
from tests.factories import client_for
from tests.faults.processes import app_sending_to, wait_until
from tests.race_condition import race
from tests.stress import checks
from tests.stress.operations import YUAN
from voucher_service.api.idempotency import STALE_AFTER
from voucher_service.vouchers.models import ApplicationStatus, Issuance, IssuanceStatus, Voucher, VoucherApplication
from voucher_service.vouchers.services import application_submit

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
APPLICATIONS = "/api/v1/voucher-applications/"
DATABASE_GONE = (OperationalError, InterfaceError)


DONE = Counter[str]()  # requests finished so far, for the killer to strike mid-burst


def terminate_every_connection(spare: int, at: list[int]) -> list[int]:
    """As a superuser: end every session on the test database but ``spare`` (the test's own), each time the burst
    has finished the next number of requests in ``at``. Returns how many sessions each round ended."""
    ended = []
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as superuser:
        for count in at:
            wait_until(lambda count=count: DONE["requests"] >= count, 30, f"{count} requests", interval=0.005)
            row = superuser.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s AND pid <> %s",
                [connection.settings_dict["NAME"], spare],
            ).fetchone()
            ended.append(int(row[0]) if row else 0)
    return ended


def request(call) -> str:
    """One request as a server runs it: a database error is a 500 and the broken connection is dropped after."""
    try:
        return str(call().status_code)
    except DATABASE_GONE:
        return "500"
    finally:
        close_old_connections()
        DONE["requests"] += 1


def test_requests_and_tasks_survive_every_connection_being_terminated_and_nothing_is_half_written(
    world, redis_server, start_worker, monkeypatch
):
    # given twelve applications, a worker, and the test's own session (spared)
    crew, program = world.crews[0], world.programs[2]
    pending = [
        application_submit(actor=crew.applicant, program=program, entity=entity, amount=100 * YUAN, purpose="训练")
        for entity in world.entities
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        spare = cursor.fetchone()[0]
    start_worker()
    reviewer, applicant = client_for(crew.reviewer), client_for(crew.applicant)

    def approve(application):
        return lambda: reviewer.post(
            f"{APPLICATIONS}{application.pk}/approve/", HTTP_IDEMPOTENCY_KEY=f"ap-{application.pk}"
        )

    def apply(entity):
        body = {"program": program.pk, "entity": entity.pk, "amount": "50.00", "purpose": "推理"}
        return lambda: applicant.post(APPLICATIONS, body, format="json")

    calls = [approve(a) for a in pending] + [apply(e) for e in world.entities] * 2
    with app_sending_to(redis_server.url):
        # when every connection is terminated three times while the requests and their tasks run
        ended: list[int] = []
        DONE.clear()
        strikes = [len(calls) // 4, len(calls) // 2, 3 * len(calls) // 4]
        killer_failed: list[BaseException] = []

        def strike() -> None:
            try:
                ended.extend(terminate_every_connection(spare, strikes))
            except BaseException as exc:  # shown by the assertion below
                killer_failed.append(exc)

        killer = threading.Thread(target=strike)
        killer.start()
        outcomes = race([lambda call=call: request(call) for call in calls], threads=6)
        killer.join()
        answers = Counter(o.value for o in outcomes)
        # then each request succeeded or failed whole
        assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok]
        assert set(answers) <= {"201", "202", "500"}, answers
        assert not killer_failed, killer_failed
        assert sum(ended) > 0, "no session was terminated"
        # and a client retrying the approvals that failed, with the same keys, gets them all done, once
        undecided = VoucherApplication.objects.filter(
            pk__in=[a.pk for a in pending], status=ApplicationStatus.SUBMITTED
        )
        later = timezone.now() + STALE_AFTER + timedelta(seconds=1)
        with monkeypatch.context() as patch:
            patch.setattr(timezone, "now", lambda: later)
            retried = [request(approve(a)) for a in undecided]
        assert set(retried) <= {"202"}, retried
        wait_until(lambda: not Issuance.objects.filter(status=IssuanceStatus.PENDING).exists(), 30, "the tasks")
    print(f"terminated {ended} sessions; answers {dict(answers)}; retried {len(retried)} approvals")
    for application in VoucherApplication.objects.filter(pk__in=[a.pk for a in pending]):
        issuances = Issuance.objects.filter(application=application)
        approvals = AuditEvent.objects.filter(action="voucher_application.approve", target_id=str(application.pk))
        assert application.status == ApplicationStatus.APPROVED
        assert (issuances.count(), approvals.count()) == (1, 1)
        assert issuances.get().status == IssuanceStatus.SUCCEEDED
    for voucher in Voucher.objects.filter(program=program):
        account = Account.objects.get(pk=voucher.account_id)
        assert account.posted_credits == voucher.face_value
    report = verify_ledger()
    assert report.ok, report.render()
    assert not checks.identities_broken(world)
    assert not checks.caps_exceeded(world)
