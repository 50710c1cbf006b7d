"""?limit= and ?offset= on every list: validated, with a documented maximum page size; never a 500."""

from __future__ import annotations

import pytest

from tests.factories import client_for
from voucher_service.api.pagination import MAX_PAGE_SIZE

pytestmark = pytest.mark.django_db

LISTS = [
    "/api/v1/organizations/",
    "/api/v1/programs/",
    "/api/v1/providers/",
    "/api/v1/voucher-applications/",
    "/api/v1/issuances/",
    "/api/v1/issuances/bulk/",
    "/api/v1/vouchers/",
    "/api/v1/auth/tokens/",
]


@pytest.fixture
def reader(program_admin):
    from accounts.tokens import token_issue

    token_issue(actor=program_admin, user=program_admin)  # so that every list has at least one row to slice
    return client_for(program_admin)


@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("limit=9223372036854775808", "limit"),
        ("limit=99999999999999999999999999", "limit"),
        ("limit=0", "limit"),
        ("limit=-1", "limit"),
        (f"limit={MAX_PAGE_SIZE + 1}", "limit"),
        ("limit=abc", "limit"),
        ("limit=%201", "limit"),
        ("limit=1.5", "limit"),
        ("offset=-1", "offset"),
        ("offset=9223372036854775808999", "offset"),
        ("offset=x", "offset"),
    ],
)
def test_a_bad_page_parameter_is_a_400_naming_it(reader, url, query, parameter):
    # when
    response = reader.get(f"{url}?{query}", HTTP_ACCEPT_LANGUAGE="en")
    # then
    assert response.status_code == 400, (url, query, response.content[:300])
    fields = response.json()["error"]["fields"]
    assert list(fields) == [parameter]
    assert fields[parameter][0]["code"] == "invalid"


@pytest.mark.parametrize("url", LISTS)
def test_the_largest_page_and_a_far_offset_are_fine(reader, url):
    assert reader.get(f"{url}?limit={MAX_PAGE_SIZE}").status_code == 200
    far = reader.get(f"{url}?offset=999999999999999999")
    assert far.status_code == 200
    assert far.json()["results"] == []


def test_the_schema_documents_the_maximum_page_size(openapi_document):
    schema = openapi_document
    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/programs/"]["get"]["parameters"]}
    assert parameters["limit"]["schema"]["maximum"] == MAX_PAGE_SIZE
    assert parameters["limit"]["schema"]["minimum"] == 1
    assert parameters["offset"]["schema"]["minimum"] == 0
    assert str(MAX_PAGE_SIZE) in parameters["limit"]["description"]


def test_the_message_is_translated(reader):
    message = reader.get("/api/v1/programs/?limit=0").json()["error"]["fields"]["limit"][0]["message"]
    assert "1" in message
    assert str(MAX_PAGE_SIZE) in message
    assert "limit" in message
    assert "页" in message
