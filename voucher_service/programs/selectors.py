"""Reads about programs and providers: who sees what, which rules are in force, what may issue.

Visibility (anything outside it is absent, so the API answers 404):

* staff see every program;
* members of an agency see the programs their agency issues and every program whose jurisdiction lies in their
  agency's jurisdiction or below it (drafts included);
* members of any other organisation (entities, providers, platforms) see programs that are not drafts.

Budgets are read from the ledger's balance rows (``budget_accounts``, ``budget_figures``; the account layout is
described in ``budgets.py``, which holds the writes). Who may read them (``user_can_read_budgets``) is narrower:
staff and members of the issuing agency, a responsible agency or an agency whose jurisdiction covers the
program's; an entity that can see a program gets 403 on its budgets.

What the voucher and claim code calls:

* ``program_version_in_force(program, at)`` / ``program_current_version(program)`` — the version to evaluate a
  claim under (record ``version.pk`` on the claim), and ``version.parsed()`` for its typed rules;
* ``program_issuance_refusal(program, on)`` — why the program may not issue that day (a ``ProgramError`` to
  raise), or None; ``program_can_issue`` the same as a yes or no;
* ``provider_in_scope(version, provider, on_date)`` — whether a provider may be paid under these rules that day.

Whether an entity may hold vouchers is ``voucher_service.vouchers.eligibility`` (``entity_category_ok``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization, OrganizationKind, Role
from accounts.selectors import (
    agency_jurisdictions,
    jurisdiction_subtree_q,
    organizations_visible_to,
    user_has_role,
    user_memberships,
)
from ledger.models import Account
from voucher_service.programs.errors import ProgramError, ProgramErrorCode
from voucher_service.programs.models import (
    COMPUTE_SERVICE_TYPES,
    FiscalYearBudget,
    ListingStatus,
    Program,
    ProgramExtension,
    ProgramStatus,
    ProgramVersion,
    ProviderListing,
    ProviderListingRevision,
    ProviderStatusChange,
)
from voucher_service.programs.rules import ProgramRules, ScopeMode

# --- Visibility ---------------------------------------------------------------------------------------------


def programs_visible_to(user: Any) -> QuerySet[Program]:
    base = Program.objects.select_related("jurisdiction", "issuing_agency").prefetch_related(
        "responsible_agencies", "extensions"
    )
    if not getattr(user, "is_authenticated", False):
        return base.none()
    if user.is_staff:
        return base.all()
    memberships = user_memberships(user)
    agency_ids = list(
        memberships.filter(organization__kind=OrganizationKind.AGENCY).values_list("organization_id", flat=True)
    )
    visible = Q(issuing_agency_id__in=agency_ids) | jurisdiction_subtree_q(agency_jurisdictions(user))
    if memberships.exclude(organization__kind=OrganizationKind.AGENCY).exists():
        visible |= ~Q(status=ProgramStatus.DRAFT)
    return base.filter(visible).distinct()


def programs_public(today: date) -> QuerySet[Program]:
    """The public catalogue: every program in force on ``today`` (published, window not ended), for anyone."""
    return (
        Program.objects.filter(program_status_q(ProgramStatus.PUBLISHED, today))
        .select_related("jurisdiction", "issuing_agency")
        .order_by("jurisdiction_id", "code")
    )


def program_public_remaining(program: Program, year: int) -> int | None:
    """What is left of ``program``'s ``year`` budget to issue (fen), the one budget figure the catalogue shows
    the public; None when the year is not open. The other figures stay with the agencies (``user_can_read_budgets``).
    """
    budget = budget_for(program, year)
    return budget_figures(budget).remaining if budget is not None else None


def user_can_manage_program(user: Any, program: Program) -> bool:
    """Only a program administrator of the issuing agency changes a program."""
    return bool(getattr(user, "is_authenticated", False)) and user_has_role(
        user, program.issuing_agency, [Role.PROGRAM_ADMIN]
    )


def user_can_read_budgets(user: Any, program: Program) -> bool:
    """Budgets are for staff and members of the agencies concerned: the issuing agency, the responsible agencies
    and every agency whose jurisdiction covers the program's. Entities may see a program, not its budget."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_staff:
        return True
    concerned = {program.issuing_agency_id, *(agency.pk for agency in program.responsible_agencies.all())}
    agencies = (
        user_memberships(user)
        .filter(organization__kind=OrganizationKind.AGENCY)
        .select_related("organization__jurisdiction")
    )
    return any(
        m.organization_id in concerned or m.organization.jurisdiction.covers(program.jurisdiction) for m in agencies
    )


