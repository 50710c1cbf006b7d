"""GET /api/v1/programs/{id}/versions/: the rules history, every version readable as it was published."""

from __future__ import annotations

import pytest

from tests.factories import client_for, make_user
from voucher_service.programs import services

pytestmark = pytest.mark.django_db


def url(program) -> str:
    return f"/api/v1/programs/{program.pk}/versions/"


def test_every_version_is_listed_with_its_own_rules(seeds, foreign_admin, baoding_entity):
    # given Baoding's seed version and a later change of its per-unit cap
    services.program_update(actor=foreign_admin, program=seeds.baoding, rules={"per_entity_annual_cap": "800000.00"})
    # when an entity reads the history
    response = client_for(make_user(baoding_entity, "applicant")).get(url(seeds.baoding))
    # then both versions are there, each with the rules it had
    assert response.status_code == 200
    first, second = response.json()
    assert (first["number"], first["source"], first["rules"]["per_entity_annual_cap"]) == (1, "fixture", "1000000.00")
    assert (second["number"], second["source"], second["rules"]["per_entity_annual_cap"]) == (2, "api", "800000.00")
    assert first["published_at"] < second["published_at"]


def test_versions_follow_program_visibility(seeds, applicant, foreign_admin):
    assert client_for(applicant).get(url(seeds.yinchuan)).status_code == 404
    assert client_for(foreign_admin).get(url(seeds.ningxia)).status_code == 404
