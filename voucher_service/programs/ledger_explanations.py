"""How the programs domain explains its ledger entries to ``verify_ledger`` (see ``ledger.explanations``).

The domain claims every account coded ``programs:…`` (a budget's appropriation, budget, lapsed and funding
accounts). Its own entries are the opening of a fiscal year (``programs:<P>:<Y>:open``) and the cap changes a
published rules change makes (``programs:<P>:<Y>:cap:v<N>``), both between the year's appropriation and budget
accounts. The reconciliation replays them, budget by budget: the opening must fund the cap of the version it
names, each cap change must move the cap to its version's, and the result must be the cap the budget row holds,
which must be the cap of a version in force that year. A forged transfer into a budget is therefore reported
twice: as an entry nothing explains, and as a budget over the cap of the program versions in force.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence

from django.utils import timezone

from ledger.explanations import EntryFacts, claim_accounts, register_entry_explainer, register_reconciliation
from ledger.models import Account, Direction, Posting
from voucher_service.programs.models import FiscalYearBudget, ProgramVersion

OPEN_KEY = re.compile(r"^programs:(?P<program>\d+):(?P<year>\d+):open$")
CAP_KEY = re.compile(r"^programs:(?P<program>\d+):(?P<year>\d+):cap:v(?P<version>\d+)$")


def register() -> None:
    claim_accounts("programs:", "programs")
    register_entry_explainer("programs:", explain_budget_entries)
    register_reconciliation("programs.budget_caps", reconcile_budget_caps)


class _Versions:
    """Published versions and their annual caps (fen), parsed once per verification."""

    def __init__(self) -> None:
        self.by_number = {
            (version.program_id, version.number): version
            for version in ProgramVersion.objects.filter(published_at__isnull=False)
        }
        self.first: dict[int, ProgramVersion] = {}
        for (program_id, _number), version in sorted(self.by_number.items()):
            self.first.setdefault(program_id, version)
        self._caps: dict[int, int | None] = {}

    def cap(self, version: ProgramVersion) -> int | None:
        if version.pk not in self._caps:
            self._caps[version.pk] = version.parsed().annual_cap
        return self._caps[version.pk]

    def get(self, program_id: int, number: object) -> ProgramVersion | None:
        return self.by_number.get((program_id, number)) if isinstance(number, int) else None


def _budgets() -> dict[tuple[int, int], FiscalYearBudget]:
    return {
        (budget.program_id, budget.year): budget
        for budget in FiscalYearBudget.objects.select_related("program", "version")
    }


def explain_budget_entries(entries: Sequence[EntryFacts]) -> Iterator[tuple[int, str]]:
    budgets, versions = _budgets(), _Versions()
    for facts in entries:
        problem = _budget_entry_problem(facts, budgets, versions)
        if problem:
            yield facts.entry_id, problem


def _budget_entry_problem(
    facts: EntryFacts, budgets: dict[tuple[int, int], FiscalYearBudget], versions: _Versions
) -> str | None:
    match = OPEN_KEY.match(facts.idempotency_key) or CAP_KEY.match(facts.idempotency_key)
    if match is None:
        return "the programs domain makes no entry with such a key"
    program_id, year = int(match["program"]), int(match["year"])
    budget = budgets.get((program_id, year))
    if budget is None:
        return f"no budget of program #{program_id} for {year} exists"
    pair = {budget.appropriation_account_id, budget.budget_account_id}
    debits, credits = facts.debits(), facts.credits()
    if set(debits) | set(credits) != pair or len(debits) != 1 or len(credits) != 1:
        return f"it does not move money between the {year} appropriation and budget accounts of program #{program_id}"
    number = facts.metadata.get("version") if "version" not in match.groupdict() else int(match["version"])
    version = versions.get(program_id, number)
    if version is None:
        return f"it names version {number!r}, which is not a published version of program #{program_id}"
    if OPEN_KEY.match(facts.idempotency_key):
        amount = debits.get(budget.appropriation_account_id)
        if amount is None or amount != versions.cap(version):
            return f"an opening must fund the annual cap of version {version.number} ({versions.cap(version)})"
    return None


def _appropriation_moves() -> dict[int, list[tuple[int, str, dict, int]]]:
    """Per appropriation account: (entry id, key, metadata, signed move into the budget), in entry order."""
    appropriations = list(FiscalYearBudget.objects.values_list("appropriation_account_id", flat=True))
    moves: dict[int, list[tuple[int, str, dict, int]]] = defaultdict(list)
    postings = (
        Posting.objects.filter(account_id__in=appropriations)
        .order_by("entry_id", "pk")
        .values_list("account_id", "entry_id", "entry__idempotency_key", "entry__metadata", "direction", "amount")
    )
    for account_id, entry_id, key, metadata, direction, amount in postings.iterator(2000):
        signed = amount if direction == Direction.DEBIT else -amount
        moves[account_id].append((entry_id, key, metadata if isinstance(metadata, dict) else {}, signed))
    return moves


def reconcile_budget_caps() -> Iterable[str]:
    versions = _Versions()
    moves = _appropriation_moves()
    accounts = Account.objects.in_bulk(
        list(FiscalYearBudget.objects.values_list("appropriation_account_id", flat=True))
    )
    for budget in FiscalYearBudget.objects.select_related("program", "version").order_by("program_id", "year"):
        name = f"budget {budget.program.code} {budget.year}"
        yield from _replay_caps(name, budget, moves.get(budget.appropriation_account_id, []), versions)
        appropriation = accounts.get(budget.appropriation_account_id)
        ledger_cap = appropriation.posted_debits - appropriation.posted_credits if appropriation else 0
        if ledger_cap != budget.cap:
            yield (
                f"{name}: the ledger funds the budget with {ledger_cap} fen, but its cap is {budget.cap} "
                f"(version {budget.version.number}): over or under the cap of the program versions in force"
            )
        yield from _version_in_force(name, budget, versions)


def _replay_caps(
    name: str, budget: FiscalYearBudget, moves: list[tuple[int, str, dict, int]], versions: _Versions
) -> Iterator[str]:
    running: int | None = None
    for entry_id, key, metadata, signed in moves:
        opening, change = OPEN_KEY.match(key), CAP_KEY.match(key)
        if opening:
            version = versions.get(budget.program_id, metadata.get("version"))
            running = signed
            if version is None or versions.cap(version) != signed:
                yield f"{name}: the opening entry #{entry_id} funds {signed} fen, not the cap of a published version"
        elif change:
            version = versions.get(budget.program_id, int(change["version"]))
            if running is None:
                yield f"{name}: cap change entry #{entry_id} comes before any opening"
                running = 0
            running += signed
            if version is None or versions.cap(version) != running:
                yield (
                    f"{name}: cap change entry #{entry_id} leaves the cap at {running} fen, not the cap of "
                    f"version {change['version']}"
                )
    if running is None:
        yield f"{name}: no opening entry funds it (a journal that lost rows?)"


def _version_in_force(name: str, budget: FiscalYearBudget, versions: _Versions) -> Iterator[str]:
    version = budget.version
    if versions.get(budget.program_id, version.number) is None:
        yield f"{name}: its version {version.number} is not a published version of the program"
        return
    if versions.cap(version) != budget.cap:
        yield f"{name}: its cap {budget.cap} is not the annual cap of its version {version.number}"
    published = timezone.localtime(version.published_at) if version.published_at else None
    first = versions.first.get(budget.program_id)
    if published is not None and published.year > budget.year and (first is None or first.pk != version.pk):
        yield f"{name}: version {version.number} was published in {published.year}, after the year it would govern"
