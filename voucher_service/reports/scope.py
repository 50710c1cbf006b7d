"""Who reads which reports (one matrix, in code here, in the README's "Auditors" section and in the role tests).

* **Staff** read every report of every program.
* An **agency's auditors** read every report of the programs their agency issues or is responsible for, and of
  every program whose jurisdiction lies in their agency's (a regional agency's auditors see its cities'
  programs); nothing else exists for them (404).
* A **third-party auditor** (an ``auditor`` of an ``audit_firm``) reads the programs named in a grant that is in
  force: until its date, unless revoked, and while they are still an auditor of the firm.
* The **ledger-wide** reads (verification runs, the chain head) are for staff and every auditor above.
* An **entity**'s applicants read their own registers (vouchers, applications) and nothing else.
* Everyone else (reviewers, finance, program administrators, providers) is refused with 403: they may know the
  programs exist, but reports are not theirs to read. Program administrators grant third-party auditors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import OrganizationKind, Role
from accounts.selectors import jurisdiction_subtree_q, user_memberships
from voucher_service.programs.models import Program


@dataclass(frozen=True)
class ReportScope:
    """What one user may read: ``program_ids`` for the agency-side reports, ``entity_ids`` for own registers."""

    is_staff: bool
    program_ids: frozenset[int]
    entity_ids: frozenset[int]

    @property
    def audits(self) -> bool:
        """An auditor of some kind (or staff): may read the ledger-wide reports."""
        return self.is_staff or bool(self.program_ids) or self._auditor

    _auditor: bool = False

    @property
    def reads_registers(self) -> bool:
        return self.audits or bool(self.entity_ids)

    def programs(self) -> QuerySet[Program]:
        if self.is_staff:
            return Program.objects.all()
        return Program.objects.filter(pk__in=self.program_ids)

    def covers_program(self, program_id: int) -> bool:
        return self.is_staff or program_id in self.program_ids


def _agency_auditor_programs(user: Any) -> tuple[set[int], bool]:
    auditing = user_memberships(user).filter(organization__kind=OrganizationKind.AGENCY, role=Role.AUDITOR)
    agencies = list(auditing)
    if not agencies:
        return set(), False
    agency_ids = [m.organization_id for m in agencies]
    visible = (
        Q(issuing_agency_id__in=agency_ids)
        | Q(responsible_agencies__in=agency_ids)
        | jurisdiction_subtree_q([m.organization.jurisdiction for m in agencies])
    )
    return set(Program.objects.filter(visible).values_list("pk", flat=True)), True


def _granted_programs(user: Any) -> tuple[set[int], bool]:
    from voucher_service.reports.selectors import grants_in_force

    firms = set(
        user_memberships(user)
        .filter(organization__kind=OrganizationKind.AUDIT_FIRM, role=Role.AUDITOR)
        .values_list("organization_id", flat=True)
    )
    if not firms:
        return set(), False
    grants = grants_in_force(timezone.localdate()).filter(grantee=user, audit_firm_id__in=firms)
    return set(grants.values_list("programs", flat=True)) - {None}, True


def report_scope(user: Any) -> ReportScope:
    if not getattr(user, "is_authenticated", False) or getattr(user, "pk", None) is None:
        return ReportScope(False, frozenset(), frozenset())
    if user.is_staff:
        return ReportScope(True, frozenset(), frozenset(), _auditor=True)
    agency_programs, agency_auditor = _agency_auditor_programs(user)
    granted, firm_auditor = _granted_programs(user)
    entities = (
        user_memberships(user)
        .filter(organization__kind=OrganizationKind.ENTITY, role=Role.APPLICANT)
        .values_list("organization_id", flat=True)
    )
    return ReportScope(
        False,
        frozenset(agency_programs | granted),
        frozenset(entities),
        _auditor=agency_auditor or (firm_auditor and bool(granted)),
    )
