"""Every write endpoint takes exactly what its schema says: an unknown or read-only field, a value of the wrong
JSON type, a null or non-object body are each a 400 that names the field, and nothing is written.

One table for the whole API (accounts, programs, providers, vouchers), so a new write serializer that forgets
to be strict shows up here.
"""

from __future__ import annotations

from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import AuditEvent, OrganizationKind
from tests.factories import apply, client_for, make_org, make_program
from voucher_service.programs.providers import provider_register
from voucher_service.vouchers.services import application_approve, issuance_execute

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(program_admin, reviewer, applicant, entity, ningxia_agency, django_capture_on_commit_callbacks):
    program = make_program(program_admin, ningxia_agency)
    submitted = apply(client_for(applicant), program, entity, "100.00").json()["id"]
    second = apply(client_for(applicant), program, entity, "50.00").json()["id"]
    from voucher_service.vouchers.models import VoucherApplication

    issuance = application_approve(actor=reviewer, application=VoucherApplication.objects.get(pk=second))
    voucher = issuance_execute(issuance_id=issuance.pk).voucher
    provider = make_org(OrganizationKind.PROVIDER, jurisdiction="640104")
    listing = provider_register(
        actor=program_admin, organization=provider, service_types=["gpu"], valid_from=date(2024, 1, 1)
    )
    return {
        "program": program.pk,
        "application": submitted,
        "voucher": voucher.pk,
        "entity": entity.pk,
        "listing": listing.pk,
        "platform": make_org(OrganizationKind.PLATFORM, jurisdiction="640100").pk,
    }


# (persona, method, url, body, {field: code}); urls and bodies are formatted with the world's ids.
CASES = [
    (
        "anonymous",
        "post",
        "/api/v1/auth/token/",
        {"username": 123, "password": "x", "bogus": 1},
        {"username": "invalid_type", "bogus": "unknown_field"},
    ),
    (
        "program_admin",
        "post",
        "/api/v1/organizations/",
        {"name": 123, "kind": "entity", "category": "tech_sme", "jurisdiction": 640104, "status": "x", "id": 5},
        {"name": "invalid_type", "jurisdiction": "invalid_type", "status": "unknown_field", "id": "unknown_field"},
    ),
    (
        "program_admin",
        "patch",
        "/api/v1/organizations/{entity}/",
        {"kind": "agency", "is_active": "yes", "bogus": 1},
        {"kind": "unknown_field", "is_active": "invalid_type", "bogus": "unknown_field"},
    ),
    (
        "program_admin",
        "post",
        "/api/v1/programs/",
        {"code": "x-1", "name": 7, "jurisdiction": "640000", "issuing_agency": "1", "rules": {}, "status": "published"},
        {"name": "invalid_type", "issuing_agency": "invalid_type", "status": "unknown_field"},
    ),
    (
        "program_admin",
        "patch",
        "/api/v1/programs/{program}/",
        {"status": "expired", "code": "y", "legal_clause": 5},
        {"status": "unknown_field", "code": "unknown_field", "legal_clause": "invalid_type"},
    ),
    (
        "program_admin",
        "post",
        "/api/v1/programs/{program}/suspend/",
        {"reason": 123, "until": "2030-01-01"},
        {"reason": "invalid_type", "until": "unknown_field"},
    ),
    (
        "program_admin",
        "post",
        "/api/v1/programs/{program}/extend/",
        {"new_end": 20300101, "reason": ["x"]},
        {"new_end": "invalid_type", "reason": "invalid_type"},
    ),
    (
        "program_admin",
        "post",
        "/api/v1/providers/",
        {"organization": "1", "service_types": ["gpu", 1], "valid_from": "2024-01-01", "platforms": ["{platform}"]},
        {"organization": "invalid_type", "service_types.1": "invalid_type", "platforms.0": "invalid_type"},
    ),
    (
        "program_admin",
        "patch",
        "/api/v1/providers/{listing}/",
        {"status": "delisted", "valid_until": "2030-1-1"},
        {"status": "unknown_field", "valid_until": "invalid_type"},
    ),
    (
        "program_admin",
        "post",
        "/api/v1/providers/{listing}/status/",
        {"status": 1, "reason": "x"},
        {"status": "invalid_type"},
    ),
    (
        "applicant",
        "post",
        "/api/v1/voucher-applications/",
        {
            "program": "{program}",
            "entity": "{entity}",
            "amount": "10.00",
            "purpose": 123,
            "status": "approved",
            "approved_amount": "10.00",
            "kind": "x",
            "bogus": True,
        },
        {
            "program": "invalid_type",
            "entity": "invalid_type",
            "purpose": "invalid_type",
            "status": "unknown_field",
            "approved_amount": "unknown_field",
            "kind": "unknown_field",
            "bogus": "unknown_field",
        },
    ),
    (
        "reviewer",
        "post",
        "/api/v1/voucher-applications/{application}/approve/",
        {"amount": 1, "status": "approved"},
        {"amount": "invalid", "status": "unknown_field"},
    ),
    (
        "reviewer",
        "post",
        "/api/v1/voucher-applications/{application}/reject/",
        {"reason": 5, "note": "x"},
        {"reason": "invalid_type", "note": "unknown_field"},
    ),
    (
        "reviewer",
        "post",
        "/api/v1/issuances/awards/",
        {"program": "{program}", "entity": True, "award_code": 1, "amount": "100.00"},
        {"program": "invalid_type", "entity": "invalid_type", "award_code": "invalid_type", "amount": "unknown_field"},
    ),
    (
        "program_admin",
        "post",
        "/api/v1/vouchers/{voucher}/revoke/",
        {"reason": 1.5, "amount": "1.00"},
        {"reason": "invalid_type", "amount": "unknown_field"},
    ),
]


