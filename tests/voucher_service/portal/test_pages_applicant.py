"""The applicant's pages with Django's test client: a claim with several invoices and payments filed step by step
(rows added and removed in place, errors on their row, amounts stored exactly), a returned claim corrected through
the same steps and resubmitted, the home page's days left and what each claim awaits, evidence refused in place,
and the evaluation's breakdown and history in words."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext

from tests.claims import claim_body, decide, delivery_period, invoice_number, issue_voucher, submitted
from tests.voucher_service.portal.conftest import browser_client
from voucher_service.claims.models import Claim, ClaimStatus
from voucher_service.vouchers.models import Voucher

pytestmark = pytest.mark.django_db

ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}


def purchase(bd, amount: str = "100000.00") -> dict:
    start, end = delivery_period()
    return {
        "entity": bd.entity.pk,
        "provider": bd.provider.pk,
        "contract_number": "HT-STEPS-1",
        "contract_signed_on": (start - timedelta(days=5)).isoformat(),
        "contract_amount": amount,
        "contract_starts_on": (start - timedelta(days=5)).isoformat(),
        "contract_ends_on": (end + timedelta(days=30)).isoformat(),
        "conditions": ["local_platform"],
    }


def invoices(bd, *amounts: str, numbers: list[str] | None = None) -> dict:
    _start, end = delivery_period()
    numbers = numbers or [invoice_number() for _ in amounts]
    data = {"invoices-TOTAL_FORMS": str(len(amounts)), "invoices-INITIAL_FORMS": "0"}
    for i, (amount, number) in enumerate(zip(amounts, numbers, strict=True)):
        data |= {
            f"invoices-{i}-issuer_uscc": bd.provider.uscc,
            f"invoices-{i}-number": number,
            f"invoices-{i}-issued_on": end.isoformat(),
            f"invoices-{i}-amount": amount,
        }
    return data


def payments(*amounts: str) -> dict:
    _start, end = delivery_period()
    data = {"payments-TOTAL_FORMS": str(len(amounts)), "payments-INITIAL_FORMS": "0"}
    for i, amount in enumerate(amounts):
        data |= {f"payments-{i}-bank_reference": f"BR-{i}", f"payments-{i}-paid_on": end.isoformat()}
        data |= {f"payments-{i}-amount": amount}
    return data


def delivery() -> dict:
    start, end = delivery_period()
    return {
        "delivery_starts_on": start.isoformat(),
        "delivery_ends_on": end.isoformat(),
        "delivery_service_type": "gpu",
        "delivery_quantity": "1200",
        "delivery_unit": "card_hours",
    }


def walk(client, base: str, steps: dict[str, dict]) -> None:
    for step, data in steps.items():
        response = client.post(f"{base}{step}/", data)
        assert response.status_code == 302, response.content.decode()[:3000]


def key_of(page) -> str:
    match = re.search(r'name="idempotency_key" value="([^"]+)"', page.content.decode())
    assert match is not None
    return match[1]


def test_a_claim_with_two_invoices_and_three_payments_is_stored_exactly(bd):
    # given an applicant with a voucher
    issue_voucher(bd.program, bd.entity, 900_000 * 100)
    client = browser_client(bd.applicant)
    base = f"/me/claims/new/{bd.program.pk}/"
    # when the steps are sent with two invoice rows and three payment rows that add up to the contract
    walk(
        client,
        base,
        {
            "purchase": purchase(bd),
            "invoice": invoices(bd, "60000.01", "39999.99"),
            "payment": payments("50000.00", "49999.99", "0.01"),
            "delivery": delivery(),
        },
    )
    review = client.get(f"{base}review/")
    created = client.post(f"{base}review/", {"idempotency_key": key_of(review)})
    # then the draft holds every line, in fen, exactly as typed
    assert review.status_code == 200
    assert "60000.01" in review.content.decode()
    assert "39999.99" in review.content.decode()
    assert created.status_code == 302
    claim = Claim.objects.get(entity=bd.entity)
    assert created["Location"] == f"/me/claims/{claim.pk}/"
    assert list(claim.invoices.order_by("pk").values_list("amount", flat=True)) == [6_000_001, 3_999_999]
    assert list(claim.payments.order_by("pk").values_list("amount", flat=True)) == [5_000_000, 4_999_999, 1]
    assert claim.contract_amount == 10_000_000
    page = client.get(f"/me/claims/{claim.pk}/").content.decode()
    assert page.count("60000.01") == 1
    assert "49999.99" in page


def test_rows_are_added_and_removed_in_place_keeping_what_was_typed(bd):
    # given the invoice step with two rows typed
    client = browser_client(bd.applicant)
    url = f"/me/claims/new/{bd.program.pk}/invoice/"
    typed = invoices(bd, "100.00", "200.00", numbers=["1" * 20, "2" * 20])
    # when a row is added, then the first is removed
    added = client.post(url, {**typed, "rows": "add"})
    removed = client.post(url, {**typed, "rows": "remove-0"})
    # then the page answers with the rows, no error shown, and what was typed kept (moved up after a removal)
    assert added.status_code == 200
    assert added.content.decode().count('class="row"') == 3
    assert 'value="2222' in added.content.decode()
    assert 'class="error"' not in added.content.decode()
    body = removed.content.decode()
    assert body.count('class="row"') == 1
    assert 'name="invoices-0-number" value="22222222222222222222"' in body
    assert "1111111111" not in body


def test_a_row_with_an_error_shows_it_on_that_row_and_keeps_the_others(bd):
    # given
    client = browser_client(bd.applicant)
    data = invoices(bd, "100.00", "12.345")
    # when
    response = client.post(f"/me/claims/new/{bd.program.pk}/invoice/", data)
    # then
    body = response.content.decode()
    assert response.status_code == 400
    assert 'id="id_invoices-1-amount_error"' in body
    assert 'id="id_invoices-0-amount_error"' not in body
    assert 'value="12.345"' in body
    assert 'value="100.00"' in body


def test_a_refusal_of_the_service_lands_on_the_row_it_names(bd):
    # given the same invoice listed twice: only the claims service sees that
    issue_voucher(bd.program, bd.entity, 900_000 * 100)
    client = browser_client(bd.applicant)
    base = f"/me/claims/new/{bd.program.pk}/"
    twice = invoice_number()
    steps = {
        "purchase": purchase(bd),
        "invoice": invoices(bd, "50000.00", "50000.00", numbers=[twice, twice]),
        "payment": payments("100000.00"),
        "delivery": delivery(),
    }
    walk(client, base, steps)
    # when the draft is asked for
    refused = client.post(f"{base}review/", {"idempotency_key": key_of(client.get(f"{base}review/"))})
    step = client.get(f"{base}invoice/")
    # then nothing is created, the review says which step to correct, and the step shows it on the second row
    assert refused.status_code == 400
    assert f'href="{base}invoice/"' in refused.content.decode()
    assert not Claim.objects.exists()
    body = step.content.decode()
    assert re.search(r'id="id_invoices-1-number_error">[^<]+<', body)
    assert 'id="id_invoices-0-number_error"' not in body


def returned_claim(bd, capture) -> Claim:
    issue_voucher(bd.program, bd.entity, 1_000_000 * 100)
    claim = submitted(bd, capture)
    response = decide(bd.reviewer, claim, "return", reason="请把发票按两张分别填写")
    assert response.status_code == 200, response.json()
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.RETURNED
    return claim


def test_a_returned_claim_is_corrected_through_the_steps_and_evaluated_again(bd, django_capture_on_commit_callbacks):
    # given a claim returned by the first stage, saying what to fix
    claim = returned_claim(bd, django_capture_on_commit_callbacks)
    client = browser_client(bd.applicant)
    amount = claim.contract_amount
    # when the applicant opens it, then the steps, which start from what the claim says
    page = client.get(f"/me/claims/{claim.pk}/").content.decode()
    first = client.get(f"/me/claims/{claim.pk}/edit/purchase/?start=1")
    kept_invoice = client.get(f"/me/claims/{claim.pk}/edit/invoice/").content.decode()
    # then the page says what to fix, and the steps are filled in
    assert "请把发票按两张分别填写" in page
    assert 'id="correct-claim"' in page
    assert f'value="{claim.contract_number}"' in first.content.decode()
    assert f'value="{claim.invoices.get().number}"' in kept_invoice
    # when the invoice is split in two, the rest left as it was, and the corrections saved, then resubmitted
    half = f"{amount // 200}.{(amount // 2) % 100:02d}"
    base = f"/me/claims/{claim.pk}/edit/"
    walk(client, base, {"invoice": invoices(bd, half, half)})
    review = client.get(f"{base}review/")
    saved = client.post(f"{base}review/", {"idempotency_key": key_of(review)})
    claim_page = client.get(f"/me/claims/{claim.pk}/")
    with django_capture_on_commit_callbacks(execute=True):
        resubmitted = client.post(
            f"/me/claims/{claim.pk}/submit/", {"declaration": "on", "idempotency_key": key_of(claim_page)}
        )
    # then the claim holds two invoices and went through the evaluation again, into review
    assert saved.status_code == 302
    assert saved["Location"] == f"/me/claims/{claim.pk}/"
    assert resubmitted.status_code == 302
    claim.refresh_from_db()
    assert sorted(claim.invoices.values_list("amount", flat=True)) == [amount // 2, amount - amount // 2]
    assert claim.status == ClaimStatus.IN_REVIEW
    assert claim.round == 2
    assert claim.evaluations.count() == 2
    assert claim.evaluations.order_by("-pk").first().passed


def test_a_claim_in_review_cannot_be_opened_for_correction(bd, django_capture_on_commit_callbacks):
    # given
    issue_voucher(bd.program, bd.entity, 1_000_000 * 100)
    claim = submitted(bd, django_capture_on_commit_callbacks)
    # when
    response = browser_client(bd.applicant).get(f"/me/claims/{claim.pk}/edit/purchase/")
    # then
    assert response.status_code == 302
    assert response["Location"] == f"/me/claims/{claim.pk}/"


def test_home_shows_days_left_and_what_each_claim_awaits_from_whom(bd, django_capture_on_commit_callbacks):
    # given a voucher valid 12 more days, a claim in review and a returned one
    voucher = issue_voucher(bd.program, bd.entity, 1_000_000 * 100)
    Voucher.objects.filter(pk=voucher.pk).update(valid_until=timezone.localdate() + timedelta(days=12))
    small = 100_000 * 100
    in_review = submitted(bd, django_capture_on_commit_callbacks, claim_body(bd, amount=small))
    returned = submitted(bd, django_capture_on_commit_callbacks, claim_body(bd, amount=small))
    assert decide(bd.reviewer, returned, "return", reason="缺少用量证明").status_code == 200
    client = browser_client(bd.applicant)
    # when
    english = client.get("/me/", **ENGLISH).content.decode()
    chinese = client.get("/me/").content.decode()
    # then
    agency = bd.program.issuing_agency.name
    assert re.search(r"<td>12</td>", english)
    assert f"Awaiting 初审 by {agency} (Reviewer)" in english
    assert "Awaiting correction and resubmission by you" in english
    assert f"等待{agency}（审核员）初审" in chinese
    assert "等待您更正并重新提交" in chinese
    assert f'href="/me/claims/{in_review.pk}/"' in english
    assert f'href="/me/claims/{returned.pk}/"' in english


def test_a_claim_in_notice_awaits_the_public_until_its_last_day(bd, django_capture_on_commit_callbacks):
    # given a claim through its three stages
    from tests.claims import approve_all

    issue_voucher(bd.program, bd.entity, 1_000_000 * 100)
    claim = approve_all(bd, submitted(bd, django_capture_on_commit_callbacks))
    assert claim.status == ClaimStatus.IN_NOTICE
    # when
    body = browser_client(bd.applicant).get("/me/", **ENGLISH).content.decode()
    # then
    assert f"In public notice (公示) until {claim.notice_ends_on}: anyone may object." in body


def test_the_claim_page_shows_every_term_of_the_breakdown_and_the_history_in_words(
    bd, django_capture_on_commit_callbacks
):
    # given
    issue_voucher(bd.program, bd.entity, 1_000_000 * 100)
    claim = submitted(bd, django_capture_on_commit_callbacks)
    breakdown = claim.evaluations.get().breakdown
    # when
    body = browser_client(bd.applicant).get(f"/me/claims/{claim.pk}/", **ENGLISH).content.decode()
    # then every term is there and the one that bound is marked
    for term in ("rate", "voucher_balance", "entity_cap", "program_budget"):
        assert f'id="term-{term}"' in body
    assert re.search(rf'<tr class="bound" id="term-{breakdown["bound_by"]}">', body)
    assert body.count('class="bound"') == 1
    assert f"Subsidy: {claim.subsidy // 100}." in body
    assert "The automatic checks passed" in body
    assert "bd_applicant submitted the claim (round 1)." in body
    assert "bd_applicant created the draft." in body


def test_evidence_of_the_wrong_type_or_size_is_refused_in_place(bd, monkeypatch):
    # given a draft claim
    from tests.claims import create

    issue_voucher(bd.program, bd.entity, 1_000_000 * 100)
    claim_id = create(bd).json()["id"]
    client = browser_client(bd.applicant)
    url = f"/me/claims/{claim_id}/evidence/"
    # when a text file named .pdf is sent, then a PDF larger than the limit
    wrong = client.post(url, {"kind": "invoice", "file": SimpleUploadedFile("a.pdf", b"hello")}, **ENGLISH)
    monkeypatch.setattr("voucher_service.claims.evidence.MAX_BYTES", 10)
    large = client.post(url, {"kind": "contract", "file": SimpleUploadedFile("b.pdf", b"%PDF-1.7 " + b"x" * 20)})
    # then each answer is the claim page with the error on the file field, the kind chosen kept
    assert wrong.status_code == 400
    assert re.search(r'id="id_file_error">Evidence is a PDF, OFD, JPEG or PNG file', wrong.content.decode())
    assert '<option value="invoice" selected>' in wrong.content.decode()
    assert large.status_code == 400
    with translation.override("zh-hans"):  # the second upload is sent in the default language
        too_large = gettext("An evidence file is at most %(size)s.") % {"size": filesizeformat(10)}
    assert f'id="id_file_error">{escape(too_large)}' in large.content.decode()
    assert '<option value="contract" selected>' in large.content.decode()
    assert not Claim.objects.get(pk=claim_id).evidence.exists()
