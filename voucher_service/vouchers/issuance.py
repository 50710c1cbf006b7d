"""The issuing engine: turns pending ``Issuance`` rows into vouchers, with every cap checked under locks.

One function serves a single issuance (a batch of one) and a chunk of a bulk upload. Inside the caller's
transaction it:

1. refuses everything if the program cannot issue today or the year's budget is not open;
2. takes its locks in the project's global order: the program row (shared), the entity-year totals (pk order),
   the ledger accounts it debits (pk order), then the program-year serial counter, then the ledger's chain head.
   Revocation and expiry take the same order (totals, then the voucher and budget accounts together in pk
   order), so no two writers can wait on each other in a cycle;
3. decides each issuance in order against the running remainders of the budget and of each entity's cap, and
   against one-time awards already granted (including earlier in the same batch);
4. posts one balanced ledger entry (budget → each new voucher account) and writes the vouchers.

The database backs every decision: the budget account's ledger limit, the CHECK on ``EntityYearTotal`` and the
unique constraint on ``OneTimeAward``. If one of those fires anyway, the whole batch rolls back to its savepoint
and is marked failed: a cap is never exceeded, whatever the interleaving.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import audit_record_many
from accounts.models import Organization
from core.transactions import lock_in_pk_order
from ledger.errors import LedgerError
from ledger.models import Account
from ledger.services import accounts_create_many, entry_post
from voucher_service.db import set_column_by_pk
from voucher_service.programs.budgets import budget_account_require_open
from voucher_service.programs.errors import ProgramError
from voucher_service.programs.models import Program, ProgramVersion
from voucher_service.programs.rules import ConditionCheck, ProgramRules, condition_met_by_records
from voucher_service.programs.selectors import (
    current_fiscal_year,
    program_issuance_refusal,
    program_version_in_force,
)
from voucher_service.vouchers.eligibility import entity_category_ok, entity_place_ok, fixed_award
from voucher_service.vouchers.errors import VoucherErrorCode
from voucher_service.vouchers.models import (
    EntityYearTotal,
    Issuance,
    IssuanceStatus,
    OneTimeAward,
    Voucher,
)
from voucher_service.vouchers.serials import serials_allocate, token_new

logger = logging.getLogger(__name__)

BATCH_ABORTED = "batch_aborted"
WRITE_CHUNK = 500


@dataclass
class Decisions:
    accepted: list[Issuance] = field(default_factory=list)
    refused: dict[int, tuple[str, str]] = field(default_factory=dict)  # issuance pk -> (code, message)


@dataclass
class RunningLimits:
    """Remainders as the batch consumes them, starting from the locked rows."""

    budget_left: int
    totals: dict[int, EntityYearTotal]
    awards_granted: set[tuple[int, str]]
    used_now: dict[int, int] = field(default_factory=lambda: defaultdict(int))

    def entity_left(self, entity_id: int) -> int | None:
        total = self.totals[entity_id]
        if total.cap is None:
            return None
        return total.cap + total.returned - total.issued - self.used_now[entity_id]


def _version_to_issue_under(program: Program, on: date) -> ProgramVersion:
    """The version in force on ``on``; refused (``ProgramError``) unless the program may issue that day."""
    refusal = program_issuance_refusal(program, on)
    if refusal is not None:
        raise refusal
    version = program_version_in_force(program, on)
    assert version is not None  # a non-draft program has been published at least once  # noqa: S101
    return version


# What a writer of the program row may change while it is in force, and what issuing depends on: the status
# (suspension, resumption, expiry) and the window (an amended end).
_STEADY_COLUMNS = ("status", "valid_from", "valid_until")


def _hold_program_steady(program: Program) -> Program:
    """Share-lock the program row and re-read what issuing depends on: a suspension (which takes the row FOR
    UPDATE) then waits for running issuances, and an issuance that starts after it sees the new status. Issuances
    do not block each other on it. SQLite serialises writers anyway.

    One plain statement of the columns that may have changed, rather than ``refresh_from_db`` (every column, in a
    statement of its own after the lock, and it drops the program's cached jurisdiction, read again later)."""
    lock = " FOR SHARE" if connection.vendor == "postgresql" else ""
    columns = ", ".join(connection.ops.quote_name(column) for column in _STEADY_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {Program._meta.db_table} WHERE id = %s{lock}", [program.pk])  # noqa: S608
        row = cursor.fetchone()
    if row is None:  # pragma: no cover - programs are never deleted (PROTECT)
        raise Program.DoesNotExist(program.pk)
    fields = {field.attname: field for field in Program._meta.concrete_fields}
    for column, value in zip(_STEADY_COLUMNS, row, strict=True):
        setattr(program, column, fields[column].to_python(value))
    return program


def _lock_totals(program: Program, year: int, entity_ids: list[int], rules: ProgramRules) -> dict[int, EntityYearTotal]:
    # Rows that exist already (or that a concurrent issuer creates first) are left alone; we then lock them all.
    EntityYearTotal.objects.bulk_create(
        [
            EntityYearTotal(program=program, entity_id=entity_id, fiscal_year=year, cap=rules.per_entity_annual_cap)
            for entity_id in sorted(set(entity_ids))
        ],
        ignore_conflicts=True,
    )
    # Locked in pk order (the global order) by the same statement that finds them.
    rows = EntityYearTotal.objects.filter(program=program, fiscal_year=year, entity_id__in=sorted(set(entity_ids)))
    totals = {total.entity_id: total for total in rows.select_for_update().order_by("pk")}
    _apply_current_cap(list(totals.values()), rules.per_entity_annual_cap)
    return totals


def _apply_current_cap(totals: list[EntityYearTotal], cap: int | None) -> None:
    """A published change of the per-entity cap applies from then on, also within the year. A cut below what an
    entity already holds leaves it exactly full (no more room), rather than breaking the row's CHECK."""
    changed = []
    for total in totals:
        wanted = None if cap is None else max(cap, total.issued - total.returned)
        if total.cap != wanted:
            total.cap = wanted
            changed.append(total)
    if changed:
        EntityYearTotal.objects.bulk_update(changed, ["cap"])


def _lock_budget(budget_account_id: int) -> tuple[Account, int]:
    """The budget account, locked, and what it has left to issue."""
    (budget,) = lock_in_pk_order(Account, [budget_account_id])
    return budget, budget.posted_credits - budget.posted_debits - budget.pending_debits


def _refusal(
    issuance: Issuance, entity: Organization, rules: ProgramRules, program: Program, limits: RunningLimits
) -> tuple[str, str] | None:
    if not entity_category_ok(rules, entity):
        return VoucherErrorCode.NOT_ELIGIBLE, _("This program is not open to this entity's category.")
    if not entity_place_ok(program, entity):
        return VoucherErrorCode.NOT_ELIGIBLE, _("The entity is not located in the program's jurisdiction.")
    if issuance.award_code:
        refusal = _award_refusal(issuance, entity, rules, limits)
        if refusal:
            return refusal
    left = limits.entity_left(entity.pk)
    if left is not None and issuance.amount > left:
        return VoucherErrorCode.ENTITY_CAP_EXCEEDED, _("This would take the entity over its yearly cap.")
    if issuance.amount > limits.budget_left:
        return VoucherErrorCode.PROGRAM_BUDGET_EXCEEDED, _("This would take the program over its annual budget.")
    return None


def _award_refusal(
    issuance: Issuance, entity: Organization, rules: ProgramRules, limits: RunningLimits
) -> tuple[str, str] | None:
    award = fixed_award(rules, issuance.award_code)
    if award is None or award.amount != issuance.amount:
        return VoucherErrorCode.NOT_ELIGIBLE, _("The program has no such award of this amount.")
    if not award.category_ok(entity.category):
        return VoucherErrorCode.NOT_ELIGIBLE, _("This award is not open to this entity's category.")
    if award.condition.check == ConditionCheck.SETTLED_IN_FISCAL_YEAR and not condition_met_by_records(
        award.condition, settled_on=entity.settled_on, fiscal_year=issuance.fiscal_year
    ):
        return VoucherErrorCode.NOT_ELIGIBLE, _("The entity did not settle here in that year.")
    if award.once_per_entity and (entity.pk, issuance.award_code) in limits.awards_granted:
        return VoucherErrorCode.AWARD_ALREADY_GRANTED, _("This award has already been granted to this entity.")
    return None


def _awards_granted(program: Program, entity_ids: list[int]) -> set[tuple[int, str]]:
    awards = OneTimeAward.objects.filter(program=program, entity_id__in=entity_ids)
    return set(awards.values_list("entity_id", "award_code"))


def _entities_of(issuances: list[Issuance]) -> dict[int, Organization]:
    """The entities the decisions read (category, place, settling-in date), read before any lock is taken: every
    issuance of a program queues on its budget row, so what needs no lock is not done while holding it."""
    entities = Organization.objects.select_related("jurisdiction").only(*_DECIDED_ON)
    return entities.in_bulk([i.entity_id for i in issuances])


# What ``_refusal`` reads of an entity (22 columns with its jurisdiction otherwise).
_DECIDED_ON = ("kind", "is_active", "category", "settled_on", "jurisdiction__path")


def _decide(
    issuances: list[Issuance],
    entities: dict[int, Organization],
    program: Program,
    rules: ProgramRules,
    limits: RunningLimits,
) -> Decisions:
    decisions = Decisions()
    for issuance in issuances:
        refusal = _refusal(issuance, entities[issuance.entity_id], rules, program, limits)
        if refusal:
            decisions.refused[issuance.pk] = refusal
            continue
        decisions.accepted.append(issuance)
        limits.used_now[issuance.entity_id] += issuance.amount
        limits.budget_left -= issuance.amount
        if issuance.award_code:
            limits.awards_granted.add((issuance.entity_id, issuance.award_code))
    return decisions


def _valid_until(program: Program, rules: ProgramRules, issued_on: date, year: int) -> date:
    until = rules.voucher_expires_on(issued_on, year)
    if program.valid_until is not None:
        until = min(until, program.valid_until)
    return max(until, issued_on)


def _write_vouchers(
    accepted: list[Issuance],
    program: Program,
    version: ProgramVersion,
    rules: ProgramRules,
    budget: Account,
    actor: Any,
) -> list[Voucher]:
    year = accepted[0].fiscal_year
    today = timezone.localdate()
    serials = serials_allocate(program, year, len(accepted))
    ledger_accounts = accounts_create_many(
        rows=[
            (f"vouchers:{serial}", f"voucher {serial}", i.entity_id)
            for i, serial in zip(accepted, serials, strict=True)
        ],
        owner_model=Organization,
        debits_must_not_exceed_credits=True,
    )
    vouchers = [
        Voucher(
            serial=serial,
            token=token_new(),
            program=program,
            program_version=version,
            entity_id=issuance.entity_id,
            fiscal_year=year,
            face_value=issuance.amount,
            award_code=issuance.award_code,
            account=ledger_account,
            valid_from=today,
            valid_until=_valid_until(program, rules, today, year),
        )
        for issuance, serial, ledger_account in zip(accepted, serials, ledger_accounts, strict=True)
    ]
    total = sum(i.amount for i in accepted)
    entry_post(
        actor=actor,
        idempotency_key=f"vouchers:issue:{accepted[0].pk}:{len(accepted)}:{accepted[-1].pk}",
        lines=[(budget, "debit", total)] + [(voucher.account, "credit", voucher.face_value) for voucher in vouchers],
        memo=_("Voucher issuance"),
        metadata={"program": program.pk, "fiscal_year": year, "issuances": [i.pk for i in accepted][:100]},
    )
    Voucher.objects.bulk_create(vouchers, batch_size=1000)
    return vouchers


def _record_success(
    accepted: list[Issuance], vouchers: list[Voucher], totals: dict[int, EntityYearTotal], actor: Any
) -> None:
    now = timezone.now()
    awards = []
    for issuance, voucher in zip(accepted, vouchers, strict=True):
        issuance.status, issuance.voucher, issuance.completed_at = IssuanceStatus.SUCCEEDED, voucher, now
        # The totals rows are locked by this transaction (``_lock_totals``), so adding in memory is safe.
        totals[issuance.entity_id].issued += issuance.amount
        if issuance.award_code:
            awards.append(
                OneTimeAward(
                    program_id=voucher.program_id,
                    entity_id=voucher.entity_id,
                    award_code=issuance.award_code,
                    voucher=voucher,
                )
            )
    # Voucher and status in one statement, so the CHECK "succeeded has a voucher" holds after it.
    set_column_by_pk(
        Issuance,
        "voucher",
        {i.pk: i.voucher.pk for i in accepted if i.voucher},
        and_set={"status": IssuanceStatus.SUCCEEDED, "completed_at": now, "fiscal_year": accepted[0].fiscal_year},
    )
    OneTimeAward.objects.bulk_create(awards)
    touched = sorted({issuance.entity_id for issuance in accepted})
    set_column_by_pk(EntityYearTotal, "issued", {totals[e].pk: totals[e].issued for e in touched})
    audit_record_many(
        actor=actor,
        action="voucher.issue",
        targets=list(vouchers),
        organization_id_of=lambda voucher: voucher.entity_id,
        detail_of=lambda voucher: {"serial": voucher.serial, "face_value": voucher.face_value},
    )


def _record_failures(
    issuances: list[Issuance], refused: dict[int, tuple[str, str]], default: tuple[str, str] | None
) -> None:
    now = timezone.now()
    failed = []
    for issuance in issuances:
        reason = refused.get(issuance.pk) or default
        if reason is None:
            continue
        issuance.status, issuance.completed_at = IssuanceStatus.FAILED, now
        issuance.failure_code, issuance.failure_message = str(reason[0]), str(reason[1])[:500]
        failed.append(issuance)
    Issuance.objects.bulk_update(
        failed, ["status", "completed_at", "failure_code", "failure_message", "fiscal_year"], batch_size=1000
    )


def _fail_all(issuances: list[Issuance], code: str, message: str) -> int:
    _record_failures(issuances, {}, (code, message))
    return 0


def issuances_issue(
    issuances: list[Issuance], *, actor: Any, all_or_nothing: bool, progress: Callable[[int], None] | None = None
) -> int:
    """Decide and issue pending ``issuances`` of one program and year. Returns how many vouchers were issued.

    Runs inside the caller's transaction (the caller has locked the issuance rows and checked they are pending).
    Vouchers are written in chunks of ``WRITE_CHUNK``, one ledger entry each; ``progress`` hears how many rows
    are written so far (it must publish outside the database, e.g. to the cache, to be seen before commit).
    """
    if not issuances:
        return 0
    program = _hold_program_steady(issuances[0].program)
    # The fiscal year is the year of issuance (the annual cap limits what is *issued* in a year), whatever year
    # the request was queued in: an approval of 31 December issued on 1 January draws on the new year's budget.
    year = current_fiscal_year()
    for issuance in issuances:
        issuance.fiscal_year = year
    try:
        version = _version_to_issue_under(program, timezone.localdate())
        budget_account_id = budget_account_require_open(program, year)
    except ProgramError as exc:
        return _fail_all(issuances, str(exc.code), str(exc))
    rules = version.parsed()
    entities = _entities_of(issuances)
    totals = _lock_totals(program, year, [i.entity_id for i in issuances], rules)
    # Only an issuance of a fixed award is checked against the awards granted (``_award_refusal``).
    granted = _awards_granted(program, list(totals)) if any(i.award_code for i in issuances) else set()
    budget, budget_left = _lock_budget(budget_account_id)
    limits = RunningLimits(budget_left=budget_left, totals=totals, awards_granted=granted)
    decisions = _decide(issuances, entities, program, rules, limits)
    if decisions.refused and all_or_nothing:
        return _fail_all_or_nothing(issuances, decisions)
    if decisions.accepted:
        try:
            with transaction.atomic():
                for start in range(0, len(decisions.accepted), WRITE_CHUNK):
                    part = decisions.accepted[start : start + WRITE_CHUNK]
                    vouchers = _write_vouchers(part, program, version, rules, budget, actor)
                    _record_success(part, vouchers, totals, actor)
                    if progress is not None:
                        progress(start + len(part))
        except (LedgerError, IntegrityError):
            # The database refused what the locked checks allowed: a bug or an unlocked writer. Nothing is issued.
            # Its words (constraint names, SQL) are for the operators' log, not for the applicant.
            logger.exception("Issuance of %s refused by the database", [i.pk for i in issuances][:20])
            return _fail_all(
                issuances,
                "database_refused",
                _("The issuance could not be recorded and nothing was issued; the operators have been alerted."),
            )
    _record_failures(issuances, decisions.refused, None)
    return len(decisions.accepted)


def _fail_all_or_nothing(issuances: list[Issuance], decisions: Decisions) -> int:
    aborted = (BATCH_ABORTED, _("Another row of this all-or-nothing batch was refused; nothing was issued."))
    _record_failures(issuances, decisions.refused, aborted)
    return 0
