"""Test data builders shared by every test package: organisations, users with roles, API clients.

Personas (healthchecks style) are built from these in tests/conftest.py.
"""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from rest_framework.test import APIClient
from stdnum.cn import uscc as uscc_number

from accounts.models import (
    EntityCategory,
    Jurisdiction,
    Membership,
    Organization,
    OrganizationKind,
    Role,
    User,
)

_sequence = itertools.count(1)
DEFAULT_PASSWORD = "correct-horse-battery-staple"


def valid_uscc(seed: int | None = None) -> str:
    """A syntactically valid 统一社会信用代码 with a correct check character."""
    number = next(_sequence) if seed is None else seed
    body = f"91{640100:06d}{number:09d}"  # registration authority 9 (industry & commerce), type 1 (enterprise)
    return body + uscc_number.calc_check_digit(body)


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


__all__ = ["DEFAULT_PASSWORD", "Role", "client_for", "make_org", "make_user", "valid_uscc"]
