"""The portal in a real browser: Debian's headless Chromium (``/usr/bin/chromium``, installed by .ci/run) driven by
Playwright against the live test server, at phone width. One whole journey through the pages only: an applicant
applies (the eligibility answer shown first; a form with an error keeps what was typed), a reviewer approves the
application, the applicant files a claim step by step with PDF evidence (the invoice among it), three different
agency users decide its stages (the first may not decide the second: the page says so), a member of the public
objects during 公示, the reviewer reads the evidence previewed in the page and dismisses the objection, the notice
ends (the beat job's service, for the day after: the passage of time is the one step not taken in a page), finance
enrols a TOTP authenticator and records the payout, and the auditor opens the budget statement, sees the payout
split by payer and downloads it as CSV with the same split; then the voucher is verified by its token in English.
Queued Celery work runs inline (the test settings' eager tasks). No page may log a console error. Each role's home
page is photographed under test-results/."""

from __future__ import annotations

import shutil
from base64 import b32decode
from collections.abc import Iterator
from pathlib import Path

import pytest
from django_otp.oath import totp

from accounts.models import Role
from tests.claims import PDF, TODAY, invoice_number
from tests.factories import make_user
from tests.voucher_service.portal.auditing import by_line, csv_rows
from tests.voucher_service.portal.builders import end_notice
from voucher_service.claims.models import Claim, ClaimStatus, ObjectionStatus, Payout
from voucher_service.vouchers.models import ApplicationStatus, Voucher, VoucherApplication

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "portal-pass-2026"
SHOTS = Path("test-results")

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium (.ci/run installs it)"),
]


@pytest.fixture
def browser(monkeypatch) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the test's own ORM calls are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser, live_server, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")  # a phone
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.base = live_server.url
    page.errors = errors
    yield page
    context.close()
    # A form sent back with its errors answers 400, which Chromium reports as a failed resource: not a page error.
    assert [e for e in errors if "status of 400" not in e] == []


def login(page, user) -> None:
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    page.goto(f"{page.base}/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state()


def logout(page) -> None:
    page.click("header form[action='/logout/'] button")
    page.wait_for_load_state()


def shoot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"portal-{name}.png"), full_page=True)


def enter_totp(page) -> None:
    """Read the key the enrolment page shows (as a person would type it into an app) and enter its code."""
    key = b32decode(page.inner_text("#totp-secret").strip())
    page.fill("#id_token", f"{totp(key):06d}")
    page.click("#totp-confirm")
    page.wait_for_load_state()


def test_the_whole_journey_through_the_pages(page, bd, settings):
    # given the public catalogue, before anyone logs in; finance must have a second factor to pay
    settings.PORTAL_FINANCE_REQUIRE_TOTP = True
    page.goto(f"{page.base}/")
    shoot(page, "home-public")
    application = applicant_applies(page, bd)
    voucher = reviewer_approves(page, bd, application)
    claim = applicant_files_a_claim(page, bd)
    agency_decides_the_stages(page, bd, claim)
    public_objects_and_reviewer_dismisses(page, bd, claim)
    # when the notice period ends (the beat job, for the day after)
    assert end_notice(claim).status == ClaimStatus.PAYABLE
    payout = finance_records_the_payout(page, bd, claim)
    program_admin_and_auditor_read_the_budget(page, bd, payout)
    anyone_verifies_the_voucher_in_english(page, voucher)


