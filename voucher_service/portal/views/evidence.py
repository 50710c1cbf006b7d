"""A claim's evidence file shown in the claim's page: PDFs in a frame, images inline.

The API's download (``/api/v1/claims/{id}/evidence/{eid}/``) always answers an attachment of a neutral type, so a
browser saves the file and never renders it. This preview answers the same file, to the same people (the claims
they may see, ``claims_visible_to``), as what its content was found to be at upload (``claims.evidence.sniff``:
PDF or an image; OFD is not previewed), inline, framable by our own pages only (X-Frame-Options SAMEORIGIN and
``frame-ancestors 'self'`` for this response alone), running no script of its own and kept by no shared cache.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET

from voucher_service.claims import selectors as claim_selectors

PREVIEWABLE = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}
# The file's own document: no script, nothing from elsewhere, framed by our pages only. An image is also
# sandboxed; a PDF is not (Chromium refuses to show a PDF in a sandboxed document), its viewer runs apart.
PREVIEW_POLICY = (
    "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; object-src 'self'; frame-ancestors 'self'"
)


@login_required
@require_GET
@xframe_options_sameorigin
def evidence_preview(request: HttpRequest, claim_id: int, pk: int) -> FileResponse:
    claim = get_object_or_404(claim_selectors.claims_visible_to(request.user), pk=claim_id)
    evidence = get_object_or_404(claim_selectors.claim_evidence(claim), pk=pk)
    extension = PREVIEWABLE.get(evidence.content_type)
    if extension is None:
        raise Http404
    response = FileResponse(evidence.file.open("rb"), content_type=evidence.content_type)
    response["Content-Disposition"] = f'inline; filename="{evidence.pk}{extension}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    policy = PREVIEW_POLICY + ("; sandbox" if evidence.content_type.startswith("image/") else "")
    response["Content-Security-Policy"] = policy
    return response