# --- Versions -----------------------------------------------------------------------------------------------


def program_latest_version(program: Program) -> ProgramVersion | None:
    """The newest version, published or not (what the next publication would put in force)."""
    return program.versions.order_by("-number").first()


def program_current_version(program: Program) -> ProgramVersion | None:
    """The newest published version (None for a program never published)."""
    return program.versions.filter(published_at__isnull=False).order_by("-number").first()


# Numbers are at least 1 (a CHECK), so the versions published by then (-number) sort before all later ones (+number).
_VERSION_IN_FORCE_SQL = (
    "SELECT * FROM programs_programversion WHERE program_id = %s AND published_at IS NOT NULL "
    "ORDER BY CASE WHEN published_at <= %s THEN -number ELSE number END LIMIT 1"
)


def program_version_in_force(program: Program, at: datetime | date) -> ProgramVersion | None:
    """The published version whose rules govern ``at`` (a datetime, or the end of a local day).

    A version governs from its publication on; before the first publication (a policy loaded after it came into
    force, say) the first published version governs, because the window, not the publication, starts it.
    """
    moment = at if isinstance(at, datetime) else timezone.make_aware(datetime.combine(at, time.max))
    # One plain statement for both cases (the newest version published by ``moment``, else the oldest published):
    # every application, approval, issuance and claim asks, and two ORM queries cost several times its Python.
    when = connection.ops.adapt_datetimefield_value(moment)
    found = ProgramVersion.objects.raw(_VERSION_IN_FORCE_SQL, [program.pk, when])
    return next(iter(found), None)


def program_rules(program: Program, at: datetime | date | None = None) -> ProgramRules | None:
    version = program_version_in_force(program, at) if at is not None else program_current_version(program)
    return version.parsed() if version is not None else None


# --- May it issue? ------------------------------------------------------------------------------------------


def program_issuance_refusal(program: Program, on: date) -> ProgramError | None:
    """Why ``program`` cannot issue vouchers on ``on``, or None if it can.

    The window is checked as well as the status, so a program whose end has passed refuses even before the
    expiry task has marked it expired.
    """
    if program.status == ProgramStatus.DRAFT:
        return ProgramError(ProgramErrorCode.PROGRAM_DRAFT, _("The program is a draft: it issues nothing."))
    if program.status == ProgramStatus.SUSPENDED:
        return ProgramError(ProgramErrorCode.PROGRAM_SUSPENDED, _("The program is suspended."))
    if program.status == ProgramStatus.EXPIRED or (program.valid_until is not None and on > program.valid_until):
        return ProgramError(ProgramErrorCode.PROGRAM_EXPIRED, _("The program has expired."))
    if not program.window_covers(on):
        return ProgramError(
            ProgramErrorCode.PROGRAM_NOT_IN_FORCE, _("The program is not in force on %(day)s.") % {"day": on}
        )
    return None


def program_can_issue(program: Program, on: date) -> bool:
    return program_issuance_refusal(program, on) is None


def program_window_touches_year(program: Program, year: int) -> bool:
    """Is the program in force on at least one day of fiscal (calendar) year ``year``?"""
    if program.valid_from is None or program.valid_from > date(year, 12, 31):
        return False
    return program.valid_until is None or program.valid_until >= date(year, 1, 1)


