"""Fixtures for the notification tests: the Ningxia personas with email addresses and a small program, and the
claims tests' Baoding cast (seed policies, budgets, a listed provider) for the claim journey."""

from __future__ import annotations

import pytest

from accounts.models import User
from tests.factories import make_program
from tests.voucher_service.claims.conftest import (  # noqa: F401 (fixtures used by name)
    _ledger_stays_consistent,
    _media,
    bd,
    seeded,
)


@pytest.fixture(autouse=True)
def _portal_pages(plain_static_storage):
    """Pages name their static files; production settings' manifest storage needs collectstatic (not run here)."""


def give_addresses(*users: User) -> None:
    for user in users:
        user.email = f"{user.username}@example.cn"
        user.save(update_fields=["email"])


@pytest.fixture
def program(program_admin, ningxia_agency):
    return make_program(program_admin, ningxia_agency)


@pytest.fixture
def cast(applicant, outsider, reviewer, second_reviewer, finance, auditor, program_admin):
    """The Ningxia personas, each with an email address."""
    give_addresses(applicant, outsider, reviewer, second_reviewer, finance, auditor, program_admin)
    return {
        "applicant": applicant,
        "outsider": outsider,
        "reviewer": reviewer,
        "second_reviewer": second_reviewer,
        "finance": finance,
        "auditor": auditor,
        "program_admin": program_admin,
    }


@pytest.fixture
def bd_mail(bd):  # noqa: F811 (the imported fixture, by name)
    """bd's cast with email addresses."""
    give_addresses(bd.applicant, bd.reviewer, bd.reviewer2, bd.finance, bd.auditor)
    return bd
