"""The cap-compliance proof of one program: for every cap the service enforces, the highest use the journal shows
it ever reached, when, and the cap in force then, with a plain verdict and the chain head it was computed at.

Computed from the journal, not from today's totals (``ledger.history.account_timeline``: every posting's
balance-after, and every hold's reserve, in account-version order):

* **program-year budget**: use = cap then − (budget balance-after − reserves); the cap then is the
  appropriation's balance after the latest opening or cap change (−balance-after);
* **entity-year cap**: use = what the budget issued to the entity's vouchers of that year, less what came back,
  at each issuance; the cap then is the per-entity cap of the program version in force that day;
* **one-time award**: the number of vouchers of that award an entity received (the cap is one);
* **voucher balance**: use = debits + reserves, cap = credits (the face value), at each of its events;
* the claims domain's **rule caps** and **entity-year claims caps**, from the reserves its holds record
  (``claims_caps``).

A cap is exceeded if at any event the use was above the cap in force then.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ledger.history import account_timeline, chain_head_at
from ledger.models import Direction, Posting
from voucher_service.programs.models import FiscalYearBudget, Program, ProgramVersion
from voucher_service.programs.selectors import program_versions_published
from voucher_service.reports.tabular import Column, Kind, Report, ReportContext
from voucher_service.vouchers.models import Voucher
from voucher_service.vouchers.selectors import vouchers_of_programs

BUDGET, ENTITY_YEAR, AWARD, VOUCHER = "program_year_budget", "entity_year_cap", "one_time_award", "voucher_balance"


@dataclass
class CapUse:
    kind: str
    subject: str
    account: str | None
    cap: int | None = None  # fen, at the moment of the highest use
    highest: int | None = None
    cap_count: int | None = None
    highest_count: int | None = None
    reached_at: datetime | None = None
    exceeded: bool = False
    events: int = 0

    def observe(self, use: int, cap: int | None, at: datetime) -> None:
        self.events += 1
        if cap is not None and use > cap:
            self.exceeded = True
        if self.highest is None or use > self.highest:
            self.highest, self.cap, self.reached_at = use, cap, at

    def as_row(self) -> tuple[Any, ...]:
        return (
            self.kind,
            self.subject,
            self.account,
            self.cap,
            self.highest,
            self.cap_count,
            self.highest_count,
            self.reached_at,
            self.events,
            self.exceeded,
        )


def _budget_uses(budgets: list[FiscalYearBudget], as_of: datetime) -> Iterator[CapUse]:
    for budget in budgets:
        appropriation, main = budget.appropriation_account_id, budget.budget_account_id
        states = list(account_timeline([appropriation, main], as_of))
        cap_after = {
            s.entry_id: -s.balance_after for s in states if s.account_id == appropriation and s.entry_id is not None
        }
        use = CapUse(BUDGET, f"{budget.program.code} {budget.year}", budget.budget_account.code)
        cap = 0
        for state in (s for s in states if s.account_id == main):
            if state.entry_id is not None:
                cap = cap_after.get(state.entry_id, cap)
            use.observe(cap - state.available, cap, state.at)
        yield use


class VersionCaps:
    """Which per-entity cap was in force at a moment: the rule of ``program_version_in_force`` (the newest version
    published by the end of that local day; before any, the first published)."""

    def __init__(self, versions: list[ProgramVersion]) -> None:
        self.versions = versions
        self.cache: dict[Any, int | None] = {}

    def per_entity_cap(self, moment: datetime) -> int | None:
        day = timezone.localdate(moment)
        if day not in self.cache:
            end = timezone.make_aware(datetime.combine(day, time.max))
            published = [v for v in self.versions if v.published_at is not None and v.published_at <= end]
            version = max(published, key=lambda v: v.number) if published else None
            version = version or (self.versions[0] if self.versions else None)
            self.cache[day] = version.parsed().per_entity_annual_cap if version is not None else None
        return self.cache[day]


def _entity_year_uses(
    program: Program, budgets: list[FiscalYearBudget], vouchers: list[Voucher], as_of: datetime
) -> Iterator[CapUse]:
    caps = VersionCaps(program_versions_published(program))
    for budget in budgets:
        of_year = {v.account_id: v for v in vouchers if v.fiscal_year == budget.year}
        if not of_year:
            continue
        flows = (
            Posting.objects.filter(
                account_id__in=list(of_year),
                entry__postings__account_id=budget.budget_account_id,
                recorded_at__lte=as_of,
            )
            .order_by("recorded_at", "pk")
            .values_list("account_id", "direction", "amount", "recorded_at")
        )
        uses: dict[int, CapUse] = {}
        running: dict[int, int] = defaultdict(int)
        for account_id, direction, amount, at in flows.iterator(2000):
            voucher = of_year[account_id]
            entity = voucher.entity_id
            if entity not in uses:
                uses[entity] = CapUse(ENTITY_YEAR, f"{voucher.entity.name} {budget.year}", None)
            if direction == Direction.CREDIT:
                running[entity] += amount
                uses[entity].observe(running[entity], caps.per_entity_cap(at), at)
            else:
                running[entity] -= amount
        yield from (uses[entity] for entity in sorted(uses))


def _award_uses(vouchers: list[Voucher]) -> Iterator[CapUse]:
    granted: dict[tuple[int, str], list[Voucher]] = defaultdict(list)
    for voucher in vouchers:
        if voucher.award_code:
            granted[(voucher.entity_id, voucher.award_code)].append(voucher)
    for (_entity, code), awarded in sorted(granted.items()):
        awarded.sort(key=lambda v: (v.issued_at, v.pk))
        use = CapUse(AWARD, f"{awarded[0].entity.name} {code}", None, cap_count=1, highest_count=len(awarded))
        use.reached_at, use.events, use.exceeded = awarded[-1].issued_at, len(awarded), len(awarded) > 1
        yield use


def _voucher_uses(vouchers: list[Voucher], as_of: datetime) -> Iterator[CapUse]:
    by_account = {voucher.account_id: voucher for voucher in vouchers}
    current: CapUse | None = None
    for state in account_timeline(list(by_account), as_of):
        voucher = by_account[state.account_id]
        if current is None or current.subject != voucher.serial:
            if current is not None:
                yield current
            current = CapUse(VOUCHER, voucher.serial, voucher.account.code)
        current.observe(state.posted_debits + state.pending_debits, state.posted_credits, state.at)
    if current is not None:
        yield current


@dataclass
class Compliance:
    program: Program
    as_of: datetime
    uses: list[CapUse]
    chain_height: int
    chain_hash: str

    @property
    def exceeded(self) -> list[CapUse]:
        return [use for use in self.uses if use.exceeded]

    @property
    def compliant(self) -> bool:
        return not self.exceeded


def cap_compliance(program: Program, as_of: datetime, year: int | None = None) -> Compliance:
    from voucher_service.reports.claims_caps import claims_cap_uses  # it builds on CapUse, above

    head = chain_head_at(as_of)
    budgets = list(
        FiscalYearBudget.objects.filter(program=program, opened_at__lte=as_of)
        .select_related("program", "budget_account")
        .order_by("year")
    )
    vouchers = list(
        vouchers_of_programs([program.pk])
        .filter(issued_at__lte=as_of)
        .select_related("entity", "account")
        .order_by("pk")
    )
    if year is not None:
        budgets = [budget for budget in budgets if budget.year == year]
        vouchers = [voucher for voucher in vouchers if voucher.fiscal_year == year]
    uses = [
        *_budget_uses(budgets, as_of),
        *_entity_year_uses(program, budgets, vouchers, as_of),
        *_award_uses(vouchers),
        *_voucher_uses(vouchers, as_of),
        *claims_cap_uses(program, as_of, year),
    ]
    return Compliance(program, as_of, uses, head.height, head.head_hash)


class CapComplianceReport(Report):
    name = "cap-compliance"
    title = _("Cap-compliance proof")
    per_program = True
    columns = (
        Column("cap_kind", _("Cap")),
        Column("subject", _("Subject")),
        Column("account", _("Ledger account"), nullable=True),
        Column("cap", _("Cap in force then"), Kind.MONEY, nullable=True),
        Column("highest_use", _("Highest use"), Kind.MONEY, nullable=True),
        Column("cap_count", _("Cap (count)"), Kind.INT, nullable=True),
        Column("highest_count", _("Highest use (count)"), Kind.INT, nullable=True),
        Column("reached_at", _("Reached at"), Kind.DATETIME, nullable=True),
        Column("events", _("Events checked"), Kind.INT),
        Column("exceeded", _("Exceeded"), Kind.BOOL),
    )

    def compliance(self, context: ReportContext) -> Compliance:
        return cap_compliance(context.params["program_obj"], context.as_of, context.params.get("year"))

    def rows(self, context: ReportContext) -> Iterator[tuple[Any, ...]]:
        for use in self.compliance(context).uses:
            yield use.as_row()
