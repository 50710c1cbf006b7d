"""POST /api/v1/issuances/awards/: an agency grants a fixed one-time award (the settling-in voucher) directly."""

from datetime import date

import pytest
from django.utils import timezone

from tests.factories import client_for, make_org
from voucher_service.vouchers.models import Issuance, OneTimeAward, Voucher

URL = "/api/v1/issuances/awards/"


@pytest.fixture
def newcomer(db):
    """An entity that settled in Yinchuan this year."""
    return make_org(jurisdiction="640104", settled_on=date(timezone.localdate().year, 1, 2))


def grant(user, program, entity, **headers):
    body = {"program": program.pk, "entity": entity.pk, "award_code": "settling_in"}
    return client_for(user).post(URL, body, format="json", **headers)


@pytest.mark.django_db
def test_the_settling_in_award_is_issued_once(program, newcomer, reviewer, django_capture_on_commit_callbacks):
    # when granted
    with django_capture_on_commit_callbacks(execute=True):
        first = grant(reviewer, program, newcomer)
    # then a 100 yuan voucher exists
    assert first.status_code == 202, first.json()
    issuance = Issuance.objects.get(pk=first.json()["issuance"]["id"])
    assert issuance.status == "succeeded"
    assert issuance.voucher.face_value == 10_000
    assert OneTimeAward.objects.filter(entity=newcomer, award_code="settling_in").count() == 1
    # and a second grant is refused at request time, as a conflict, before anything is queued
    second = grant(reviewer, program, newcomer, HTTP_ACCEPT_LANGUAGE="en")
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "award_already_granted"
    assert second.json()["error"]["message"] == "This award has already been granted to this entity."
    assert [c["check"] for c in second.json()["error"]["checks"] if not c["ok"]] == ["award_once"]
    assert Voucher.objects.count() == 1
    assert Issuance.objects.count() == 1


@pytest.mark.django_db
def test_a_grant_while_one_is_queued_is_a_409(program, newcomer, reviewer):
    # given a grant queued and not yet issued
    assert grant(reviewer, program, newcomer).status_code == 202
    # when it is granted again
    again = grant(reviewer, program, newcomer, HTTP_ACCEPT_LANGUAGE="en")
    # then
    assert again.status_code == 409
    assert again.json()["error"]["message"] == "This award is already being issued to this entity."
    assert Issuance.objects.count() == 1


@pytest.mark.django_db
def test_an_application_for_an_award_already_granted_is_a_409(
    program, newcomer, reviewer, django_capture_on_commit_callbacks
):
    from tests.factories import apply, make_user

    with django_capture_on_commit_callbacks(execute=True):
        assert grant(reviewer, program, newcomer).status_code == 202
    response = apply(
        client_for(make_user(newcomer, "applicant")), program, newcomer, "100.00", award_code="settling_in"
    )
    assert response.status_code == 409, response.json()
    assert response.json()["error"]["code"] == "award_already_granted"


@pytest.mark.django_db
def test_a_second_grant_that_raced_past_the_check_fails_at_issuance(program, newcomer, reviewer):
    # given two grants queued before either ran: the second as a concurrent request would have written it,
    # having passed the request-time check while the first was not yet committed
    first = grant(reviewer, program, newcomer)
    assert first.status_code == 202
    twin = Issuance.objects.get(pk=first.json()["issuance"]["id"])
    twin.pk = None
    twin.save()
    # when both tasks run
    from voucher_service.vouchers.tasks import issue_voucher

    results = [issue_voucher.delay(pk).get() for pk in (first.json()["issuance"]["id"], twin.pk)]
    # then exactly one succeeded and the other says why
    assert sorted(results) == ["failed", "succeeded"]
    failed = Issuance.objects.get(status="failed")
    assert failed.failure_code == "award_already_granted"
    assert Voucher.objects.count() == 1


@pytest.mark.django_db
def test_an_entity_that_did_not_settle_this_year_gets_no_award(program, entity, reviewer):
    entity.settled_on = date(timezone.localdate().year - 1, 6, 1)
    entity.save()
    response = grant(reviewer, program, entity)
    assert response.status_code == 400
    assert [c["check"] for c in response.json()["error"]["checks"] if not c["ok"]] == ["award_condition"]


@pytest.mark.django_db
def test_an_unknown_award_is_a_field_error(program, newcomer, reviewer):
    body = {"program": program.pk, "entity": newcomer.pk, "award_code": "nope"}
    response = client_for(reviewer).post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["award_code"]


@pytest.mark.django_db
@pytest.mark.parametrize(("persona", "expected"), [("applicant", 400), ("finance", 403), ("foreign_admin", 400)])
def test_only_the_agency_grants(request, program, newcomer, persona, expected):
    response = grant(request.getfixturevalue(persona), program, newcomer)
    assert response.status_code == expected
    assert not Issuance.objects.exists()


@pytest.mark.django_db
def test_an_award_limited_to_some_categories_refuses_the_others(program_admin, ningxia_agency, newcomer, reviewer):
    # given a settling-in award only for universities, and a newcomer that is a tech SME
    from tests.factories import make_program

    award = {
        "code": "settling_in",
        "description": "落户的高校",
        "check": "settled_in_fiscal_year",
        "amount": "100.00",
        "once_per_entity": True,
        "categories": ["university"],
    }
    program = make_program(program_admin, ningxia_agency, code="nx-institutes", fixed_awards=[award])
    # when
    response = grant(reviewer, program, newcomer)
    # then
    assert response.status_code == 400
    assert [c["check"] for c in response.json()["error"]["checks"] if not c["ok"]] == ["award_category"]
    assert not Issuance.objects.exists()
