"""Scenes the fault tests set up before they break something: claims at a given step, and a row held locked
by another session (so that a task waits inside its transaction, where the fault then strikes)."""

from __future__ import annotations

import contextlib
import random
import zlib
from collections.abc import Iterator

import psycopg

from tests.faults.processes import tests_database_url
from tests.stress.operations import YUAN, Context, Op, claim
from tests.stress.world import World
from voucher_service.claims.models import Claim
from voucher_service.claims.notice import notice_close
from voucher_service.claims.services import claim_create, claim_decide, evidence_upload
from voucher_service.vouchers.services import application_approve, application_submit


@contextlib.contextmanager
def row_locked(table: str, pk: int) -> Iterator[None]:
    """Another session holds ``table`` row ``pk`` FOR UPDATE until the block ends."""
    with psycopg.connect(tests_database_url()) as holder:
        holder.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR UPDATE", [pk])
        try:
            yield
        finally:
            holder.rollback()


def _context(world: World, token: str) -> Context:
    """The stress operations' context, on the world's first program and entity."""
    number = zlib.crc32(token.encode())  # numbers the claim's invoice
    context = Context(world=world, crew=world.crews[0], rng=random.Random(token), op=Op(number, "claim", 0, token))
    context.entity = lambda: world.entities[0]  # type: ignore[method-assign]
    context.program = lambda: world.programs[0]  # type: ignore[method-assign]
    return context


def voucher_for_first_entity(world: World, amount: int = 500 * YUAN) -> None:
    """Applied for and approved; issued at once (tasks are eager unless a test sends them to a broker)."""
    crew = world.crews[0]
    application = application_submit(
        actor=crew.applicant, program=world.programs[0], entity=world.entities[0], amount=amount, purpose="模型训练"
    )
    application_approve(actor=crew.reviewer, application=application)


def draft_claim(world: World, token: str) -> Claim:
    """A draft with its invoice attached, ready to submit."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.stress.operations import PDF, _claim_data

    context = _context(world, token)
    applicant, entity = world.crews[0].applicant, world.entities[0]
    draft = claim_create(actor=applicant, entity=entity, program=world.programs[0], data=_claim_data(context, entity))
    evidence_upload(actor=applicant, claim=draft, kind="invoice", upload=SimpleUploadedFile("invoice.pdf", PDF))
    return draft


def payable_claim(world: World, mark: str = "k1") -> Claim:
    """A claim of the world's first entity, evaluated, approved at both stages and past its notice (the first
    entity needs a voucher: ``voucher_for_first_entity``)."""
    crew = world.crews[0]
    assert claim(_context(world, mark)) == "in_review"
    target = Claim.objects.get(contract_number=f"HT-{mark}")
    confirm = [{"code": "compute", "confirmed": True, "reason": "已核实"}]
    target = claim_decide(actor=crew.reviewer, claim=target, decision="approve", conditions=confirm)
    target = claim_decide(actor=crew.finance, claim=target, decision="approve")
    assert target.notice_ends_on is not None
    assert notice_close(claim_id=target.pk, today=target.notice_ends_on.replace(year=target.notice_ends_on.year + 1))
    return Claim.objects.get(pk=target.pk)
