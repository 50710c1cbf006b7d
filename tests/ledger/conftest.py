"""Fixtures for the ledger tests: accounts with and without limits, a user, funded accounts, both posting paths.

The snapshot of all ledger rows a refusal must leave untouched is ``tests.snapshots.ledger_snapshot``."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from ledger import services
from ledger.models import Account

_codes = itertools.count(1)


@pytest.fixture
def make_account() -> Callable[..., Account]:
    def make(code: str | None = None, **kwargs: Any) -> Account:
        return services.account_create(
            code=code or f"acct-{next(_codes)}", name=kwargs.pop("name", "test account"), **kwargs
        )

    return make


@pytest.fixture(params=[pytest.param("database", marks=pytest.mark.postgres), "portable"])
def posting_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test on both posting paths: PostgreSQL's ``ledger_post_entry`` function, and the portable Python
    path that SQLite uses (PostgreSQL can run it too, so both are checked against the same database)."""
    if request.param == "portable":
        monkeypatch.setattr(services, "posts_in_database", lambda: False)
    return str(request.param)


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user(username="ledger-tester", password="x")


@pytest.fixture
def funded(make_account) -> Callable[..., tuple[Account, Account]]:
    """(source, wallet): ``wallet`` may not go below zero and holds ``amount`` fen taken from ``source``."""

    def fund(amount: int = 10_000) -> tuple[Account, Account]:
        source = make_account(name="source")
        wallet = make_account(name="wallet", debits_must_not_exceed_credits=True)
        services.entry_post(
            actor=None,
            idempotency_key=f"fund-{wallet.code}",
            lines=[(source, "debit", amount), (wallet, "credit", amount)],
        )
        return source, wallet

    return fund
