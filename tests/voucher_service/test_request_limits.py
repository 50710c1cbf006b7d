"""Request bodies past a sane depth or size are refused in the one error shape, never a 500.

A JSON array nested a thousand levels deep makes Python's decoder raise RecursionError; a body over
``DATA_UPLOAD_MAX_MEMORY_SIZE`` is a 413. Both hold on an unauthenticated endpoint too, since the parser runs
before anything else looks at the request.
"""

from __future__ import annotations

import json

import pytest

from tests.factories import client_for
from voucher_service.api.parsers import MAX_JSON_DEPTH

pytestmark = pytest.mark.django_db

APPLICATIONS = "/api/v1/voucher-applications/"
LOGIN = "/api/v1/auth/token/"


def post_raw(client, url, body: bytes | str, **extra):
    return client.post(url, data=body, content_type="application/json", **extra)


@pytest.mark.parametrize("url", [APPLICATIONS, LOGIN])
def test_a_body_nested_a_thousand_levels_deep_is_a_400(applicant, url):
    # given
    body = "[" * 1000 + "]" * 1000
    # when
    response = post_raw(client_for(applicant), url, body, HTTP_ACCEPT_LANGUAGE="en")
    # then
    assert response.status_code == 400, response.content[:300]
    error = response.json()["error"]
    assert error["code"] == "parse_error"
    assert "nested" in error["message"]


def test_a_body_just_past_the_depth_limit_is_refused_and_one_at_it_is_parsed(applicant):
    # given two objects, one at the limit and one a level deeper
    def nested(depth: int) -> str:
        return '{"a":' * (depth - 1) + "{}" + "}" * (depth - 1)

    client = client_for(applicant)
    # when
    at_limit = post_raw(client, APPLICATIONS, nested(MAX_JSON_DEPTH))
    too_deep = post_raw(client, APPLICATIONS, nested(MAX_JSON_DEPTH + 1))
    # then the first reaches the serializer (which refuses its fields), the second never does
    assert at_limit.status_code == 400
    assert at_limit.json()["error"]["code"] == "invalid"
    assert too_deep.status_code == 400
    assert too_deep.json()["error"]["code"] == "parse_error"


@pytest.mark.parametrize("url", [APPLICATIONS, LOGIN])
def test_a_body_over_the_size_limit_is_a_413_in_the_error_shape(applicant, url, settings):
    # given
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = json.dumps({"purpose": "x" * 20_000})
    # when
    response = post_raw(client_for(applicant), url, body, HTTP_ACCEPT_LANGUAGE="en")
    # then
    assert response.status_code == 413
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error == {"status": 413, "code": "request_too_large", "message": error["message"]}
    assert "10000" in error["message"] or "10,000" in error["message"]


def test_a_body_that_is_not_json_says_where_in_both_languages(applicant):
    client = client_for(applicant)
    english = post_raw(client, APPLICATIONS, '{"amount": }', HTTP_ACCEPT_LANGUAGE="en").json()["error"]
    chinese = post_raw(client, APPLICATIONS, '{"amount": }', HTTP_ACCEPT_LANGUAGE="zh-hans").json()["error"]
    assert english["code"] == chinese["code"] == "parse_error"
    assert "line 1" in english["message"]
    assert "第 1 行" in chinese["message"]


def test_nan_is_not_json(applicant):
    response = post_raw(client_for(applicant), APPLICATIONS, '{"amount": NaN}')
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


# --- NUL characters: PostgreSQL cannot store or compare them, so they must never reach a query -------------


def test_a_nul_in_a_json_string_is_a_400(program_admin):
    body = '{"code": "x", "name": "n", "jurisdiction": "64\\u0000", "issuing_agency": 1, "rules": {}}'
    response = post_raw(client_for(program_admin), "/api/v1/programs/", body, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert response.json()["error"] == {
        "status": 400,
        "code": "parse_error",
        "message": "The request contains a NUL character (\\u0000), which no field accepts.",
    }


def test_a_nul_in_a_json_key_or_a_nested_rules_text_is_a_400(program_admin):
    client = client_for(program_admin)
    for body in ['{"na\\u0000me": "x"}', '{"rules": {"fixed_awards": [{"description": "a\\u0000"}]}}']:
        response = post_raw(client, "/api/v1/programs/", body)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "parse_error"


@pytest.mark.parametrize(
    "url", ["/api/v1/jurisdictions/%00/", "/api/v1/vouchers/verify/%00/", "/api/v1/programs/?jurisdiction=%00"]
)
def test_a_nul_in_a_path_or_query_is_a_400(applicant, url):
    response = client_for(applicant).get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_a_nul_in_a_multipart_field_is_a_field_error(program_admin):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("v.csv", b"uscc,amount\n", content_type="text/csv")
    response = client_for(program_admin).post(
        "/api/v1/issuances/bulk/", {"program": "1", "mode": "all\x00", "file": upload}, format="multipart"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["mode"][0]["code"] == "invalid_type"
