"""POST /api/v1/voucher-applications/{id}/approve/ and /reject/: who may decide, and what approval does."""

import pytest

from tests.factories import apply, client_for
from voucher_service.vouchers.models import Issuance, Voucher, VoucherApplication


@pytest.fixture
def submitted(program, applicant, entity):
    response = apply(client_for(applicant), program, entity, "200.00")
    assert response.status_code == 201, response.json()
    return VoucherApplication.objects.get(pk=response.json()["id"])


def approve(user, application, body=None, **headers):
    url = f"/api/v1/voucher-applications/{application.pk}/approve/"
    return client_for(user).post(url, body or {}, format="json", **headers)


@pytest.mark.django_db
def test_approval_can_lower_the_amount_but_not_raise_it(submitted, reviewer):
    too_much = approve(reviewer, submitted, {"amount": "200.01"})
    assert too_much.status_code == 400
    assert too_much.json()["error"]["fields"]["amount"]
    assert not Issuance.objects.exists()
    lower = approve(reviewer, submitted, {"amount": "150.00"})
    assert lower.status_code == 202
    assert lower.json()["issuance"]["amount"] == "150.00"
    submitted.refresh_from_db()
    assert (submitted.status, submitted.approved_amount, submitted.decided_by) == ("approved", 15000, reviewer)


@pytest.mark.django_db
@pytest.mark.parametrize("amount", [1, 150, 150.0, "150.000", " 150", "0150"])
def test_an_approved_amount_is_a_yuan_string_too(submitted, reviewer, amount):
    response = approve(reviewer, submitted, {"amount": amount})
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["amount"][0]["code"] == "invalid"
    assert not Issuance.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("reviewer", 202),
        ("program_admin", 403),  # administering a program is not deciding its cases (README "Roles")
        ("finance", 403),
        ("auditor", 403),
        ("applicant", 403),
        ("outsider", 404),
        ("foreign_admin", 404),
    ],
)
def test_who_may_approve(request, submitted, persona, expected, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = approve(request.getfixturevalue(persona), submitted)
    assert response.status_code == expected, response.json()
    assert Voucher.objects.count() == (1 if expected == 202 else 0)


def reject(user, application, body):
    return client_for(user).post(f"/api/v1/voucher-applications/{application.pk}/reject/", body, format="json")


@pytest.mark.django_db
@pytest.mark.parametrize(("persona", "expected"), [("applicant", 403), ("auditor", 403), ("outsider", 404)])
def test_who_may_reject(request, submitted, persona, expected):
    # when someone other than a reviewer of the program's agency rejects it
    response = reject(request.getfixturevalue(persona), submitted, {"reason": "材料不全"})
    # then whoever sees the application is refused, whoever does not hears it does not exist; it stays submitted
    assert response.status_code == expected, response.json()
    submitted.refresh_from_db()
    assert submitted.status == "submitted"


@pytest.mark.django_db
def test_a_bad_body_from_someone_who_cannot_see_the_application_answers_404(submitted, outsider, applicant):
    # given bodies that fail validation
    # when someone who cannot see the application sends them, and then someone who can
    # then the first learns nothing, not even that the body was wrong; the second hears what was wrong
    assert approve(outsider, submitted, {"amount": "abc"}).status_code == 404
    assert reject(outsider, submitted, {}).status_code == 404
    assert approve(applicant, submitted, {"amount": "abc"}).status_code == 400
    assert reject(applicant, submitted, {}).status_code == 400
    assert not Issuance.objects.exists()


@pytest.mark.django_db
def test_an_unknown_application_answers_404_as_an_invisible_one_does(submitted, reviewer, outsider):
    # given an id no application has
    missing = VoucherApplication(pk=submitted.pk + 1000)
    # when a reviewer decides it, and an outsider decides a real one
    unknown, invisible = approve(reviewer, missing), approve(outsider, submitted)
    # then both answer the same 404
    assert unknown.status_code == invisible.status_code == 404
    assert unknown.json() == invisible.json()
    assert reject(reviewer, missing, {"reason": "x"}).status_code == 404


@pytest.mark.django_db
def test_an_application_is_decided_once(submitted, reviewer, second_reviewer):
    assert approve(reviewer, submitted).status_code == 202
    again = approve(second_reviewer, submitted)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invalid_state"
    reject = client_for(second_reviewer).post(
        f"/api/v1/voucher-applications/{submitted.pk}/reject/", {"reason": "重复"}, format="json"
    )
    assert reject.status_code == 409
    assert Issuance.objects.count() == 1


@pytest.mark.django_db
def test_reject_needs_a_reason_and_records_it(submitted, reviewer, applicant):
    url = f"/api/v1/voucher-applications/{submitted.pk}/reject/"
    assert client_for(reviewer).post(url, {}, format="json").status_code == 400
    response = client_for(reviewer).post(url, {"reason": "材料不全"}, format="json")
    assert response.status_code == 200
    seen_by_applicant = client_for(applicant).get(f"/api/v1/voucher-applications/{submitted.pk}/").json()
    assert (seen_by_applicant["status"], seen_by_applicant["rejection_reason"]) == ("rejected", "材料不全")


@pytest.mark.django_db
def test_approve_replays_with_the_same_idempotency_key(submitted, reviewer):
    first = approve(reviewer, submitted, HTTP_IDEMPOTENCY_KEY="approve-1")
    again = approve(reviewer, submitted, HTTP_IDEMPOTENCY_KEY="approve-1")
    changed = approve(reviewer, submitted, {"amount": "1.00"}, HTTP_IDEMPOTENCY_KEY="approve-1")
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert changed.status_code == 409
    assert Issuance.objects.count() == 1


@pytest.mark.django_db
def test_an_issuance_refused_at_run_time_says_why(
    program, submitted, reviewer, program_admin, django_capture_on_commit_callbacks
):
    # given the budget shrinks between submission and approval (a published rules change cuts the annual cap;
    # the ledger moves only what a domain record explains, so the test does it the way production would)
    from voucher_service.programs.services import program_update

    program_update(
        actor=program_admin,
        program=program,
        rules={"annual_cap": "50.00", "per_entity_annual_cap": None, "fixed_awards": []},
    )
    # when approved (eligibility re-checks the budget and refuses before queueing)
    response = approve(reviewer, submitted)
    # then
    assert response.status_code == 400
    assert [c["check"] for c in response.json()["error"]["checks"] if not c["ok"]] == ["budget"]


@pytest.mark.django_db
def test_an_id_beyond_any_integer_column_answers_404(reviewer):
    # given an id larger than a bigint (the service now looks it up itself, before any visibility read)
    huge = VoucherApplication(pk=10**23)
    # when a reviewer decides it
    # then it does not exist, rather than a database error
    assert approve(reviewer, huge, HTTP_IDEMPOTENCY_KEY="huge-1").status_code == 404
    assert reject(reviewer, huge, {"reason": "x"}).status_code == 404
