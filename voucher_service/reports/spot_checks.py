"""Spot checks (抽查) and evidence bundles.

**Drawing a sample.** The population is a program's claims submitted in a period (by the audit trail's
``claim.submit`` events, from the start of ``date_from`` to the end of ``date_to``, or ``as_of`` if earlier), by
id. The sample is ``sorted(random.Random(seed).sample(population, min(size, len(population))))``: Python's
Mersenne Twister seeded with the seed *string*, which gives the same numbers in every Python since 3.2. The seed
(chosen at random when not given), the population's size and the SHA-256 of its ids (``"1,2,3"``) are recorded, so
anyone can draw the same sample again (the same request with the same seed, here or in a Python shell).

**An evidence bundle** is one zip of everything about one claim, as the service holds it now: ``claim.json`` (its
facts and amounts), ``decisions.json``, ``evaluations.json`` (every check and breakdown), ``ledger.json`` (its
holds, and its journal entries with their postings, body digests and chain positions, in the journal export's
form), the evidence files under ``evidence/``, and ``manifest.json`` naming each of those files with its size and
SHA-256. Each draw and each bundle read is audited.
"""

from __future__ import annotations

import hashlib
import json
import random
import secrets
import tempfile
import zipfile
from datetime import date, datetime, time
from typing import IO, Any

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import audit_record
from ledger.hashing import iso_utc
from ledger.history import entries_with_postings
from ledger.models import ChainLink
from voucher_service.claims import selectors as claims
from voucher_service.claims.models import Claim
from voucher_service.programs.models import Program
from voucher_service.reports.idioms import ReportError, ReportErrorCode, service_write
from voucher_service.reports.journal import entry_document
from voucher_service.reports.models import SpotCheck

MAX_SAMPLE = 500
BUNDLE_FORMAT = "voucher_service.evidence_bundle/1"


def population_sha256(ids: list[int]) -> str:
    return hashlib.sha256(",".join(str(pk) for pk in ids).encode()).hexdigest()


def draw(population: list[int], seed: str, size: int) -> list[int]:
    """The sample: the same for the same population, seed and size, in any Python since 3.2."""
    return sorted(random.Random(seed).sample(population, min(size, len(population))))  # noqa: S311 (reproducible)


def _period(date_from: date, date_to: date, as_of: datetime) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(date_from, time.min))
    return start, min(timezone.make_aware(datetime.combine(date_to, time.max)), as_of)


@service_write
def spot_check_draw(
    *,
    actor: Any,
    program: Program,
    date_from: date,
    date_to: date,
    size: int,
    seed: str | None = None,
    as_of: datetime | None = None,
) -> SpotCheck:
    if date_from > date_to:
        message = _("The period ends before it starts.")
        raise ReportError(
            ReportErrorCode.INVALID, message, fields={"date_to": [{"code": "invalid", "message": message}]}
        )
    as_of = min(as_of or timezone.now(), timezone.now())
    seed = seed if seed else str(secrets.randbits(64))
    population = claims.claims_submitted_in(program.pk, *_period(date_from, date_to, as_of))
    check = SpotCheck.objects.create(
        program=program,
        date_from=date_from,
        date_to=date_to,
        as_of=as_of,
        size=size,
        seed=seed,
        population=len(population),
        population_sha256=population_sha256(population),
        claim_ids=draw(population, seed, size),
        drawn_by=actor,
    )
    audit_record(
        actor=actor,
        action="report.spot_check",
        target=check,
        organization=program.issuing_agency,
        after={"seed": seed, "population": len(population), "claims": check.claim_ids, "size": size},
    )
    return check


def _json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, indent=1, ensure_ascii=False, default=str).encode() + b"\n"


def _claim_document(claim: Claim) -> dict[str, Any]:
    return {
        "id": claim.pk,
        "program": claim.program_id,
        "program_version": claim.program_version_id,
        "entity": claim.entity_id,
        "entity_name": claim.entity.name,
        "provider": claim.provider_id,
        "status": claim.status,
        "round": claim.round,
        "contract_number": claim.contract_number,
        "contract_amount": claim.contract_amount,
        "subsidy": claim.subsidy,
        "approved_amount": claim.approved_amount,
        "paid_amount": claim.paid_amount,
        "clawed_back_amount": claim.clawed_back_amount,
        "conditions": claim.conditions,
        "created_at": claim.created_at,
        "submitted_at": claim.submitted_at,
        "invoices": list(claim.invoices.order_by("pk").values("number", "issuer_uscc", "issued_on", "amount")),
        "payments": list(claim.payments.order_by("pk").values("bank_reference", "paid_on", "amount")),
        "money": "fen",
    }


