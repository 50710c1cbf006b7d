"""/api/schema/: the OpenAPI 3 document generates with no warning or error, and documents what clients need."""

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
