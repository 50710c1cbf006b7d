"""A broker outage at commit time loses nothing: the client still gets its 202, and the sweeper re-sends the task."""

from datetime import timedelta

import pytest
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerDown

from tests.factories import apply, client_for
from voucher_service.vouchers import tasks
from voucher_service.vouchers.models import Issuance, Voucher
from voucher_service.vouchers.selectors import work_stalled


def broker_down(*args, **kwargs):
    raise BrokerDown("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


@pytest.mark.django_db
def test_an_approval_survives_a_broker_outage(
    program, applicant, entity, reviewer, monkeypatch, django_capture_on_commit_callbacks
):
    # given the broker is down
    created = apply(client_for(applicant), program, entity).json()
    monkeypatch.setattr(tasks.issue_voucher, "delay", broker_down)
    # when the reviewer approves
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(reviewer).post(f"/api/v1/voucher-applications/{created['id']}/approve/")
    # then the approval stands and the issuance waits
    assert response.status_code == 202
    issuance = Issuance.objects.get()
    assert issuance.status == "pending"
    # and once stalled for a while, the sweeper finds it
    later = timezone.now() + timedelta(minutes=3)
    assert work_stalled(later) == ([issuance.pk], [])
    assert work_stalled(timezone.now()) == ([], [])
    # and when the broker is back, re-sending issues it exactly once
    monkeypatch.undo()
    monkeypatch.setattr("voucher_service.vouchers.services.timezone.now", lambda: later)
    assert tasks.requeue_stalled.delay().get() == {"issuances": 1, "bulks": 0}
    assert tasks.requeue_stalled.delay().get() == {"issuances": 0, "bulks": 0}
    assert Voucher.objects.count() == 1
