"""How the claims domain explains its ledger entries and holds to ``verify_ledger`` (see ``ledger.explanations``).

The domain claims every account coded ``claims:…`` (``ledger_accounts``). Its records:

* holds ``claims:<claim>:hold:<voucher>:<n>``: a ``ClaimHold`` of that claim names the hold, the voucher's
  account is debited, the claim year's clearing account credited, for the amount the row says;
* the posting of such a hold (``ledger:hold:<id>:post``) is explained by the ledger itself, from its hold;
* entries ``claims:<claim>:payout``: the claim's payout, succeeded; clearing is debited its amount and each payer's
  funding account credited its share, exactly;
* entries ``claims:<claim>:clawback:<id>``: the clawback's shares debited from the funding accounts, its amount
  credited to ``clawback_due``; ``claims:<claim>:recovery:<id>``: ``clawback_due`` to ``clawback_recovered``.

The reconciliation checks the domain's own counters against the ledger: a claim's reserve is what its open holds
hold, a paid claim's amount is what its holds posted, and the yearly totals add up to their claims.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence

from django.db.models import Sum

from ledger.explanations import (
    EntryFacts,
    HoldFacts,
    claim_accounts,
    register_entry_explainer,
    register_hold_explainer,
    register_reconciliation,
)
from ledger.models import Account, HoldStatus
from voucher_service.claims.ledger_accounts import PREFIX, account_code
from voucher_service.claims.models import Claim, ClaimHold, ClaimYearTotal, Clawback, ClawbackRecovery, Payout
from voucher_service.programs.models import BudgetFundingSource

HOLD_KEY = re.compile(r"^claims:(?P<claim>\d+):hold:(?P<voucher>\d+):(?P<n>\d+)$")
PAYOUT_KEY = re.compile(r"^claims:(?P<claim>\d+):payout$")
CLAWBACK_KEY = re.compile(r"^claims:(?P<claim>\d+):clawback:(?P<id>\d+)$")
RECOVERY_KEY = re.compile(r"^claims:(?P<claim>\d+):recovery:(?P<id>\d+)$")


def register() -> None:
    claim_accounts(PREFIX, "claims")
    register_entry_explainer(PREFIX, explain_claim_entries)
    register_hold_explainer(PREFIX, explain_claim_holds)
    register_reconciliation("claims.reserves", reconcile_claims)


def _codes(ids: Iterable[int]) -> dict[int, str]:
    return dict(Account.objects.filter(pk__in=set(ids)).values_list("pk", "code"))


def _funding(program_id: int, year: int) -> dict[str, int]:
    sources = BudgetFundingSource.objects.filter(budget__program_id=program_id, budget__year=year)
    return dict(sources.values_list("payer", "account_id"))


def explain_claim_holds(holds: Sequence[HoldFacts]) -> Iterator[tuple[int, str]]:
    rows = {
        row.hold_id: row
        for row in ClaimHold.objects.select_related("claim", "voucher").filter(hold_id__in=[h.hold_id for h in holds])
    }
    for facts in holds:
        match = HOLD_KEY.match(facts.idempotency_key)
        row = rows.get(facts.hold_id)
        if match is None or row is None:
            yield facts.hold_id, "no claim placed a hold with this key"
            continue
        year = (row.claim.reserve or {}).get("fiscal_year") or row.claim.fiscal_year or row.voucher.fiscal_year
        clearing = account_code(row.claim.program_id, year, "clearing")
        if (
            int(match["claim"]) != row.claim_id
            or int(match["voucher"]) != row.voucher_id
            or facts.debit_account_id != row.voucher.account_id
            or facts.credit_account_code != clearing
            or facts.amount != row.amount
        ):
            yield facts.hold_id, f"claim #{row.claim_id}'s hold row says {row.amount} from voucher {row.voucher.serial}"


def explain_claim_entries(entries: Sequence[EntryFacts]) -> Iterator[tuple[int, str]]:
    for facts in entries:
        problem = _entry_problem(facts)
        if problem:
            yield facts.entry_id, problem


def _entry_problem(facts: EntryFacts) -> str | None:
    key = facts.idempotency_key
    if match := PAYOUT_KEY.match(key):
        return _payout_problem(facts, int(match["claim"]))
    if match := CLAWBACK_KEY.match(key):
        return _clawback_problem(facts, int(match["claim"]), int(match["id"]))
    if match := RECOVERY_KEY.match(key):
        return _recovery_problem(facts, int(match["claim"]), int(match["id"]))
    return "the claims domain makes no entry with such a key"


def _payout_problem(facts: EntryFacts, claim_id: int) -> str | None:
    payout = Payout.objects.select_related("claim").filter(claim_id=claim_id, status="succeeded").first()
    if payout is None:
        return f"claim #{claim_id} has no succeeded payout"
    claim = payout.claim
    year = claim.fiscal_year or 0
    clearing = Account.objects.filter(code=account_code(claim.program_id, year, "clearing")).values_list(
        "pk", flat=True
    )
    funding = _funding(claim.program_id, year)
    credits = {funding.get(payer): part for payer, part in payout.shares if part > 0}
    if facts.debits() != {next(iter(clearing), None): payout.amount} or facts.credits() != credits:
        return f"claim #{claim_id}'s payout of {payout.amount} split {payout.shares} is not this"
    return None


def _clawback_problem(facts: EntryFacts, claim_id: int, clawback_id: int) -> str | None:
    clawback = Clawback.objects.select_related("claim").filter(pk=clawback_id, claim_id=claim_id).first()
    if clawback is None:
        return f"claim #{claim_id} has no clawback #{clawback_id}"
    claim = clawback.claim
    funding = _funding(claim.program_id, claim.fiscal_year or 0)
    debits = {funding.get(payer): part for payer, part in clawback.shares if part > 0}
    due = _codes(facts.credits())
    if (
        facts.debits() != debits
        or sum(facts.credits().values()) != clawback.amount
        or set(due.values()) != {account_code(claim.program_id, claim.fiscal_year or 0, "clawback_due")}
    ):
        return f"clawback #{clawback_id} of {clawback.amount} split {clawback.shares} is not this"
    return None


def _recovery_problem(facts: EntryFacts, claim_id: int, recovery_id: int) -> str | None:
    recovery = ClawbackRecovery.objects.select_related("clawback__claim").filter(pk=recovery_id).first()
    if recovery is None or recovery.clawback.claim_id != claim_id:
        return f"claim #{claim_id} has no recovery #{recovery_id}"
    claim = recovery.clawback.claim
    year = claim.fiscal_year or 0
    debits, credits = _codes(facts.debits()), _codes(facts.credits())
    if (
        set(debits.values()) != {account_code(claim.program_id, year, "clawback_due")}
        or set(credits.values()) != {account_code(claim.program_id, year, "clawback_recovered")}
        or sum(facts.debits().values()) != recovery.amount
    ):
        return f"recovery #{recovery_id} of {recovery.amount} is not this"
    return None


def reconcile_claims() -> Iterable[str]:
    open_held: dict[int, int] = defaultdict(int)
    posted: dict[int, int] = defaultdict(int)
    for claim_id, status, amount, posted_amount in ClaimHold.objects.values_list(
        "claim_id", "hold__status", "hold__amount", "hold__posted_amount"
    ).iterator(2000):
        if status == HoldStatus.PENDING:
            open_held[claim_id] += amount
        elif status == HoldStatus.POSTED:
            posted[claim_id] += posted_amount or 0
    reserved: dict[tuple[int, int | None, int], int] = defaultdict(int)
    paid: dict[tuple[int, int | None, int], int] = defaultdict(int)
    for claim in Claim.objects.only("pk", "program_id", "entity_id", "fiscal_year", "reserve", "paid_amount"):
        amount = (claim.reserve or {}).get("amount", 0)
        if amount != open_held.get(claim.pk, 0):
            yield f"claim #{claim.pk} reserves {amount} fen, its open holds hold {open_held.get(claim.pk, 0)}"
        if claim.paid_amount != posted.get(claim.pk, 0):
            yield f"claim #{claim.pk} was paid {claim.paid_amount} fen, its holds posted {posted.get(claim.pk, 0)}"
        year = (claim.reserve or {}).get("fiscal_year") or claim.fiscal_year or 0
        for entity in (claim.entity_id, None):
            reserved[(claim.program_id, entity, year)] += amount
            paid[(claim.program_id, entity, year)] += claim.paid_amount
    for total in ClaimYearTotal.objects.all().iterator(2000):
        key = (total.program_id, total.entity_id, total.fiscal_year)
        if (total.reserved, total.paid) != (reserved.get(key, 0), paid.get(key, 0)):
            yield (
                f"claims total {key}: reserved {total.reserved} / paid {total.paid}, its claims add up to "
                f"{reserved.get(key, 0)} / {paid.get(key, 0)}"
            )
    stray = ClaimHold.objects.exclude(claim_id__in=Claim.objects.values("pk")).aggregate(total=Sum("amount"))["total"]
    if stray:  # pragma: no cover - the foreign key forbids it; a forged row would still be reported
        yield f"{stray} fen held for claims that do not exist"
