"""The auditor in a real browser (Debian's headless Chromium, as in test_browser_journey.py): from the home page to
the budget statement of a program-year with a paid claim, the payout split by payer on the page, and the same
split in the CSV file the browser downloads. A screenshot of the auditor's home goes to test-results/."""

from __future__ import annotations

from pathlib import Path

from tests.voucher_service.portal import test_browser_journey as journey
from tests.voucher_service.portal.auditing import by_line, csv_rows, paid_claim

pytestmark = journey.pytestmark
# The journey's browser (Chromium, phone width, console errors collected and asserted on) and its helpers.
browser, page, login, shoot = journey.browser, journey.page, journey.login, journey.shoot


def test_the_auditor_downloads_the_budget_statement_and_finds_the_payout_split(
    page, bd, django_capture_on_commit_callbacks
):
    # given a claim of Baoding's program paid 500,000.00: the city and the district pay half each
    paid_claim(bd, django_capture_on_commit_callbacks)
    # when the auditor logs in and opens the program's budget statement
    login(page, bd.auditor)
    assert page.url.endswith("/audit/")
    shoot(page, "auditor-home")
    page.click(f"#audit-programs a[href^='/audit/programs/{bd.program.pk}/statement/']")
    page.wait_for_selector("#payout-split")
    # then the page shows the split by payer
    assert "250000.00" in page.inner_text("#payout-split tr[data-payer=city]")
    assert "250000.00" in page.inner_text("#payout-split tr[data-payer=district]")
    assert "500000.00" in page.inner_text("#figures tr[data-key=paid]")
    shoot(page, "auditor-statement")
    # and at phone width the page itself does not scroll sideways (wide tables scroll in their own box)
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    # when the auditor downloads it as CSV
    with page.expect_download() as info:
        page.click("#export-csv")
    download = info.value
    # then the file holds the same split
    lines = by_line(csv_rows(Path(download.path()).read_bytes()))
    assert lines["paid:city"][2] == "250000.00"
    assert lines["paid:district"][2] == "250000.00"
    assert lines["paid"][2] == "500000.00"
