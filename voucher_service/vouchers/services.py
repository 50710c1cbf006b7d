"""Voucher writes: applications, approvals, direct awards, issuance, revocation and expiry.

Each public function but two is a ``service_write`` (``core.transactions``: one durable transaction, retried on
deadlock, when called alone) that takes ``actor=`` and writes its audit events in that transaction. The two:

* ``issuance_execute(issuance_id=)`` is the worker's: it takes no actor, because the vouchers it issues are
  audited under the approval's reviewer (a batch of one) or ``SYSTEM`` (a batch the worker gathered);
* ``vouchers_expire_due(actor=)`` is not one transaction: it expires each voucher in its own
  ``voucher_expire``, so one voucher's failure never holds back the rest.

Issuance itself runs in a Celery task, enqueued on commit (``core.transactions.enqueue_on_commit``).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import SYSTEM, audit_record
from accounts.models import Organization, Role
from core.errors import field_error
from core.transactions import enqueue_on_commit, lock_in_pk_order, service_write
from ledger.models import Account, JournalEntry
from ledger.services import entry_post
from voucher_service.programs.budgets import budget_require_open
from voucher_service.programs.models import Program
from voucher_service.programs.rules import UnusedAmounts
from voucher_service.programs.selectors import current_fiscal_year, program_version_in_force
from voucher_service.vouchers.eligibility import eligibility_check, fixed_award
from voucher_service.vouchers.errors import VoucherError, VoucherErrorCode
from voucher_service.vouchers.issuance import issuances_issue
from voucher_service.vouchers.models import (
    ApplicationStatus,
    EntityYearTotal,
    Issuance,
    IssuanceKind,
    IssuanceStatus,
    Voucher,
    VoucherApplication,
    VoucherStatus,
)
from voucher_service.vouchers.permissions import (
    DECIDE_APPLICATIONS,
    GRANT_AWARDS,
    REVOKE_VOUCHERS,
    Memberships,
    require_independent_of,
    require_not_self_certified,
    require_role,
)

ISSUANCE_BATCH = 50


def _require_eligible(program: Program, entity: Organization, amount: int, year: int, award_code: str = "") -> list:
    report = eligibility_check(
        program=program, entity=entity, amount=amount, year=year, on=timezone.localdate(), award_code=award_code
    )
    if not report.ok:
        # A one-time award granted already is a conflict with what exists (409), not a fault of the request.
        granted = any(check.check == "award_once" for check in report.failures)
        raise VoucherError(
            VoucherErrorCode.AWARD_ALREADY_GRANTED if granted else VoucherErrorCode.NOT_ELIGIBLE,
            "; ".join(check.message for check in report.failures),
            checks=report.as_list(),
        )
    return report.as_list()


def _enqueue_issuance(issuance: Issuance) -> None:
    from voucher_service.vouchers.tasks import issue_voucher  # the tasks module imports this one

    enqueue_on_commit(issue_voucher, issuance.pk)  # a lost message is re-sent by requeue_stalled


# --- Applications (申领) -------------------------------------------------------------------------------------


@service_write
def application_submit(
    *, actor: Any, program: Program, entity: Organization, amount: int, purpose: str, award_code: str = ""
) -> VoucherApplication:
    require_role(actor, entity, (Role.APPLICANT,), _("Only an applicant of this entity may apply for it."))
    year = current_fiscal_year()
    checks = _require_eligible(program, entity, amount, year, award_code)
    application = VoucherApplication.objects.create(
        program=program,
        entity=entity,
        requested_amount=amount,
        purpose=purpose,
        award_code=award_code,
        fiscal_year=year,
        eligibility=checks,
        submitted_by=actor,
    )
    audit_record(
        actor=actor,
        action="voucher_application.submit",
        target=application,
        organization=entity,
        after={"program": program.pk, "amount": amount, "award_code": award_code},
    )
    return application


# What a decision reads of the joined rows: the whole application (a rejection answers with it), the program's
# status, window and place, the agency's id, and what eligibility reads of the entity. Each column left out of
# that statement is one the ORM need not name, quote, convert and set on an instance (52 columns -> 36); one read
# that is not here loads it in a statement of its own, which the pinned statement count would show.
DECISION_COLUMNS = (
    *(field.name for field in VoucherApplication._meta.concrete_fields),
    *(f"program__{name}" for name in ("code", "status", "valid_from", "valid_until", "jurisdiction", "issuing_agency")),
    *(f"program__jurisdiction__{name}" for name in ("name", "path")),
    "program__issuing_agency__kind",
    *(f"entity__{name}" for name in ("name", "kind", "category", "jurisdiction", "settled_on", "is_active")),
    *(f"entity__jurisdiction__{name}" for name in ("name", "path")),
)


def _lock_for_decision(actor: Any, application: VoucherApplication) -> VoucherApplication:
    """Lock the application and check, in this order, that ``actor`` may decide it and that it is undecided:
    someone who may not decide learns nothing of its state (403, not 409)."""
    # The rows the checks read (the agency for the role, the entity for independence and place, both
    # jurisdictions) come in the same statement; only the application row is locked.
    locked = (
        VoucherApplication.objects.select_for_update(of=("self",))
        .select_related("program__issuing_agency", "program__jurisdiction", "entity__jurisdiction")
        .only(*DECISION_COLUMNS)
        .get(pk=application.pk)
    )
    _require_decider(actor, locked)
    if locked.status != ApplicationStatus.SUBMITTED:
        raise VoucherError(
            VoucherErrorCode.INVALID_STATE,
            _("This application has already been decided (%(status)s).") % {"status": locked.get_status_display()},
        )
    return locked


def _require_decider(actor: Any, application: VoucherApplication) -> None:
    memberships = Memberships(actor, application.program.issuing_agency, application.entity)
    memberships.require_role(
        application.program.issuing_agency,
        DECIDE_APPLICATIONS,
        _("Only a reviewer of the program's agency may decide applications."),
    )
    if application.submitted_by_id == getattr(actor, "pk", None):
        raise VoucherError(VoucherErrorCode.SEPARATION_OF_DUTIES, _("You cannot decide your own application."))
    memberships.require_independent_of(application.entity)


def application_decision_refusal(actor: Any, application: VoucherApplication) -> str | None:
    """Why ``actor`` may not decide ``application`` now, or None if they may: the same checks as
    ``application_approve`` and ``application_reject`` before they look at the amount, read without locking or
    writing (the portal offers the decision form only when None; the service checks again when it is sent)."""
    try:
        _require_decider(actor, application)
    except VoucherError as exc:
        return str(exc)
    if application.status != ApplicationStatus.SUBMITTED:
        return _("This application has already been decided (%(status)s).") % {
            "status": application.get_status_display()
        }
    return None


@service_write
def application_approve(*, actor: Any, application: VoucherApplication, amount: int | None = None) -> Issuance:
    """Approve (for at most the requested amount) and enqueue issuance. Returns the pending issuance."""
    locked = _lock_for_decision(actor, application)
    amount = locked.requested_amount if amount is None else amount
    if amount > locked.requested_amount:
        raise VoucherError(
            VoucherErrorCode.INVALID,
            _("The approved amount cannot be larger than the requested amount."),
            fields=field_error("amount", "max_value", _("At most the requested amount.")),
        )
    _require_eligible(locked.program, locked.entity, amount, locked.fiscal_year, locked.award_code)
    locked.status, locked.approved_amount = ApplicationStatus.APPROVED, amount
    locked.decided_by, locked.decided_at = actor, timezone.now()
    locked.save(update_fields=["status", "approved_amount", "decided_by", "decided_at"])
    issuance = Issuance.objects.create(
        kind=IssuanceKind.APPLICATION,
        program=locked.program,
        entity=locked.entity,
        amount=amount,
        award_code=locked.award_code,
        fiscal_year=locked.fiscal_year,
        application=locked,
        requested_by=actor,
    )
    audit_record(
        actor=actor,
        action="voucher_application.approve",
        target=locked,
        organization=locked.entity,
        before={"status": ApplicationStatus.SUBMITTED},
        after={"status": locked.status, "approved_amount": amount, "issuance": issuance.pk},
    )
    _enqueue_issuance(issuance)
    return issuance


@service_write
def application_reject(*, actor: Any, application: VoucherApplication, reason: str) -> VoucherApplication:
    locked = _lock_for_decision(actor, application)
    locked.status, locked.rejection_reason = ApplicationStatus.REJECTED, reason
    locked.decided_by, locked.decided_at = actor, timezone.now()
    locked.save(update_fields=["status", "rejection_reason", "decided_by", "decided_at"])
    audit_record(
        actor=actor,
        action="voucher_application.reject",
        target=locked,
        organization=locked.entity,
        before={"status": ApplicationStatus.SUBMITTED},
        after={"status": locked.status, "reason": reason},
    )
    return locked


# --- Direct one-time awards ----------------------------------------------------------------------------------


@service_write
def award_grant(*, actor: Any, program: Program, entity: Organization, award_code: str, memo: str = "") -> Issuance:
    """An agency grants a fixed one-time award (e.g. a settling-in voucher) directly. Issued asynchronously."""
    require_role(
        actor, program.issuing_agency, GRANT_AWARDS, _("Only a reviewer of the program's agency may grant awards.")
    )
    require_independent_of(actor, entity)
    require_not_self_certified(actor, entity)
    version = program_version_in_force(program, timezone.localdate())
    award = fixed_award(version.parsed(), award_code) if version is not None else None
    if award is None:
        raise VoucherError(
            VoucherErrorCode.INVALID,
            _("This program has no award %(code)s.") % {"code": award_code},
            fields=field_error("award_code", "invalid_choice", _("Unknown award.")),
        )
    year = current_fiscal_year()
    _require_eligible(program, entity, award.amount, year, award_code)
    issuance = Issuance.objects.create(
        kind=IssuanceKind.AWARD,
        program=program,
        entity=entity,
        amount=award.amount,
        award_code=award_code,
        fiscal_year=year,
        memo=memo,
        requested_by=actor,
    )
    audit_record(
        actor=actor,
        action="voucher_award.grant",
        target=issuance,
        organization=entity,
        after={"award_code": award_code, "amount": award.amount},
    )
    _enqueue_issuance(issuance)
    return issuance


# --- Issuance (run by the Celery task) -------------------------------------------------------------------------


# What issuing reads of the joined rows (50 columns with every one): the issuance, the program's serial code,
# status, window and place (``issuances_issue`` re-reads the status and window under a share lock), and the
# requester only as the audit events' actor.
EXECUTION_COLUMNS = (
    *(field.name for field in Issuance._meta.concrete_fields),
    *(f"program__{name}" for name in ("code", "status", "valid_from", "valid_until", "jurisdiction")),
    *(f"program__jurisdiction__{name}" for name in ("name", "path")),
    "requested_by__is_active",
)


@service_write
def issuance_execute(*, issuance_id: int) -> Issuance:
    """Issue one pending issuance, together with other pending ones of the same program that no other worker holds.

    Every issuance of a program locks the same budget row, so under load they queue on it one commit at a time;
    taking the waiting ones along (``SKIP LOCKED``: never wait for a row another worker has) turns that queue into
    batches, each decided row by row under the same locks. A second delivery of a task finds its issuance decided
    and does nothing.
    """
    issuance = (
        Issuance.objects.select_for_update(of=("self",))
        .select_related("program__jurisdiction", "requested_by")
        .only(*EXECUTION_COLUMNS)
        .get(pk=issuance_id)
    )
    if issuance.status != IssuanceStatus.PENDING:
        return issuance
    companions = list(
        Issuance.objects.select_for_update(of=("self",), skip_locked=True)
        .filter(status=IssuanceStatus.PENDING, program_id=issuance.program_id, bulk__isnull=True)
        .exclude(pk=issuance.pk)
        .order_by("pk")[: ISSUANCE_BATCH - 1]
    )
    batch = [issuance, *companions]
    # A batch is the worker's doing; each approval's own audit event already names its reviewer.
    actor = issuance.requested_by if not companions else SYSTEM
    # ``issuances_issue`` sets each issuance's outcome (status, voucher, failure) on the instance as it writes it.
    issuances_issue(batch, actor=actor, all_or_nothing=False)
    return issuance


# --- Revocation and expiry -------------------------------------------------------------------------------------


def _return_unused(voucher: Voucher, *, actor: Any, key: str, memo: str, status: str) -> tuple[int, bool]:
    """Move what the voucher has unused (its balance less what open claims hold) to its year's budget or lapse it,
    as the program says: (the amount moved, whether it returned to the budget)."""
    rules = voucher.program_version.parsed()
    total = EntityYearTotal.objects.filter(
        program_id=voucher.program_id, entity_id=voucher.entity_id, fiscal_year=voucher.fiscal_year
    ).first()
    if total is not None:
        lock_in_pk_order(EntityYearTotal, [total.pk])
    accounts = budget_require_open(voucher.program, voucher.fiscal_year)
    returned = rules.unused_amounts == UnusedAmounts.RETURN_TO_BUDGET
    target = accounts.budget_account if returned else accounts.lapsed
    # Both accounts at once, in pk order: the global lock order (see issuance.py), whichever pk is lower.
    locked = {a.pk: a for a in lock_in_pk_order(Account, [voucher.account_id, target.pk])}
    account = locked[voucher.account_id]
    unused = account.posted_credits - account.posted_debits - account.pending_debits
    if unused > 0:
        entry_post(
            actor=actor,
            idempotency_key=key,
            lines=[(account, "debit", unused), (target, "credit", unused)],
            memo=memo[:200],
            metadata={"voucher": voucher.serial, "status": status},
        )
        if returned and total is not None:
            EntityYearTotal.objects.filter(pk=total.pk).update(returned=F("returned") + unused)
    return max(unused, 0), returned


def _close(voucher: Voucher, *, actor: Any, status: VoucherStatus, reason: str) -> Voucher:
    """Close an active voucher: its unused amount returns to its year's budget or lapses, as the program says."""
    unused, returned = _return_unused(
        voucher, actor=actor, key=f"vouchers:close:{voucher.pk}", memo=reason, status=status
    )
    voucher.status, voucher.closed_at, voucher.close_reason = status, timezone.now(), reason
    voucher.closed_amount, voucher.closed_to = (
        unused,
        (UnusedAmounts.RETURN_TO_BUDGET if returned else UnusedAmounts.LAPSE),
    )
    voucher.save(update_fields=["status", "closed_at", "close_reason", "closed_amount", "closed_to"])
    audit_record(
        actor=actor,
        action=f"voucher.{status}",
        target=voucher,
        organization=voucher.entity,
        before={"status": VoucherStatus.ACTIVE},
        after={"status": status, "unused": unused, "to": voucher.closed_to, "reason": reason},
    )
    return voucher


