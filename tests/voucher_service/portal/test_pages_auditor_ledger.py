"""The auditor's ledger pages (portal/views/audit_ledger.py): verification runs and the chain head, the audit log
browser, and spot checks with their evidence bundles."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AuditEvent
from ledger.history import chain_head_at
from tests.voucher_service.portal.conftest import browser_client
from tests.voucher_service.reports import conftest as report_fixtures
from voucher_service.reports.models import SpotCheck, VerificationRequest, VerificationStatus

pytestmark = pytest.mark.django_db
# The reports tests' worked example (world.py) and their claims (two paid claims, a clawback), as fixtures here.
world, claimed = report_fixtures.world, report_fixtures.claimed


def test_the_ledger_page_shows_the_chain_head_to_pin(auditor, world):
    # when
    response = browser_client(auditor).get("/audit/ledger/")
    # then
    head = chain_head_at()
    assert response.status_code == 200
    assert response.context["pin"] == f"{head.height}:{head.head_hash}"
    assert head.head_hash in response.content.decode()


def test_a_verification_started_in_the_page_runs_and_is_kept_in_the_history(
    auditor, world, django_capture_on_commit_callbacks
):
    # given
    client = browser_client(auditor)
    # when the auditor starts a verification (its task runs when the request commits)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/audit/ledger/verify/")
    # then they follow it to its result: the ledger verifies
    asked = VerificationRequest.objects.get(requested_by=auditor)
    assert response.status_code == 302
    assert response["Location"] == f"/audit/ledger/verifications/{asked.pk}/"
    assert asked.status == VerificationStatus.SUCCEEDED
    page = client.get(response["Location"])
    assert 'id="verification-result" class="ok"' in page.content.decode()
    assert 'hx-trigger="every 1s"' not in page.content.decode()
    # and the run is in the history, with who asked for it; the request is audited
    history = client.get("/audit/ledger/")
    assert list(history.context["runs"]) == [asked.run]
    assert auditor.username in history.content.decode()
    assert AuditEvent.objects.filter(action="ledger.verification_requested", actor=auditor).count() == 1


def test_a_queued_verification_is_polled(auditor, world):
    # given a verification asked for, its task not run yet
    client = browser_client(auditor)
    client.post("/audit/ledger/verify/")
    asked = VerificationRequest.objects.get(requested_by=auditor)
    # when htmx asks for its status
    partial = client.get(f"/audit/ledger/verifications/{asked.pk}/", headers={"HX-Request": "true"})
    # then the partial polls itself again
    assert partial.templates[0].name == "portal/audit/_verification_status.html"
    assert 'hx-trigger="every 1s"' in partial.content.decode()


def events(client, **query):
    response = client.get("/audit/registers/audit-log/", query)
    assert response.status_code == 200, response.context["form"].errors
    return response.context["events"]


def test_the_audit_log_browser_filters_and_shows_before_and_after(auditor, program_admin, world):
    # given
    client = browser_client(auditor)
    # when the auditor looks for the revocation of V1, by action, by actor and by record
    by_action = events(client, action="voucher.revoked")
    by_actor = events(client, actor=program_admin.username, action="voucher.revoked")
    by_record = events(client, target_type=by_action[0]["target_type"], target_id=str(world.v1.pk))
    nobody = events(client, actor="nobody-at-all")
    # then each finds it, with its fields before and after side by side
    assert [event["target_id"] for event in by_action] == [str(world.v1.pk)]
    assert [event["id"] for event in by_actor] == [by_action[0]["id"]]
    assert by_action[0]["id"] in [event["id"] for event in by_record]
    assert all(event["target_id"] == str(world.v1.pk) for event in by_record)
    assert nobody == []
    changes = {name: (before, after) for name, before, after in by_action[0]["changes"]}
    assert changes["status"][0] != changes["status"][1]


def test_the_audit_log_as_of_a_moment_and_by_date(auditor, world):
    # given
    client = browser_client(auditor)
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    # when / then: the revocation happened after moment 1, and nothing happens tomorrow
    assert events(client, action="voucher.revoked", as_of=world.moment_1.isoformat()) == []
    assert len(events(client, action="voucher.revoked", as_of=world.moment_2.isoformat())) == 1
    assert events(client, date_from=tomorrow) == []


def draw(client, claimed, **extra):
    today = timezone.localdate().isoformat()
    body = {"program": claimed.cast.program.pk, "date_from": today, "date_to": today, "size": "1", **extra}
    return client.post("/audit/spot-checks/", body)


def test_a_spot_check_is_reproducible_with_its_seed(claimed):
    # given the auditor of the program with two submitted claims
    client = browser_client(claimed.cast.auditor)
    # when the auditor draws one claim with a seed, then redraws it from the sample's page
    response = draw(client, claimed, seed="audit-2026")
    check = SpotCheck.objects.get()
    page = client.get(response["Location"])
    redraw = client.post("/audit/spot-checks/", page.context["redraw"])
    # then the seed is shown and the redraw draws the same claim
    assert response.status_code == 302
    assert 'id="seed">audit-2026<' in page.content.decode()
    assert check.population == 2
    assert redraw.status_code == 302
    again = SpotCheck.objects.exclude(pk=check.pk).get()
    assert (again.seed, again.claim_ids) == ("audit-2026", check.claim_ids)
    listing = client.get("/audit/spot-checks/")
    assert [c.pk for c in listing.context["draws"]] == [again.pk, check.pk]


def test_a_spot_check_without_a_seed_records_the_one_drawn(claimed):
    # when
    draw(browser_client(claimed.cast.auditor), claimed, size="5")
    # then
    check = SpotCheck.objects.get()
    assert check.seed
    assert sorted(check.claim_ids) == sorted([claimed.first.pk, claimed.second.pk])


def test_a_spot_check_form_with_errors_keeps_what_was_typed(claimed):
    # when the period ends before it starts (the service says so) and the size is not a number (the form does)
    client = browser_client(claimed.cast.auditor)
    backwards = draw(client, claimed, date_from="2026-03-02", date_to="2026-03-01")
    no_size = draw(client, claimed, size="many")
    # then
    assert backwards.status_code == 400
    assert "date_to" in backwards.context["form"].errors
    assert no_size.status_code == 400
    assert no_size.context["form"]["size"].value() == "many"
    assert not SpotCheck.objects.exists()


def test_each_drawn_claims_evidence_bundle_downloads(claimed):
    # given a sample of the first claim
    client = browser_client(claimed.cast.auditor)
    draw(client, claimed, size="2")
    check = SpotCheck.objects.get()
    page = client.get(f"/audit/spot-checks/{check.pk}/")
    # when the auditor follows a claim's bundle link
    assert f'href="/audit/claims/{claimed.first.pk}/evidence-bundle/"' in page.content.decode()
    response = client.get(f"/audit/claims/{claimed.first.pk}/evidence-bundle/")
    # then it is the claim's zip with its manifest, and the read is audited
    assert response.status_code == 200
    bundle = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    manifest = json.loads(bundle.read("manifest.json"))
    assert manifest
    assert "claim.json" in bundle.namelist()
    assert AuditEvent.objects.filter(action__contains="bundle", actor=claimed.cast.auditor).exists()


def test_another_programs_claim_and_draw_are_not_found(claimed, auditor):
    # given the Ningxia auditor, who does not audit the Baoding programs
    client = browser_client(auditor)
    draw(browser_client(claimed.cast.auditor), claimed)
    check = SpotCheck.objects.get()
    # when / then
    assert client.get(f"/audit/claims/{claimed.first.pk}/evidence-bundle/").status_code == 404
    assert client.get(f"/audit/spot-checks/{check.pk}/").status_code == 404
    assert draw(client, claimed).status_code == 400  # not a program of theirs: not a choice


LEDGER_PAGES = [
    "/audit/ledger/",
    "/audit/spot-checks/",
    "/audit/ledger/verifications/1/",
    "/audit/claims/1/evidence-bundle/",
]


@pytest.mark.parametrize("path", LEDGER_PAGES)
@pytest.mark.parametrize("who", ["reviewer", "finance", "program_admin", "applicant"])
def test_the_ledger_pages_are_absent_for_everyone_else(world, request, path, who):
    # given
    client = browser_client(request.getfixturevalue(who))
    # when / then
    assert client.get(path).status_code == 404
    assert client.post("/audit/ledger/verify/").status_code == 404
    assert not VerificationRequest.objects.exists()
