"""/api/v1/reports/exports/: an export over the threshold runs in the background, shows its progress, and is
downloadable by its requester until it expires (every read audited)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AuditEvent, OrganizationKind
from tests.factories import client_for, make_org, make_user
from voucher_service.reports.models import AuditorGrant, ExportJob
from voucher_service.reports.services import exports_purge_expired, grant_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_threshold(settings, tmp_path):
    settings.REPORTS_EXPORT_SYNC_MAX_ROWS = 1
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    settings.MEDIA_ROOT = str(tmp_path)


def test_a_large_export_runs_in_the_background_and_downloads(
    auditor, world, small_threshold, django_capture_on_commit_callbacks
):
    # when the export has more rows than the threshold
    client = client_for(auditor)
    with django_capture_on_commit_callbacks(execute=True):
        accepted = client.get("/api/v1/reports/vouchers/export/", {"as_of": world.moment_3.isoformat()})
    # then it is a job, done by the (eager) task, with its file in storage
    assert accepted.status_code == 202, accepted.json()
    job = client.get(accepted["Location"]).json()
    assert (job["status"], job["total_rows"], job["rows_written"]) == ("succeeded", 3, 3)
    download = client.get(job["download_url"])
    content = b"".join(download.streaming_content)
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert [row[0] for row in rows[1:]] == [world.v1.serial, world.v2.serial, world.v3.serial]
    assert AuditEvent.objects.filter(action="report.export_download", target_id=str(job["id"])).count() == 1


def test_an_expired_export_is_gone(auditor, world, small_threshold, django_capture_on_commit_callbacks):
    # given a finished export past its expiry, purged by the beat job
    client = client_for(auditor)
    with django_capture_on_commit_callbacks(execute=True):
        job_id = client.get("/api/v1/reports/vouchers/export/").json()["id"]
    ExportJob.objects.filter(pk=job_id).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert exports_purge_expired() == 1
    # when
    response = client.get(f"/api/v1/reports/exports/{job_id}/download/")
    # then
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "export_expired"


def test_someone_elses_export_does_not_exist(
    auditor, world, small_threshold, django_capture_on_commit_callbacks, staff
):
    # given
    with django_capture_on_commit_callbacks(execute=True):
        job_id = client_for(auditor).get("/api/v1/reports/vouchers/export/").json()["id"]
    # when
    response = client_for(staff).get(f"/api/v1/reports/exports/{job_id}/download/")
    # then
    assert response.status_code == 404


def test_a_streamed_export_is_audited(auditor, world):
    # when
    response = client_for(auditor).get("/api/v1/reports/vouchers/export/")
    b"".join(response.streaming_content)
    # then
    event = AuditEvent.objects.get(action="report.export")
    assert event.actor == auditor
    assert event.detail["report"] == "vouchers"
    assert event.detail["rows"] == 3


def test_an_export_past_the_bound_is_refused(auditor, world, settings):
    # given
    settings.REPORTS_EXPORT_MAX_ROWS = 2
    # when
    response = client_for(auditor).get("/api/v1/reports/vouchers/export/")
    # then
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "export_too_large"


@pytest.mark.parametrize("url", ["/api/v1/reports/vouchers/export/", "budget-statement"])
def test_an_export_made_under_a_grant_is_not_downloadable_once_the_grant_has_ended(
    url, program_admin, world, small_threshold, django_capture_on_commit_callbacks
):
    # given an audit firm's auditor whose grant was in force when their export was written
    firm = make_org(OrganizationKind.AUDIT_FIRM, jurisdiction="640000", name="某某会计师事务所")
    grantee = make_user(firm, "auditor", username="cpa_exporter")
    today = timezone.localdate()
    grant = grant_create(
        actor=program_admin, audit_firm=firm, username=grantee.username, programs=[world.program], until=today
    )
    if url == "budget-statement":
        url = f"/api/v1/reports/programs/{world.program.pk}/budget-statement/export/"
    client = client_for(grantee)
    with django_capture_on_commit_callbacks(execute=True):
        accepted = client.get(url)
    assert accepted.status_code == 202, accepted.json()
    job = client.get(accepted["Location"]).json()
    assert job["status"] == "succeeded"
    # when the grant has ended (as if written yesterday) and the file is asked for
    AuditorGrant.objects.filter(pk=grant.pk).update(until=today - timedelta(days=1))
    response = client.get(job["download_url"])
    # then the program's rows are no longer theirs: the download does not exist for them, and none is audited
    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action="report.export_download").exists()


def test_an_export_at_the_bound_is_served(auditor, world, settings):
    # given a bound of exactly the register's three rows
    settings.REPORTS_EXPORT_MAX_ROWS = 3
    # when
    response = client_for(auditor).get("/api/v1/reports/vouchers/export/")
    # then it streams (one row over is the refusal above)
    assert response.status_code == 200
    b"".join(response.streaming_content)


def test_an_export_file_is_kept_for_its_ttl_and_removed_just_after(
    auditor, world, small_threshold, django_capture_on_commit_callbacks, settings
):
    # given a finished background export, kept REPORTS_EXPORT_TTL_HOURS
    with django_capture_on_commit_callbacks(execute=True):
        job_id = client_for(auditor).get("/api/v1/reports/vouchers/export/").json()["id"]
    job = ExportJob.objects.get(pk=job_id)
    ttl = timedelta(hours=settings.REPORTS_EXPORT_TTL_HOURS)
    assert ttl <= job.expires_at - job.created_at < ttl + timedelta(minutes=1)
    # when the purge runs a second before its expiry, then a second after
    kept = exports_purge_expired(job.expires_at - timedelta(seconds=1))
    removed = exports_purge_expired(job.expires_at + timedelta(seconds=1))
    # then the file outlives the first and not the second
    assert (kept, removed) == (0, 1)
    assert ExportJob.objects.get(pk=job_id).status == "expired"