@service_write
def voucher_return_released(*, actor: Any, voucher_id: int) -> int:
    """After a claim's hold on a voucher that has since expired or been revoked is released (the claim rejected,
    returned or withdrawn), what it held follows the rest of the voucher's unused balance: to the budget, or
    lapsed. Each such return is its own entry (``vouchers:close:<voucher>:<n>``). Returns the amount moved."""
    voucher = (
        Voucher.objects.select_for_update(of=("self",))
        .select_related("program", "program_version", "entity")
        .get(pk=voucher_id)
    )
    if voucher.status not in (VoucherStatus.EXPIRED, VoucherStatus.REVOKED):
        return 0
    later = JournalEntry.objects.filter(idempotency_key__startswith=f"vouchers:close:{voucher.pk}:").count()
    unused, _returned = _return_unused(
        voucher,
        actor=actor,
        key=f"vouchers:close:{voucher.pk}:{later + 2}",
        memo=_("Released by a claim after the voucher closed."),
        status=voucher.status,
    )
    if unused:
        voucher.closed_amount += unused
        voucher.save(update_fields=["closed_amount"])
        audit_record(
            actor=actor,
            action="voucher.return_released",
            target=voucher,
            organization=voucher.entity,
            after={"released": unused, "to": voucher.closed_to, "closed_amount": voucher.closed_amount},
        )
    return unused


