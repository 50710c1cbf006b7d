"""/api/v1/claims/{id}/evidence/: upload (multipart), list, download; files are typed by their content."""

import hashlib
import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.claims import PDF, PNG, create
from tests.factories import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(bd):
    response = create(bd)
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def upload(user, claim_id, name, content, kind="invoice"):
    return client_for(user).post(
        f"/api/v1/claims/{claim_id}/evidence/",
        {"kind": kind, "file": SimpleUploadedFile(name, content)},
        format="multipart",
    )


def ofd() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("OFD.xml", "<ofd:OFD xmlns:ofd='http://www.ofdspec.org/2016'/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("发票.pdf", PDF, "application/pdf"),
        ("invoice.OFD", ofd(), "application/ofd"),
        ("scan.png", PNG, "image/png"),
        ("photo.jpeg", b"\xff\xd8\xff\xe0" + b"\x00" * 16, "image/jpeg"),
    ],
)
def test_each_accepted_type_is_recognised_by_its_content(bd, draft, name, content, content_type):
    # when
    response = upload(bd.applicant, draft, name, content)
    # then its type is what the content says, and its digest is kept
    assert response.status_code == 201, response.json()
    assert response.json()["content_type"] == content_type
    assert response.json()["sha256"] == hashlib.sha256(content).hexdigest()


def test_a_file_that_is_not_what_its_name_says_is_refused(bd, draft):
    # a PNG named .pdf, and a text file named .pdf
    for content in (PNG, b"just text"):
        response = upload(bd.applicant, draft, "contract.pdf", content)
        assert response.status_code == 400
        assert response.json()["error"]["fields"]["file"][0]["code"] in {"name_mismatch", "unsupported_type"}
    assert client_for(bd.applicant).get(f"/api/v1/claims/{draft}/evidence/").json() == []


def test_an_oversized_file_is_refused(bd, draft, settings):
    # given a PDF one byte over 20 MB
    big = PDF + b"0" * (20 * 1024 * 1024 + 1 - len(PDF))
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024 * 1024
    response = upload(bd.applicant, draft, "big.pdf", big)
    assert response.status_code in (400, 413)
    assert client_for(bd.applicant).get(f"/api/v1/claims/{draft}/evidence/").json() == []


def test_files_are_served_only_to_those_who_may_see_the_claim(bd, draft, outsider, program_admin):
    # given an uploaded file
    uploaded = upload(bd.applicant, draft, "a.pdf", PDF).json()
    url = uploaded["download_url"]
    # then the entity and the program's agency download it, as an attachment of a neutral type
    for user in (bd.applicant, bd.reviewer, bd.auditor):
        response = client_for(user).get(url)
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == PDF
        assert response["Content-Type"] == "application/octet-stream"
        assert response["Content-Disposition"].startswith("attachment")
    # and anyone else gets 404, logged in or not
    for user in (outsider, program_admin, None):  # another entity, another agency (Ningxia), the public
        assert client_for(user).get(url).status_code in (401, 404)


def test_only_the_entity_adds_evidence_and_only_to_a_draft(bd, draft):
    assert upload(bd.reviewer, draft, "a.pdf", PDF).status_code == 403
