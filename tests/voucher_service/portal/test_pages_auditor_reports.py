"""The auditor's report pages (portal/views/audit_reports.py): the budget statement, the cap-compliance proof and
the registers as of a moment, with filters and pages, and their exports opened back. The worked example is the
reports tests' (tests/voucher_service/reports/world.py)."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import AuditEvent, OrganizationKind
from ledger.history import chain_head_at
from tests.factories import make_org, make_user
from tests.voucher_service.portal.auditing import by_line, csv_rows, paid_claim, xlsx_rows
from tests.voucher_service.portal.conftest import browser_client
from tests.voucher_service.reports import conftest as report_fixtures
from voucher_service.reports import services
from voucher_service.reports.models import ExportJob, ExportStatus

pytestmark = pytest.mark.django_db
# The reports tests' worked example (world.py), as a fixture here too.
world = report_fixtures.world


def figures(response) -> dict[str, str]:
    assert response.status_code == 200, response.context["form"].errors
    return {figure["key"]: figure["amount"] for figure in response.context["figures"]}


def statement_url(program) -> str:
    return f"/audit/programs/{program.pk}/statement/"


def test_the_statement_page_as_of_three_moments(auditor, world):
    # given the worked example and its auditor
    client = browser_client(auditor)
    # when the auditor reads the statement as of each moment
    pages = [client.get(statement_url(world.program), {"as_of": m.isoformat()}) for m in
             (world.moment_1, world.moment_2, world.moment_3)]  # fmt: skip
    # then the figures are those of each moment
    first, second, third = (figures(page) for page in pages)
    assert (first["issued"], first["returned"], first["lapsed"], first["remaining"]) == (
        "500.00", "0.00", "0.00", "500.00"
    )  # fmt: skip
    assert (second["issued"], second["returned"], second["voucher_balances"]) == ("600.00", "200.00", "400.00")
    assert (third["lapsed"], third["voucher_balances"]) == ("100.00", "300.00")
    # and the identities are shown as checked, with the chain head of the moment
    html = pages[2].content.decode()
    assert html.count('<li class="pass">✓') == 2
    assert chain_head_at(world.moment_3).head_hash in html


def test_the_statement_shows_the_payout_split_by_payer(bd, django_capture_on_commit_callbacks):
    # given a paid claim of 500,000.00 on the Baoding program (city and district, half each)
    paid_claim(bd, django_capture_on_commit_callbacks)
    # when
    response = browser_client(bd.auditor).get(statement_url(bd.program))
    # then
    assert figures(response)["paid"] == "500000.00"
    split = {row["payer"]: row["paid"] for row in response.context["payers"]}
    assert split == {"city": "250000.00", "district": "250000.00", "county": "0.00"}
    assert 'id="payout-split"' in response.content.decode()


def test_the_statement_exports_are_the_figures_shown(auditor, world):
    # given
    client = browser_client(auditor)
    query = {"as_of": world.moment_2.isoformat()}
    # when the auditor downloads the statement as CSV and as XLSX, as of moment 2
    as_csv = client.get(f"/audit/programs/{world.program.pk}/budget-statement/export/", {**query, "file_format": "csv"})
    as_xlsx = client.get(
        f"/audit/programs/{world.program.pk}/budget-statement/export/", {**query, "file_format": "xlsx"}
    )
    # then both files hold the figures of moment 2, and the reads are audited
    assert as_csv.status_code == 200
    csv_lines = by_line(csv_rows(b"".join(as_csv.streaming_content)))
    assert csv_lines["issued"][2] == "600.00"
    assert csv_lines["returned"][2] == "200.00"
    assert as_xlsx.status_code == 200
    sheet_lines = by_line(xlsx_rows(b"".join(as_xlsx.streaming_content)))
    assert sheet_lines["issued"][2] == Decimal("600")
    assert AuditEvent.objects.filter(action="report.export", actor=auditor).count() == 2


def test_the_page_links_read_the_same_moment(auditor, world):
    # given a statement read "now" (no as_of), for this year
    year = str(timezone.localdate().year)
    response = browser_client(auditor).get(statement_url(world.program), {"year": year})
    # then its export links carry the moment the page was computed at, so the file is the page
    moment = response.context["reading"].context.as_of
    assert response.context["reading"].as_of_query == {"year": year, "as_of": moment.isoformat()}
    # and the form shows that moment and keeps the year asked for
    assert response.context["form"]["as_of"].value() == timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M:%S")
    assert f'name="year" value="{year}"' in response.content.decode()


def test_a_wrong_moment_is_shown_on_its_field(auditor, world):
    # given
    client = browser_client(auditor)
    # when the auditor asks for a moment in the future, and for a year never opened
    future = client.get(statement_url(world.program), {"as_of": (timezone.now() + timedelta(days=2)).isoformat()})
    never = client.get(statement_url(world.program), {"year": "2100"})
    # then each page answers 400 with the message in place, keeping what was typed
    assert future.status_code == 400
    assert "as_of" in future.context["form"].errors
    assert 'class="field invalid"' in future.content.decode()
    assert never.status_code == 400
    assert never.context["form"]["year"].value() == "2100"
    assert never.context["form"].non_field_errors()


def test_the_cap_compliance_page(auditor, world):
    # when
    response = browser_client(auditor).get(
        f"/audit/programs/{world.program.pk}/compliance/", {"as_of": world.moment_3.isoformat()}
    )
    # then the verdict is plain, with the chain head it was computed at
    assert response.status_code == 200
    proof = response.context["proof"]
    assert proof.compliant
    assert len(proof.uses) >= 5
    html = response.content.decode()
    assert 'id="verdict"' in html
    assert proof.chain_hash in html
    assert proof.chain_hash == chain_head_at(world.moment_3).head_hash


def register(client, name, **query):
    response = client.get(f"/audit/registers/{name}/", query)
    assert response.status_code == 200, response.context["form"].errors
    return response


def test_the_voucher_register_as_of_moments_with_filters(auditor, world):
    # given
    client = browser_client(auditor)

    def serials(**query):
        rows = register(client, "vouchers", program=world.program.pk, **query).context["page"].rows
        return [row[0] for row in rows]

    # then as of moment 1 two vouchers existed, three later; V1 is revoked as of moment 2
    assert serials(as_of=world.moment_1.isoformat()) == [world.v1.serial, world.v2.serial]
    assert serials(as_of=world.moment_3.isoformat()) == [world.v1.serial, world.v2.serial, world.v3.serial]
    assert serials(as_of=world.moment_1.isoformat(), status="revoked") == []
    assert serials(as_of=world.moment_2.isoformat(), status="revoked") == [world.v1.serial]
    assert serials(entity=world.entity_b.pk) == [world.v2.serial]
    today = timezone.localdate()
    assert serials(date_from=(today + timedelta(days=1)).isoformat()) == []


def test_registers_are_paged(auditor, world, monkeypatch):
    # given two rows a page
    monkeypatch.setattr("voucher_service.portal.audit_query.PAGE_SIZE", 2)
    client = browser_client(auditor)
    # when
    first = register(client, "vouchers")
    second = register(client, "vouchers", page="2")
    # then
    assert first.context["page"].count == 3
    assert [row[0] for row in second.context["page"].rows] == [world.v3.serial]
    assert 'rel="next"' in first.content.decode()
    assert 'rel="prev"' in second.content.decode()


def test_a_period_that_ends_before_it_starts_is_refused_on_its_field(auditor, world):
    # when
    response = browser_client(auditor).get(
        "/audit/registers/applications/", {"date_from": "2026-03-02", "date_to": "2026-03-01", "status": "nonsense"}
    )
    # then
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "status" in errors
    assert response.context["form"]["date_to"].value() == "2026-03-01"


@pytest.mark.parametrize("name", ["vouchers", "applications", "claims", "payouts", "clawbacks", "audit-log", "journal"])
def test_every_register_page_opens_and_exports(auditor, world, name):
    # given
    client = browser_client(auditor)
    # when
    page = register(client, name)
    download = client.get(f"/audit/registers/{name}/export/", {"file_format": "csv"})
    # then
    assert download.status_code == 200
    rows = csv_rows(b"".join(download.streaming_content))
    assert len(rows) == page.context["page"].count + 1


def test_the_journal_page_and_its_json_lines_for_the_offline_verifier(auditor, world):
    # given
    client = browser_client(auditor)
    # when
    page = register(client, "journal", program=world.program.pk)
    lines = client.get("/audit/registers/journal/export/", {"program": world.program.pk, "file_format": "jsonl"})
    # then the page offers the JSON Lines file, and it holds one line per entry with its digest
    assert 'id="export-jsonl"' in page.content.decode()
    assert lines.status_code == 200
    documents = [json.loads(line) for line in b"".join(lines.streaming_content).splitlines() if line.strip()]
    entries = {row[0] for row in page.context["page"].rows}
    assert len(documents) >= len(entries) > 0


def test_the_payouts_register_by_payer(bd, django_capture_on_commit_callbacks):
    # given
    claim = paid_claim(bd, django_capture_on_commit_callbacks)
    client = browser_client(bd.auditor)
    # when
    city = register(client, "payouts", payer="city").context["rows"]
    county = register(client, "payouts", payer="county").context["rows"]
    # then
    cells = [{cell["key"]: cell["text"] for cell in row} for row in city]
    assert [(row["claim"], row["payer"], row["amount"]) for row in cells] == [(str(claim.pk), "city", "250000.00")]
    assert county == []


def test_a_large_export_runs_in_the_background_with_progress_and_an_expiring_link(
    auditor, world, settings, django_capture_on_commit_callbacks
):
    # given exports of more than one row go to the background
    settings.REPORTS_EXPORT_SYNC_MAX_ROWS = 1
    client = browser_client(auditor)
    # when the auditor asks for the voucher register (the task runs when the request commits)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get("/audit/registers/vouchers/export/", {"file_format": "xlsx"})
    # then they are sent to the job's page, which shows it done with a download link
    job = ExportJob.objects.get(requested_by=auditor)
    assert response.status_code == 302
    assert response["Location"] == f"/audit/exports/{job.pk}/"
    assert job.status == ExportStatus.SUCCEEDED
    progress = client.get(f"/audit/exports/{job.pk}/", headers={"HX-Request": "true"})
    assert progress.templates[0].name == "portal/audit/_export_progress.html"
    assert 'id="export-download"' in progress.content.decode()
    download = client.get(f"/audit/exports/{job.pk}/download/")
    rows = xlsx_rows(b"".join(download.streaming_content))
    assert [row[0] for row in rows[1:]] == [world.v1.serial, world.v2.serial, world.v3.serial]
    # and once expired, the link answers with the reason on the job's page
    ExportJob.objects.filter(pk=job.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = client.get(f"/audit/exports/{job.pk}/download/", follow=True)
    assert "expired" in expired.content.decode() or "过期" in expired.content.decode()
    assert 'id="export-download"' not in expired.content.decode()


def test_a_running_export_is_polled(auditor, world, settings):
    # given a queued export (its task not run yet)
    settings.REPORTS_EXPORT_SYNC_MAX_ROWS = 1
    client = browser_client(auditor)
    client.get("/audit/registers/vouchers/export/", {"file_format": "csv"})
    job = ExportJob.objects.get(requested_by=auditor)
    # when
    page = client.get(f"/audit/exports/{job.pk}/")
    # then the progress bar asks for itself again every second
    html = page.content.decode()
    assert 'hx-trigger="every 1s"' in html
    assert "<progress" in html
    assert client.get("/audit/exports/").status_code == 200


def test_another_users_export_is_not_found(auditor, world, ningxia_agency):
    # given an export job of another auditor
    job = services.export_job_create(
        actor=auditor, report="vouchers", file_format="csv", params={}, as_of=timezone.now(), total_rows=3
    )
    other = make_user(ningxia_agency, "auditor", username="nx_auditor2")
    # when / then
    assert browser_client(other).get(f"/audit/exports/{job.pk}/").status_code == 404
    assert browser_client(other).get(f"/audit/exports/{job.pk}/download/").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/audit/programs/{p}/statement/",
        "/audit/programs/{p}/compliance/",
        "/audit/programs/{p}/budget-statement/export/",
        "/audit/registers/vouchers/",
        "/audit/registers/audit-log/",
        "/audit/registers/vouchers/export/",
        "/audit/exports/",
    ],
)
@pytest.mark.parametrize("who", ["reviewer", "finance", "program_admin", "applicant"])
def test_the_report_pages_are_absent_for_everyone_else(world, request, path, who):
    # given
    user = request.getfixturevalue(who)
    # when
    response = browser_client(user).get(path.format(p=world.program.pk))
    # then
    assert response.status_code == 404


def test_another_agencys_auditor_does_not_see_the_program(world, baoding_agency):
    # given an auditor of Baoding's agency
    stranger = make_user(baoding_agency, "auditor", username="bd_auditor_x")
    client = browser_client(stranger)
    # when / then
    assert client.get(statement_url(world.program)).status_code == 404
    assert client.get(f"/audit/programs/{world.program.pk}/compliance/").status_code == 404
    assert register(client, "vouchers").context["page"].count == 0


def test_a_third_party_auditor_reads_only_the_granted_program(program_admin, world):
    # given an auditor of an audit firm, granted the worked example's program until tomorrow
    firm = make_org(OrganizationKind.AUDIT_FIRM, jurisdiction="640000", name="某某会计师事务所")
    cpa = make_user(firm, "auditor", username="cpa_auditor")
    client = browser_client(cpa)
    assert client.get("/audit/").status_code == 404
    services.grant_create(
        actor=program_admin,
        audit_firm=firm,
        username=cpa.username,
        programs=[world.program],
        until=timezone.localdate() + timedelta(days=1),
    )
    # when
    home = client.get("/audit/")
    page = client.get(statement_url(world.program))
    # then
    assert home.status_code == 200
    assert list(home.context["programs"]) == [world.program]
    assert page.status_code == 200
    assert register(client, "vouchers").context["page"].count == 3


def test_the_pages_are_in_chinese_by_default_and_in_english_on_request(auditor, world):
    # given
    client = browser_client(auditor)
    # when
    chinese = client.get(statement_url(world.program)).content.decode()
    english = client.get(statement_url(world.program), headers={"Accept-Language": "en"}).content.decode()
    # then
    assert "按出资方的支付" in chinese
    assert "两项恒等式均成立。" in chinese
    assert "Paid by payer" in english
    assert "Both identities hold." in english
