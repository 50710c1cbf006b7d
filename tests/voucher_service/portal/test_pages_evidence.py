"""Evidence previewed in the claim's review page: a PDF in a frame, an image inline, both served inline (as what
their content is) to those who may see the claim, framable by our own pages only; others find nothing."""

from __future__ import annotations

import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.claims import create, issue_voucher, submitted
from tests.factories import make_org, make_user
from tests.voucher_service.portal.conftest import browser_client
from voucher_service.claims.evidence import evidence_upload
from voucher_service.claims.models import Claim

pytestmark = pytest.mark.django_db


def png_pixel() -> bytes:
    """A real 1×1 PNG (a browser draws it)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def claim(bd, django_capture_on_commit_callbacks):
    issue_voucher(bd.program, bd.entity, 1_000_000 * 100)
    return submitted(bd, django_capture_on_commit_callbacks)


def test_the_review_page_frames_each_pdf(bd, claim):
    # given
    evidence = claim.evidence.order_by("pk").first()
    # when
    page = browser_client(bd.reviewer).get(f"/work/claims/{claim.pk}/").content.decode()
    # then
    assert f'<iframe src="/claims/{claim.pk}/evidence/{evidence.pk}/preview/"' in page
    assert page.count("<iframe ") == claim.evidence.count()


def test_the_evidence_list_links_the_apis_download(bd, claim):
    # given
    evidence = claim.evidence.order_by("pk").first()
    client = browser_client(bd.reviewer)
    link = f'href="/api/v1/claims/{claim.pk}/evidence/{evidence.pk}/"'
    # when
    page = client.get(f"/work/claims/{claim.pk}/").content.decode()
    download = client.get(f"/api/v1/claims/{claim.pk}/evidence/{evidence.pk}/", secure=True)
    # then the list's link is the API's permission-checked download (an attachment, never rendered)
    assert link in page
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;")


def test_a_pdf_preview_is_inline_and_framable_by_our_pages_only(bd, claim):
    # given
    evidence = claim.evidence.order_by("pk").first()
    # when
    response = browser_client(bd.reviewer).get(f"/claims/{claim.pk}/evidence/{evidence.pk}/preview/")
    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline;")
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in response["Content-Security-Policy"]
    assert "script-src" not in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content).startswith(b"%PDF-")


def test_an_image_is_shown_inline_and_sandboxed(bd):
    # given a draft claim with a PNG
    draft = Claim.objects.get(pk=create(bd).json()["id"])
    image = evidence_upload(
        actor=bd.applicant, claim=draft, kind="usage_statement", upload=SimpleUploadedFile("usage.png", png_pixel())
    )
    client = browser_client(bd.applicant)
    # when
    page = client.get(f"/me/claims/{draft.pk}/").status_code
    response = client.get(f"/claims/{draft.pk}/evidence/{image.pk}/preview/")
    review = browser_client(bd.reviewer).get(f"/work/claims/{draft.pk}/").content.decode()
    # then
    assert page == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Security-Policy"].endswith("; sandbox")
    assert f'<img src="/claims/{draft.pk}/evidence/{image.pk}/preview/"' in review


def test_someone_who_may_not_see_the_claim_gets_no_preview(bd, claim):
    # given
    evidence = claim.evidence.order_by("pk").first()
    stranger = make_user(make_org("agency", jurisdiction="640000"), "reviewer", username="elsewhere")
    # when
    response = browser_client(stranger).get(f"/claims/{claim.pk}/evidence/{evidence.pk}/preview/")
    other_claims_file = browser_client(bd.reviewer).get(f"/claims/{claim.pk + 1000}/evidence/{evidence.pk}/preview/")
    # then
    assert response.status_code == 404
    assert other_claims_file.status_code == 404