def _lock_active(voucher_id: int) -> Voucher:
    voucher = (
        Voucher.objects.select_for_update(of=("self",))
        .select_related("program", "program_version", "entity")
        .get(pk=voucher_id)
    )
    if voucher.status != VoucherStatus.ACTIVE:
        raise VoucherError(
            VoucherErrorCode.INVALID_STATE,
            _("Only an active voucher can be closed; this one is %(status)s.")
            % {"status": voucher.get_status_display()},
        )
    return voucher


@service_write
def voucher_revoke(*, actor: Any, voucher: Voucher, reason: str) -> Voucher:
    require_role(
        actor,
        voucher.program.issuing_agency,
        REVOKE_VOUCHERS,
        _("Only a program administrator of the program's agency may revoke vouchers."),
    )
    if not reason.strip():
        raise VoucherError(
            VoucherErrorCode.INVALID,
            _("A revocation needs a reason."),
            fields=field_error("reason", "required", _("A revocation needs a reason.")),
        )
    return _close(_lock_active(voucher.pk), actor=actor, status=VoucherStatus.REVOKED, reason=reason.strip())


def claims_close_on(voucher: Voucher) -> date:
    """The last day a claim may still be filed for use of ``voucher``: its validity plus the program's grace period
    (``claim_grace_days``, 90 by default). The voucher expires, and its unused balance returns or lapses, after it."""
    return voucher.valid_until + timedelta(days=voucher.program_version.parsed().claim_grace_days)


