"""POST /api/v1/organizations/: USCC validation and the other registration rules."""

import pytest

from accounts.models import AuditEvent, Organization
from tests.factories import client_for, valid_uscc

URL = "/api/v1/organizations/"


def entity_payload(**overrides):
    payload = {"name": "银川新算力科技有限公司", "kind": "entity", "category": "tech_sme", "jurisdiction": "640104"}
    payload.update(overrides)
    return payload


def field_codes(response, field):
    return [error["code"] for error in response.json()["error"]["fields"][field]]


@pytest.mark.django_db
def test_valid_uscc_registers_the_entity_and_audits_it(program_admin):
    # given
    code = valid_uscc()
    # when
    response = client_for(program_admin).post(URL, entity_payload(uscc=code), format="json")
    # then
    assert response.status_code == 201, response.json()
    created = Organization.objects.get(pk=response.json()["id"])
    assert created.uscc == code
    event = AuditEvent.objects.get(action="organization.create", target_id=str(created.pk))
    assert event.actor == program_admin
    assert event.after["uscc"] == code


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("uscc", "expected_code"),
    [
        pytest.param(valid_uscc(7)[:-1] + ("0" if valid_uscc(7)[-1] != "0" else "1"), "invalid_checksum", id="check"),
        pytest.param(valid_uscc(8)[:-1], "invalid_length", id="too-short"),
        pytest.param(valid_uscc(9) + "1", "invalid_length", id="too-long"),
        pytest.param("91640100MA7XY!@#$%", "invalid_format", id="bad-characters"),
    ],
)
def test_invalid_uscc_is_a_field_error_and_nothing_is_saved(program_admin, uscc, expected_code):
    # given
    organizations_before, events_before = Organization.objects.count(), AuditEvent.objects.count()
    # when
    response = client_for(program_admin).post(URL, entity_payload(uscc=uscc), format="json")
    # then
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "invalid"
    assert field_codes(response, "uscc") == [expected_code]
    assert Organization.objects.count() == organizations_before
    assert AuditEvent.objects.count() == events_before


@pytest.mark.django_db
def test_duplicate_uscc_is_a_field_error_and_nothing_is_saved(program_admin, entity):
    # given an entity already registered with this code
    organizations_before = Organization.objects.count()
    # when
    response = client_for(program_admin).post(URL, entity_payload(uscc=entity.uscc), format="json")
    # then
    assert response.status_code == 400
    assert field_codes(response, "uscc") == ["unique"]
    assert Organization.objects.count() == organizations_before


@pytest.mark.django_db
def test_lowercase_and_spaced_uscc_is_normalised(program_admin):
    code = valid_uscc()
    spaced = f"{code[:6]} {code[6:]}".lower()
    response = client_for(program_admin).post(URL, entity_payload(uscc=spaced), format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["uscc"] == code


@pytest.mark.django_db
def test_entity_without_uscc_is_refused_unless_maker(program_admin):
    response = client_for(program_admin).post(URL, entity_payload(), format="json")
    assert response.status_code == 400
    assert field_codes(response, "uscc") == ["required"]


@pytest.mark.django_db
def test_entity_needs_a_category_and_an_agency_has_none(program_admin, staff):
    no_category = client_for(program_admin).post(URL, entity_payload(uscc=valid_uscc(), category=""), format="json")
    agency_with_category = client_for(staff).post(  # only staff register agencies
        URL, {"name": "某局", "kind": "agency", "category": "university", "jurisdiction": "640100"}, format="json"
    )
    assert no_category.status_code == 400
    assert field_codes(no_category, "category") == ["required"]
    assert agency_with_category.status_code == 400
    assert field_codes(agency_with_category, "category") == ["not_applicable"]


@pytest.mark.django_db
def test_unknown_jurisdiction_and_category_are_field_errors(program_admin):
    response = client_for(program_admin).post(
        URL, entity_payload(uscc=valid_uscc(), jurisdiction="999999", category="bank"), format="json"
    )
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"jurisdiction", "category"}


@pytest.mark.django_db
def test_maker_registers_without_uscc_and_personal_id_is_never_stored(program_admin):
    # given a valid resident ID number (GB 11643 check digit)
    personal_id = "11010519491231002X"
    # when
    response = client_for(program_admin).post(
        URL, entity_payload(name="创客张三团队", category="maker", personal_id=personal_id), format="json"
    )
    # then
    assert response.status_code == 201, response.json()
    maker = Organization.objects.get(pk=response.json()["id"])
    assert maker.uscc is None
    assert maker.personal_id_hint == "**************002X"  # the last four only (issue 10, item 5)
    assert personal_id not in str(Organization.objects.filter(pk=maker.pk).values().get())
    assert "personal_id" not in response.json()
    assert personal_id not in str(list(AuditEvent.objects.values_list("after", flat=True)))


