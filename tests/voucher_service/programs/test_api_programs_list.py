"""GET /api/v1/programs/ and /api/v1/programs/{id}/: who sees which programs."""

from __future__ import annotations

import pytest

from tests.factories import client_for

pytestmark = pytest.mark.django_db

URL = "/api/v1/programs/"


def codes_seen_by(user) -> set[str]:
    response = client_for(user).get(URL)
    assert response.status_code == 200
    return {item["code"] for item in response.json()["results"]}


def test_an_agency_sees_its_programs_and_those_in_its_jurisdiction(seeds, program_admin, reviewer):
    # given the seeds; Yinchuan's draft lies inside Ningxia's jurisdiction
    # when Ningxia's agency staff list programs
    # then they see Ningxia's and Yinchuan's (draft included), not Baoding's or Hohhot's
    expected = {seeds.ningxia.code, seeds.yinchuan.code}
    assert codes_seen_by(program_admin) == expected
    assert codes_seen_by(reviewer) == expected


def test_an_entity_sees_published_programs_only(seeds, applicant):
    # when an entity's applicant lists programs
    # then every non-draft program is listed and the draft is not
    assert codes_seen_by(applicant) == {seeds.ningxia.code, seeds.baoding.code, seeds.hohhot.code}


def test_a_draft_is_404_for_an_entity(seeds, applicant):
    # when an entity asks for Yinchuan's draft by id
    response = client_for(applicant).get(f"{URL}{seeds.yinchuan.pk}/")
    # then it does not exist for them
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_another_jurisdiction_is_404_for_a_foreign_agency(seeds, foreign_admin):
    # when Baoding's administrator asks for Ningxia's program
    response = client_for(foreign_admin).get(f"{URL}{seeds.ningxia.pk}/")
    # then it is hidden; Baoding's own program is visible
    assert response.status_code == 404
    assert codes_seen_by(foreign_admin) == {seeds.baoding.code}


def test_staff_see_everything(seeds, staff):
    assert len(codes_seen_by(staff)) == 4


def test_retrieve_shows_rules_in_yuan_and_the_versions(seeds, applicant):
    # when an entity reads Baoding's program
    body = client_for(applicant).get(f"{URL}{seeds.baoding.pk}/").json()
    # then money is in yuan strings, rates and shares are decimal strings with 4 places, and version 1 is current
    assert body["status"] == "published"
    assert body["rules"]["annual_cap"] == "10000000.00"
    assert body["rules"]["per_entity_annual_cap"] == "1000000.00"
    assert body["rules"]["fixed_awards"][0]["amount"] == "500000.00"
    assert body["rules"]["fixed_awards"][0]["categories"] == ["enterprise", "tech_sme", "research_institute"]
    assert [r["rate"] for r in body["rules"]["rate_rules"]] == ["0.6000", "0.5000"]
    assert body["rules"]["funding_split"]["city_district"] == [
        {"payer": "city", "share": "0.5000"},
        {"payer": "district", "share": "0.5000"},
    ]
    assert body["current_version"]["number"] == 1
    assert body["valid_from"] == "2024-01-25"
    assert body["valid_until"] == "2027-01-24"


def test_anonymous_users_see_nothing(seeds):
    assert client_for(None).get(URL).status_code in (401, 403)
