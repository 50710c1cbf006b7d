"""A program whose window has ended reads `expired` from that moment (the API derives it; the daily job and
`make run` record it), and `open_fiscal_year` says of every program it did not open why.

Ningxia's seed program ended on 2025-12-31; these tests run later than that, so it is over today.
"""

from __future__ import annotations

from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import AuditEvent
from tests.factories import apply, client_for
from voucher_service.programs.models import FiscalYearBudget, ProgramStatus

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _after_ningxia_ended():
    assert timezone.localdate() > date(2025, 12, 31), "these tests assume Ningxia's window (to 2025-12-31) is over"


def test_a_program_past_its_window_reads_expired_before_any_job_runs(seeds, applicant):
    # given Ningxia stored as published (no expiry job has run)
    assert seeds.ningxia.status == ProgramStatus.PUBLISHED
    client = client_for(applicant)
    # when anyone reads it
    detail = client.get(f"/api/v1/programs/{seeds.ningxia.pk}/").json()
    listed = {p["code"]: p["status"] for p in client.get("/api/v1/programs/").json()["results"]}
    # then it is expired, everywhere, and the filters agree
    assert detail["status"] == "expired"
    assert listed[seeds.ningxia.code] == "expired"
    assert listed[seeds.baoding.code] == "published"
    published = {p["code"] for p in client.get("/api/v1/programs/?status=published").json()["results"]}
    expired = {p["code"] for p in client.get("/api/v1/programs/?status=expired").json()["results"]}
    assert seeds.ningxia.code in expired
    assert seeds.ningxia.code not in published
    assert seeds.baoding.code in published


def test_a_change_to_a_program_past_its_window_sees_it_expired(seeds, program_admin):
    # when its administrator tries to suspend it
    response = client_for(program_admin).post(
        f"/api/v1/programs/{seeds.ningxia.pk}/suspend/", {"reason": "核查"}, format="json"
    )
    # then it is refused as what it is: expired
    assert response.status_code == 409, response.json()
    assert response.json()["error"]["program_status"] == "expired"


def test_the_expiry_command_records_it_and_says_which(seeds):
    out = StringIO()
    call_command("expire_programs", stdout=out)
    seeds.ningxia.refresh_from_db()
    assert seeds.ningxia.status == ProgramStatus.EXPIRED
    assert f"expired: {seeds.ningxia.code} (its window ended on 2025-12-31)" in out.getvalue()
    assert AuditEvent.objects.filter(action="program.expire", target_id=str(seeds.ningxia.pk)).count() == 1


def test_open_fiscal_year_says_why_it_did_not_open_each_program(seeds, settings):
    settings.LANGUAGE_CODE = "en"
    out = StringIO()
    year = timezone.localdate().year
    call_command("open_fiscal_year", str(year), stdout=out)
    lines = out.getvalue().splitlines()
    assert f"not opened: {seeds.ningxia.code} {year}: its window ended on 2025-12-31, before {year}" in lines
    assert f"not opened: {seeds.yinchuan.code} {year}: a draft: it has no budget until it is published" in lines
    assert any(line.startswith(f"{seeds.baoding.code} {year}: cap ") for line in lines)


def test_extend_then_apply_through_the_api(seeds, program_admin, applicant, entity):
    # given Ningxia over (and no budget for this year), when its administrator extends it to the end of this year
    year = timezone.localdate().year
    assert not FiscalYearBudget.objects.filter(program=seeds.ningxia, year=year).exists()
    extended = client_for(program_admin).post(
        f"/api/v1/programs/{seeds.ningxia.pk}/extend/",
        {"new_end": f"{year}-12-31", "reason": "政策延续一年", "legal_reference": "宁政办发〔{year}〕1号"},
        format="json",
    )
    assert extended.status_code == 200, extended.json()
    # then it is published again with this year's budget open, and an entity can apply at once
    assert extended.json()["status"] == "published"
    assert FiscalYearBudget.objects.filter(program=seeds.ningxia, year=year).exists()
    response = apply(client_for(applicant), seeds.ningxia, entity, "1000.00")
    assert response.status_code == 201, response.json()
    budgets = client_for(program_admin).get(f"/api/v1/programs/{seeds.ningxia.pk}/budgets/").json()
    assert [(b["year"], b["cap"]) for b in budgets] == [(year, "40000000.00")]
