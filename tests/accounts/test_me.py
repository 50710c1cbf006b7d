"""/api/v1/me/: who am I and in which organisations, with which roles."""

import pytest

from tests.factories import client_for


@pytest.mark.django_db
def test_me_lists_memberships_with_roles(program_admin, ningxia_agency):
    response = client_for(program_admin).get("/api/v1/me/")
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "nx_admin"
    assert body["memberships"] == [
        {
            "organization": {**body["memberships"][0]["organization"], "id": ningxia_agency.pk},
            "role": "program_admin",
        }
    ]
    assert body["memberships"][0]["organization"]["jurisdiction"] == "640000"


@pytest.mark.django_db
def test_me_hides_memberships_of_deactivated_organisations(applicant, entity):
    entity.is_active = False
    entity.save()
    assert client_for(applicant).get("/api/v1/me/").json()["memberships"] == []
