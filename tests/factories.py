"""Test data builders shared by every test package (and the benchmarks): organisations, users with roles, API
clients, programs, applications, the seed policies.

Plain functions, imported by name; the personas (tests/conftest.py) and each package's fixtures are built from
them. Nothing here is a fixture.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from io import StringIO
from typing import Any

from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import (
    EntityCategory,
    Jurisdiction,
    Membership,
    Organization,
    OrganizationKind,
    User,
)
from accounts.validators import uscc_numbered
from voucher_service.programs.budgets import budget_open
from voucher_service.programs.models import Program
from voucher_service.programs.services import program_create, program_publish

_sequence = itertools.count(1)
DEFAULT_PASSWORD = "correct-horse-battery-staple"


def valid_uscc(seed: int | None = None) -> str:
    """A syntactically valid 统一社会信用代码 with a correct check character (``accounts.validators``)."""
    return uscc_numbered(next(_sequence) if seed is None else seed)


def make_org(
    kind: str = OrganizationKind.ENTITY,
    *,
    jurisdiction: str = "640100",
    category: str | None = None,
    name: str | None = None,
    uscc: str | None = "auto",
    settled_on: date | None = None,
) -> Organization:
    if category is None:
        category = EntityCategory.TECH_SME if kind == OrganizationKind.ENTITY else ""
    if uscc == "auto":
        uscc = None if kind == OrganizationKind.AGENCY else valid_uscc()
    return Organization.objects.create(
        name=name or f"{kind}-{next(_sequence)}",
        kind=kind,
        category=category,
        uscc=uscc,
        jurisdiction=Jurisdiction.objects.get(code=jurisdiction),
        settled_on=settled_on,
    )


def make_user(organization: Organization | None = None, *roles: str, username: str | None = None, **extra: Any) -> User:
    user = User.objects.create_user(username=username or f"user{next(_sequence)}", password=DEFAULT_PASSWORD, **extra)
    for role in roles:
        assert organization is not None
        Membership.objects.create(user=user, organization=organization, role=role)
    return user


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user=user)
    return client


# --- Programs and applications ------------------------------------------------------------------------------


def make_program(
    admin: Any,
    agency: Any,
    *,
    code: str = "nx-test",
    cap: str = "1000.00",
    per_entity: str | None = "300.00",
    **rules: Any,
) -> Program:
    """A published program of ``agency`` in force from 1 January this year for 400 days, its budget open this year.

    Small numbers make the caps easy to reason about: a 1,000 yuan annual budget, 300 yuan per entity per year,
    and a 100 yuan one-time settling-in award. ``rules`` adds or replaces top-level rules (api form)."""
    today = timezone.localdate()
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
        valid_from=date(today.year, 1, 1),
        valid_until=today + timedelta(days=400),
    )
    program = program_publish(actor=admin, program=program)
    budget_open(actor=admin, program=program, year=today.year)
    return program


def apply(
    client: Any, program: Any, entity: Any, amount: str = "100.00", HTTP_ACCEPT_LANGUAGE: str = "zh-hans", **extra: Any
) -> Any:
    """``POST /api/v1/voucher-applications/`` for ``entity`` (``extra`` adds to the body)."""
    body = {"program": program.pk, "entity": entity.pk, "amount": amount, "purpose": "模型训练", **extra}
    return client.post("/api/v1/voucher-applications/", body, format="json", HTTP_ACCEPT_LANGUAGE=HTTP_ACCEPT_LANGUAGE)


# --- The seed policies ---------------------------------------------------------------------------------------

NINGXIA = "ningxia-2023-8-9"
YINCHUAN = "yinchuan-compute-capital-draft"
BAODING = "baoding-compute-measures-5"
HOHHOT = "hohhot-2025-11-3-1"
HORINGER_PLATFORM = "和林格尔多云算力监测与调度平台"


class Seeds:
    """The four seed programs, by city."""

    def __init__(self) -> None:
        self.ningxia = Program.objects.get(code=NINGXIA)
        self.yinchuan = Program.objects.get(code=YINCHUAN)
        self.baoding = Program.objects.get(code=BAODING)
        self.hohhot = Program.objects.get(code=HOHHOT)


def load_policies(*args: str) -> str:
    """Run ``manage.py load_policies`` and return what it printed."""
    out = StringIO()
    call_command("load_policies", *args, stdout=out)
    return out.getvalue()
