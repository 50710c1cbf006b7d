"""/api/schema/: the OpenAPI 3 document generates with no warning or error, and documents what clients need."""

import re

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_schema_generation_has_no_warnings(tmp_path):
    # --fail-on-warn turns any drf-spectacular warning (an untyped field, an enum name clash…) into a failure.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert (tmp_path / "schema.yaml").stat().st_size > 10_000


@pytest.mark.django_db
def test_schema_endpoint_describes_auth_and_idempotency(client, applicant):
    client.force_login(applicant)  # production serves the schema to authenticated users only
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["components"]["securitySchemes"]["bearerToken"]["scheme"] == "bearer"
    approve = schema["paths"]["/api/v1/voucher-applications/{id}/approve/"]["post"]
    assert "Idempotency-Key" in [parameter["name"] for parameter in approve["parameters"]]


@pytest.fixture
def schema(openapi_document):
    return openapi_document


def operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield method.upper(), path, operation


@pytest.mark.django_db
def test_request_bodies_advertise_json_and_multipart_only_for_the_file_upload(schema):
    media = {
        (method, path): sorted(operation["requestBody"]["content"])
        for method, path, operation in operations(schema)
        if "requestBody" in operation
    }
    assert media.pop(("POST", "/api/v1/issuances/bulk/")) == ["multipart/form-data"]
    assert media
    assert {tuple(types) for types in media.values()} == {("application/json",)}


@pytest.mark.django_db
def test_a_form_body_to_a_json_endpoint_is_a_415_in_the_error_shape(client):
    response = client.post("/api/v1/auth/token/", {"username": "x", "password": "y"})  # multipart by default
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


@pytest.mark.django_db
def test_operation_ids_are_readable_and_unique(schema):
    ids = [operation["operationId"] for _method, _path, operation in operations(schema)]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)*", operation_id) for operation_id in ids), ids
    assert {
        "api_root",
        "auth_login",
        "auth_logout",
        "me_get",
        "program_list",
        "program_get",
        "program_publish",
        "voucher_application_create",
        "voucher_application_approve",
        "bulk_issuance_create",
        "voucher_verify",
    } <= set(ids)


@pytest.mark.django_db
def test_every_operation_documents_its_errors_in_the_one_shape_and_never_a_500(schema):
    error_ref = "#/components/schemas/Error"
    for method, path, operation in operations(schema):
        responses = operation["responses"]
        assert "500" not in responses, (method, path)
        errors = {code: response for code, response in responses.items() if code.startswith("4")}
        assert errors or path == "/api/v1/", (method, path)  # the public root reads nothing that could be wrong
        for code, response in errors.items():
            assert response["content"]["application/json"]["schema"] == {"$ref": error_ref}, (method, path, code)
        if method in ("POST", "PATCH", "DELETE"):
            assert "400" in responses, (method, path)
        if "{" in path:
            assert "404" in responses, (method, path)
        if "requestBody" in operation:
            assert {"413", "415"} <= set(responses), (method, path)
    assert schema["paths"]["/api/v1/auth/token/"]["post"]["responses"].keys() >= {"401", "429"}


@pytest.mark.django_db
def test_request_bodies_are_closed(schema):
    requests = {name: s for name, s in schema["components"]["schemas"].items() if name.endswith("Request")}
    assert "ApplicationCreateRequest" in requests
    assert all(component.get("additionalProperties") is False for component in requests.values())
