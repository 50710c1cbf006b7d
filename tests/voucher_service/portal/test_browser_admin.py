"""The program administrator in a real browser (Debian's headless Chromium, the journey test's fixtures): the
administration home (screenshot), then a bulk CSV upload whose progress bar, polled by htmx, reaches done and
lists the rows that were not issued."""

from __future__ import annotations

import pytest

from tests.factories import make_org, make_program
from tests.voucher_service.portal import test_browser_journey as journey
from voucher_service.vouchers import tasks
from voucher_service.vouchers.bulk import bulk_issuance_run
from voucher_service.vouchers.models import BulkIssuance, Voucher

pytestmark = pytest.mark.django_db(transaction=True)

# The journey test's Chromium fixtures, shared by name.
browser, page = journey.browser, journey.page
login, shoot = journey.login, journey.shoot


def test_a_bulk_upload_shows_its_progress_until_done_with_the_row_errors(
    page, program_admin, ningxia_agency, monkeypatch
):
    # given a program, two entities, and the bulk task held back so the page must poll for its progress
    program = make_program(program_admin, ningxia_agency)
    entities = [make_org(jurisdiction="640104", name=f"浏览器批量{n}") for n in range(2)]
    sent: list[tuple] = []
    monkeypatch.setattr(tasks.run_bulk_issuance, "delay", lambda *args: sent.append(args))
    login(page, program_admin)
    assert page.url.endswith("/manage/")
    assert page.locator("#programs", has_text=program.name).count() == 1
    shoot(page, "program-admin-home")

    # when a file with one good row and one bad amount is uploaded (valid rows only)
    text = f"uscc,amount,memo\n{entities[0].uscc},15.00,好\n{entities[1].uscc},1.001,坏\n"
    page.goto(f"{page.base}/manage/programs/{program.pk}/bulk/")
    page.set_input_files("#id_file", files=[{"name": "名单.csv", "mimeType": "text/csv", "buffer": text.encode()}])
    page.check("input[name=mode][value=valid_rows_only]")
    page.click("#upload")
    page.wait_for_url("**/bulk/*/")
    # then the page waits on the queued run
    assert page.locator("#bulk-progress").get_attribute("data-status") == "queued"
    assert page.locator("#bulk-bar").get_attribute("value") == "0"

    # when the worker runs it
    bulk = BulkIssuance.objects.get()
    assert sent == [(bulk.pk,)]
    bulk_issuance_run(bulk_id=bulk.pk)
    # then the polled partial reaches done, with the refused row listed
    page.wait_for_selector("#bulk-done")
    assert page.locator("#bulk-bar").get_attribute("value") == "100"
    assert page.locator("#bulk-succeeded").inner_text() == "1"
    assert page.locator("#row-errors tbody tr").count() == 1
    assert page.locator("#row-errors tbody td").first.inner_text() == "2"
    assert Voucher.objects.get().face_value == 1500
    shoot(page, "program-admin-bulk")

    # and the budget dashboard draws its burn-down as an SVG in the page
    page.goto(f"{page.base}/manage/programs/{program.pk}/budget/{bulk.fiscal_year}/")
    assert page.locator("#budget-figures [data-figure=issued]").inner_text() == "15.00"
    assert page.locator("svg#burndown g[data-series=remaining] circle").count() == 12
    shoot(page, "program-admin-budget")
