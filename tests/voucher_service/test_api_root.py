"""GET /api/v1/: the API root the README points to answers with a map of the API, to anyone."""

from __future__ import annotations

import pytest

from tests.factories import client_for

pytestmark = pytest.mark.django_db


def test_the_api_root_maps_every_collection_and_the_docs():
    # when anyone (not logged in) opens the address the README lists
    response = client_for(None).get("/api/v1/")
    # then it is a JSON map whose every link answers
    assert response.status_code == 200
    body = response.json()
    assert body["schema"] == "http://testserver/api/schema/"
    assert body["docs"] == "http://testserver/api/docs/"
    assert body["voucher_verify"] == "http://testserver/api/v1/vouchers/verify/{token}/"
    assert set(body["endpoints"]) >= {"programs", "voucher_applications", "vouchers", "organizations", "auth_token"}
    for url in body["endpoints"].values():
        assert url.startswith("http://testserver/api/v1/")
        status = client_for(None).get(url.removeprefix("http://testserver")).status_code
        assert status in (200, 401, 405), url  # it exists (the login endpoint takes only POST and DELETE)


def test_the_api_root_is_in_the_schema(openapi_document):
    schema = openapi_document
    assert schema["paths"]["/api/v1/"]["get"]["operationId"] == "api_root"
