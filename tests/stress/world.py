"""The stress run's world: one agency with three small programs (caps that a few operations exhaust), a dozen
entities and a listed provider, and one crew of people per thread.

Each thread acts only through its own crew (an applicant of every entity, two reviewers, a finance officer and a
program administrator of the agency), so every audit event and journal entry a crew member is the actor of was
written by that thread: a refused operation's window can be searched for writes of its actor
(``tests.stress.checks``). Users are written in bulk with unusable passwords (nobody logs in).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.contrib.auth.hashers import make_password
from django.utils import timezone

from accounts.audit import SYSTEM
from accounts.models import Membership, Organization, OrganizationKind, Role, User
from tests.factories import make_org
from voucher_service.programs.budgets import budget_open
from voucher_service.programs.models import Program
from voucher_service.programs.providers import provider_register
from voucher_service.programs.services import program_create, program_publish

AGENCY_JURISDICTION = "640000"
ENTITY_JURISDICTION = "640104"
ENTITIES = 12
# Small caps, hit all the time: 12 entities may each be issued up to 600 yuan a year, the budget is 3,000.
ANNUAL_CAP = "3000.00"
PER_ENTITY_CAP = "600.00"
AWARD = "settling_in"
AWARD_AMOUNT = "100.00"
RULE = "compute"
RULE_CAP = "250.00"  # the most an entity is subsidised under the rule, ever


@dataclass(frozen=True)
class Crew:
    """The people one thread acts as."""

    applicant: User
    reviewer: User
    reviewer2: User
    finance: User
    admin: User

    @property
    def ids(self) -> frozenset[int]:
        return frozenset(u.pk for u in (self.applicant, self.reviewer, self.reviewer2, self.finance, self.admin))


@dataclass
class World:
    agency: Organization
    programs: list[Program]
    entities: list[Organization]
    provider: Organization
    crews: list[Crew]


def program_rules(number: int) -> dict[str, Any]:
    """Rules (api form) of program ``number``: the second lapses what a closed voucher leaves, the others return it
    to the budget; all review in two stages and notice claims for one working day."""
    return {
        "annual_cap": ANNUAL_CAP,
        "eligible_categories": ["tech_sme"],
        "provider_scope": {"mode": "in_jurisdiction"},
        "fixed_awards": [
            {
                "code": AWARD,
                "description": "落户当年一次性奖励",
                "check": "settled_in_fiscal_year",
                "amount": AWARD_AMOUNT,
                "once_per_entity": True,
            }
        ],
        "per_entity_annual_cap": PER_ENTITY_CAP,
        "rate_rules": [
            {"code": RULE, "description": "算力使用补贴", "rate": "0.50", "cap": RULE_CAP, "check": "reviewer"}
        ],
        "combination": "stack",
        "unused_amounts": "lapse" if number == 1 else "return_to_budget",
        "review_stages": [{"name": "初审", "role": "reviewer"}, {"name": "财政", "role": "finance"}],
        "notice_working_days": 1,
        "required_evidence": ["invoice"],
    }


def _users(prefix: str, count: int) -> list[User]:
    password = make_password(None)
    return User.objects.bulk_create(User(username=f"{prefix}{n}", password=password) for n in range(count))


def _crews(agency: Organization, entities: list[Organization], threads: int) -> list[Crew]:
    people = {role: _users(f"stress_{role}_", threads) for role in ("applicant", "reviewer", "reviewer2", "finance")}
    people["admin"] = _users("stress_admin_", threads)
    memberships = [
        Membership(user=u, organization=e, role=Role.APPLICANT) for u in people["applicant"] for e in entities
    ]
    for role, kind in (("reviewer", Role.REVIEWER), ("reviewer2", Role.REVIEWER), ("finance", Role.FINANCE)):
        memberships += [Membership(user=u, organization=agency, role=kind) for u in people[role]]
    memberships += [Membership(user=u, organization=agency, role=Role.PROGRAM_ADMIN) for u in people["admin"]]
    Membership.objects.bulk_create(memberships, batch_size=2000)
    roles = ("applicant", "reviewer", "reviewer2", "finance", "admin")
    return [Crew(*(people[role][n] for role in roles)) for n in range(threads)]


def build_world(threads: int) -> World:
    """The agency, its three published programs with this year's budgets open, the entities (half of them settled
    this year, so eligible for the one-time award), a listed provider, and ``threads`` crews."""
    today = timezone.localdate()
    agency = make_org(
        OrganizationKind.AGENCY, jurisdiction=AGENCY_JURISDICTION, name="宁夏回族自治区发展和改革委员会（压力）"
    )
    entities = [
        make_org(jurisdiction=ENTITY_JURISDICTION, settled_on=date(today.year, 1, 1) if n % 2 == 0 else None)
        for n in range(ENTITIES)
    ]
    provider = make_org(OrganizationKind.PROVIDER, jurisdiction=ENTITY_JURISDICTION)
    provider_register(actor=SYSTEM, organization=provider, service_types=["gpu", "npu"], valid_from=date(2023, 1, 1))
    crews = _crews(agency, entities, threads)
    founder = crews[0].admin
    programs = []
    for number in range(3):
        program = program_create(
            actor=founder,
            code=f"stress-{number}",
            name=f"压力测试算力券 {number}",
            jurisdiction=agency.jurisdiction,
            issuing_agency=agency,
            rules=program_rules(number),
            valid_from=date(today.year, 1, 1),
            valid_until=today + timedelta(days=400),
        )
        program = program_publish(actor=founder, program=program)
        budget_open(actor=founder, program=program, year=today.year)
        programs.append(program)
    return World(agency=agency, programs=programs, entities=entities, provider=provider, crews=crews)
