"""The claims domain's ledger accounts, per program and fiscal year (codes ``claims:<P>:<Y>:<role>``):

=======================  =============================================================================
role                     what moves it
=======================  =============================================================================
``clearing``             a claim's hold credits it (pending) from each voucher; the payout posts the hold
                         into it and, in the same transaction, splits it out to the payers' funding
                         accounts (``programs:<P>:<Y>:funding:<payer>``), so it is back at zero
``clawback_due``         a clawback credits it, debiting each payer's funding account in the payout's
                         proportions: what the entity owes back
``clawback_recovered``   a recovery credits it from ``clawback_due``: what came back
=======================  =============================================================================

So the budget figures still add up: for a program-year, issued = voucher balances + paid (the funding
accounts' credits) + returned + lapsed, and a clawback moves money between funding and clawback accounts only.
"""

from __future__ import annotations

from ledger.models import Account
from ledger.services import account_get_or_create
from voucher_service.programs.models import Program

PREFIX = "claims:"
ROLES = ("clearing", "clawback_due", "clawback_recovered")


def account_code(program_id: int, year: int, role: str) -> str:
    return f"{PREFIX}{program_id}:{year}:{role}"


def claims_account(program: Program, year: int, role: str) -> Account:
    if role not in ROLES:
        raise ValueError(role)
    code = account_code(program.pk, year, role)
    return account_get_or_create(code=code, name=f"{program.code} {year} claims {role}", owner=program)[0]