@service_write
def voucher_expire(*, actor: Any, voucher_id: int, today: date) -> bool:
    """Expire one voucher once its validity and the claims grace after it have ended. False if it was already
    closed or claims may still be filed on it (idempotent). Amounts open claims hold on it stay held."""
    # The voucher row only: FOR UPDATE of its program version would block every insert that references the
    # version (its FOREIGN KEY check takes the row FOR KEY SHARE) and deadlock with issuances (the stress run).
    voucher = Voucher.objects.select_for_update(of=("self",)).select_related("program_version").get(pk=voucher_id)
    if voucher.status != VoucherStatus.ACTIVE or claims_close_on(voucher) >= today:
        return False
    _close(_lock_active(voucher_id), actor=actor, status=VoucherStatus.EXPIRED, reason=_("Validity period ended."))
    return True


def vouchers_expire_due(*, actor: Any, today: date | None = None) -> int:
    """Expire every active voucher whose validity and claims grace have ended, each in its own transaction."""
    today = today or timezone.localdate()
    ended = Voucher.objects.filter(status=VoucherStatus.ACTIVE, valid_until__lt=today).select_related("program_version")
    due = [voucher.pk for voucher in ended.iterator(2000) if claims_close_on(voucher) < today]
    return sum(voucher_expire(actor=actor, voucher_id=pk, today=today) for pk in due)
