"""Every claim endpoint for every persona: who may, who is refused (403), who cannot see it (404), and the public.

Personas: the entity's applicant; an applicant of another entity; the program's agency reviewer, second reviewer,
finance, program administrator and auditor; a platform's applicant; a program administrator of another agency
(Ningxia); and anonymous. Each row sets up the claim in the state the endpoint acts on; the persona that succeeds
comes last, so every refusal is tried against the same state first.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from accounts.models import Organization
from tests.claims import (
    PDF,
    TODAY,
    YUAN,
    approve_all,
    confirmations,
    create,
    issue_voucher,
    pay,
    submitted,
)
from tests.factories import client_for, make_user
from voucher_service.claims.models import Claim
from voucher_service.claims.notice import notices_close

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_second_factor(settings):
    """Force-authenticated clients give no second factor; production's PORTAL_FINANCE_REQUIRE_TOTP (on with
    DATABASE_URL) is off here: test_api_claims_payout_second_factor tests it."""
    settings.PORTAL_FINANCE_REQUIRE_TOTP = False


PERSONAS = ("other_applicant", "platform", "foreign_admin", "anonymous", "auditor", "program_admin_bd", "finance",
            "reviewer2", "reviewer", "applicant")  # fmt: skip
ANON = 401


@dataclass
class Row:
    state: str
    method: str
    path: Callable[[Claim], str]
    body: Callable[[Any, Claim], Any]
    expected: dict[str, int]
    multipart: bool = False


def none(cast, claim):
    return None


def decide_body(cast, claim):
    claim.refresh_from_db()
    return {"decision": "approve", **({"conditions": confirmations(claim)} if claim.stage_index == 0 else {})}


def see(ok: int = 200) -> dict[str, int]:
    """Reads: the entity and the program's agency see the claim; everyone else does not."""
    return {
        "other_applicant": 404, "platform": 404, "foreign_admin": 404, "anonymous": ANON, "auditor": ok,
        "program_admin_bd": ok, "reviewer": ok, "reviewer2": ok, "finance": ok, "applicant": ok,
    }  # fmt: skip


def write(winner: str, ok: int, *, agency: int = 403, applicant: int = 403, **after: int) -> dict[str, int]:
    """Writes: outsiders cannot see it (404), the agency's other roles and the entity are refused, one succeeds
    (``after``: what the personas after it get, once the state has moved)."""
    expected = {
        "other_applicant": 404, "platform": 404, "foreign_admin": 404, "anonymous": ANON, "auditor": agency,
        "program_admin_bd": agency, "reviewer": agency, "reviewer2": agency, "finance": agency, "applicant": applicant,
    }  # fmt: skip
    expected[winner] = ok
    return expected | after


def create_body(cast, claim):
    from tests.claims import claim_body

    return claim_body(cast, amount=10_000 * YUAN)


