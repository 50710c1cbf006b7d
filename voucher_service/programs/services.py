"""Writes about programs: create, edit (a rules change is a new version), publish, suspend, extend, expire.

Every public function is a ``service_write`` (``core.transactions``): one durable transaction, retried on deadlock,
when called alone; part of the caller's transaction when there is one (the policy loader, ``loader.py``, loads a
whole fixture in one). Each takes ``actor=`` and writes an audit event with the before and after values.
``actor=accounts.audit.SYSTEM`` is the system itself (a management command or a scheduled task), fully
authorised; the API always passes the authenticated user.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.audit import SYSTEM, audit_record, snapshot
from accounts.models import Jurisdiction, Organization, OrganizationKind
from core.transactions import service_write
from voucher_service.programs.budgets import budget_open, budget_sync_cap
from voucher_service.programs.errors import ProgramError, ProgramErrorCode
from voucher_service.programs.models import (
    Program,
    ProgramExtension,
    ProgramStatus,
    ProgramVersion,
    VersionSource,
    actor_user,
)
from voucher_service.programs.rules import ProgramRules
from voucher_service.programs.rules_parser import parse_rules
from voucher_service.programs.selectors import (
    OPENABLE_STATUSES,
    program_latest_version,
    program_window_touches_year,
    programs_due_to_expire,
    user_can_manage_program,
)

PROGRAM_AUDIT_FIELDS = [
    "code",
    "name",
    "jurisdiction",
    "issuing_agency",
    "legal_document_number",
    "legal_clause",
    "legal_title",
    "legal_issuer",
    "status",
    "valid_from",
    "valid_until",
]
TEXT_FIELDS = ("name", "legal_document_number", "legal_clause", "legal_title", "legal_issuer")
EDITABLE_FIELDS = frozenset({*TEXT_FIELDS, "responsible_agencies", "valid_from", "valid_until", "rules", "note"})
DRAFT_ONLY_FIELDS = frozenset({"valid_from", "valid_until"})


# --- Helpers ------------------------------------------------------------------------------------------------


def program_snapshot(program: Program, version: ProgramVersion | None = None) -> dict[str, Any]:
    out = snapshot(program, PROGRAM_AUDIT_FIELDS)
    out["responsible_agencies"] = sorted(program.responsible_agencies.values_list("pk", flat=True))
    if version is not None:
        out["version"] = version.number
        out["rules"] = version.rules
    return out


def _require_admin(actor: Any, program: Program) -> None:
    if actor is SYSTEM:  # a management command run by an operator, or a scheduled task
        return
    if not user_can_manage_program(actor, program):
        raise ProgramError(
            ProgramErrorCode.PERMISSION_DENIED,
            _("Only a program administrator of the issuing agency may change this program."),
        )


def _lock(program: Program) -> Program:
    return Program.objects.select_for_update().select_related("issuing_agency", "jurisdiction").get(pk=program.pk)


def _lock_for_transition(program: Program) -> Program:
    """Lock the program and make its stored status the true one first: a change of status is decided on what the
    program is today (one whose window has ended is expired, even if the daily job has not marked it yet)."""
    locked = _lock(program)
    today = timezone.localdate()
    if locked.status_on(today) == ProgramStatus.EXPIRED and locked.status != ProgramStatus.EXPIRED:
        _expire(locked, actor=SYSTEM, today=today)
    return locked


def _expire(program: Program, *, actor: Any, today: date) -> None:
    before = program_snapshot(program)
    program.status_before_expiry, program.status = program.status, ProgramStatus.EXPIRED
    program.save(update_fields=["status", "status_before_expiry", "updated_at"])
    _audit(actor, "program.expire", program, before, program_snapshot(program), today=str(today))


def parse_rules_field(data: Any, *, money: str = "yuan") -> ProgramRules:
    """Parse a rules document, reporting errors under ``rules.<path>`` and checking that platforms exist."""
    try:
        rules = parse_rules(data, money="fen" if money == "fen" else "yuan")
    except ValidationError as exc:
        raise ValidationError({f"rules.{key}": errors for key, errors in exc.error_dict.items()}) from exc
    platforms = set(rules.provider_scope.platforms)
    found = set(
        Organization.objects.filter(pk__in=platforms, kind=OrganizationKind.PLATFORM).values_list("pk", flat=True)
    )
    if platforms - found:
        raise ValidationError(
            {"rules.provider_scope.platforms": _("Unknown platform: %(ids)s.") % {"ids": sorted(platforms - found)}}
        )
    return rules


def _check_fields(
    *,
    jurisdiction: Jurisdiction,
    issuing_agency: Organization,
    responsible_agencies: Iterable[Organization],
    valid_from: date | None,
    valid_until: date | None,
) -> None:
    errors: dict[str, str] = {}
    if issuing_agency.kind != OrganizationKind.AGENCY:
        errors["issuing_agency"] = _("The issuing organisation must be an agency.")
    elif not issuing_agency.jurisdiction.covers(jurisdiction):
        errors["jurisdiction"] = _("The program's jurisdiction must lie within the issuing agency's.")
    if any(agency.kind != OrganizationKind.AGENCY for agency in responsible_agencies):
        errors["responsible_agencies"] = _("Responsible organisations must be agencies.")
    if valid_from and valid_until and valid_until < valid_from:
        errors["valid_until"] = _("The end date is before the start date.")
    if valid_until and not valid_from:
        errors["valid_from"] = _("A program with an end date needs a start date.")
    if errors:
        raise ValidationError(errors)


def _add_version(
    program: Program, rules: ProgramRules, *, actor: Any, note: str, publish: bool, source: str
) -> ProgramVersion:
    latest = program_latest_version(program)
    return ProgramVersion.objects.create(
        program=program,
        number=(latest.number + 1) if latest else 1,
        rules=rules.to_document(),
        note=note,
        source=source,
        created_by=actor_user(actor),
        published_at=timezone.now() if publish else None,
    )


def _audit(actor: Any, action: str, program: Program, before: Any, after: Any, **detail: Any) -> None:
    audit_record(
        actor=actor,
        action=action,
        target=program,
        organization=program.issuing_agency,
        before=before,
        after=after,
        detail=detail,
    )


# --- Create and edit ----------------------------------------------------------------------------------------


@service_write
def program_create(
    *,
    actor: Any,
    code: str,
    name: str,
    jurisdiction: Jurisdiction,
    issuing_agency: Organization,
    rules: Mapping[str, Any],
    responsible_agencies: Iterable[Organization] = (),
    legal_document_number: str = "",
    legal_clause: str = "",
    legal_title: str = "",
    legal_issuer: str = "",
    valid_from: date | None = None,
    valid_until: date | None = None,
    note: str = "",
    source: str = VersionSource.API,
) -> Program:
    """Create a draft program with an unpublished version 1 of its rules (api form: money in yuan)."""
    program = Program(
        code=code,
        name=name,
        jurisdiction=jurisdiction,
        issuing_agency=issuing_agency,
        legal_document_number=legal_document_number,
        legal_clause=legal_clause,
        legal_title=legal_title,
        legal_issuer=legal_issuer,
        valid_from=valid_from,
        valid_until=valid_until,
    )
    _require_admin(actor, program)
    responsible = list(responsible_agencies)
    _check_fields(
        jurisdiction=jurisdiction,
        issuing_agency=issuing_agency,
        responsible_agencies=responsible,
        valid_from=valid_from,
        valid_until=valid_until,
    )
    parsed = parse_rules_field(rules)
    if Program.objects.filter(code=code).exists():
        raise ValidationError({"code": _("A program with this code exists.")})
    program.full_clean(exclude=["responsible_agencies"])
    program.save()
    program.responsible_agencies.set(responsible)
    version = _add_version(program, parsed, actor=actor, note=note, publish=False, source=source)
    _audit(actor, "program.create", program, None, program_snapshot(program, version))
    return program


@service_write
def program_update(*, actor: Any, program: Program, source: str = VersionSource.API, **changes: Any) -> Program:
    """Edit a program. Rules changes (api form, top-level keys merged) add a version; nothing else does.

    ``source`` records who wrote a new version: the API, or the policy fixture (``loader.py``)."""
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise ValidationError({name: _("This field cannot be changed.") for name in sorted(unknown)})
    locked = _lock(program)
    _require_admin(actor, locked)
    if locked.status != ProgramStatus.DRAFT:
        for name in sorted(DRAFT_ONLY_FIELDS & set(changes)):
            if changes[name] != getattr(locked, name):
                raise ValidationError({name: _("Once published, the window changes only by a recorded extension.")})
    latest = program_latest_version(locked)
    before = program_snapshot(locked, latest)
    new_rules = _merged_rules(latest, changes.pop("rules", None))
    note = changes.pop("note", "")
    responsible = changes.pop("responsible_agencies", None)
    for name, value in changes.items():
        setattr(locked, name, value)
    _check_fields(
        jurisdiction=locked.jurisdiction,
        issuing_agency=locked.issuing_agency,
        responsible_agencies=responsible if responsible is not None else locked.responsible_agencies.all(),
        valid_from=locked.valid_from,
        valid_until=locked.valid_until,
    )
    locked.full_clean(exclude=["responsible_agencies"])
    locked.save()
    if responsible is not None:
        locked.responsible_agencies.set(responsible)
    version = latest
    if new_rules is not None and locked.status != ProgramStatus.DRAFT:
        _require_annual_cap(new_rules)
    # Compared parsed, so a stored document written before a rendering change does not count as a change.
    if new_rules is not None and (latest is None or new_rules != latest.parsed()):
        # A change of rules is a new version; outside a draft it is in force at once (published now).
        publish = locked.status != ProgramStatus.DRAFT
        version = _add_version(locked, new_rules, actor=actor, note=note, publish=publish, source=source)
        if publish:
            budget_sync_cap(actor=actor, program=locked, version=version)
    after = program_snapshot(locked, version)
    if after != before:
        _audit(actor, "program.update", locked, before, after)
    return locked


def _require_annual_cap(rules: ProgramRules | None) -> None:
    """Anything but a draft has an annual cap: the fiscal-year budgets are opened with it."""
    if rules is None or rules.annual_cap is None:
        raise ValidationError({"rules.annual_cap": _("A program that is not a draft needs an annual cap.")})


def _merged_rules(latest: ProgramVersion | None, changes: Mapping[str, Any] | None) -> ProgramRules | None:
    """A PATCH of ``rules`` replaces the top-level keys it names and keeps the others."""
    if changes is None:
        return None
    if not isinstance(changes, Mapping):
        raise ValidationError({"rules": _("The rules must be an object.")})
    current = latest.parsed().to_api() if latest is not None else {}
    return parse_rules_field({**current, **changes})


# --- Status -------------------------------------------------------------------------------------------------


TRANSITION_REFUSALS = {
    "publish": gettext_lazy("Only a draft or a suspended program can be published."),
    "suspend": gettext_lazy("Only a published program can be suspended."),
    "extend": gettext_lazy("A draft has no window to extend: set its dates instead."),
}


def _transition_error(program: Program, action: str) -> ProgramError:
    return ProgramError(
        ProgramErrorCode.INVALID_TRANSITION, TRANSITION_REFUSALS[action], program_status=program.status, action=action
    )


@service_write
def program_publish(*, actor: Any, program: Program, historical: bool = False) -> Program:
    """Put a draft in force (its newest version is published), or resume a suspended program; this year's budget
    is opened with it (``_open_this_year``).

    ``historical``: the policy fixture records a policy that was published in the past (its window may have ended
    since). Recording it opens no budget: ``open_fiscal_year`` opens the years of every program, and follows
    ``load_policies`` wherever the service starts. An agency publishing now through the API never passes it.
    """
    locked = _lock_for_transition(program)
    _require_admin(actor, locked)
    if locked.status not in (ProgramStatus.DRAFT, ProgramStatus.SUSPENDED):
        raise _transition_error(locked, "publish")
    if locked.valid_from is None:
        raise ValidationError({"valid_from": _("A program needs a start date before it is published.")})
    today = timezone.localdate()
    if locked.status == ProgramStatus.DRAFT and not historical and locked.valid_until and locked.valid_until < today:
        raise ValidationError(
            {
                "valid_until": _("The window ended on %(day)s: a program cannot be published after it ends.")
                % {"day": locked.valid_until}
            }
        )
    before = program_snapshot(locked)
    latest = program_latest_version(locked)
    if latest is None or latest.parsed().annual_cap is None:
        raise ValidationError({"rules.annual_cap": _("A program needs an annual cap before it is published.")})
    if not latest.is_published:
        latest.published_at = timezone.now()
        latest.save(update_fields=["published_at"])
    locked.status = ProgramStatus.PUBLISHED
    locked.save(update_fields=["status", "updated_at"])
    _audit(actor, "program.publish", locked, before, program_snapshot(locked), version=latest and latest.number)
    if not historical:
        _open_this_year(actor=actor, program=locked)
    return locked


def _open_this_year(*, actor: Any, program: Program) -> None:
    """A program in force this year issues nothing without this year's budget: open it now, in the caller's
    transaction, so that the answer to publishing or extending is already true (applying works at once), not
    after the daily job at 00:05. Idempotent: an open year is left as it is."""
    year = timezone.localdate().year
    if program.status in OPENABLE_STATUSES and program_window_touches_year(program, year):
        budget_open(actor=actor, program=program, year=year)


@service_write
def program_suspend(*, actor: Any, program: Program, reason: str) -> Program:
    locked = _lock_for_transition(program)
    _require_admin(actor, locked)
    if locked.status != ProgramStatus.PUBLISHED:
        raise _transition_error(locked, "suspend")
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the program is suspended.")})
    before = program_snapshot(locked)
    locked.status = ProgramStatus.SUSPENDED
    locked.save(update_fields=["status", "updated_at"])
    _audit(actor, "program.suspend", locked, before, program_snapshot(locked), reason=reason)
    return locked


@service_write
def program_extend(
    *,
    actor: Any,
    program: Program,
    new_end: date | None,
    reason: str,
    legal_reference: str = "",
    decided_on: date | None = None,
    open_this_year: bool = True,
) -> ProgramExtension:
    """Move a program's end date later (``None``: no end date), recorded with its reason and legal reference.

    An extension that brings the program into this year opens this year's budget, as publishing does, unless
    ``open_this_year`` is False: the policy loader records the fixture's extensions and leaves the budgets to
    ``open_fiscal_year``, as it does for publications.
    """
    locked = _lock_for_transition(program)
    _require_admin(actor, locked)
    if locked.status == ProgramStatus.DRAFT:
        raise _transition_error(locked, "extend")
    errors: dict[str, str] = {}
    if locked.valid_until is None:
        errors["new_end"] = _("The program has no end date to extend.")
    elif new_end is not None and new_end <= locked.valid_until:
        errors["new_end"] = _("An extension must move the end date later.")
    if not reason.strip():
        errors["reason"] = _("Say why the program is extended.")
    if decided_on is not None and decided_on > timezone.localdate():
        errors["decided_on"] = _("An extension cannot have been decided in the future.")
    if errors:
        raise ValidationError(errors)
    before = program_snapshot(locked)
    today = timezone.localdate()
    extension = ProgramExtension.objects.create(
        program=locked,
        decided_on=decided_on or today,
        previous_end=locked.valid_until,
        new_end=new_end,
        reason=reason,
        legal_reference=legal_reference,
        created_by=actor_user(actor),
    )
    locked.valid_until = new_end
    if locked.status == ProgramStatus.EXPIRED and (new_end is None or new_end >= today):
        # An extension revives an expired program in the status it expired in: a suspended one stays suspended.
        locked.status = locked.status_before_expiry or ProgramStatus.PUBLISHED
        locked.status_before_expiry = ""
    locked.save(update_fields=["valid_until", "status", "status_before_expiry", "updated_at"])
    _audit(
        actor,
        "program.extend",
        locked,
        before,
        program_snapshot(locked),
        extension=extension.pk,
        reason=reason,
        legal_reference=legal_reference,
    )
    if open_this_year:
        _open_this_year(actor=actor, program=locked)
    return extension


@service_write
def programs_expire_due(*, actor: Any = SYSTEM, today: date | None = None) -> list[int]:
    """Mark expired every published or suspended program whose end date has passed. Idempotent."""
    today = today or timezone.localdate()
    expired = []
    for program in programs_due_to_expire(today).select_for_update():
        _expire(program, actor=actor, today=today)
        expired.append(program.pk)
    return expired
