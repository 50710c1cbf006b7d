"""POST /api/v1/programs/{id}/suspend/: the issuing agency's administrator suspends, with a reason."""

from __future__ import annotations

from datetime import date

import pytest

from accounts.models import AuditEvent
from tests.factories import client_for
from tests.snapshots import row_counts
from voucher_service.programs.models import ProgramStatus
from voucher_service.programs.selectors import program_can_issue

pytestmark = pytest.mark.django_db


def suspend(user, program, reason="资金核查"):
    return client_for(user).post(f"/api/v1/programs/{program.pk}/suspend/", {"reason": reason}, format="json")


def test_suspension_stops_issuance_and_is_audited_with_its_reason(seeds, foreign_admin):
    # when Baoding's administrator suspends Baoding's program
    response = suspend(foreign_admin, seeds.baoding)
    # then it is suspended, cannot issue, and the audit event carries the reason
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == ProgramStatus.SUSPENDED
    seeds.baoding.refresh_from_db()
    assert not program_can_issue(seeds.baoding, date(2025, 6, 1))
    event = AuditEvent.objects.get(action="program.suspend")
    assert event.detail["reason"] == "资金核查"
    assert (event.before["status"], event.after["status"]) == ("published", "suspended")


def test_a_reason_is_required(seeds, foreign_admin):
    before = row_counts()
    response = suspend(foreign_admin, seeds.baoding, reason="")
    assert response.status_code == 400
    assert "reason" in response.json()["error"]["fields"]
    assert row_counts() == before


def test_a_draft_cannot_be_suspended(seeds, staff):
    # staff see the draft but are not its administrators: 403 before any state check
    assert suspend(staff, seeds.yinchuan).status_code == 403


@pytest.mark.parametrize(("persona", "status"), [("reviewer", 403), ("auditor", 403), ("foreign_admin", 404)])
def test_only_the_issuing_agency_admin_may_suspend(seeds, request, persona, status):
    response = suspend(request.getfixturevalue(persona), seeds.ningxia)
    assert response.status_code == status
    seeds.ningxia.refresh_from_db()
    assert seeds.ningxia.status == ProgramStatus.PUBLISHED


def test_suspending_twice_is_a_conflict(seeds, foreign_admin):
    assert suspend(foreign_admin, seeds.baoding).status_code == 200
    assert suspend(foreign_admin, seeds.baoding).status_code == 409
