"""Errors that no API view handled still answer in the API's error format under /api/, and as Django's own
pages everywhere else.

A path the URL resolver does not know never reaches DRF, and a bug ends in Django's handler500; without the
handlers in voucher_service/urls.py both would be HTML pages that an API client cannot read.

The 500 and 403 tests serve this module as the URL conf: the project's routes plus views that fail on purpose.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from voucher_service import urls as project_urls

pytestmark = pytest.mark.django_db


def _bug(request):
    raise RuntimeError("an unexpected bug, with internal detail: /srv/secret/path")


class _BuggyApiView(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise RuntimeError("an unexpected bug, with internal detail: /srv/secret/path")


def _forbidden(request):
    raise PermissionDenied


# Django takes its error handlers from the URL conf in use, so this one must name the project's.
handler400 = project_urls.handler400
handler403 = project_urls.handler403
handler404 = project_urls.handler404
handler500 = project_urls.handler500
urlpatterns = [
    path("api/v1/test-bug/", _bug),
    path("api/v1/test-drf-bug/", _BuggyApiView.as_view()),
    path("api/v1/test-forbidden/", _forbidden),
    path("test-bug/", _bug),
    *project_urls.urlpatterns,
]
THIS_URLCONF = __name__


def _error(response):
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    return response.json()["error"]


# --- 404 ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/no-such-endpoint/",
        "/api/v1/vouchers/abc/revoke/",  # the detail routes take digits only
        "/api/v2/",
    ],
)
def test_an_unknown_api_path_is_a_json_404(client, url):
    # when
    response = client.get(url)
    # then
    assert response.status_code == 404
    assert _error(response) == {"status": 404, "code": "not_found", "message": "未找到。"}


def test_the_json_404_speaks_english_when_asked(client):
    response = client.get("/api/v1/no-such-endpoint/", HTTP_ACCEPT_LANGUAGE="en")
    assert _error(response)["message"] == "Not found."


def test_an_unknown_api_path_is_a_json_404_for_every_method(client):
    response = client.post("/api/v1/no-such-endpoint/", {}, content_type="application/json")
    assert response.status_code == 404
    assert _error(response)["code"] == "not_found"


def test_outside_the_api_a_404_is_still_djangos_page(client, plain_static_storage):
    # when
    response = client.get("/no-such-page/")
    # then
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


# --- 500 ------------------------------------------------------------------------------------------------


@pytest.mark.urls(THIS_URLCONF)
@pytest.mark.parametrize("url", ["/api/v1/test-bug/", "/api/v1/test-drf-bug/"])
def test_a_bug_under_the_api_is_a_json_500_that_reveals_nothing(client, url, caplog):
    # given a client that receives the 500 instead of the test re-raising the exception
    client.raise_request_exception = False
    # when
    response = client.get(url)
    # then the caller gets the error format and no detail, and the server log gets the traceback
    assert response.status_code == 500
    assert _error(response) == {"status": 500, "code": "server_error", "message": "服务器出现了错误。"}
    assert "secret" not in response.content.decode()
    assert any(record.exc_info and record.levelname == "ERROR" for record in caplog.records)


@pytest.mark.urls(THIS_URLCONF)
def test_outside_the_api_a_500_is_still_djangos_page(client):
    client.raise_request_exception = False
    response = client.get("/test-bug/")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    assert "secret" not in response.content.decode()


# --- 400 and 403 ------------------------------------------------------------------------------------------


def test_a_disallowed_host_under_the_api_is_a_json_400(client):
    response = client.get("/api/v1/me/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert _error(response)["code"] == "bad_request"


@pytest.mark.urls(THIS_URLCONF)
def test_permission_denied_outside_a_drf_view_is_a_json_403(client):
    response = client.get("/api/v1/test-forbidden/")
    assert response.status_code == 403
    assert _error(response)["code"] == "permission_denied"
