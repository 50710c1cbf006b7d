"""The Django admin writes nothing around the services (issue 10, item 4): organisations are read-only there,
memberships are granted and revoked through the services, and user changes are audited."""

from datetime import date

import pytest
from django.test import Client

from accounts.models import ApiToken, AuditEvent, Membership, Organization, User
from accounts.tokens import token_issue
from tests.factories import make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("plain_static_storage")]


@pytest.fixture
def operator(db):
    return make_user(None, username="ops", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(operator):
    client = Client()
    client.force_login(operator)
    return client


def test_staff_cannot_change_a_settling_date_in_the_admin(admin_client, entity):
    # when staff post the change form (this used to save settled_on with no audit event)
    response = admin_client.post(
        f"/admin/accounts/organization/{entity.pk}/change/",
        {
            "name": entity.name,
            "kind": entity.kind,
            "category": entity.category,
            "uscc": entity.uscc,
            "jurisdiction": entity.jurisdiction_id,
            "settled_on": "2026-03-01",
            "is_active": "on",
        },
    )
    # then the page is read-only
    assert response.status_code == 403
    entity.refresh_from_db()
    assert entity.settled_on is None
    assert admin_client.get(f"/admin/accounts/organization/{entity.pk}/change/").status_code == 200  # viewable


def test_a_role_the_kind_of_organisation_has_not_is_refused(admin_client, entity, applicant):
    # when staff give an entity a reviewer (the model forbids it; the admin inline used to save it)
    response = admin_client.post(
        "/admin/accounts/membership/add/", {"user": applicant.pk, "organization": entity.pk, "role": "reviewer"}
    )
    # then nothing is saved, and the reason is shown
    assert response.status_code == 302
    assert not Membership.objects.filter(organization=entity, role="reviewer").exists()
    messages = [str(m) for m in response.wsgi_request._messages]  # type: ignore[attr-defined]
    assert messages


def test_staff_cannot_give_themselves_a_money_role(admin_client, operator, ningxia_agency):
    response = admin_client.post(
        "/admin/accounts/membership/add/", {"user": operator.pk, "organization": ningxia_agency.pk, "role": "finance"}
    )
    assert response.status_code == 302
    assert not Membership.objects.filter(user=operator).exists()


def test_a_role_granted_and_revoked_in_the_admin_is_audited(admin_client, operator, ningxia_agency):
    # given
    someone = make_user(None, username="new_reviewer")
    # when granted
    granted = admin_client.post(
        "/admin/accounts/membership/add/",
        {"user": someone.pk, "organization": ningxia_agency.pk, "role": "reviewer"},
    )
    # then
    assert granted.status_code == 302
    membership = Membership.objects.get(user=someone)
    event = AuditEvent.objects.get(action="membership.grant")
    assert (event.actor, event.after) == (operator, {"user": someone.pk, "role": "reviewer"})
    # when revoked
    revoked = admin_client.post(f"/admin/accounts/membership/{membership.pk}/delete/", {"post": "yes"})
    # then
    assert revoked.status_code == 302
    assert not Membership.objects.filter(user=someone).exists()
    assert AuditEvent.objects.get(action="membership.revoke").before == {"user": someone.pk, "role": "reviewer"}


def test_a_user_change_in_the_admin_is_audited(admin_client, operator, applicant):
    response = admin_client.post(
        f"/admin/accounts/user/{applicant.pk}/change/",
        {
            "username": applicant.username,
            "first_name": "",
            "last_name": "",
            "email": "",
            "is_active": "on",
            "is_staff": "on",
            "last_login_0": "",
            "last_login_1": "",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    assert response.status_code == 302, response.content[:500]
    event = AuditEvent.objects.get(action="user.update", target_id=str(applicant.pk))
    assert event.actor == operator
    assert (event.before["is_staff"], event.after["is_staff"]) == (False, True)


def test_a_password_set_in_the_admin_revokes_the_users_tokens_and_is_audited(admin_client, operator, applicant):
    # given
    token, _raw = token_issue(actor=applicant, user=applicant)
    # when
    response = admin_client.post(
        f"/admin/accounts/user/{applicant.pk}/password/",
        {"password1": "a-new-and-long-passphrase-2027", "password2": "a-new-and-long-passphrase-2027"},
    )
    # then
    assert response.status_code == 302, response.content[:500]
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditEvent.objects.filter(action="user.update", actor=operator, detail__password_changed=True).exists()
    assert User.objects.get(pk=applicant.pk).check_password("a-new-and-long-passphrase-2027")
    assert ApiToken.objects.filter(user=applicant, revoked_at__isnull=True).count() == 0


def test_nobody_deletes_users_or_organisations_in_the_admin(admin_client, applicant, entity):
    assert admin_client.post(f"/admin/accounts/user/{applicant.pk}/delete/", {"post": "yes"}).status_code == 403
    assert admin_client.post(f"/admin/accounts/organization/{entity.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Organization.objects.filter(pk=entity.pk).exists()
    assert entity.settled_on != date(2026, 3, 1)
