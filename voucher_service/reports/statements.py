"""The budget statement of one program and fiscal year, as of a moment, with the ledger accounts behind every
figure and the two identities that tie them together.

Every figure is read from the ledger (``ledger.history.totals`` as of the moment), never from a domain counter.
With A the appropriation account, B the budget, L the lapsed account, F each payer's funding account and V the
program-year's voucher accounts (``programs/budgets.py`` documents the layout):

* cap = A debits − A credits; issued = B debits − A credits; held = B pending debits;
* returned = B credits − A debits; lapsed = L credits − L debits; remaining = B credits − B debits − B pending;
* paid (per payer) = F credits; clawed back (per payer) = F debits (what the clawbacks owe back, into
  ``claims:<P>:<Y>:clawback_due``); recovered = ``clawback_recovered`` credits; voucher balances = V credits −
  V debits; reserved by claims = V pending debits; in clearing = the claims clearing account's balance (zero
  between payouts).

Identities: remaining = cap − issued − held + returned; issued = voucher balances + paid + returned + lapsed +
in clearing. Both are checked and shown; the second holds only if no money left the program's accounts by any
other road (a clawback moves money between the funding and clawback accounts, so it leaves both intact).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils.translation import gettext_lazy as _

from ledger.history import AccountTotals, chain_head_at, combined_totals, totals
from ledger.models import Account
from ledger.money import fen_to_yuan
from voucher_service.programs.models import FiscalYearBudget, Program
from voucher_service.reports.tabular import Column, Kind, Report, ReportContext
from voucher_service.vouchers.selectors import voucher_accounts_of


@dataclass(frozen=True)
class Part:
    """One account's contribution to a figure: ``sign`` × its ``side`` (debits, credits, pending_debits)."""

    account: str
    side: str
    sign: int
    amount: int


@dataclass
class Figure:
    key: str
    label: Any
    amount: int = 0
    parts: list[Part] = field(default_factory=list)

    def add(self, account: str, side: str, sign: int, amount: int) -> Figure:
        self.parts.append(Part(account, side, sign, amount))
        self.amount += sign * amount
        return self


@dataclass(frozen=True)
class Identity:
    key: str
    formula: Any
    left: int
    right: int

    @property
    def holds(self) -> bool:
        return self.left == self.right


@dataclass
class BudgetStatement:
    program: Program
    year: int
    as_of: datetime
    figures: dict[str, Figure]
    payers: list[tuple[str, Figure, Figure]]  # (payer, paid, clawed back)
    identities: list[Identity]
    chain_height: int
    chain_hash: str

    @property
    def balanced(self) -> bool:
        return all(identity.holds for identity in self.identities)


VOUCHERS = "vouchers:* ({program} {year})"


