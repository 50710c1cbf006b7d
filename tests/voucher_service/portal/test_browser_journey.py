"""The portal in a real browser: Debian's headless Chromium (``/usr/bin/chromium``, installed by .ci/run) driven by
Playwright against the live test server. One journey, kept short: log in, read the catalogue, apply with the
eligibility answer shown first, file a claim step by step with PDF evidence, three different agency users decide
its stages (and the applicant is not offered a decision), then verify the voucher by its token. No page may log a
console error. Screenshots go to test-results/."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.claims import PDF, delivery_period, invoice_number, issue_voucher
from voucher_service.claims.models import Claim, ClaimStatus
from voucher_service.vouchers.models import VoucherApplication

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


def test_apply_claim_review_and_verify_in_the_browser(page, bd):
    # given the applicant logged in
    login(page, bd.applicant)
    assert page.url.endswith("/me/")
    shoot(page, "applicant-home")

    # when the applicant reads the catalogue and checks eligibility before applying
    page.goto(f"{page.base}/programs/")
    assert page.locator("section.program", has_text=bd.program.name).count() == 1
    page.click(f"a[href='/me/apply/{bd.program.pk}/']")
    page.fill("#id_amount", "1000.00")
    page.fill("#id_purpose", "模型训练")
    page.click("#check")
    page.wait_for_selector(".eligibility li")
    assert page.locator(".eligibility li.pass").count() >= 3
    # then a form with an error keeps what was typed
    page.fill("#id_amount", "12.345")
    page.click("#submit-application")
    assert page.locator(".field.invalid #id_amount").input_value() == "12.345"
    assert page.locator("#id_purpose").input_value() == "模型训练"
    page.fill("#id_amount", "1000.00")
    page.click("#submit-application")
    page.wait_for_url("**/me/")
    assert VoucherApplication.objects.filter(entity=bd.entity, requested_amount=100_000).count() == 1

    # when the applicant (now holding a voucher) files a claim step by step, with PDF evidence
    voucher = issue_voucher(bd.program, bd.entity, 900_000 * 100)
    start, end = delivery_period()
    amount = "100000.00"
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
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.IN_REVIEW, [c for c in claim.evaluations.last().checks if not c["ok"]]
    logout(page)

    # then three different agency users decide its three stages in the pages
    for user in (bd.reviewer, bd.reviewer2, bd.finance):
        login(page, user)
        if user is bd.reviewer:
            shoot(page, "reviewer-queue")
        page.click(f"#queue a[href='/work/claims/{claim.pk}/']")
        page.check("input[name=decision][value=approve]")
        for radio in page.locator("input[type=radio][name^=condition_][value=yes]").all():
            radio.check()
        page.click("#decide")
        page.wait_for_url("**/work/")
        if user is bd.reviewer:
            # the first reviewer may not decide the next stage too: the page says so instead of offering a form
            page.goto(f"{page.base}/work/claims/{claim.pk}/")
            assert page.locator("#refusal").count() == 1
            assert page.locator("#decide-form").count() == 0
        logout(page)
    claim.refresh_from_db()
    assert claim.status in (ClaimStatus.IN_NOTICE, ClaimStatus.PAYABLE)
    assert claim.decisions.count() == 3

    # when anyone verifies the voucher by its token, in English
    page.goto(f"{page.base}/notices/")
    assert page.locator("td", has_text=f"#{claim.pk}").count() == (1 if claim.status == ClaimStatus.IN_NOTICE else 0)
    page.click("header button[name=language][value=en]")
    page.goto(f"{page.base}/verify/")
    page.fill("#id_token", voucher.token)
    page.click("main button[type=submit]")
    # then the voucher is shown with its QR code
    page.wait_for_selector("#verified")
    assert voucher.serial in page.inner_text("#verified")
    assert "This voucher is genuine." in page.inner_text("#verified")
    # (img.decode() waits for the image; wait_for_function would poll by eval, which the page's CSP forbids)
    assert page.locator("img.qr").evaluate("img => img.decode().then(() => img.naturalWidth)") > 0
    shoot(page, "verify")
