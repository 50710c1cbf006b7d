"""公示: /api/v1/public-notices/ (anyone), objections (anyone, throttled), /api/v1/objections/{id}/resolve/, and
the close_notices job."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from tests.claims import YUAN, approve_all, issue_voucher, submitted
from tests.factories import client_for, make_org, make_user
from voucher_service.claims.notice import notices_close
from voucher_service.claims.working_days import add_working_days

pytestmark = pytest.mark.django_db


@pytest.fixture
def noticed(bd, django_capture_on_commit_callbacks):
    issue_voucher(bd.program, bd.entity, 1_000_000 * YUAN)
    claim = approve_all(bd, submitted(bd, django_capture_on_commit_callbacks))
    assert claim.status == "in_notice"
    return claim


def object_to(claim, **body):
    return client_for(None).post(
        f"/api/v1/public-notices/{claim.pk}/objections/",
        {"reason": "该企业与服务商存在关联关系", "contact": "138****0000", **body},
        format="json",
    )


def test_the_public_lists_claims_under_notice_for_five_working_days(noticed):
    # when anyone lists the notices, without logging in
    response = client_for(None).get("/api/v1/public-notices/")
    # then the claim is there with its subsidy and dates; the notice lasts 5 working days (holidays, 调休 counted)
    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert (row["id"], row["subsidy"], row["entity_name"]) == (noticed.pk, "500000.00", noticed.entity.name)
    assert noticed.notice_ends_on == add_working_days(noticed.notice_starts_on, 5)


def test_a_makers_name_is_masked(bd, django_capture_on_commit_callbacks):
    maker = make_org(jurisdiction="130602", category="maker", uscc=None, name="张三丰")
    bd.entity, bd.applicant = maker, make_user(maker, "applicant", username="maker")
    issue_voucher(bd.program, maker, 100_000 * YUAN)
    from tests.claims import claim_body

    approve_all(bd, submitted(bd, django_capture_on_commit_callbacks, claim_body(bd, amount=50_000 * YUAN)))
    (row,) = client_for(None).get("/api/v1/public-notices/").json()["results"]
    assert row["entity_name"] == "张**"


def test_the_notice_ends_payable_and_the_job_is_idempotent(noticed):
    after = noticed.notice_ends_on + timedelta(days=1)
    # on its last day it is still in notice
    assert notices_close(today=noticed.notice_ends_on) == 0
    # the day after it becomes payable, once
    out = StringIO()
    call_command("close_notices", "--today", after.isoformat(), stdout=out)
    assert "1 claim(s)" in out.getvalue()
    assert notices_close(today=after) == 0
    noticed.refresh_from_db()
    assert noticed.status == "payable"


def test_an_open_objection_pauses_the_claim_until_dismissed(bd, noticed):
    # given an objection filed anonymously
    filed = object_to(noticed)
    assert filed.status_code == 201, filed.json()
    after = noticed.notice_ends_on + timedelta(days=1)
    # then the notice's end passes without the claim becoming payable
    assert notices_close(today=after) == 0
    # when a reviewer dismisses it
    response = client_for(bd.reviewer).post(
        f"/api/v1/objections/{filed.json()['id']}/resolve/",
        {"outcome": "dismissed", "reason": "经核查不存在关联"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    # then the notice resumes and ends
    assert notices_close(today=after) == 1


def test_an_upheld_objection_lowers_the_amount_or_rejects(bd, noticed, django_capture_on_commit_callbacks):
    first = object_to(noticed).json()["id"]
    lowered = client_for(bd.reviewer).post(
        f"/api/v1/objections/{first}/resolve/",
        {"outcome": "upheld", "reason": "部分发票重复", "amount": "300000.00"},
        format="json",
    )
    assert lowered.status_code == 200, lowered.json()
    noticed.refresh_from_db()
    assert (noticed.status, noticed.approved_amount) == ("in_notice", 300_000 * YUAN)
    second = object_to(noticed).json()["id"]
    rejected = client_for(bd.reviewer).post(
        f"/api/v1/objections/{second}/resolve/", {"outcome": "upheld", "reason": "虚假材料"}, format="json"
    )
    assert rejected.status_code == 200
    noticed.refresh_from_db()
    assert noticed.status == "rejected"
    assert client_for(None).get("/api/v1/public-notices/").json()["results"] == []


def test_only_a_reviewer_of_the_program_resolves_and_only_open_objections(bd, noticed, program_admin):
    objection = object_to(noticed).json()["id"]
    url = f"/api/v1/objections/{objection}/resolve/"
    body = {"outcome": "dismissed", "reason": "x"}
    assert client_for(bd.finance).post(url, body, format="json").status_code == 403
    assert client_for(program_admin).post(url, body, format="json").status_code == 404  # another agency
    assert client_for(bd.applicant).post(url, body, format="json").status_code == 403
    assert client_for(bd.reviewer).post(url, body, format="json").status_code == 200
    assert client_for(bd.reviewer).post(url, body, format="json").status_code == 409


def test_objections_only_to_claims_under_notice_and_throttled(bd, noticed, monkeypatch):
    from rest_framework.throttling import ScopedRateThrottle

    # given the objection rate (10/hour by default) set to 2 an hour
    monkeypatch.setattr(
        ScopedRateThrottle, "THROTTLE_RATES", {**ScopedRateThrottle.THROTTLE_RATES, "objection": "2/hour"}
    )
    assert object_to(noticed).status_code == 201
    assert object_to(noticed).status_code == 201
    assert object_to(noticed).status_code == 429
    assert client_for(None).post("/api/v1/public-notices/999999/objections/", {}, format="json").status_code in (
        404,
        429,
    )


def test_an_objection_is_checked_like_any_input(noticed):
    response = object_to(noticed, reason="", extra="x")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"reason", "extra"}


def test_an_upheld_objection_cannot_lower_the_amount_to_nothing(bd, noticed):
    # given an open objection (found by the stress run: the service let 0 through to the database's CHECK, a 500)
    from core.errors import ServiceError
    from voucher_service.claims.models import Objection
    from voucher_service.claims.notice import objection_resolve

    objection = Objection.objects.get(pk=object_to(noticed).json()["id"])
    # when the reviewer upholds it "lowering" the amount to zero
    with pytest.raises(ServiceError) as refused:
        objection_resolve(actor=bd.reviewer, objection=objection, outcome="upheld", reason="x", amount=0)
    # then it is a refusal naming the amount, and the claim is untouched
    assert refused.value.fields is not None
    assert refused.value.fields["amount"][0]["code"] == "min_value"
    noticed.refresh_from_db()
    assert noticed.status == "in_notice"
