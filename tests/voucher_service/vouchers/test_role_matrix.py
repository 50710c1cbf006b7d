"""Who may move voucher money: one matrix of persona × action → status, the same table as README "Roles" and
voucher_service.vouchers.permissions.

A reviewer decides single cases (approve, reject, grant an award); a program administrator runs the program
(bulk issuance of an approved list, revocation). Neither does the other's part. Someone who may not act on a
visible object gets 403 whatever state it is in (an already decided application is still a 403, never a 409);
an object they cannot see is a 404 (or, named in a body, "does not exist").
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import apply, client_for, make_org
from voucher_service.vouchers.models import Issuance, VoucherApplication
from voucher_service.vouchers.services import application_approve, issuance_execute

pytestmark = pytest.mark.django_db

PERSONAS = ["reviewer", "program_admin", "finance", "auditor", "applicant", "outsider", "foreign_admin", "staff"]

# action -> persona -> expected status (anything not named: 403)
MATRIX = {
    "approve": {"reviewer": 202, "outsider": 404, "foreign_admin": 404},
    "reject": {"reviewer": 200, "outsider": 404, "foreign_admin": 404},
    # an entity's applicant sees the (published) program, but not the newcomer entity the award is for
    "award": {"reviewer": 202, "outsider": 400, "foreign_admin": 400, "applicant": 400},
    "bulk": {"program_admin": 202, "foreign_admin": 400},
    "revoke": {"program_admin": 200, "outsider": 404, "foreign_admin": 404},
}


@pytest.fixture
def newcomer(program):
    from django.utils import timezone

    return make_org(jurisdiction="640104", name="新落户企业", settled_on=timezone.localdate().replace(month=1, day=2))


@pytest.fixture
def submitted(program, applicant, entity):
    return VoucherApplication.objects.get(pk=apply(client_for(applicant), program, entity, "50.00").json()["id"])


@pytest.fixture
def voucher(program, applicant, entity, second_reviewer):
    application = VoucherApplication.objects.get(pk=apply(client_for(applicant), program, entity, "20.00").json()["id"])
    issuance = application_approve(actor=second_reviewer, application=application)
    return issuance_execute(issuance_id=issuance.pk).voucher


def act(action, user, *, program, submitted, voucher, newcomer):
    client = client_for(user)
    if action == "approve":
        return client.post(f"/api/v1/voucher-applications/{submitted.pk}/approve/", {}, format="json")
    if action == "reject":
        return client.post(
            f"/api/v1/voucher-applications/{submitted.pk}/reject/", {"reason": "材料不全"}, format="json"
        )
    if action == "award":
        body = {"program": program.pk, "entity": newcomer.pk, "award_code": "settling_in"}
        return client.post("/api/v1/issuances/awards/", body, format="json")
    if action == "bulk":
        upload = SimpleUploadedFile("v.csv", f"uscc,amount\n{newcomer.uscc},10\n".encode(), content_type="text/csv")
        return client.post("/api/v1/issuances/bulk/", {"program": program.pk, "file": upload}, format="multipart")
    return client.post(f"/api/v1/vouchers/{voucher.pk}/revoke/", {"reason": "核查"}, format="json")


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("action", list(MATRIX))
def test_role_matrix(request, action, persona, program, submitted, voucher, newcomer):
    # given
    user = request.getfixturevalue(persona)
    issuances = Issuance.objects.count()
    # when
    response = act(action, user, program=program, submitted=submitted, voucher=voucher, newcomer=newcomer)
    # then
    expected = MATRIX[action].get(persona, 403)
    assert response.status_code == expected, (action, persona, response.json())
    if expected >= 400:
        assert Issuance.objects.count() == issuances


@pytest.mark.parametrize("persona", ["program_admin", "finance", "auditor", "applicant"])
@pytest.mark.parametrize("action", ["approve", "reject"])
def test_permission_comes_before_state_on_a_decided_application(request, submitted, reviewer, persona, action):
    # given an application a reviewer has already approved
    assert (
        client_for(reviewer)
        .post(f"/api/v1/voucher-applications/{submitted.pk}/approve/", {}, format="json")
        .status_code
        == 202
    )
    # when someone who may not decide tries to decide it
    url = f"/api/v1/voucher-applications/{submitted.pk}/{action}/"
    response = client_for(request.getfixturevalue(persona)).post(
        url, {"reason": "x"} if action == "reject" else {}, format="json"
    )
    # then they are refused for who they are (403), not told it is decided (409)
    assert response.status_code == 403, response.json()
    assert response.json()["error"]["code"] == "permission_denied"


def test_the_messages_say_who_may(program, submitted, program_admin, reviewer, newcomer):
    approve = client_for(program_admin).post(
        f"/api/v1/voucher-applications/{submitted.pk}/approve/", {}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert approve.json()["error"]["message"] == "Only a reviewer of the program's agency may decide applications."
    upload = SimpleUploadedFile("v.csv", f"uscc,amount\n{newcomer.uscc},10\n".encode(), content_type="text/csv")
    bulk = client_for(reviewer).post(
        "/api/v1/issuances/bulk/",
        {"program": program.pk, "file": upload},
        format="multipart",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert bulk.json()["error"]["message"] == "Only a program administrator of the program's agency may issue in bulk."
