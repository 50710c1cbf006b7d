"""How many SQL statements one approve-and-issue request sends (BENCHMARKS.md, "The cost of a request").

Most of a request's CPU is the ORM building and reading statements (about 0.7 ms each on the bench machine), so
their number is pinned here: a change that adds one to this path must raise the ceiling on purpose.
"""

import uuid

import pytest
from django.db import connection
from django.db.models.signals import post_save
from django.test.utils import CaptureQueriesContext

from accounts.models import AuditEvent
from tests.factories import apply, client_for
from voucher_service.notifications import signals as notification_signals
from voucher_service.vouchers.models import Issuance, IssuanceStatus, VoucherApplication

# Approval (idempotency claim, locked decision with its checks, issuance row, audit event; a successful decision
# reads no visibility, see ``VoucherApplicationViewSet._decided``) and, after
# its commit, the issuance task (locks, ledger entry, voucher, audit event), measured on PostgreSQL and SQLite;
# the test's own transaction makes each ``atomic`` a savepoint.
APPROVE_AND_ISSUE_MAX_QUERIES = {"postgresql": 44, "sqlite": 53}


@pytest.fixture
def without_notifications():
    """The notifications an approval's audit events lead to are a task of their own (its cost is not the
    request's, and it runs on its own worker); eager here, it would be counted with the request's statements."""
    post_save.disconnect(sender=AuditEvent, dispatch_uid="notifications.audit_event_saved")
    yield
    notification_signals.connect()


@pytest.mark.django_db
def test_approve_and_issue_sends_at_most_its_pinned_number_of_statements(
    program, applicant, entity, reviewer, django_capture_on_commit_callbacks, without_notifications
):
    # given a submitted application
    submitted = apply(client_for(applicant), program, entity, "200.00")
    application = VoucherApplication.objects.get(pk=submitted.json()["id"])
    client = client_for(reviewer)
    # when the reviewer approves it, with an Idempotency-Key, and the issuance task runs after the commit
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/api/v1/voucher-applications/{application.pk}/approve/",
            {},
            format="json",
            HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
        )
    # then the voucher is issued within the pinned number of statements
    assert response.status_code == 202, response.json()
    assert Issuance.objects.get(application=application).status == IssuanceStatus.SUCCEEDED
    statements = [q["sql"] for q in queries.captured_queries]
    assert len(statements) <= APPROVE_AND_ISSUE_MAX_QUERIES[connection.vendor], "\n".join(s[:160] for s in statements)
