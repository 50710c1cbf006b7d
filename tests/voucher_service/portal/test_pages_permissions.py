"""Who may open which portal page: public pages for anyone, role pages for their role only, and another
organisation's claim answers 404 whoever asks."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.claims import issue_voucher, submitted
from tests.factories import make_org, make_user
from tests.voucher_service.portal.conftest import browser_client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/", "/programs/", "/verify/", "/notices/", "/login/"])
def test_public_pages_open_without_login(bd, path):
    # given / when
    response = Client().get(path)
    # then
    assert response.status_code == 200
    assert "Content-Security-Policy" in response


@pytest.mark.parametrize("path", ["/me/", "/work/", "/audit/"])
def test_role_pages_send_anonymous_visitors_to_log_in(bd, path):
    # given / when
    response = Client().get(path)
    # then
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize(("user", "path"), [("reviewer", "/me/"), ("applicant", "/work/"), ("reviewer", "/audit/")])
def test_a_role_page_is_absent_for_other_roles(bd, user, path):
    # given
    client = browser_client(bd.user(user))
    # when
    response = client.get(path)
    # then
    assert response.status_code == 404


def test_each_role_lands_on_its_home_after_login(bd):
    # given
    homes = {"applicant": "/me/", "reviewer": "/work/", "finance": "/work/", "auditor": "/audit/"}
    for role, home in homes.items():
        # when
        response = browser_client(bd.user(role)).get("/")
        # then
        assert response.status_code == 302
        assert response["Location"] == home
        assert browser_client(bd.user(role)).get(home).status_code == 200


def test_another_organisations_claim_is_not_found(bd, django_capture_on_commit_callbacks):
    # given a submitted claim of bd's entity, and an applicant and a reviewer elsewhere
    issue_voucher(bd.program, bd.entity, 1_000_000 * 100)
    claim = submitted(bd, django_capture_on_commit_callbacks)
    stranger_entity = make_org("entity", jurisdiction="640104")
    stranger = make_user(stranger_entity, "applicant", username="stranger")
    other_agency = make_org("agency", jurisdiction="640000")
    other_reviewer = make_user(other_agency, "reviewer", username="other_reviewer")
    # when / then
    assert browser_client(stranger).get(f"/me/claims/{claim.pk}/").status_code == 404
    assert browser_client(other_reviewer).get(f"/work/claims/{claim.pk}/").status_code == 404
    assert browser_client(bd.applicant).get(f"/me/claims/{claim.pk}/").status_code == 200
    assert browser_client(bd.reviewer).get(f"/work/claims/{claim.pk}/").status_code == 200


def test_the_submitter_is_not_offered_a_decision_and_a_forged_one_is_refused(bd, django_capture_on_commit_callbacks):
    # given a claim in review, and the finance user, whose stage (财政) is not the first
    issue_voucher(bd.program, bd.entity, 1_000_000 * 100)
    claim = submitted(bd, django_capture_on_commit_callbacks)
    client = browser_client(bd.finance)
    # when
    page = client.get(f"/work/claims/{claim.pk}/")
    forged = client.post(f"/work/claims/{claim.pk}/", {"decision": "approve", "idempotency_key": "k1"})
    # then
    assert 'id="decide-form"' not in page.content.decode()
    assert 'id="refusal"' in page.content.decode()
    assert forged.status_code == 400
    claim.refresh_from_db()
    assert claim.stage_index == 0
    assert not claim.decisions.exists()


def test_a_decision_sent_twice_acts_once(bd, django_capture_on_commit_callbacks):
    # given
    issue_voucher(bd.program, bd.entity, 1_000_000 * 100)
    claim = submitted(bd, django_capture_on_commit_callbacks)
    client = browser_client(bd.reviewer)
    body = {"decision": "approve", "idempotency_key": "same-key"}
    body |= {f"condition_{code}": "yes" for code in claim.conditions}
    # when
    first = client.post(f"/work/claims/{claim.pk}/", body)
    second = client.post(f"/work/claims/{claim.pk}/", body)
    # then
    assert first.status_code == 302
    assert second.status_code == 302
    assert second["Location"] == first["Location"]
    assert claim.decisions.count() == 1
