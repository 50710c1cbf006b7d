"""POST /api/v1/programs/{id}/publish/: a draft goes into force with dates and a cap; a suspension ends."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import timezone

from accounts.models import AuditEvent
from tests.factories import client_for
from tests.snapshots import row_counts
from voucher_service.programs.models import Program, ProgramStatus
from voucher_service.programs.selectors import program_can_issue

pytestmark = pytest.mark.django_db


def make_draft(admin, agency, **fields) -> dict:
    body = {
        "code": "pilot",
        "name": "试点",
        "jurisdiction": agency.jurisdiction.code,
        "issuing_agency": agency.pk,
        "rules": {"annual_cap": "1000.00", "eligible_categories": ["maker"]},
    } | fields
    response = client_for(admin).post("/api/v1/programs/", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def publish(user, program_id: int):
    return client_for(user).post(f"/api/v1/programs/{program_id}/publish/")


def test_publishing_a_draft_puts_its_latest_version_in_force(program_admin, ningxia_agency):
    # given a dated draft
    draft = make_draft(program_admin, ningxia_agency, valid_from="2026-01-01", valid_until="2026-12-31")
    assert not program_can_issue(Program.objects.get(pk=draft["id"]), date(2026, 6, 1))
    # when its administrator publishes it
    response = publish(program_admin, draft["id"])
    # then it is published, version 1 is current, it can issue, and the change is audited
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == ProgramStatus.PUBLISHED
    assert body["current_version"]["number"] == 1
    assert body["current_version"]["published_at"]
    assert program_can_issue(Program.objects.get(pk=draft["id"]), date(2026, 6, 1))
    event = AuditEvent.objects.get(action="program.publish")
    assert (event.before["status"], event.after["status"]) == ("draft", "published")


def test_a_draft_without_dates_or_cap_cannot_be_published(program_admin, ningxia_agency):
    undated = make_draft(program_admin, ningxia_agency)
    uncapped = make_draft(
        program_admin,
        ningxia_agency,
        code="uncapped",
        valid_from="2026-01-01",
        rules={"eligible_categories": ["maker"]},
    )
    before = row_counts()
    first, second = publish(program_admin, undated["id"]), publish(program_admin, uncapped["id"])
    assert first.status_code == 400
    assert "valid_from" in first.json()["error"]["fields"]
    assert second.status_code == 400
    assert "rules.annual_cap" in second.json()["error"]["fields"]
    assert row_counts() == before


def test_the_yinchuan_draft_stays_unpublished_for_others(seeds, program_admin, applicant):
    # Ningxia's administrator can see Yinchuan's draft but is not its issuing agency's administrator
    assert publish(program_admin, seeds.yinchuan.pk).status_code == 403
    assert publish(applicant, seeds.yinchuan.pk).status_code == 404
    seeds.yinchuan.refresh_from_db()
    assert seeds.yinchuan.status == ProgramStatus.DRAFT


def test_publishing_a_published_program_is_a_conflict(seeds, foreign_admin):
    # Baoding is in force (Ningxia's window ended in 2025: it is expired)
    response = publish(foreign_admin, seeds.baoding.pk)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "program_invalid_transition"
    assert error["status"] == 409
    assert error["program_status"] == "published"


def test_publishing_resumes_a_suspended_program(seeds, foreign_admin):
    client_for(foreign_admin).post(f"/api/v1/programs/{seeds.baoding.pk}/suspend/", {"reason": "核查"}, format="json")
    response = publish(foreign_admin, seeds.baoding.pk)
    assert response.status_code == 200
    assert response.json()["status"] == ProgramStatus.PUBLISHED
    assert seeds.baoding.versions.count() == 1  # resuming adds no version


def test_a_suspended_program_past_its_window_cannot_be_resumed(seeds, program_admin):
    # given Ningxia suspended while in force (as of then), its window having ended since
    type(seeds.ningxia).objects.filter(pk=seeds.ningxia.pk).update(status=ProgramStatus.SUSPENDED)
    # when its administrator resumes it
    response = publish(program_admin, seeds.ningxia.pk)
    # then it is expired, and stays so
    assert response.status_code == 409
    assert response.json()["error"]["program_status"] == "expired"


@pytest.mark.parametrize("persona", ["reviewer", "auditor"])
def test_reviewers_and_auditors_cannot_publish(seeds, request, persona, program_admin, ningxia_agency):
    draft = make_draft(program_admin, ningxia_agency, valid_from="2026-01-01")
    assert publish(request.getfixturevalue(persona), draft["id"]).status_code == 403


def test_a_draft_whose_window_has_ended_cannot_be_published(program_admin, ningxia_agency):
    # given a draft dated 2020
    draft = make_draft(program_admin, ningxia_agency, valid_from="2020-01-01", valid_until="2020-12-31")
    before = row_counts()
    # when its administrator publishes it
    response = publish(program_admin, draft["id"])
    # then it is a 400 on valid_until, and it stays a draft with nothing published
    assert response.status_code == 400, response.json()
    assert "valid_until" in response.json()["error"]["fields"]
    assert row_counts() == before
    program = Program.objects.get(pk=draft["id"])
    assert program.status == ProgramStatus.DRAFT
    assert not program.versions.filter(published_at__isnull=False).exists()


def test_a_draft_ending_today_can_still_be_published(program_admin, ningxia_agency):
    today = timezone.localdate().isoformat()
    draft = make_draft(program_admin, ningxia_agency, valid_from="2020-01-01", valid_until=today)
    assert publish(program_admin, draft["id"]).status_code == 200
