"""POST /api/v1/programs/{id}/extend/: a recorded extension moves the end date."""

from __future__ import annotations

from datetime import date

import pytest

from accounts.models import AuditEvent
from tests.factories import client_for
from tests.snapshots import row_counts
from voucher_service.programs.models import ProgramExtension
from voucher_service.programs.selectors import program_can_issue

pytestmark = pytest.mark.django_db


def extend(user, program, **body):
    payload = {"new_end": "2026-12-31", "reason": "政策延续", "legal_reference": "宁政办发〔2025〕99号"} | body
    return client_for(user).post(f"/api/v1/programs/{program.pk}/extend/", payload, format="json")


def test_an_extension_moves_ningxias_window_and_is_recorded(seeds, program_admin):
    # given Ningxia's window 2023-09-15 to 2025-12-31: 2026-06-01 is outside it
    assert not program_can_issue(seeds.ningxia, date(2026, 6, 1))
    # when its administrator extends it to 2026-12-31
    response = extend(program_admin, seeds.ningxia, decided_on="2025-12-20")
    # then the window ends 2026-12-31, the extension is listed with its reason and legal reference
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["valid_from"] == "2023-09-15"
    assert body["valid_until"] == "2026-12-31"
    (extension,) = body["extensions"]
    assert extension["previous_end"] == "2025-12-31"
    assert extension["new_end"] == "2026-12-31"
    assert extension["reason"] == "政策延续"
    assert extension["legal_reference"] == "宁政办发〔2025〕99号"
    assert extension["decided_on"] == "2025-12-20"
    seeds.ningxia.refresh_from_db()
    assert program_can_issue(seeds.ningxia, date(2026, 6, 1))
    # and audited with before and after
    event = AuditEvent.objects.get(action="program.extend")
    assert (event.before["valid_until"], event.after["valid_until"]) == ("2025-12-31", "2026-12-31")
    # and no rules version was added: the window is not a rule
    assert seeds.ningxia.versions.count() == 1


def test_an_extension_can_remove_the_end_date(seeds, program_admin):
    response = extend(program_admin, seeds.ningxia, new_end=None)
    assert response.status_code == 200
    assert response.json()["valid_until"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [({"new_end": "2025-06-30"}, "new_end"), ({"reason": ""}, "reason"), ({"new_end": "soon"}, "new_end")],
)
def test_bad_extensions_are_400_and_write_nothing(seeds, program_admin, body, field):
    before = row_counts() | {"extensions": ProgramExtension.objects.count()}
    response = extend(program_admin, seeds.ningxia, **body)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert row_counts() | {"extensions": ProgramExtension.objects.count()} == before


def test_a_program_without_end_date_cannot_be_extended(seeds, staff):
    # Hohhot has no end date; staff are not its administrators either, so they get 403 first
    assert extend(staff, seeds.hohhot).status_code == 403


@pytest.mark.parametrize(("persona", "status"), [("reviewer", 403), ("auditor", 403), ("foreign_admin", 404)])
def test_only_the_issuing_agency_admin_may_extend(seeds, request, persona, status):
    assert extend(request.getfixturevalue(persona), seeds.ningxia).status_code == status
    assert not ProgramExtension.objects.exists()


def test_an_extension_decided_in_the_future_is_refused(seeds, program_admin):
    before = row_counts()
    response = extend(program_admin, seeds.ningxia, decided_on="2999-01-01")
    assert response.status_code == 400, response.json()
    assert list(response.json()["error"]["fields"]) == ["decided_on"]
    assert row_counts() == before
