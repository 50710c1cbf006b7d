"""Apply → approve → issued, through the API, with the ledger checked at the end."""

import pytest
from django.core.management import call_command

from ledger.models import Account
from tests.factories import client_for
from voucher_service.vouchers.models import Issuance, Voucher
from voucher_service.vouchers.serials import serial_is_valid


@pytest.mark.django_db
def test_apply_approve_issue_and_verify(program, applicant, reviewer, entity, django_capture_on_commit_callbacks):
    # given an application by the entity
    created = client_for(applicant).post(
        "/api/v1/voucher-applications/",
        {"program": program.pk, "entity": entity.pk, "amount": "250.00", "purpose": "大模型训练"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert all(check["ok"] for check in created.json()["eligibility"])
    # when the agency's reviewer approves 200 of it
    with django_capture_on_commit_callbacks(execute=True):
        approved = client_for(reviewer).post(
            f"/api/v1/voucher-applications/{created.json()['id']}/approve/", {"amount": "200.00"}, format="json"
        )
    # then the answer is 202 with a status URL, and the issuance has succeeded
    assert approved.status_code == 202, approved.json()
    status_url = approved.json()["status_url"]
    assert approved["Location"] == status_url
    issuance = client_for(reviewer).get(status_url).json()
    assert issuance["status"] == "succeeded", issuance
    voucher = Voucher.objects.get(pk=issuance["voucher"])
    assert voucher.face_value == 20000
    assert serial_is_valid(voucher.serial)
    # and the entity sees its voucher with the balance read from the ledger
    listed = client_for(applicant).get("/api/v1/vouchers/").json()["results"]
    assert [(v["serial"], v["face_value"], v["balance"]) for v in listed] == [(voucher.serial, "200.00", "200.00")]
    # and anyone with the token can verify it
    verified = client_for(None).get(f"/api/v1/vouchers/verify/{voucher.token}/")
    assert verified.status_code == 200
    assert verified.json()["balance"] == "200.00"
    # and the budget moved by exactly that much
    (budget,) = client_for(reviewer).get(f"/api/v1/programs/{program.pk}/budgets/").json()
    assert (budget["cap"], budget["issued"], budget["remaining"]) == ("1000.00", "200.00", "800.00")
    call_command("verify_ledger")


@pytest.mark.django_db
def test_a_redelivered_task_is_harmless(program, applicant, reviewer, entity, django_capture_on_commit_callbacks):
    from voucher_service.vouchers.tasks import issue_voucher

    created = client_for(applicant).post(
        "/api/v1/voucher-applications/",
        {"program": program.pk, "entity": entity.pk, "amount": "100.00", "purpose": "训练"},
        format="json",
    )
    with django_capture_on_commit_callbacks(execute=True):
        client_for(reviewer).post(f"/api/v1/voucher-applications/{created.json()['id']}/approve/", {}, format="json")
    issuance = Issuance.objects.get()
    accounts_before = Account.objects.count()
    # when the same task is delivered twice more
    assert issue_voucher.delay(issuance.pk).get() == "succeeded"
    assert issue_voucher.delay(issuance.pk).get() == "succeeded"
    # then still one voucher
    assert Voucher.objects.count() == 1
    assert Account.objects.count() == accounts_before


@pytest.mark.django_db
def test_a_database_refusal_shows_the_applicant_no_database_text(
    program, applicant, reviewer, entity, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    # given the database refuses the issuance's write (issue 10, item 14: its raw text reached the applicant)
    from django.db import IntegrityError

    from voucher_service.vouchers import issuance as issuance_module

    def refuse(*args, **kwargs):
        raise IntegrityError('duplicate key value violates unique constraint "vouchers_voucher_serial_key"')

    monkeypatch.setattr(issuance_module, "entry_post", refuse)
    created = client_for(applicant).post(
        "/api/v1/voucher-applications/",
        {"program": program.pk, "entity": entity.pk, "amount": "100.00", "purpose": "训练"},
        format="json",
    )
    # when
    with django_capture_on_commit_callbacks(execute=True):
        approved = client_for(reviewer).post(f"/api/v1/voucher-applications/{created.json()['id']}/approve/")
    # then the applicant reads a plain sentence; the operators' log has the database's words
    shown = client_for(applicant).get(approved.json()["status_url"]).json()
    assert shown["status"] == "failed"
    assert shown["failure_code"] == "database_refused"
    assert "constraint" not in shown["failure_message"]
    assert "IntegrityError" not in shown["failure_message"]
    assert "vouchers_voucher_serial_key" in caplog.text
    assert not Voucher.objects.exists()
