"""Evidence files of a claim: PDF, OFD, JPEG or PNG, at most 20 MB, typed by their content (not their name).

A file's type is read from its first bytes (and, for OFD, from the package inside: a ZIP holding ``OFD.xml``);
a name whose extension says another type is refused, so a file is never served as something it is not. The
content's SHA-256 is recorded; files are stored through Django's storage API (the filesystem under ``DATA_DIR``,
or an S3-compatible bucket in production: ``settings.STORAGES``) under a name made from their digest.
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from accounts.audit import audit_record
from core.transactions import service_write
from voucher_service.claims.errors import ClaimError, ClaimErrorCode, invalid
from voucher_service.claims.models import EDITABLE_STATUSES, Claim, ClaimEvidence
from voucher_service.claims.permissions import require_applicant
from voucher_service.programs.rules import EvidenceKind

MAX_BYTES: int = settings.EVIDENCE_UPLOAD_MAX_BYTES
MAX_FILES = 50


@dataclass(frozen=True)
class FileType:
    content_type: str
    extensions: tuple[str, ...]


PDF = FileType("application/pdf", (".pdf",))
OFD = FileType("application/ofd", (".ofd",))
JPEG = FileType("image/jpeg", (".jpg", ".jpeg"))
PNG = FileType("image/png", (".png",))
TYPES = (PDF, OFD, JPEG, PNG)


def sniff(stream: Any) -> FileType | None:
    """The file's type from its content, or None when it is none of the four."""
    stream.seek(0)
    head = stream.read(8)
    stream.seek(0)
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(stream) as package:
                names = set(package.namelist())
        except zipfile.BadZipFile:
            names = set()
        finally:
            stream.seek(0)
        if "OFD.xml" in names:
            return OFD
    return None


def _digest(upload: UploadedFile) -> str:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def check_file(upload: UploadedFile) -> FileType:
    """The file's type, or a 400 naming ``file``: too large, not one of the four types, or misnamed."""
    if upload.size is None or upload.size > MAX_BYTES:
        raise invalid(
            "file", "too_large", _("An evidence file is at most %(size)s.") % {"size": filesizeformat(MAX_BYTES)}
        )
    if upload.size == 0:
        raise invalid("file", "empty", _("The file is empty."))
    file_type = sniff(upload)
    if file_type is None:
        raise invalid("file", "unsupported_type", _("Evidence is a PDF, OFD, JPEG or PNG file; this is none of them."))
    name = (upload.name or "").lower()
    if not name.endswith(file_type.extensions):
        raise invalid(
            "file",
            "name_mismatch",
            _("The file is a %(type)s, but its name says otherwise (%(name)s).")
            % {"type": file_type.extensions[0].lstrip(".").upper(), "name": upload.name or "—"},
        )
    return file_type


@service_write
def evidence_upload(*, actor: Any, claim: Claim, kind: str, upload: UploadedFile) -> ClaimEvidence:
    locked = Claim.objects.select_for_update(of=("self",)).select_related("entity").get(pk=claim.pk)
    require_applicant(actor, locked.entity)
    if locked.status not in EDITABLE_STATUSES:
        raise ClaimError(ClaimErrorCode.NOT_EDITABLE, _("Evidence is added to a draft or a returned claim only."))
    if kind not in [k.value for k in EvidenceKind]:
        raise invalid("kind", "invalid_choice", _("Unknown kind of evidence."))
    if locked.evidence.count() >= MAX_FILES:
        raise invalid("file", "too_many", _("A claim carries at most %(n)d files.") % {"n": MAX_FILES})
    file_type = check_file(upload)
    sha256 = _digest(upload)
    evidence = ClaimEvidence(
        claim=locked,
        kind=kind,
        original_name=(upload.name or "")[:255],
        content_type=file_type.content_type,
        size=upload.size or 0,
        sha256=sha256,
        uploaded_by=actor,
    )
    evidence.file.save(f"{locked.pk}-{sha256}{file_type.extensions[0]}", upload, save=False)
    evidence.save()
    audit_record(
        actor=actor,
        action="claim.evidence",
        target=locked,
        organization=locked.entity,
        after={"evidence": evidence.pk, "kind": kind, "sha256": sha256, "size": evidence.size},
    )
    return evidence
