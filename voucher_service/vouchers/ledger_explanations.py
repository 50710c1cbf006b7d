"""How the voucher domain explains its ledger entries to ``verify_ledger`` (see ``ledger.explanations``).

The domain claims every account coded ``vouchers:…`` (one per voucher). Its entries:

* ``vouchers:issue:<first>:<count>:<last>``: one batch of issuances, from the year's budget account to each new
  voucher's account (``first`` and ``last`` are the batch's first and last issuance, not a range: a worker's
  own issuance leads the companions it takes along). Explained when every credited account is a voucher with a
  succeeded issuance credited exactly its face value, there are ``count`` of them, ``first`` and ``last`` are
  among them, and the one debit is the budget account of their program's year for the total;
* ``vouchers:close:<voucher>``: a revocation or an expiry, the unused amount from the voucher's account back to
  its year's budget or to its lapsed account; ``vouchers:close:<voucher>:<n>``: what a claim's hold released
  after the voucher closed, the same way. Explained when the voucher is closed, to there, for no more than its
  closed amount; the reconciliation checks that its close entries together moved exactly that amount.

The reconciliation checks the domain's own counters against the ledger: every voucher's account was credited
its face value, and each entity's yearly totals are what its vouchers add up to.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence

from django.db.models import Sum

from ledger.explanations import EntryFacts, claim_accounts, register_entry_explainer, register_reconciliation
from ledger.models import Direction, Posting
from voucher_service.programs.models import FiscalYearBudget
from voucher_service.programs.rules import UnusedAmounts
from voucher_service.vouchers.models import EntityYearTotal, Issuance, IssuanceStatus, Voucher, VoucherStatus

ISSUE_KEY = re.compile(r"^vouchers:issue:(?P<first>\d+):(?P<count>\d+):(?P<last>\d+)$")
# The close itself (``vouchers:close:<voucher>``), and each later return of what a claim released after it
# (``vouchers:close:<voucher>:<n>``, n from 2).
CLOSE_KEY = re.compile(r"^vouchers:close:(?P<voucher>\d+)(:(?P<n>[2-9]|[1-9][0-9]+))?$")


def register() -> None:
    claim_accounts("vouchers:", "vouchers")
    register_entry_explainer("vouchers:", explain_voucher_entries)
    register_reconciliation("vouchers.totals", reconcile_voucher_totals)


def _budgets_of(vouchers: Iterable[Voucher]) -> dict[tuple[int, int], FiscalYearBudget]:
    keys = {(voucher.program_id, voucher.fiscal_year) for voucher in vouchers}
    programs = {program for program, _year in keys}
    return {
        (budget.program_id, budget.year): budget
        for budget in FiscalYearBudget.objects.filter(program_id__in=programs)
        if (budget.program_id, budget.year) in keys
    }


def explain_voucher_entries(entries: Sequence[EntryFacts]) -> Iterator[tuple[int, str]]:
    accounts = {posting.account_id for facts in entries for posting in facts.postings}
    close_ids = [int(m["voucher"]) for facts in entries if (m := CLOSE_KEY.match(facts.idempotency_key))]
    vouchers = {voucher.account_id: voucher for voucher in Voucher.objects.filter(account_id__in=accounts)}
    vouchers_by_pk = {voucher.pk: voucher for voucher in vouchers.values()}
    vouchers_by_pk.update(Voucher.objects.in_bulk([pk for pk in close_ids if pk not in vouchers_by_pk]))
    issuances: dict[int, Issuance] = {
        issuance.voucher_id: issuance
        for issuance in Issuance.objects.filter(voucher_id__in=[v.pk for v in vouchers.values()])
        if issuance.voucher_id is not None
    }
    budgets = _budgets_of(vouchers_by_pk.values())
    for facts in entries:
        if match := ISSUE_KEY.match(facts.idempotency_key):
            problem = _issue_problem(facts, match, vouchers, issuances, budgets)
        elif match := CLOSE_KEY.match(facts.idempotency_key):
            problem = _close_problem(facts, vouchers_by_pk.get(int(match["voucher"])), budgets)
        else:
            problem = "the voucher domain makes no entry with such a key"
        if problem:
            yield facts.entry_id, problem


def _issue_problem(
    facts: EntryFacts,
    match: re.Match[str],
    vouchers: dict[int, Voucher],
    issuances: dict[int, Issuance],
    budgets: dict[tuple[int, int], FiscalYearBudget],
) -> str | None:
    first, count, last = int(match["first"]), int(match["count"]), int(match["last"])
    credits, debits = facts.credits(), facts.debits()
    issued = [vouchers.get(account_id) for account_id in credits]
    if any(voucher is None for voucher in issued):
        return "it credits an account that is no voucher's"
    batch: set[int] = set()
    for voucher in issued:
        assert voucher is not None  # noqa: S101 (checked just above; for the type checker)
        issuance = issuances.get(voucher.pk)
        if issuance is None or issuance.status != IssuanceStatus.SUCCEEDED:
            return f"voucher {voucher.serial} has no succeeded issuance"
        batch.add(issuance.pk)
        if credits[voucher.account_id] != voucher.face_value or issuance.amount != voucher.face_value:
            return f"voucher {voucher.serial} is credited {credits[voucher.account_id]}, its face value is " + str(
                voucher.face_value
            )
    if len(issued) != count or not {first, last} <= batch:
        return f"it issues {len(issued)} voucher(s), not the batch of {count} from #{first} to #{last} its key names"
    origins = {(voucher.program_id, voucher.fiscal_year) for voucher in issued if voucher is not None}
    budget = budgets.get(next(iter(origins))) if len(origins) == 1 else None
    if budget is None or debits != {budget.budget_account_id: sum(credits.values())}:
        return "it is not paid, in full and alone, from the budget account of its vouchers' program and year"
    return None


def _close_problem(
    facts: EntryFacts, voucher: Voucher | None, budgets: dict[tuple[int, int], FiscalYearBudget]
) -> str | None:
    if voucher is None or voucher.status not in (VoucherStatus.REVOKED, VoucherStatus.EXPIRED):
        return "its voucher was never revoked or expired"
    budget = budgets.get((voucher.program_id, voucher.fiscal_year))
    if budget is None:
        return f"voucher {voucher.serial} has no budget for {voucher.fiscal_year}"
    target = (
        budget.budget_account_id if voucher.closed_to == UnusedAmounts.RETURN_TO_BUDGET else budget.lapsed_account_id
    )
    debits, credits = facts.debits(), facts.credits()
    amount = debits.get(voucher.account_id, 0)
    if set(debits) != {voucher.account_id} or credits != {target: amount} or not 0 < amount <= voucher.closed_amount:
        return (
            f"voucher {voucher.serial} was closed with {voucher.closed_amount} to {voucher.closed_to or '?'}, not this"
        )
    return None


def reconcile_voucher_totals() -> Iterable[str]:
    credited = dict(
        Posting.objects.filter(account__code__startswith="vouchers:", direction=Direction.CREDIT)
        .values("account_id")
        .annotate(total=Sum("amount"))
        .values_list("account_id", "total")
    )
    issued: dict[tuple[int, int, int], int] = defaultdict(int)
    returned: dict[tuple[int, int, int], int] = defaultdict(int)
    for voucher in Voucher.objects.only(
        "serial", "account_id", "face_value", "program_id", "entity_id", "fiscal_year", "closed_amount", "closed_to"
    ).iterator(2000):
        if credited.get(voucher.account_id, 0) != voucher.face_value:
            yield (
                f"voucher {voucher.serial}: its account was credited {credited.get(voucher.account_id, 0)} fen, "
                f"its face value is {voucher.face_value} (no issuance entry, or a forged one)"
            )
        key = (voucher.program_id, voucher.entity_id, voucher.fiscal_year)
        issued[key] += voucher.face_value
        if voucher.closed_to == UnusedAmounts.RETURN_TO_BUDGET:
            returned[key] += voucher.closed_amount
    yield from _closed_amounts_match()
    for total in EntityYearTotal.objects.all().iterator(2000):
        key = (total.program_id, total.entity_id, total.fiscal_year)
        if (total.issued, total.returned) != (issued.get(key, 0), returned.get(key, 0)):
            yield (
                f"entity #{total.entity_id}, program #{total.program_id}, {total.fiscal_year}: the yearly total says "
                f"issued {total.issued} / returned {total.returned}, its vouchers add up to {issued.get(key, 0)} / "
                f"{returned.get(key, 0)}"
            )


def _closed_amounts_match() -> Iterable[str]:
    """What a closed voucher says it returned or lapsed is what its close entries moved, together."""
    moved: dict[int, int] = defaultdict(int)
    postings = Posting.objects.filter(
        entry__idempotency_key__startswith="vouchers:close:", account__code__startswith="vouchers:"
    ).values_list("account_id", "amount")
    for account_id, amount in postings.iterator(2000):
        moved[account_id] += amount
    closed = Voucher.objects.exclude(closed_to="").only("serial", "account_id", "closed_amount")
    for voucher in closed.iterator(2000):
        if moved.get(voucher.account_id, 0) != voucher.closed_amount:
            yield (
                f"voucher {voucher.serial}: closed with {voucher.closed_amount} fen, its close entries moved "
                f"{moved.get(voucher.account_id, 0)}"
            )
