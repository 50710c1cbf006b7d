"""The agency's side in a real browser (the fixtures of test_browser_journey: Debian's headless Chromium at phone
width, no console error allowed). After a claim's three review stages (decided through the API here; the
journey test decides them in the pages): a reviewer approves an application in the page, a member of the public
objects during 公示, the reviewer reads the claim's evidence previewed in the page and dismisses the objection,
the notice ends (the beat job's service, called for a later day), and finance, made to enrol a TOTP
authenticator first, records the payout in the page and sees its split by payer."""

from __future__ import annotations

import shutil
from base64 import b32decode

import pytest
from django_otp.oath import totp

from tests.factories import make_org, make_user
from tests.voucher_service.portal import test_browser_journey as journey
from tests.voucher_service.portal.builders import claim_in_notice, end_notice
from tests.voucher_service.portal.test_browser_journey import CHROMIUM, login, logout, shoot
from voucher_service.claims.models import ClaimStatus, ObjectionStatus, Payout
from voucher_service.vouchers.models import ApplicationStatus
from voucher_service.vouchers.services import application_submit

# The journey's fixtures, by name: Chromium, and a phone-width page that fails the test on any console error.
browser = journey.browser
page = journey.page

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium (.ci/run installs it)"),
]


def enter_totp(page) -> None:
    """Read the key the enrolment page shows (as a person would type it into an app) and enter its code."""
    key = b32decode(page.inner_text("#totp-secret").strip())
    page.fill("#id_token", f"{totp(key):06d}")
    page.click("#totp-confirm")
    page.wait_for_load_state()


def test_objection_dismissed_and_payout_recorded_in_the_browser(page, bd, settings, django_capture_on_commit_callbacks):
    # given a claim under public notice, and an application waiting for the agency
    settings.PORTAL_FINANCE_REQUIRE_TOTP = True
    claim = claim_in_notice(bd, django_capture_on_commit_callbacks)
    neighbour = make_org("entity", jurisdiction=bd.entity.jurisdiction.code, category="enterprise")
    application = application_submit(
        actor=make_user(neighbour, "applicant"),
        program=bd.program,
        entity=neighbour,
        amount=1_000 * 100,
        purpose="推理",
    )

    # when a member of the public objects on the 公示 page
    page.goto(f"{page.base}/notices/")
    page.click(f"a[href='/notices/{claim.pk}/object/']")
    page.fill("#id_reason", "该企业的算力合同疑似重复申报")
    page.fill("#id_contact", "13800000000")
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    objection = claim.objections.get()

    # then a reviewer approves the application in the page, and the voucher is issued
    login(page, bd.reviewer)
    page.click("#work-nav a[href='/work/applications/']")
    page.click(f"#applications a[href='/work/applications/{application.pk}/']")
    assert page.locator("#eligibility-submitted li.pass").count() >= 1
    page.check("input[name=decision][value=approve]")
    page.click("#decide-application")
    page.wait_for_url("**/work/applications/")
    application.refresh_from_db()
    assert application.status == ApplicationStatus.APPROVED

    # and reads the claim with its evidence previewed in the page (PDFs framed)
    page.goto(f"{page.base}/work/claims/{claim.pk}/")
    assert page.locator("#evidence-preview iframe").count() == claim.evidence.count()
    first = page.locator("#evidence-preview iframe").first
    first.scroll_into_view_if_needed()  # frames load when they come into view
    source = f"{page.base}{first.get_attribute('src')}"
    for _attempt in range(100):  # the frame opens its file
        if source in {frame.url for frame in page.frames}:
            break
        page.wait_for_timeout(100)
    assert source in {frame.url for frame in page.frames}
    preview = page.request.get(source)
    assert preview.status == 200
    assert preview.headers["content-type"] == "application/pdf"
    assert preview.headers["x-frame-options"] == "SAMEORIGIN"

    # and dismisses the objection, whose reason the page shows
    page.click("#work-nav a[href='/work/objections/']")
    shoot(page, "reviewer-objections")
    assert "疑似重复申报" in page.inner_text("#objections")
    page.click(f"#objections a[href='/work/objections/{objection.pk}/']")
    page.check("input[name=outcome][value=dismissed]")
    page.click("#resolve")
    # a form with an error keeps what was chosen and says what is missing
    assert page.locator(".field.invalid #id_reason").count() == 1
    assert page.locator("input[name=outcome][value=dismissed]").is_checked()
    page.fill("#id_reason", "经核查，合同与发票均属实")
    page.click("#resolve")
    page.wait_for_url("**/work/objections/")
    objection.refresh_from_db()
    assert objection.status == ObjectionStatus.DISMISSED
    logout(page)

    # when the notice period ends (the beat job, for the day after)
    assert end_notice(claim).status == ClaimStatus.PAYABLE

    # then finance, required to have a second factor, is made to enrol an authenticator at the payouts page
    login(page, bd.finance)
    page.click("#work-nav a[href='/work/payouts/']")
    page.wait_for_url("**/account/authenticator/?next=*")
    page.click("#totp-start")
    page.wait_for_selector("#totp-qr")
    enter_totp(page)
    page.wait_for_url("**/work/payouts/")

    # and records the payout in the page, and sees its split by payer on the claim's page
    shoot(page, "finance-payouts")
    page.click(f"#payables a[href='/work/payouts/{claim.pk}/']")
    page.fill("#id_paid_on", "2026-03-02")
    page.fill("#id_bank_reference", "CZ-2026-0099")
    page.click("#record-payout")
    page.wait_for_url(f"**/work/claims/{claim.pk}/")
    page.wait_for_selector("#payout-split")
    payout = Payout.objects.get(claim=claim)
    assert {row.get_attribute("data-payer") for row in page.locator("#payout-split tbody tr").all()} == {
        payer for payer, _part in payout.shares
    }
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.PAID
    shoot(page, "finance-payout-split")
