"""The issuance benchmark's world: an agency, its program and budget, entities by the thousand, their CSV and their
applications. Built with the tests' factories (``tests.factories``) and the one USCC generator."""

from __future__ import annotations

import csv
import io
import os
import time
from dataclasses import dataclass
from typing import Any

from bench.plumbing import bench_db, database_url, recreate_database, setup_django

BENCH_DB = os.environ.get("BENCH_DB") or bench_db("bench_issuance")
BULK_AMOUNT_YUAN = "100.00"
APPLICATION_AMOUNT_FEN = 5_000  # 50 yuan
ENTITY_JURISDICTION = "640104"  # Yinchuan, Xingqing district: inside the Ningxia agency's 640000
AGENCY_JURISDICTION = "640000"


@dataclass
class World:
    program: Any
    admin: Any
    reviewer: Any
    applicant: Any


def prepare_database(base_url: str, data_dir: str) -> float:
    """Drop, create and migrate ``bench_issuance``; set Django up against it. Returns the seconds it took."""
    started = time.perf_counter()
    recreate_database(base_url, BENCH_DB)
    # This process: an in-memory Celery broker nobody consumes, caches and files in a temporary directory.
    os.environ.pop("CELERY_TASK_ALWAYS_EAGER", None)
    setup_django(
        database_url(base_url, BENCH_DB),
        DATA_DIR=data_dir,
        CELERY_BROKER_URL="memory://localhost/",
        CELERY_RESULT_BACKEND="cache+memory://",
    )
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return time.perf_counter() - started


def create_world(annual_cap_yuan: int, prefix: str = "bench") -> World:
    """An agency with its admin and reviewer, and a published program with this year's budget open (the tests'
    ``make_program``, with a large cap)."""
    from accounts.models import OrganizationKind, Role
    from tests.factories import make_org, make_program, make_user

    agency = make_org(
        OrganizationKind.AGENCY, jurisdiction=AGENCY_JURISDICTION, name="宁夏回族自治区发展和改革委员会（基准）"
    )
    admin = make_user(agency, Role.PROGRAM_ADMIN, username=f"{prefix}_admin")
    reviewer = make_user(agency, Role.REVIEWER, username=f"{prefix}_reviewer")
    applicant = make_user(None, username=f"{prefix}_applicant")
    program = make_program(admin, agency, code=prefix, cap=f"{annual_cap_yuan}.00", per_entity="1000.00")
    return World(program=program, admin=admin, reviewer=reviewer, applicant=applicant)


def create_entities(first_seed: int, count: int) -> list[Any]:
    from accounts.models import EntityCategory, Jurisdiction, Organization, OrganizationKind
    from accounts.validators import uscc_numbered

    jurisdiction = Jurisdiction.objects.get(code=ENTITY_JURISDICTION)
    return Organization.objects.bulk_create(
        [
            Organization(
                name=f"基准科技有限公司 {seed}",
                kind=OrganizationKind.ENTITY,
                category=EntityCategory.TECH_SME,
                uscc=uscc_numbered(seed, division=ENTITY_JURISDICTION),
                jurisdiction=jurisdiction,
            )
            for seed in range(first_seed, first_seed + count)
        ],
        batch_size=2000,
    )


def build_csv(entities: list[Any]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(["uscc", "amount", "memo"])
    for n, entity in enumerate(entities, start=1):
        writer.writerow([entity.uscc, BULK_AMOUNT_YUAN, f"基准批量发放 第{n}行"])
    return out.getvalue().encode("utf-8")


def create_applications(world: World, entities: list[Any]) -> list[int]:
    """Submitted applications, written directly for setup speed (the HTTP phase measures approval + issuance)."""
    from voucher_service.programs.selectors import current_fiscal_year
    from voucher_service.vouchers.models import VoucherApplication

    year = current_fiscal_year()
    created = VoucherApplication.objects.bulk_create(
        [
            VoucherApplication(
                program=world.program,
                entity=entity,
                requested_amount=APPLICATION_AMOUNT_FEN,
                purpose="基准：单笔审批发放",
                fiscal_year=year,
                eligibility=[],
                submitted_by=world.applicant,
            )
            for entity in entities
        ],
        batch_size=2000,
    )
    return [application.pk for application in created]
