"""POST /api/v1/voucher-applications/: the entity applies; bad input is a 400 with field errors and writes nothing."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from accounts.models import AuditEvent
from ledger.models import JournalEntry
from tests.factories import apply, client_for, make_org, make_program, make_user
from voucher_service.programs.models import ProgramStatus
from voucher_service.programs.services import program_create
from voucher_service.vouchers.models import VoucherApplication


def nothing_written(before):
    return (VoucherApplication.objects.count(), AuditEvent.objects.count(), JournalEntry.objects.count()) == before


def counts():
    return VoucherApplication.objects.count(), AuditEvent.objects.count(), JournalEntry.objects.count()


@pytest.mark.django_db
def test_an_eligible_application_is_saved_with_its_checks(program, applicant, entity):
    response = apply(client_for(applicant), program, entity, "250.50")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["requested_amount"] == "250.50"
    assert body["status"] == "submitted"
    assert {check["check"] for check in body["eligibility"]} >= {
        "program_in_force",
        "entity_category",
        "entity_jurisdiction",
        "entity_cap",
        "budget",
    }
    assert VoucherApplication.objects.get().requested_amount == 25050


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("0", "min_value"),
        ("0.00", "min_value"),
        ("-5.00", "invalid"),
        ("abc", "invalid"),
        ("1.234", "invalid"),
        ("1e3", "invalid"),
        (12.5, "invalid"),
        ("", "invalid"),
        (None, "invalid"),
    ],
)
def test_bad_amounts_are_field_errors(program, applicant, entity, amount, code):
    before = counts()
    response = apply(client_for(applicant), program, entity, amount)
    assert response.status_code == 400, response.json()
    assert response.json()["error"]["fields"]["amount"][0]["code"] in {code, "null"}
    assert nothing_written(before)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "amount",
    [100, 1, " 100 ", "+100", "100.00\n", "00100", "0100.50", "100.", ".5", "1,000.00", "１００", "١٠٠", "1_000"],
)
def test_an_amount_is_only_the_schemas_string_of_ascii_digits(program, applicant, entity, amount):
    # given an amount the schema's pattern ^(0|[1-9][0-9]*)(\.[0-9]{1,2})?$ does not match (or not a string)
    before = counts()
    # when
    zh = apply(client_for(applicant), program, entity, amount)
    en = apply(client_for(applicant), program, entity, amount, HTTP_ACCEPT_LANGUAGE="en")
    # then the same field error, in both languages, and nothing written
    assert zh.status_code == en.status_code == 400
    [zh_error] = zh.json()["error"]["fields"]["amount"]
    [en_error] = en.json()["error"]["fields"]["amount"]
    assert zh_error["code"] == en_error["code"] == "invalid"
    assert (
        en_error["message"]
        == 'Send an amount in yuan as a decimal string with at most two decimals, such as "1000.00".'
    )
    assert zh_error["message"] == '金额以元为单位，用最多两位小数的十进制字符串表示，例如 "1000.00"。'
    assert nothing_written(before)


@pytest.mark.django_db
@pytest.mark.parametrize(("amount", "fen"), [("0.5", 50), ("100", 10000), ("100.00", 10000), ("0.01", 1)])
def test_the_schemas_amounts_are_accepted(program, applicant, entity, amount, fen):
    response = apply(client_for(applicant), program, entity, amount)
    assert response.status_code == 201, response.json()
    assert VoucherApplication.objects.get().requested_amount == fen


def test_the_schema_publishes_the_pattern_the_field_applies(openapi_document):
    from ledger.money import YUAN_PATTERN

    schema = openapi_document
    amount = schema["components"]["schemas"]["ApplicationCreateRequest"]["properties"]["amount"]
    assert amount["type"] == "string"
    assert amount["pattern"] == YUAN_PATTERN == r"^(0|[1-9][0-9]*)(\.[0-9]{1,2})?$"


@pytest.mark.django_db
def test_an_ineligible_category_is_refused_with_readable_reasons(program, ningxia_agency):
    # given an enterprise (not a category this program accepts) in the right place
    enterprise = make_org(jurisdiction="640104", category="enterprise")
    user = make_user(enterprise, "applicant")
    before = counts()
    # when
    response = apply(client_for(user), program, enterprise)
    # then
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "not_eligible"
    failed = [check for check in error["checks"] if not check["ok"]]
    assert [check["check"] for check in failed] == ["entity_category"]
    assert failed[0]["message"]
    assert nothing_written(before)


@pytest.mark.django_db
def test_an_entity_outside_the_jurisdiction_is_refused(program, baoding_entity):
    user = make_user(baoding_entity, "applicant")
    response = apply(client_for(user), program, baoding_entity)
    assert response.status_code == 400
    assert [c["check"] for c in response.json()["error"]["checks"] if not c["ok"]] == ["entity_jurisdiction"]


@pytest.mark.django_db
def test_a_draft_program_is_not_there_for_an_entity(program_admin, ningxia_agency, applicant, entity):
    draft = program_create(
        actor=program_admin,
        code="nx-draft",
        name="草案",
        jurisdiction=ningxia_agency.jurisdiction,
        issuing_agency=ningxia_agency,
        rules={"eligible_categories": ["tech_sme"]},
    )
    before = counts()
    response = apply(client_for(applicant), draft, entity)
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["program"][0]["code"] == "does_not_exist"
    assert nothing_written(before)


@pytest.mark.django_db
def test_an_expired_program_is_refused(program_admin, ningxia_agency, applicant, entity):
    # given a published program whose window ended yesterday and which the expiry job has marked expired
    program = make_program(program_admin, ningxia_agency, code="nx-old")
    yesterday = timezone.localdate() - timedelta(days=1)
    program.__class__.objects.filter(pk=program.pk).update(
        valid_from=date(yesterday.year - 1, 1, 1), valid_until=yesterday, status=ProgramStatus.EXPIRED
    )
    before = counts()
    response = apply(client_for(applicant), program, entity)
    assert response.status_code == 400
    checks = response.json()["error"]["checks"]
    assert checks[0]["check"] == "program_in_force"
    assert checks[0]["ok"] is False
    assert nothing_written(before)


@pytest.mark.django_db
def test_an_applicant_cannot_apply_for_another_entity(program, applicant, other_entity):
    response = apply(client_for(applicant), program, other_entity)
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["entity"][0]["code"] == "does_not_exist"


@pytest.mark.django_db
def test_an_agency_user_cannot_apply(program, reviewer, entity):
    response = apply(client_for(reviewer), program, entity)
    assert response.status_code == 400
    assert "entity" in response.json()["error"]["fields"]


@pytest.mark.django_db
def test_a_request_over_the_entity_cap_is_refused_at_submission(program, applicant, entity):
    response = apply(client_for(applicant), program, entity, "300.01")
    assert response.status_code == 400
    assert [c["check"] for c in response.json()["error"]["checks"] if not c["ok"]] == ["entity_cap"]


@pytest.mark.django_db
def test_eligibility_reasons_follow_the_language(program, applicant, entity):
    zh = apply(client_for(applicant), program, entity, "300.01")
    en = apply(client_for(applicant), program, entity, "300.01", HTTP_ACCEPT_LANGUAGE="en")
    assert zh.json()["error"]["message"] == "该主体今年最多还能获得 300.00 元。"
    assert en.json()["error"]["message"] == "The entity may receive only 300.00 yuan more this year."