def program_status_q(status: str, today: date) -> Q:
    """Programs whose status on ``today`` is ``status`` (see ``Program.status_on``), as a filter."""
    ended = Q(valid_until__lt=today)
    lapsing = Q(status__in=[ProgramStatus.PUBLISHED, ProgramStatus.SUSPENDED])
    if status == ProgramStatus.EXPIRED:
        return Q(status=ProgramStatus.EXPIRED) | (lapsing & ended)
    if status in (ProgramStatus.PUBLISHED, ProgramStatus.SUSPENDED):
        return Q(status=status) & ~ended
    return Q(status=status)


def programs_due_to_expire(today: date) -> QuerySet[Program]:
    return Program.objects.filter(
        status__in=[ProgramStatus.PUBLISHED, ProgramStatus.SUSPENDED], valid_until__lt=today
    ).order_by("pk")


# --- Providers ----------------------------------------------------------------------------------------------


def providers_visible_to(user: Any) -> QuerySet[ProviderListing]:
    """Staff and agency members see every listing; everyone else sees listed ones."""
    base = ProviderListing.objects.select_related("organization", "jurisdiction").prefetch_related("platforms")
    if not getattr(user, "is_authenticated", False):
        return base.none()
    if user.is_staff or agency_jurisdictions(user):
        return base.all()
    return base.filter(status=ListingStatus.LISTED)


def listable_organizations_visible_to(user: Any) -> QuerySet[Organization]:
    """Providers and platforms ``user`` can see (``organizations_visible_to``): what they may name in a listing."""
    return organizations_visible_to(user).filter(kind__in=[OrganizationKind.PROVIDER, OrganizationKind.PLATFORM])


def platforms_visible_to(user: Any) -> QuerySet[Organization]:
    """Platforms ``user`` can see: those among their organisations (own, or in their agency's jurisdiction) and
    those listed in the public provider registry. A platform id outside these "does not exist" for them, exactly
    like an id that does not."""
    listed = providers_visible_to(user).values("organization_id")
    visible = organizations_visible_to(user).values("pk")
    return Organization.objects.filter(kind=OrganizationKind.PLATFORM).filter(Q(pk__in=visible) | Q(pk__in=listed))


def listing_status_on(listing: ProviderListing, on_date: date) -> str | None:
    """The listing's status at the end of ``on_date``, from its status history.

    Before the first recorded change the registration status applies (the listing window, checked separately,
    says from when), so a provider registered today can be in scope for a delivery last year.
    """
    moment = timezone.make_aware(datetime.combine(on_date, time.max))
    changes = listing.status_changes.all()
    change = changes.filter(changed_at__lte=moment).order_by("-changed_at", "-id").first()
    change = change or changes.order_by("changed_at", "id").first()
    return change.to_status if change is not None else None


def listing_revision_on(listing: ProviderListing, on_date: date) -> ProviderListingRevision | None:
    """What the listing said at the end of ``on_date`` (its jurisdiction, service types, platforms, window).

    Before the first revision the first one applies, as for the status history: a provider registered today is
    judged for last year's delivery by what it was registered with.
    """
    moment = timezone.make_aware(datetime.combine(on_date, time.max))
    revisions = listing.revisions.all()
    revision = revisions.filter(recorded_at__lte=moment).order_by("-recorded_at", "-id").first()
    return revision or revisions.order_by("recorded_at", "id").first()


@dataclass(frozen=True)
class Decision:
    in_scope: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.in_scope


def provider_in_scope(
    program_version: ProgramVersion, provider: Organization, on_date: date, service_type: str | None = None
) -> Decision:
    """May compute bought from ``provider`` on ``on_date`` be subsidised under ``program_version``'s rules?

    The provider must be listed that day (by its status history and listing window), sell compute (not only
    storage or network), offer ``service_type`` when one is named, and match the version's provider scope. Every
    listing field is read as it was that day (``listing_revision_on``), not as it is today.
    """
    listing = ProviderListing.objects.filter(organization=provider).first()
    if listing is None:
        return Decision(False, str(_("The provider is not registered.")))
    if listing_status_on(listing, on_date) != ListingStatus.LISTED:
        return Decision(False, str(_("The provider was not listed on that day.")))
    revision = listing_revision_on(listing, on_date)
    if revision is None:  # pragma: no cover - every listing has a revision from its registration on
        return Decision(False, str(_("The provider is not registered.")))
    if on_date < revision.valid_from or (revision.valid_until is not None and on_date > revision.valid_until):
        return Decision(False, str(_("The provider's listing was not valid on that day.")))
    if not COMPUTE_SERVICE_TYPES & set(revision.service_types):
        return Decision(False, str(_("The provider does not sell compute.")))
    if service_type is not None and service_type not in revision.service_types:
        return Decision(False, str(_("The provider did not offer this service type on that day.")))
    return _matches_scope(program_version, revision, listing.organization_id)


