"""Query-parameter filters narrow lists; the lookup of one object by its URL ignores them (visibility still holds)."""

import pytest

from tests.factories import client_for


@pytest.mark.django_db
def test_a_filter_narrows_the_list(application, reviewer):
    # given a submitted application
    client = client_for(reviewer)
    # when the list is filtered by another status, then by its own
    approved = client.get("/api/v1/voucher-applications/", {"status": "approved"}).json()["results"]
    submitted = client.get("/api/v1/voucher-applications/", {"status": "submitted"}).json()["results"]
    # then only the matching filter lists it
    assert [row["id"] for row in approved] == []
    assert [row["id"] for row in submitted] == [application]


@pytest.mark.django_db
def test_a_bad_filter_value_is_refused_on_the_list(reviewer):
    response = client_for(reviewer).get("/api/v1/voucher-applications/", {"program": "not-a-number"})
    assert response.status_code == 400
    assert "program" in response.json()["error"]["fields"]


@pytest.mark.django_db
def test_a_detail_url_finds_its_object_whatever_the_query_string(application, reviewer):
    # given a filter that the application does not match, on its own URL
    client = client_for(reviewer)
    # when it is read and approved through that URL
    read = client.get(f"/api/v1/voucher-applications/{application}/", {"status": "approved"})
    approved = client.post(f"/api/v1/voucher-applications/{application}/approve/?status=approved&program=x")
    # then the query string played no part
    assert read.status_code == 200
    assert read.json()["id"] == application
    assert approved.status_code == 202


@pytest.mark.django_db
def test_a_detail_url_still_hides_what_the_user_may_not_see(application, outsider):
    response = client_for(outsider).get(f"/api/v1/voucher-applications/{application}/", {"status": "submitted"})
    assert response.status_code == 404