def applicant_applies(page, bd) -> VoucherApplication:
    # given the applicant logged in
    login(page, bd.applicant)
    assert page.url.endswith("/me/")
    shoot(page, "home-applicant")
    # when the applicant reads the catalogue and checks eligibility before applying
    page.goto(f"{page.base}/programs/")
    assert page.locator("section.program", has_text=bd.program.name).count() == 1
    page.click(f"a[href='/me/apply/{bd.program.pk}/']")
    page.fill("#id_amount", "1000000.00")
    page.fill("#id_purpose", "模型训练")
    page.click("#check")
    page.wait_for_selector(".eligibility li")
    assert page.locator(".eligibility li.pass").count() >= 3
    # then a form with an error keeps what was typed
    page.fill("#id_amount", "12.345")
    page.click("#submit-application")
    assert page.locator(".field.invalid #id_amount").input_value() == "12.345"
    assert page.locator("#id_purpose").input_value() == "模型训练"
    page.fill("#id_amount", "1000000.00")
    page.click("#submit-application")
    page.wait_for_url("**/me/")
    logout(page)
    return VoucherApplication.objects.get(entity=bd.entity, requested_amount=1_000_000 * 100)


def reviewer_approves(page, bd, application: VoucherApplication) -> Voucher:
    # when a reviewer approves the application in the page, having seen its eligibility answer
    login(page, bd.reviewer)
    shoot(page, "home-reviewer")
    page.click("#work-nav a[href='/work/applications/']")
    page.click(f"#applications a[href='/work/applications/{application.pk}/']")
    page.wait_for_selector("#eligibility-submitted li.pass")
    page.check("input[name=decision][value=approve]")
    page.click("#decide-application")
    page.wait_for_url("**/work/applications/")
    logout(page)
    # then the voucher is issued (the queued issuance ran inline)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.APPROVED
    voucher = Voucher.objects.get(entity=bd.entity)
    assert voucher.face_value == 1_000_000 * 100
    return voucher


def applicant_files_a_claim(page, bd) -> Claim:
    # when the applicant, now holding the voucher, files a claim step by step, with PDF evidence
    # (the voucher is valid from today, the day it was issued: the purchase is signed, delivered and paid today)
    login(page, bd.applicant)
    start = end = TODAY()
    amount = "1000000.00"
    page.goto(f"{page.base}/me/claims/new/{bd.program.pk}/purchase/")
    page.select_option("#id_provider", str(bd.provider.pk))
    page.fill("#id_contract_number", "HT-PORTAL-1")
    for field, day in (("signed_on", start), ("starts_on", start), ("ends_on", end)):
        page.fill(f"#id_contract_{field}", day.isoformat())
    page.fill("#id_contract_amount", amount)
    page.check("input[name=conditions][value=local_platform]")
    page.click("main button[type=submit]")
    page.fill("#id_invoices-0-issuer_uscc", bd.provider.uscc)
    page.fill("#id_invoices-0-number", invoice_number())
    page.fill("#id_invoices-0-issued_on", end.isoformat())
    page.fill("#id_invoices-0-amount", amount)
    page.click("#next")
    page.fill("#id_payments-0-bank_reference", "BR-PORTAL-1")
    page.fill("#id_payments-0-paid_on", end.isoformat())
    page.fill("#id_payments-0-amount", amount)
    page.click("#next")
    page.fill("#id_delivery_starts_on", start.isoformat())
    page.fill("#id_delivery_ends_on", end.isoformat())
    page.select_option("#id_delivery_service_type", "gpu")
    page.fill("#id_delivery_quantity", "1200")
    page.click("main button[type=submit]")
    page.click("#create-claim")
    page.wait_for_url("**/me/claims/*/")
    claim = Claim.objects.get(entity=bd.entity)
    for kind in ("contract", "invoice", "payment_proof", "usage_statement"):
        page.select_option("#id_kind", kind)
        page.set_input_files("#id_file", files=[{"name": f"{kind}.pdf", "mimeType": "application/pdf", "buffer": PDF}])
        page.click("form.upload button[type=submit]")
        page.wait_for_selector(f"#evidence li:has-text('{kind}.pdf')")
    page.check("#id_declaration")
    page.click("#submit-claim")
    page.wait_for_selector("#claim-status")
    logout(page)
    # then the evaluation passed it to review
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.IN_REVIEW, [c for c in claim.evaluations.last().checks if not c["ok"]]
    return claim