def _ledger_document(claim: Claim) -> dict[str, Any]:
    holds, entry_ids = claims.claim_ledger(claim)
    full = entries_with_postings(entry_ids)
    positions = dict(ChainLink.objects.filter(entry_id__in=entry_ids).values_list("entry_id", "position"))
    links = {link.entry_id: link for link in ChainLink.objects.filter(entry_id__in=entry_ids)}
    entries = []
    for entry_id in entry_ids:
        entry, postings = full[entry_id]
        document = entry_document(entry, postings, positions.get(entry_id, 0))
        document["chain_hash"] = links[entry_id].hash if entry_id in links else None
        entries.append(document)
    return {
        "holds": [
            {
                "hold": h.hold_id,
                "voucher": h.voucher.serial,
                "amount": h.amount,
                "status": h.hold.status,
                "created_at": iso_utc(h.hold.created_at),
                "resolved_at": iso_utc(h.hold.resolved_at) if h.hold.resolved_at else None,
                "posted_amount": h.hold.posted_amount,
                "entry": h.hold.entry_id,
            }
            for h in holds
        ],
        "entries": entries,
    }


def _decisions(claim: Claim) -> list[dict[str, Any]]:
    return [
        {
            "round": d.round,
            "stage": d.stage_index,
            "stage_name": d.stage_name,
            "decision": d.decision,
            "amount": d.amount,
            "reason": d.reason,
            "conditions": d.conditions,
            "by": d.decided_by.username,
            "at": d.decided_at,
        }
        for d in claim.decisions.select_related("decided_by").order_by("pk")
    ]


def _evaluations(claim: Claim) -> list[dict[str, Any]]:
    return [
        {
            "round": e.round,
            "program_version": e.program_version_id,
            "passed": e.passed,
            "checks": e.checks,
            "breakdown": e.breakdown,
            "subsidy": e.subsidy,
            "at": e.created_at,
        }
        for e in claim.evaluations.order_by("pk")
    ]


def write_bundle(claim: Claim, out: IO[bytes]) -> dict[str, Any]:
    """Write the claim's evidence bundle (a zip) to ``out``; return its manifest."""
    files: list[dict[str, Any]] = []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as bundle:

        def add(name: str, content: bytes) -> None:
            bundle.writestr(name, content)
            files.append({"name": name, "size": len(content), "sha256": hashlib.sha256(content).hexdigest()})

        add("claim.json", _json(_claim_document(claim)))
        add("decisions.json", _json(_decisions(claim)))
        add("evaluations.json", _json(_evaluations(claim)))
        add("ledger.json", _json(_ledger_document(claim)))
        for evidence in claims.claim_evidence(claim).order_by("pk"):
            with evidence.file.open("rb") as handle:
                content = handle.read()
            suffix = evidence.original_name.rsplit(".", 1)[-1] if "." in evidence.original_name else "bin"
            add(f"evidence/{evidence.pk}-{evidence.kind}.{suffix}", content)
        manifest = {
            "format": BUNDLE_FORMAT,
            "claim": claim.pk,
            "program": claim.program_id,
            "generated_at": iso_utc(timezone.now()),
            "files": files,
        }
        bundle.writestr("manifest.json", _json(manifest))
    return manifest


@service_write
def evidence_bundle_read(*, actor: Any, claim: Claim) -> tuple[IO[bytes], dict[str, Any]]:
    """The claim's evidence bundle in a temporary file (rewound), and its manifest; the read is audited."""
    out = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115 (handed to the response)
    manifest = write_bundle(claim, out)
    out.seek(0)
    audit_record(
        actor=actor,
        action="report.evidence_bundle",
        target=claim,
        organization=claim.entity,
        detail={"files": [(f["name"], f["sha256"]) for f in manifest["files"]]},
    )
    return out, manifest
