"""Organisation and role isolation as a matrix: persona × target × action → expected status.

Another organisation's object answers 404 (its existence is not revealed); a visible object the persona may
not change answers 403. Who may register and edit which kind of organisation is the README's table: a program
administrator entities and providers in their agency's jurisdiction, staff everything; nobody but staff touches
an agency or a platform, not even their own agency.
"""

import pytest

from tests.factories import client_for, valid_uscc

AGENCY_STAFF = ["program_admin", "reviewer", "finance", "auditor"]
TARGETS = ["entity", "other_entity", "baoding_entity", "ningxia_agency"]

# persona -> targets it can see; every other target is a 404.
VISIBLE = {
    **{persona: {"entity", "other_entity", "ningxia_agency"} for persona in AGENCY_STAFF},
    "applicant": {"entity"},
    "outsider": {"other_entity"},
    "foreign_admin": {"baoding_entity", "baoding_agency"},
    "staff": set(TARGETS),
}
# persona -> targets it can change; visible-but-not-changeable is a 403. Agencies, its own included, are staff's
# (issue 10, item 12).
CHANGEABLE = {
    "program_admin": {"entity", "other_entity"},
    "foreign_admin": {"baoding_entity"},
    "staff": set(TARGETS),
}


@pytest.fixture
def everyone(request, entity, other_entity, baoding_entity, ningxia_agency, baoding_agency):
    personas = {
        name: request.getfixturevalue(name)
        for name in [*AGENCY_STAFF, "applicant", "outsider", "foreign_admin", "staff"]
    }
    targets = {
        "entity": entity,
        "other_entity": other_entity,
        "baoding_entity": baoding_entity,
        "ningxia_agency": ningxia_agency,
    }
    return personas, targets


@pytest.mark.django_db
@pytest.mark.parametrize("persona", list(VISIBLE))
@pytest.mark.parametrize("target", TARGETS)
def test_read_matrix(everyone, persona, target):
    # given
    personas, targets = everyone
    # when
    response = client_for(personas[persona]).get(f"/api/v1/organizations/{targets[target].pk}/")
    # then
    expected = 200 if target in VISIBLE[persona] else 404
    assert response.status_code == expected, (persona, target, response.json())


@pytest.mark.django_db
@pytest.mark.parametrize("persona", list(VISIBLE))
@pytest.mark.parametrize("target", TARGETS)
def test_change_matrix(everyone, persona, target):
    # given
    personas, targets = everyone
    # when
    response = client_for(personas[persona]).patch(
        f"/api/v1/organizations/{targets[target].pk}/", {"name": "改名"}, format="json"
    )
    # then
    if target not in VISIBLE[persona]:
        expected = 404
    elif target in CHANGEABLE.get(persona, set()):
        expected = 200
    else:
        expected = 403
    assert response.status_code == expected, (persona, target, response.json())
    targets[target].refresh_from_db()
    assert (targets[target].name == "改名") is (expected == 200)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", list(VISIBLE))
@pytest.mark.parametrize(
    ("jurisdiction", "allowed"), [("640104", {"program_admin", "staff"}), ("130602", {"foreign_admin", "staff"})]
)
def test_create_matrix(everyone, persona, jurisdiction, allowed):
    personas, _targets = everyone
    payload = {
        "name": "新主体",
        "kind": "entity",
        "category": "university",
        "uscc": valid_uscc(),
        "jurisdiction": jurisdiction,
    }
    response = client_for(personas[persona]).post("/api/v1/organizations/", payload, format="json")
    expected = 201 if persona in allowed else 403
    assert response.status_code == expected, (persona, jurisdiction, response.json())


# kind -> who may register one (in Yinchuan, inside Ningxia's jurisdiction): the README's organisation-kind table.
MAY_REGISTER = {
    "entity": {"program_admin", "staff"},
    "provider": {"program_admin", "staff"},
    "agency": {"staff"},
    "platform": {"staff"},
}


def _payload(kind):
    payload = {"name": f"新{kind}", "kind": kind, "jurisdiction": "640104"}
    if kind == "entity":
        payload["category"] = "university"
    if kind != "agency":
        payload["uscc"] = valid_uscc()
    return payload


@pytest.mark.django_db
@pytest.mark.parametrize("persona", list(VISIBLE))
@pytest.mark.parametrize("kind", list(MAY_REGISTER))
def test_who_may_register_which_kind(everyone, persona, kind):
    personas, _targets = everyone
    response = client_for(personas[persona]).post("/api/v1/organizations/", _payload(kind), format="json")
    expected = 201 if persona in MAY_REGISTER[kind] else 403
    assert response.status_code == expected, (persona, kind, response.json())


@pytest.mark.django_db
def test_a_program_admin_cannot_rename_their_own_agency_and_is_told_why(everyone):
    personas, targets = everyone
    response = client_for(personas["program_admin"]).patch(
        f"/api/v1/organizations/{targets['ningxia_agency'].pk}/",
        {"name": "改名"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "Only staff may register or edit agencies and platforms."


@pytest.mark.django_db
@pytest.mark.parametrize("persona", list(VISIBLE))
def test_list_shows_exactly_the_visible_organisations(everyone, persona):
    personas, targets = everyone
    response = client_for(personas[persona]).get("/api/v1/organizations/?limit=200")
    listed = {row["id"] for row in response.json()["results"]}
    expected = {targets[name].pk for name in TARGETS if name in VISIBLE[persona]}
    assert expected <= listed
    hidden = {targets[name].pk for name in TARGETS if name not in VISIBLE[persona]}
    assert not (hidden & listed)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "url"),
    [("get", "/api/v1/organizations/"), ("get", "/api/v1/me/"), ("post", "/api/v1/organizations/")],
)
def test_anonymous_gets_401_with_the_error_format(method, url):
    response = getattr(client_for(None), method)(url)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
def test_a_role_must_fit_the_kind_of_organisation(program_admin, entity):
    from django.core.exceptions import ValidationError

    from accounts.services import membership_grant
    from tests.factories import make_user

    user = make_user(None)
    with pytest.raises(ValidationError):
        membership_grant(actor=program_admin, user=user, organization=entity, role="reviewer")
    membership = membership_grant(actor=program_admin, user=user, organization=entity, role="applicant")
    assert membership.role == "applicant"