def wait_for_frame(page, url: str) -> None:
    """Wait until a frame of the page has opened ``url`` (events are only dispatched while Playwright waits)."""
    if url not in {frame.url for frame in page.frames}:
        page.wait_for_event("framenavigated", predicate=lambda frame: frame.url == url)


def load_evidence_frames(page) -> list[str]:
    """Bring each framed PDF into view and wait until it has opened (a frame loads when it comes into view, and
    Chromium's PDF viewer takes the focus, and the scroll, when it opens: a click aimed below would land in it)."""
    sources = []
    for frame in page.locator("#evidence-preview iframe").all():
        frame.scroll_into_view_if_needed()
        sources.append(f"{page.base}{frame.get_attribute('src')}")
        wait_for_frame(page, sources[-1])
    page.wait_for_load_state("networkidle")
    return sources


def activate(page, selector: str) -> None:
    """Click ``selector`` on a claim's page by its event, not at a point of the screen: Chromium's PDF viewer in
    an evidence frame takes the focus, and scrolls the page to itself, when it has drawn its file, so a click
    aimed at the decision form may land in a frame instead."""
    page.locator(selector).dispatch_event("click")


def open_decision_form(page, claim: Claim) -> None:
    page.click(f"#queue a[href='/work/claims/{claim.pk}/']")
    page.wait_for_selector("#decide-form")


def agency_decides_the_stages(page, bd, claim: Claim) -> None:
    # when three different agency users decide its three stages in the pages
    for user in (bd.reviewer, bd.reviewer2, bd.finance):
        login(page, user)
        if user is bd.finance:
            shoot(page, "home-finance")
        open_decision_form(page, claim)
        activate(page, "input[name=decision][value=approve]")
        for radio in page.locator("input[type=radio][name^=condition_][value=yes]").all():
            radio.dispatch_event("click")
            assert radio.is_checked()
        assert page.locator("input[name=decision][value=approve]").is_checked()
        activate(page, "#decide")
        page.wait_for_url("**/work/")
        if user is bd.reviewer:
            # then the first reviewer may not decide the next stage too: the page says so instead of offering a form
            page.goto(f"{page.base}/work/claims/{claim.pk}/")
            assert page.locator("#refusal").count() == 1
            assert page.locator("#decide-form").count() == 0
        logout(page)
    # and the claim is under public notice
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.IN_NOTICE, claim.status
    assert claim.decisions.count() == 3


def public_objects_and_reviewer_dismisses(page, bd, claim: Claim) -> None:
    # when a member of the public objects on the 公示 page
    page.goto(f"{page.base}/notices/")
    page.click(f"a[href='/notices/{claim.pk}/object/']")
    page.fill("#id_reason", "该企业的算力合同疑似重复申报")
    page.fill("#id_contact", "13800000000")
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    objection = claim.objections.get()

    # and the reviewer reads the claim with its evidence previewed in the page (PDFs framed)
    login(page, bd.reviewer)
    page.goto(f"{page.base}/work/claims/{claim.pk}/")
    sources = load_evidence_frames(page)
    assert len(sources) == claim.evidence.count() == 4
    preview = page.request.get(sources[1])
    assert preview.status == 200
    assert preview.headers["content-type"] == "application/pdf"
    assert preview.headers["x-frame-options"] == "SAMEORIGIN"

    # and dismisses the objection, whose reason the page shows
    activate(page, "#work-nav a[href='/work/objections/']")
    page.wait_for_url("**/work/objections/")
    assert "疑似重复申报" in page.inner_text("#objections")
    page.click(f"#objections a[href='/work/objections/{objection.pk}/']")
    page.check("input[name=outcome][value=dismissed]")
    page.click("#resolve")
    # then a form with an error keeps what was chosen and says what is missing
    assert page.locator(".field.invalid #id_reason").count() == 1
    assert page.locator("input[name=outcome][value=dismissed]").is_checked()
    page.fill("#id_reason", "经核查，合同与发票均属实")
    page.click("#resolve")
    page.wait_for_url("**/work/objections/")
    logout(page)
    objection.refresh_from_db()
    assert objection.status == ObjectionStatus.DISMISSED