def provider_in_scope_during(
    program_version: ProgramVersion, provider: Organization, start: date, end: date, service_type: str | None = None
) -> tuple[Decision, date]:
    """``provider_in_scope`` on every day from ``start`` to ``end``: checked on ``start`` and on each day in the
    period when the listing's status or fields changed. Returns the decision and the day it was judged on (the
    first day that fails, or ``start``)."""
    listing = ProviderListing.objects.filter(organization=provider).first()
    days = {start}
    if listing is not None:
        low = timezone.make_aware(datetime.combine(start, time.max))
        high = timezone.make_aware(datetime.combine(end, time.max))
        for moment in [
            *listing.status_changes.filter(changed_at__gt=low, changed_at__lte=high).values_list(
                "changed_at", flat=True
            ),
            *listing.revisions.filter(recorded_at__gt=low, recorded_at__lte=high).values_list("recorded_at", flat=True),
        ]:
            days.add(timezone.localtime(moment).date())
        if listing.valid_until is not None and start <= listing.valid_until < end:
            days.add(end)
    for day in sorted(days):
        decision = provider_in_scope(program_version, provider, day, service_type)
        if not decision:
            return decision, day
    return Decision(True), start


def _matches_scope(
    program_version: ProgramVersion, revision: ProviderListingRevision, organization_id: int
) -> Decision:
    scope = program_version.parsed().provider_scope
    if scope.mode == ScopeMode.IN_JURISDICTION:
        if program_version.program.jurisdiction.covers(revision.jurisdiction):
            return Decision(True)
        return Decision(False, str(_("The provider is not located in the program's jurisdiction.")))
    through = set(revision.platforms) | {organization_id}
    if through & set(scope.platforms):
        return Decision(True)
    return Decision(False, str(_("The provider does not sell through the program's platforms.")))


def provider_status_history(listing: ProviderListing) -> QuerySet[ProviderStatusChange]:
    return listing.status_changes.select_related("changed_by").order_by("changed_at", "id")


# --- Auditor reports ----------------------------------------------------------------------------------------


def audit_targets(program_ids: Any) -> list[tuple[str, QuerySet]]:
    """(audit target type, a queryset of primary keys) of the programs and their budgets and extensions."""
    return [
        ("programs.program", Program.objects.filter(pk__in=program_ids).values("pk")),
        ("programs.fiscalyearbudget", FiscalYearBudget.objects.filter(program_id__in=program_ids).values("pk")),
        ("programs.programextension", ProgramExtension.objects.filter(program_id__in=program_ids).values("pk")),
    ]


def program_versions_published(program: Program) -> list[ProgramVersion]:
    """Every published version, oldest publication first (which cap was in force when)."""
    return list(program.versions.filter(published_at__isnull=False).order_by("published_at", "number"))


# --- Budgets --------------------------------------------------------------------------------------------------


OPENABLE_STATUSES = (ProgramStatus.PUBLISHED, ProgramStatus.SUSPENDED)


def current_fiscal_year() -> int:
    """The fiscal year is the calendar year, in local time (Asia/Shanghai)."""
    return timezone.localdate().year