def _format(value, ids):
    if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1] in ids:
        return str(ids[value[1:-1]]) if value != "{platform}" else str(ids["platform"])
    if isinstance(value, list):
        return [_format(item, ids) for item in value]
    return value


def _client(request, persona):
    return client_for(None if persona == "anonymous" else request.getfixturevalue(persona))


@pytest.mark.parametrize(("persona", "method", "url", "body", "expected"), CASES, ids=[f"{c[1]} {c[2]}" for c in CASES])
def test_a_write_names_every_field_it_does_not_take(request, world, persona, method, url, body, expected):
    # given
    client = _client(request, persona)
    events = AuditEvent.objects.count()
    # when
    response = getattr(client, method)(
        url.format(**world), {k: _format(v, world) for k, v in body.items()}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    # then
    assert response.status_code == 400, response.json()
    fields = response.json()["error"]["fields"]
    assert {name: fields.get(name, [{}])[0].get("code") for name in expected} == expected, fields
    assert AuditEvent.objects.count() == events


WRITES = sorted({(c[0], c[1], c[2]) for c in CASES})


@pytest.mark.parametrize(("persona", "method", "url"), WRITES, ids=[f"{w[1]} {w[2]}" for w in WRITES])
@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("null", "The request body is null; send a JSON object with this request's fields."),
        ("[1, 2]", "The request body must be a JSON object, not a JSON array."),
        ('"text"', "The request body must be a JSON object, not a JSON string."),
        ("7", "The request body must be a JSON object, not a JSON number."),
    ],
)
def test_a_body_that_is_not_an_object_gets_a_clear_message(request, world, persona, method, url, raw, message):
    client = _client(request, persona)
    response = getattr(client, method)(
        url.format(**world), raw, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400, response.json()
    assert response.json()["error"]["fields"] == {
        "non_field_errors": [
            {"code": response.json()["error"]["fields"]["non_field_errors"][0]["code"], "message": message}
        ]
    }


def test_the_null_body_message_is_translated(request, world):
    response = _client(request, "applicant").post(
        "/api/v1/voucher-applications/", "null", content_type="application/json"
    )
    assert (
        response.json()["error"]["fields"]["non_field_errors"][0]["message"]
        == "请求体为 null；请发送包含本请求字段的 JSON 对象。"
    )


def test_a_multipart_upload_names_unknown_and_mistyped_fields(world, program_admin):
    upload = SimpleUploadedFile("v.csv", b"uscc,amount\n", content_type="text/csv")
    response = client_for(program_admin).post(
        "/api/v1/issuances/bulk/",
        {"program": "first", "mode": "valid_rows_only", "file": upload, "bogus": "1"},
        format="multipart",
    )
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert fields["program"][0]["code"] == "invalid_type"
    assert fields["bogus"][0]["code"] == "unknown_field"