@pytest.mark.django_db
def test_maker_personal_id_is_unique_and_checked(program_admin):
    client = client_for(program_admin)
    first = client.post(URL, entity_payload(category="maker", personal_id="11010519491231002X"), format="json")
    again = client.post(URL, entity_payload(category="maker", personal_id="11010519491231002x"), format="json")
    wrong = client.post(URL, entity_payload(category="maker", personal_id="110105194912310021"), format="json")
    assert first.status_code == 201
    assert again.status_code == 400
    assert field_codes(again, "personal_id") == ["unique"]
    assert wrong.status_code == 400
    assert field_codes(wrong, "personal_id") == ["invalid"]


@pytest.mark.django_db
def test_the_database_itself_refuses_a_duplicate_uscc(entity):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Organization.objects.create(
            name="dup", kind="entity", category="tech_sme", uscc=entity.uscc, jurisdiction=entity.jurisdiction
        )


@pytest.mark.django_db
def test_the_database_itself_refuses_an_entity_without_uscc(entity):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Organization.objects.create(name="x", kind="entity", category="tech_sme", jurisdiction=entity.jurisdiction)


# --- The personal-ID oracle (issue 10, item 5) ---------------------------------------------------------------


@pytest.mark.django_db
def test_a_registered_personal_id_is_not_revealed_while_anything_else_is_wrong(program_admin, entity):
    # given a maker registered with this ID
    client = client_for(program_admin)
    personal_id = "11010519491231002X"
    assert client.post(URL, entity_payload(category="maker", personal_id=personal_id), format="json").status_code == 201
    # when someone tests the same number in a registration that is wrong in another way (a taken USCC)
    probe = client.post(
        URL, entity_payload(name="另一个", category="maker", personal_id=personal_id, uscc=entity.uscc), format="json"
    )
    # then only the other error is reported: whether the number is registered stays unanswered
    assert probe.status_code == 400
    assert set(probe.json()["error"]["fields"]) == {"uscc"}


@pytest.mark.django_db
def test_outside_its_jurisdiction_an_agency_learns_nothing_about_personal_ids(program_admin, foreign_admin):
    # given a Ningxia maker
    personal_id = "11010519491231002X"
    assert (
        client_for(program_admin)
        .post(URL, entity_payload(category="maker", personal_id=personal_id), format="json")
        .status_code
        == 201
    )
    # when Baoding's administrator tries the number in a Baoding registration... of a Ningxia place
    probe = client_for(foreign_admin).post(
        URL, entity_payload(category="maker", personal_id=personal_id), format="json"
    )
    # then it is refused before any check of the number
    assert probe.status_code == 403
    assert "fields" not in probe.json()["error"]


@pytest.mark.django_db
def test_registrations_are_throttled_per_user(program_admin, monkeypatch):
    # given a small allowance (the default is ORGANIZATION_WRITE_THROTTLE_RATE, 120/hour)
    from accounts.api.views import OrganizationWriteThrottle

    monkeypatch.setattr(OrganizationWriteThrottle, "THROTTLE_RATES", {"organization_write": "3/hour"})
    client = client_for(program_admin)
    # when a fourth registration follows three within the hour
    answers = [client.post(URL, entity_payload(uscc=valid_uscc()), format="json").status_code for _ in range(4)]
    # then it waits; reading is not counted
    assert answers == [201, 201, 201, 429]
    assert client.get(URL).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("settled_on", ["2999-01-01", "tomorrow"])
def test_a_settling_in_date_in_the_future_is_refused(program_admin, settled_on):
    from datetime import timedelta

    from django.utils import timezone

    if settled_on == "tomorrow":
        settled_on = (timezone.localdate() + timedelta(days=1)).isoformat()
    response = client_for(program_admin).post(
        URL, entity_payload(uscc=valid_uscc(), settled_on=settled_on), format="json"
    )
    assert response.status_code == 400, response.json()
    assert field_codes(response, "settled_on") == ["future_date"]
    assert not Organization.objects.filter(name="银川新算力科技有限公司").exists()


@pytest.mark.django_db
def test_a_settling_in_date_today_is_fine_and_cannot_be_moved_into_the_future(program_admin, entity):
    from django.utils import timezone

    today = timezone.localdate().isoformat()
    assert (
        client_for(program_admin).patch(f"{URL}{entity.pk}/", {"settled_on": today}, format="json").status_code == 200
    )
    later = client_for(program_admin).patch(f"{URL}{entity.pk}/", {"settled_on": "2999-01-01"}, format="json")
    assert later.status_code == 400
    assert field_codes(later, "settled_on") == ["future_date"]
    entity.refresh_from_db()
    assert entity.settled_on.isoformat() == today
