"""Applications and issuances: an entity sees its own, an agency sees its own programs', nobody else sees any."""

import pytest

from tests.factories import client_for


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("persona", "sees"),
    [
        ("applicant", True),
        ("outsider", False),
        ("reviewer", True),
        ("finance", True),
        ("foreign_admin", False),
        ("staff", True),
    ],
)
def test_application_visibility(request, application, persona, sees):
    client = client_for(request.getfixturevalue(persona))
    listed = [row["id"] for row in client.get("/api/v1/voucher-applications/").json()["results"]]
    assert (application in listed) is sees
    assert client.get(f"/api/v1/voucher-applications/{application}/").status_code == (200 if sees else 404)


@pytest.mark.django_db
@pytest.mark.parametrize(("persona", "sees"), [("applicant", True), ("outsider", False), ("foreign_admin", False)])
def test_issuance_status_visibility(request, application, reviewer, persona, sees):
    issuance = client_for(reviewer).post(f"/api/v1/voucher-applications/{application}/approve/").json()["issuance"]
    response = client_for(request.getfixturevalue(persona)).get(f"/api/v1/issuances/{issuance['id']}/")
    assert response.status_code == (200 if sees else 404)