def finance_records_the_payout(page, bd, claim: Claim) -> Payout:
    # when finance opens the payouts, they are made to enrol an authenticator first
    login(page, bd.finance)
    page.click("#work-nav a[href='/work/payouts/']")
    page.wait_for_url("**/account/authenticator/?next=*")
    page.click("#totp-start")
    page.wait_for_selector("#totp-qr")
    enter_totp(page)
    page.wait_for_url("**/work/payouts/")
    # and records the payout in the page
    page.click(f"#payables a[href='/work/payouts/{claim.pk}/']")
    page.fill("#id_paid_on", TODAY().isoformat())
    page.fill("#id_bank_reference", "CZ-2026-0099")
    page.click("#record-payout")
    page.wait_for_url(f"**/work/claims/{claim.pk}/")
    # then the claim's page shows the payout split by payer
    page.wait_for_selector("#payout-split")
    payout = Payout.objects.get(claim=claim)
    assert {row.get_attribute("data-payer") for row in page.locator("#payout-split tbody tr").all()} == {
        payer for payer, _part in payout.shares
    }
    logout(page)
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.PAID
    return payout


def program_admin_and_auditor_read_the_budget(page, bd, payout: Payout) -> None:
    # given the paid claim: 1,000,000.00 at 50 % is 500,000.00, paid by the city and the district half each
    assert payout.amount == 500_000 * 100
    # when the program's administrator logs in, their home lists the program
    login(page, make_user(bd.agency, Role.PROGRAM_ADMIN, username="bd_admin"))
    assert page.url.endswith("/manage/")
    assert page.locator("#programs", has_text=bd.program.name).count() == 1
    shoot(page, "home-program-admin")
    logout(page)
    # and the auditor opens the program's budget statement
    login(page, bd.auditor)
    assert page.url.endswith("/audit/")
    shoot(page, "home-auditor")
    page.click(f"#audit-programs a[href^='/audit/programs/{bd.program.pk}/statement/']")
    page.wait_for_selector("#payout-split")
    # then the page shows the split by payer
    assert "250000.00" in page.inner_text("#payout-split tr[data-payer=city]")
    assert "250000.00" in page.inner_text("#payout-split tr[data-payer=district]")
    assert "500000.00" in page.inner_text("#figures tr[data-key=paid]")
    # and at phone width the page itself does not scroll sideways (wide tables scroll in their own box)
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    # when the auditor downloads it as CSV
    with page.expect_download() as info:
        page.click("#export-csv")
    # then the file holds the same split
    lines = by_line(csv_rows(Path(info.value.path()).read_bytes()))
    assert lines["paid:city"][2] == "250000.00"
    assert lines["paid:district"][2] == "250000.00"
    assert lines["paid"][2] == "500000.00"
    logout(page)


def anyone_verifies_the_voucher_in_english(page, voucher: Voucher) -> None:
    # when anyone switches to English and verifies the voucher by its token
    page.click("header button[name=language][value=en]")
    page.wait_for_load_state()
    page.goto(f"{page.base}/verify/")
    page.fill("#id_token", voucher.token)
    page.click("main button[type=submit]")
    # then the voucher is shown, in English, with its QR code
    page.wait_for_selector("#verified")
    assert voucher.serial in page.inner_text("#verified")
    assert "This voucher is genuine." in page.inner_text("#verified")
    # (img.decode() waits for the image; wait_for_function would poll by eval, which the page's CSP forbids)
    assert page.locator("img.qr").evaluate("img => img.decode().then(() => img.naturalWidth)") > 0
    shoot(page, "verify")
