"""Fixtures for the portal's tests: the claims tests' Baoding cast (seed policies, budgets, a listed provider)."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.voucher_service.claims.conftest import (  # noqa: F401 (fixtures used by name)
    _ledger_stays_consistent,
    _media,
    bd,
    seeded,
)


@pytest.fixture(autouse=True)
def _portal_pages(plain_static_storage):
    """Pages name their static files; production settings' manifest storage needs collectstatic (not run here)."""


def browser_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client