ROWS = {
    # The entity named is not one of the caller's own: for anyone but its applicant it "does not exist" (400).
    "create": Row(
        "draft",
        "post",
        lambda c: "/api/v1/claims/",
        create_body,
        {**{p: 400 for p in PERSONAS}, "anonymous": ANON, "applicant": 201},
    ),
    "list": Row("draft", "get", lambda c: "/api/v1/claims/", none, {**{p: 200 for p in PERSONAS}, "anonymous": ANON}),
    "retrieve": Row("draft", "get", lambda c: f"/api/v1/claims/{c.pk}/", none, see()),
    "history": Row("draft", "get", lambda c: f"/api/v1/claims/{c.pk}/history/", none, see()),
    "evidence_list": Row("draft", "get", lambda c: f"/api/v1/claims/{c.pk}/evidence/", none, see()),
    "evidence_download": Row(
        "draft", "get", lambda c: f"/api/v1/claims/{c.pk}/evidence/{c.evidence.first().pk}/", none, see()
    ),
    "update": Row(
        "draft",
        "patch",
        lambda c: f"/api/v1/claims/{c.pk}/",
        lambda cast, c: {"platform_order_number": ""},
        write("applicant", 200),
    ),
    "evidence_upload": Row(
        "draft",
        "post",
        lambda c: f"/api/v1/claims/{c.pk}/evidence/",
        lambda cast, c: {"kind": "other", "file": pdf()},
        write("applicant", 201),
        multipart=True,
    ),
    "submit": Row("draft", "post", lambda c: f"/api/v1/claims/{c.pk}/submit/", none, write("applicant", 202)),
    "withdraw": Row("in_review", "post", lambda c: f"/api/v1/claims/{c.pk}/withdraw/", none, write("applicant", 200)),
    "decide": Row(
        "in_review",
        "post",
        lambda c: f"/api/v1/claims/{c.pk}/decide/",
        decide_body,
        write("reviewer2", 200, reviewer=200),  # the first stage, then the second by another person
    ),
    "payout": Row(
        "payable",
        "post",
        lambda c: f"/api/v1/claims/{c.pk}/payout/",
        lambda cast, c: {"paid_on": TODAY().isoformat(), "bank_reference": "CZ-9"},
        write("finance", 202),
    ),
    "clawback": Row(
        "paid",
        "post",
        lambda c: f"/api/v1/claims/{c.pk}/clawback/",
        lambda cast, c: {"reason_code": "other", "amount": "1.00"},
        write("finance", 201),
    ),
    "public_notices": Row("in_notice", "get", lambda c: "/api/v1/public-notices/", none, {p: 200 for p in PERSONAS}),
    "objection": Row(
        "in_notice",
        "post",
        lambda c: f"/api/v1/public-notices/{c.pk}/objections/",
        lambda cast, c: {"reason": "异议", "contact": "x"},
        {p: 201 for p in PERSONAS},
    ),
    "objection_resolve": Row(
        "objected",
        "post",
        lambda c: f"/api/v1/objections/{c.objections.first().pk}/resolve/",
        lambda cast, c: {"outcome": "dismissed", "reason": "经核查"},
        write("reviewer2", 200, reviewer=409),  # resolved already
    ),
    "platform_orders_list": Row(
        "draft", "get", lambda c: "/api/v1/platform-orders/", none, {**{p: 200 for p in PERSONAS}, "anonymous": ANON}
    ),
}


def pdf():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("other.pdf", PDF)


@pytest.fixture
def personas(bd, program_admin):
    platform = Organization.objects.get(name="和林格尔多云算力监测与调度平台")
    from tests.factories import make_org

    other = make_org(jurisdiction="130606", category="enterprise")
    return {
        "applicant": bd.applicant,
        "other_applicant": make_user(other, "applicant", username="other_applicant"),
        "reviewer": bd.reviewer,
        "reviewer2": bd.reviewer2,
        "finance": bd.finance,
        "auditor": bd.auditor,
        "program_admin_bd": make_user(bd.agency, "program_admin", username="bd_program_admin"),
        "platform": make_user(platform, "applicant", username="platform_ops"),
        "foreign_admin": program_admin,
        "anonymous": None,
    }


def claim_in(state: str, bd, capture) -> Claim:
    issue_voucher(bd.program, bd.entity, 500_000 * YUAN)
    if state == "draft":
        response = create(bd)
        claim = Claim.objects.get(pk=response.json()["id"])
        from tests.claims import attach_evidence

        attach_evidence(claim, bd.applicant)
        return claim
    claim = submitted(bd, capture)
    if state == "in_review":
        return claim
    claim = approve_all(bd, claim)
    if state == "objected":
        assert (
            client_for(None)
            .post(f"/api/v1/public-notices/{claim.pk}/objections/", {"reason": "r", "contact": "c"}, format="json")
            .status_code
            == 201
        )
    if state in ("in_notice", "objected"):
        return claim
    if state == "payable":
        notices_close(today=claim.notice_ends_on.replace(year=claim.notice_ends_on.year + 1))
        claim.refresh_from_db()
        return claim
    assert pay(bd, claim, capture).status_code == 202
    claim.refresh_from_db()
    return claim


@pytest.mark.parametrize("endpoint", list(ROWS))
def test_role_matrix(endpoint, bd, personas, django_capture_on_commit_callbacks):
    row = ROWS[endpoint]
    claim = claim_in(row.state, bd, django_capture_on_commit_callbacks)
    got = {}
    for persona in PERSONAS:
        client = client_for(personas[persona])
        body = row.body(bd, claim)
        with django_capture_on_commit_callbacks(execute=True):
            response = (
                getattr(client, row.method)(row.path(claim), body, format="multipart" if row.multipart else "json")
                if body is not None
                else getattr(client, row.method)(row.path(claim))
            )
        got[persona] = response.status_code
    assert got == row.expected