def budget_statement(budget: FiscalYearBudget, as_of: datetime) -> BudgetStatement:
    program = budget.program
    sources = list(budget.funding_sources.select_related("account").order_by("pk"))
    ids = [budget.appropriation_account_id, budget.budget_account_id, budget.lapsed_account_id]
    read = totals(ids + [source.account_id for source in sources], as_of)
    a, b, lapsed = (read.get(pk, AccountTotals()) for pk in ids)
    a_code, b_code, l_code = (
        budget.appropriation_account.code,
        budget.budget_account.code,
        budget.lapsed_account.code,
    )
    held_on_vouchers = combined_totals(voucher_accounts_of(program.pk, budget.year), as_of)
    vouchers_code = VOUCHERS.format(program=program.code, year=budget.year)
    figures = {
        "cap": Figure("cap", _("Annual cap"))
        .add(a_code, "posted_debits", 1, a.posted_debits)
        .add(a_code, "posted_credits", -1, a.posted_credits),
        "issued": Figure("issued", _("Issued"))
        .add(b_code, "posted_debits", 1, b.posted_debits)
        .add(a_code, "posted_credits", -1, a.posted_credits),
        "held": Figure("held", _("Held (issuance reserves)")).add(b_code, "pending_debits", 1, b.pending_debits),
        "returned": Figure("returned", _("Returned to the budget"))
        .add(b_code, "posted_credits", 1, b.posted_credits)
        .add(a_code, "posted_debits", -1, a.posted_debits),
        "lapsed": Figure("lapsed", _("Lapsed"))
        .add(l_code, "posted_credits", 1, lapsed.posted_credits)
        .add(l_code, "posted_debits", -1, lapsed.posted_debits),
        "paid": Figure("paid", _("Paid (all payers)")),
        "clawed_back": Figure("clawed_back", _("Clawed back (all payers)")),
        "remaining": Figure("remaining", _("Remaining"))
        .add(b_code, "posted_credits", 1, b.posted_credits)
        .add(b_code, "posted_debits", -1, b.posted_debits)
        .add(b_code, "pending_debits", -1, b.pending_debits),
        "voucher_balances": Figure("voucher_balances", _("Voucher balances"))
        .add(vouchers_code, "posted_credits", 1, held_on_vouchers.posted_credits)
        .add(vouchers_code, "posted_debits", -1, held_on_vouchers.posted_debits),
        "reserved_by_claims": Figure("reserved_by_claims", _("Reserved by claims")).add(
            vouchers_code, "pending_debits", 1, held_on_vouchers.pending_debits
        ),
    }
    claims_accounts = {
        account.code.rsplit(":", 1)[1]: account
        for account in Account.objects.filter(code__startswith=f"claims:{program.pk}:{budget.year}:")
    }
    read_claims = totals([account.pk for account in claims_accounts.values()], as_of)
    for role, key, label in (
        ("clearing", "in_clearing", _("In clearing (payouts being posted)")),
        ("clawback_recovered", "recovered", _("Recovered after clawbacks")),
    ):
        figure = figures[key] = Figure(key, label)
        account = claims_accounts.get(role)
        if account is not None:
            held = read_claims.get(account.pk, AccountTotals())
            figure.add(account.code, "posted_credits", 1, held.posted_credits)
            if role == "clearing":
                figure.add(account.code, "posted_debits", -1, held.posted_debits)
    payers = []
    for source in sources:
        funding = read.get(source.account_id, AccountTotals())
        paid = Figure(f"paid:{source.payer}", _("Paid by %(payer)s") % {"payer": source.payer}).add(
            source.account.code, "posted_credits", 1, funding.posted_credits
        )
        clawed = Figure(f"clawed_back:{source.payer}", _("Clawed back for %(payer)s") % {"payer": source.payer}).add(
            source.account.code, "posted_debits", 1, funding.posted_debits
        )
        figures["paid"].add(source.account.code, "posted_credits", 1, funding.posted_credits)
        figures["clawed_back"].add(source.account.code, "posted_debits", 1, funding.posted_debits)
        payers.append((source.payer, paid, clawed))
    amounts = {key: figure.amount for key, figure in figures.items()}
    identities = [
        Identity(
            "remaining",
            _("remaining = cap − issued − held + returned"),
            amounts["remaining"],
            amounts["cap"] - amounts["issued"] - amounts["held"] + amounts["returned"],
        ),
        Identity(
            "issued",
            _("issued = voucher balances + paid + returned + lapsed + in clearing"),
            amounts["issued"],
            amounts["voucher_balances"]
            + amounts["paid"]
            + amounts["returned"]
            + amounts["lapsed"]
            + amounts["in_clearing"],
        ),
    ]
    head = chain_head_at(as_of)
    return BudgetStatement(program, budget.year, as_of, figures, payers, identities, head.height, head.head_hash)


class BudgetStatementReport(Report):
    """The statement as a table: one row per figure (the per-payer lines after the totals), then the identities."""

    name = "budget-statement"
    title = _("Budget statement")
    per_program = True
    columns = (
        Column("line", _("Line")),
        Column("label", _("Figure")),
        Column("amount", _("Amount"), Kind.MONEY, nullable=True),
        Column("accounts", _("Ledger accounts")),
        Column("holds", _("Identity holds"), Kind.BOOL, nullable=True),
    )

    def statement(self, context: ReportContext) -> BudgetStatement:
        return budget_statement(context.params["budget"], context.as_of)

    def rows(self, context: ReportContext) -> Iterator[tuple[Any, ...]]:
        statement = self.statement(context)
        lines = list(statement.figures.values())
        for _payer, paid, clawed in statement.payers:
            lines += [paid, clawed]
        for figure in lines:
            yield (figure.key, str(figure.label), figure.amount, describe_parts(figure.parts), None)
        for identity in statement.identities:
            detail = f"{fen_to_yuan(identity.left)} = {fen_to_yuan(identity.right)}"
            yield (f"identity:{identity.key}", str(identity.formula), None, detail, identity.holds)

    def count(self, context: ReportContext) -> int:
        return len(context.params["budget"].funding_sources.all()) * 2 + 14


def describe_parts(parts: list[Part]) -> str:
    """ "programs:3:2026:budget posted_debits 300.00 − programs:3:2026:appropriation posted_credits 0.00"."""
    text = ""
    for index, part in enumerate(parts):
        sign = ("" if index == 0 else " + ") if part.sign > 0 else (" − " if index else "− ")
        text += f"{sign}{part.account} {part.side} {fen_to_yuan(part.amount)}"
    return text
