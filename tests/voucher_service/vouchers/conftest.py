"""Fixtures for the voucher tests: a small published program in Ningxia with its budget open for this year.

Small numbers make the caps easy to reason about: a 1,000 yuan annual budget, 300 yuan per entity per year, and a
100 yuan one-time settling-in award.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone

from voucher_service.programs.budgets import budget_open
from voucher_service.programs.services import program_create, program_publish

TODAY = timezone.localdate


def make_program(
    admin: Any,
    agency: Any,
    *,
    code: str = "nx-test",
    cap: str = "1000.00",
    per_entity: str | None = "300.00",
    **rules: Any,
) -> Any:
    document = {
        "annual_cap": cap,
        "eligible_categories": ["tech_sme", "university", "maker"],
        "provider_scope": {"mode": "in_jurisdiction"},
        "fixed_awards": [
            {
                "code": "settling_in",
                "description": "落户当年一次性奖励",
                "check": "settled_in_fiscal_year",
                "amount": "100.00",
                "once_per_entity": True,
            }
        ],
        "per_entity_annual_cap": per_entity,
        **rules,
    }
    if per_entity is None:
        document.pop("per_entity_annual_cap")
    program = program_create(
        actor=admin,
        code=code,
        name=f"测试算力券 {code}",
        jurisdiction=agency.jurisdiction,
        issuing_agency=agency,
        rules=document,
        valid_from=date(TODAY().year, 1, 1),
        valid_until=TODAY() + timedelta(days=400),
    )
    program = program_publish(actor=admin, program=program)
    budget_open(actor=admin, program=program, year=TODAY().year)
    return program


@pytest.fixture
def program(program_admin, ningxia_agency):
    return make_program(program_admin, ningxia_agency)


@pytest.fixture(autouse=True)
def _ledger_stays_consistent(request):
    """Every voucher scenario must leave a ledger that verifies: balanced, chained, within every limit."""
    yield
    if "db" not in request.fixturenames and "transactional_db" not in request.fixturenames:
        return
    from ledger.verification import verify_ledger

    report = verify_ledger()
    assert report.ok, report.render()


def apply(
    client: Any, program: Any, entity: Any, amount: str = "100.00", HTTP_ACCEPT_LANGUAGE: str = "zh-hans", **extra: Any
) -> Any:
    body = {"program": program.pk, "entity": entity.pk, "amount": amount, "purpose": "模型训练", **extra}
    return client.post("/api/v1/voucher-applications/", body, format="json", HTTP_ACCEPT_LANGUAGE=HTTP_ACCEPT_LANGUAGE)
