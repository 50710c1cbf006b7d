"""The program administrator's pages: only theirs (others 404), their programs with versions and windows, the
budget dashboard with its SVG burn-down, bulk issuance with its progress partial and per-row errors, revocation
(idempotent), awards (offered to reviewers only), the provider registry and auditor grants."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from accounts.models import AuditEvent, OrganizationKind
from tests.claims import issue_voucher
from tests.factories import make_org, make_program, make_user
from tests.voucher_service.portal.conftest import browser_client
from voucher_service.programs.models import ProviderListing
from voucher_service.reports.models import AuditorGrant
from voucher_service.vouchers.models import BulkIssuance, Issuance, Voucher, VoucherStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def program(program_admin, ningxia_agency):
    return make_program(program_admin, ningxia_agency)


def admin_paths(program) -> list[str]:
    year = timezone.localdate().year
    base = f"/manage/programs/{program.pk}"
    return [
        "/manage/",
        f"{base}/",
        f"{base}/budget/{year}/",
        f"{base}/bulk/",
        f"{base}/vouchers/",
        "/manage/providers/",
        "/manage/grants/",
    ]


def test_the_administrator_lands_on_the_administration_home(program, program_admin):
    # given / when
    landing = browser_client(program_admin).get("/")
    home = browser_client(program_admin).get("/manage/")
    # then
    assert landing["Location"] == "/manage/"
    assert home.status_code == 200
    assert program.name in home.content.decode()


@pytest.mark.parametrize("who", ["reviewer", "finance", "auditor", "applicant", "foreign_admin"])
def test_administration_pages_are_absent_for_everyone_else(request, program, who):
    # given
    client = browser_client(request.getfixturevalue(who))
    # when
    answers = {path: client.get(path).status_code for path in admin_paths(program)}
    # then: another agency's administrator has no such program, and no other role has the pages at all
    if who == "foreign_admin":
        assert [code for path, code in answers.items() if "/programs/" in path] == [404] * 4
    else:
        assert set(answers.values()) == {404}, answers


def test_anonymous_visitors_are_sent_to_log_in(program):
    # when
    answers = [Client().get(path) for path in admin_paths(program)]
    # then
    assert {answer.status_code for answer in answers} == {302}
    assert all(answer["Location"].startswith("/login/?next=") for answer in answers)


def test_a_program_page_shows_versions_and_windows(program, program_admin):
    # when
    page = browser_client(program_admin).get(f"/manage/programs/{program.pk}/").content.decode()
    # then
    assert program.valid_from.isoformat() in page
    assert program.valid_until.isoformat() in page
    assert re.search(r'<table id="versions">.*v1.*1000\.00', page, re.S)
    assert re.search(r"<dt>兑付申报窗口</dt><dd>不限日期</dd>", page)


# --- Budget dashboard -------------------------------------------------------------------------------------------


def _markers(page: str, series: str) -> list[tuple[float, str]]:
    group = re.search(rf'data-series="{series}">(.*?)</g>', page, re.S)
    assert group, series
    return [(float(cy), yuan) for cy, yuan in re.findall(r'cy="([\d.]+)"[^>]*data-yuan="([\d.-]+)"', group.group(1))]


def test_the_budget_dashboard_shows_the_statements_figures_and_a_burn_down(program, program_admin, entity):
    # given 300 yuan issued of the 1,000 yuan cap
    issue_voucher(program, entity, 300_00)
    year = timezone.localdate().year
    # when
    response = browser_client(program_admin).get(f"/manage/programs/{program.pk}/budget/{year}/")
    page = response.content.decode()
    # then the figures are the budget statement's
    figures = dict(re.findall(r'data-figure="([a-z_:]+)">([\d.-]+)<', page))
    assert (figures["cap"], figures["issued"], figures["held"], figures["paid"], figures["remaining"]) == (
        "1000.00",
        "300.00",
        "0.00",
        "0.00",
        "700.00",
    )
    assert (figures["returned"], figures["lapsed"]) == ("0.00", "0.00")
    # and the chart is SVG drawn here, nothing from another host, with a point per moment from the opening on
    assert '<svg xmlns="http://www.w3.org/2000/svg" id="burndown"' in page
    assert "http://" not in page.split('id="burndown"', 1)[1].split("</svg>", 1)[0].replace(
        "http://www.w3.org/2000/svg", ""
    )
    issued, remaining = _markers(page, "issued"), _markers(page, "remaining")
    assert len(issued) == len(remaining) == 12
    # at the opening nothing was issued and the whole cap remained; now 300 issued and 700 remain
    # (y runs from 280 for 0 up to 16 for the cap of 1,000 yuan: 264 px per 1,000 yuan)
    assert issued[0] == (280.0, "0.00")
    assert remaining[0] == (16.0, "1000.00")
    assert issued[-1] == (200.8, "300.00")
    assert remaining[-1] == (95.2, "700.00")
    assert [yuan for _y, yuan in _markers(page, "paid")] == ["0.00"] * 12


def test_a_year_without_a_budget_is_not_found(program, program_admin):
    # when
    response = browser_client(program_admin).get(f"/manage/programs/{program.pk}/budget/2001/")
    # then
    assert response.status_code == 404


# --- Bulk issuance ------------------------------------------------------------------------------------------------


@pytest.fixture
def entities(db):
    return [make_org(jurisdiction="640104", name=f"批量主体{n}") for n in range(3)]


def csv_upload(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("vouchers.csv", text.encode(), content_type="text/csv")


def bulk_form(client, program, text: str, mode: str = "valid_rows_only", key: str = "k-bulk-1"):
    body = {"file": csv_upload(text), "mode": mode, "idempotency_key": key}
    return client.post(f"/manage/programs/{program.pk}/bulk/", body)


def test_a_bulk_upload_runs_and_its_progress_partial_shows_done_and_the_row_errors(
    program, program_admin, entities, django_capture_on_commit_callbacks
):
    # given a file with two good rows and one bad amount
    text = f"uscc,amount,memo\n{entities[0].uscc},10.00,a\n{entities[1].uscc},12.345,b\n{entities[2].uscc},20.00,c\n"
    client = browser_client(program_admin)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = bulk_form(client, program, text)
    bulk = BulkIssuance.objects.get()
    # then it redirects to the status page, whose partial polls no more once done
    assert response.status_code == 302
    assert response["Location"] == f"/manage/programs/{program.pk}/bulk/{bulk.pk}/"
    status_page = client.get(response["Location"]).content.decode()
    assert 'id="bulk-progress"' in status_page
    partial = client.get(f"/manage/programs/{program.pk}/bulk/{bulk.pk}/progress/").content.decode()
    assert partial.lstrip().startswith('<section id="bulk-progress" data-status="completed"')
    assert "hx-trigger" not in partial
    assert 'value="100"' in partial
    assert re.search(r'id="bulk-succeeded">2<', partial)
    assert re.search(r"<td>2</td><td>amount</td><td class=\"error\">[^<]+</td>", partial)
    assert sorted(Voucher.objects.values_list("face_value", flat=True)) == [1000, 2000]


def test_a_running_upload_keeps_polling(program, program_admin, entities):
    # given an upload whose task has not run yet (no on-commit callbacks executed)
    client = browser_client(program_admin)
    bulk_form(client, program, f"uscc,amount\n{entities[0].uscc},10.00\n")
    bulk = BulkIssuance.objects.get()
    # when
    partial = client.get(f"/manage/programs/{program.pk}/bulk/{bulk.pk}/progress/").content.decode()
    # then
    assert 'hx-trigger="every 1s"' in partial
    assert f'hx-get="/manage/programs/{program.pk}/bulk/{bulk.pk}/progress/"' in partial
    assert 'value="0"' in partial


def test_a_refused_all_or_nothing_file_lists_its_row_errors_and_keeps_the_choices(program, program_admin, entities):
    # given
    text = f"uscc,amount\n{entities[0].uscc},10.00\n{entities[1].uscc},abc\n"
    # when
    response = bulk_form(browser_client(program_admin), program, text, mode="all_or_nothing")
    page = response.content.decode()
    # then
    assert response.status_code == 400
    assert re.search(r'<table id="row-errors">.*<td>2</td><td>amount</td>', page, re.S)
    assert re.search(r'value="all_or_nothing"[^>]*checked', page)
    assert 'class="field invalid"' in page
    assert not BulkIssuance.objects.exists()


def test_the_same_upload_form_sent_twice_issues_once(
    program, program_admin, entities, django_capture_on_commit_callbacks
):
    # given
    client = browser_client(program_admin)
    text = f"uscc,amount\n{entities[0].uscc},10.00\n"
    # when the same form (same key) is sent twice
    with django_capture_on_commit_callbacks(execute=True):
        first = bulk_form(client, program, text)
        second = bulk_form(client, program, text)
    # then
    assert first["Location"] == second["Location"]
    assert BulkIssuance.objects.count() == 1
    assert Voucher.objects.count() == 1


# --- Revocation ---------------------------------------------------------------------------------------------------


def test_a_revocation_needs_a_reason_and_keeps_what_was_typed(program, program_admin, entity):
    # given
    voucher = issue_voucher(program, entity, 100_00)
    client = browser_client(program_admin)
    # when
    response = client.post(f"/manage/vouchers/{voucher.pk}/", {"reason": "   ", "idempotency_key": "k-r-0"})
    # then
    assert response.status_code == 400
    assert re.search(r'class="field invalid">\s*<label for="id_reason"', response.content.decode())
    assert 'value="k-r-0"' in response.content.decode()
    voucher.refresh_from_db()
    assert voucher.status == VoucherStatus.ACTIVE


def test_a_revocation_sent_twice_revokes_once(program, program_admin, entity):
    # given
    voucher = issue_voucher(program, entity, 100_00)
    client = browser_client(program_admin)
    body = {"reason": "违规使用", "idempotency_key": "k-r-1"}
    # when
    first = client.post(f"/manage/vouchers/{voucher.pk}/", body)
    second = client.post(f"/manage/vouchers/{voucher.pk}/", body)
    # then
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == f"/manage/programs/{program.pk}/vouchers/"
    voucher.refresh_from_db()
    assert voucher.status == VoucherStatus.REVOKED
    assert AuditEvent.objects.filter(action="voucher.revoked").count() == 1


def test_another_agencys_voucher_is_not_found(program, foreign_admin, entity):
    # given
    voucher = issue_voucher(program, entity, 100_00)
    # when / then
    assert browser_client(foreign_admin).get(f"/manage/vouchers/{voucher.pk}/").status_code == 404


# --- Awards -------------------------------------------------------------------------------------------------------


def test_awards_are_offered_to_the_reviewer_not_to_the_administrator(
    program, program_admin, reviewer, django_capture_on_commit_callbacks
):
    # given an entity that settled in this year
    newcomer = make_org(jurisdiction="640104", settled_on=timezone.localdate().replace(month=1, day=2))
    url = f"/manage/programs/{program.pk}/awards/"
    # when
    admin_page = browser_client(program_admin).get(url).content.decode()
    client = browser_client(reviewer)
    body = {"entity": newcomer.pk, "award_code": "settling_in", "memo": "", "idempotency_key": "k-a-1"}
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(url, body)
        second = client.post(url, body)
    # then the administrator reads the list without a form; the reviewer's grant runs once
    assert 'id="award-refusal"' in admin_page
    assert 'id="award-form"' not in admin_page
    assert first.status_code == second.status_code == 302
    assert Issuance.objects.filter(kind="award").count() == 1
    assert Voucher.objects.get().face_value == 100_00
    # and a forged POST by the administrator is refused
    assert browser_client(program_admin).post(url, body | {"idempotency_key": "k-a-2"}).status_code == 404


def test_an_award_form_with_an_unknown_entity_shows_the_error_in_place(program, reviewer):
    # when
    response = browser_client(reviewer).post(
        f"/manage/programs/{program.pk}/awards/",
        {"entity": "999999", "award_code": "settling_in", "memo": "备注", "idempotency_key": "k-a-3"},
    )
    page = response.content.decode()
    # then
    assert response.status_code == 400
    assert re.search(r'class="field invalid">\s*<label for="id_entity"', page)
    assert 'value="备注"' in page


# --- Provider registry and auditor grants -------------------------------------------------------------------------


def test_the_administrator_lists_a_provider_and_errors_stay_in_place(program_admin):
    # given
    provider = make_org(OrganizationKind.PROVIDER, jurisdiction="640100", name="银川算力中心")
    client = browser_client(program_admin)
    # when the end is before the start
    wrong = client.post(
        "/manage/providers/",
        {
            "organization": provider.pk,
            "service_types": ["gpu"],
            "valid_from": "2026-05-01",
            "valid_until": "2026-01-01",
        },
    )
    right = client.post(
        "/manage/providers/", {"organization": provider.pk, "service_types": ["gpu"], "valid_from": "2026-05-01"}
    )
    # then
    assert wrong.status_code == 400
    page = wrong.content.decode()
    assert re.search(r'class="field invalid">\s*<label for="id_valid_until"', page)
    assert 'value="2026-05-01"' in page
    assert right.status_code == 302
    listing = ProviderListing.objects.get(organization=provider)
    assert listing.service_types == ["gpu"]
    # and its status is changed with a reason
    suspended = client.post(f"/manage/providers/{listing.pk}/", {"status": "suspended", "reason": "资质复核"})
    assert suspended.status_code == 302
    listing.refresh_from_db()
    assert listing.status == "suspended"


@pytest.fixture
def firm_auditor(db):
    firm = make_org(OrganizationKind.AUDIT_FIRM, jurisdiction="640000", name="某某会计师事务所")
    return make_user(firm, "auditor", username="cpa_auditor")


def test_the_administrator_grants_and_revokes_an_auditor(program, program_admin, firm_auditor):
    # given
    firm = firm_auditor.memberships.get().organization
    client = browser_client(program_admin)
    until = (timezone.localdate() + timedelta(days=30)).isoformat()
    body = {"audit_firm": firm.pk, "username": "nobody", "programs": [program.pk], "until": until, "note": "年审"}
    # when an unknown username is sent, then the right one
    wrong = client.post("/manage/grants/", body)
    right = client.post("/manage/grants/", body | {"username": firm_auditor.username})
    # then
    assert wrong.status_code == 400
    page = wrong.content.decode()
    assert re.search(r'class="field invalid">\s*<label for="id_username"', page)
    assert 'value="年审"' in page
    assert right.status_code == 302
    grant = AuditorGrant.objects.get()
    assert list(grant.programs.all()) == [program]
    listed = client.get("/manage/grants/").content.decode()
    assert firm_auditor.username in listed
    assert f"/manage/grants/{grant.pk}/revoke/" in listed
    # and revoking ends it
    assert client.post(f"/manage/grants/{grant.pk}/revoke/").status_code == 302
    grant.refresh_from_db()
    assert grant.revoked_at is not None
