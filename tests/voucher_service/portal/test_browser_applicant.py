"""The applicant in a real browser (Debian's headless Chromium, as in ``test_browser_journey``): a claim returned for
correction is corrected in the pages, its one invoice split into two rows (the second added in place by htmx),
and resubmitted; the evaluation runs again. The applicant's home is photographed under test-results/."""

from __future__ import annotations

import shutil

import pytest

from tests.claims import PDF, decide, issue_voucher, submitted
from tests.voucher_service.portal.test_browser_journey import (  # noqa: F401 (fixtures used by name)
    CHROMIUM,
    browser,
    login,
    page,
    shoot,
)
from voucher_service.claims.models import ClaimStatus

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium (.ci/run installs it)"),
]


def test_a_returned_claim_is_corrected_with_two_invoices_and_resubmitted(page, bd, django_capture_on_commit_callbacks):  # noqa: F811
    # given a claim of 1,000,000 yuan with one invoice, returned by the first stage
    issue_voucher(bd.program, bd.entity, 1_000_000 * 100)
    claim = submitted(bd, django_capture_on_commit_callbacks)
    assert decide(bd.reviewer, claim, "return", reason="请按两张发票分别填写").status_code == 200
    # when the applicant logs in, the home says the claim awaits a correction by them
    login(page, bd.applicant)
    assert "等待您更正并重新提交" in page.inner_text("#claims")
    shoot(page, "applicant-home-returned")
    page.click(f"#claims a[href='/me/claims/{claim.pk}/']")
    assert "请按两张发票分别填写" in page.inner_text("#what-to-fix")
    # and corrects it: the purchase as it was, the invoice split into two rows
    page.click("#correct-claim")
    assert page.locator("#id_contract_number").input_value() == claim.contract_number
    page.click("#next")
    first_number = page.locator("#id_invoices-0-number").input_value()
    page.click("button.add-row")
    page.wait_for_selector("#id_invoices-1-number")
    assert page.locator("#id_invoices-0-number").input_value() == first_number  # kept while the row was added
    page.fill("#id_invoices-0-amount", "600000.00")
    page.fill("#id_invoices-1-issuer_uscc", bd.provider.uscc)
    page.fill("#id_invoices-1-number", "3" * 20)
    page.fill("#id_invoices-1-issued_on", page.locator("#id_invoices-0-issued_on").input_value())
    page.fill("#id_invoices-1-amount", "400000.00")
    page.click("#next")
    for _step in ("payment", "delivery"):
        page.click("#next")
    page.click("#create-claim")
    page.wait_for_selector("#return-request")
    assert page.locator("#invoices tbody tr").count() == 2
    # and a file that is not evidence is refused in place by the server, one too large before it is sent
    page.select_option("#id_kind", "invoice")
    page.set_input_files("#id_file", files=[{"name": "note.pdf", "mimeType": "application/pdf", "buffer": b"hello"}])
    page.click("form.upload button[type=submit]")
    page.wait_for_selector(".field.invalid #id_file_error")
    assert page.locator("#id_kind").input_value() == "invoice"
    page.locator("#id_file").evaluate("input => { input.dataset.maxBytes = '10'; }")
    page.set_input_files("#id_file", files=[{"name": "big.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    page.click("form.upload button[type=submit]")
    page.wait_for_selector("#id_file_error.client")
    assert "20 MB" in page.inner_text("#id_file_error.client")
    assert claim.evidence.count() == 4
    # and submits it again
    page.check("#id_declaration")
    page.click("#submit-claim")
    page.wait_for_selector("#claim-status")
    # then it went through the evaluation again, with both invoices stored exactly
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.IN_REVIEW, [c for c in claim.evaluations.last().checks if not c["ok"]]
    assert claim.evaluations.count() == 2
    assert sorted(claim.invoices.values_list("amount", flat=True)) == [40_000_000, 60_000_000]
    assert page.locator("#breakdown-terms tr.bound").count() == 1
    page.goto(f"{page.base}/me/")
    shoot(page, "applicant-home-resubmitted")