def budget_skip_reason(program: Program, year: int) -> str | None:
    """Why ``program`` has no budget to open in ``year`` (a draft, a window that misses the year, expired), or
    None when it should have one."""
    if program.status == ProgramStatus.DRAFT:
        return str(_("a draft: it has no budget until it is published"))
    if program.valid_from is not None and program.valid_from > date(year, 12, 31):
        return _("its window starts on %(day)s, after %(year)d") % {"day": program.valid_from, "year": year}
    if program.valid_until is not None and program.valid_until < date(year, 1, 1):
        return _("its window ended on %(day)s, before %(year)d") % {"day": program.valid_until, "year": year}
    if program.status not in OPENABLE_STATUSES:
        return _("it has expired (its window ended on %(day)s)") % {"day": program.valid_until}
    return None


@dataclass(frozen=True)
class BudgetAccounts:
    budget: FiscalYearBudget
    appropriation: Account
    budget_account: Account
    lapsed: Account
    funding: dict[str, Account]


@dataclass(frozen=True)
class BudgetFigures:
    year: int
    cap: int
    issued: int
    held: int
    spent: int
    returned: int
    lapsed: int
    remaining: int


def budget_for(program: Program, year: int) -> FiscalYearBudget | None:
    return FiscalYearBudget.objects.filter(program=program, year=year).first()


def budget_accounts(program: Program, year: int) -> BudgetAccounts | None:
    """The ledger accounts of ``program``'s ``year``; None if that year is not open (a write that needs them
    refuses with ``budgets.budget_require_open``)."""
    budget = (
        FiscalYearBudget.objects.select_related("appropriation_account", "budget_account", "lapsed_account")
        .filter(program=program, year=year)
        .first()
    )
    if budget is None:
        return None
    return BudgetAccounts(
        budget=budget,
        appropriation=budget.appropriation_account,
        budget_account=budget.budget_account,
        lapsed=budget.lapsed_account,
        funding={source.payer: source.account for source in budget.funding_sources.select_related("account")},
    )


def budget_figures(budget: FiscalYearBudget) -> BudgetFigures:
    ids = [budget.appropriation_account_id, budget.budget_account_id, budget.lapsed_account_id]
    funding_ids = list(budget.funding_sources.values_list("account_id", flat=True))
    rows = {account.pk: account for account in Account.objects.filter(pk__in=ids + funding_ids)}
    appropriation, main, lapsed = (rows[pk] for pk in ids)
    return BudgetFigures(
        year=budget.year,
        cap=appropriation.posted_debits - appropriation.posted_credits,
        issued=main.posted_debits - appropriation.posted_credits,
        held=main.pending_debits,
        spent=sum(rows[pk].posted_credits for pk in funding_ids),
        returned=main.posted_credits - appropriation.posted_debits,
        lapsed=lapsed.posted_credits,
        remaining=main.posted_credits - main.posted_debits - main.pending_debits,
    )


def budget_remaining(program: Program, year: int) -> int | None:
    """``budget_figures(…).remaining`` of ``program``'s ``year`` in one statement (None: the year is not open):
    what eligibility checks read on every application and approval."""
    # Three columns, not the budget's and its account's two dozen: every application and approval reads this.
    balances = (
        FiscalYearBudget.objects.filter(program=program, year=year)
        .values_list(
            "budget_account__posted_credits", "budget_account__posted_debits", "budget_account__pending_debits"
        )
        .first()
    )
    if balances is None:
        return None
    credits, debits, pending = balances
    return credits - debits - pending


def program_budget_figures(program: Program) -> list[BudgetFigures]:
    return [budget_figures(budget) for budget in program.budgets.order_by("year")]


# --- The program administrator's portal -----------------------------------------------------------------------


def programs_managed_by(user: Any) -> QuerySet[Program]:
    """The programs ``user`` administers: those issued by an agency in which they are a program administrator
    (what ``user_can_manage_program`` allows), drafts included."""
    if not getattr(user, "is_authenticated", False):
        return Program.objects.none()
    agencies = (
        user_memberships(user)
        .filter(organization__kind=OrganizationKind.AGENCY, role=Role.PROGRAM_ADMIN)
        .values("organization_id")
    )
    return (
        Program.objects.filter(issuing_agency_id__in=agencies)
        .select_related("jurisdiction", "issuing_agency")
        .prefetch_related("extensions")
        .order_by("code")
    )
