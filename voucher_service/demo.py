"""Demo data for the embedded default and for DEBUG: organisations across the seed jurisdictions and one user
per role, all sharing one password. Loading is idempotent; it refuses to run where real people could log in:
outside DEBUG and embedded mode, and wherever ALLOWED_HOSTS names a host that another machine could use.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from accounts.audit import SYSTEM, audit_record
from accounts.models import Jurisdiction, Membership, Organization, OrganizationKind, User
from accounts.services import membership_grant, organization_create, user_create
from accounts.tokens import tokens_revoke_for_user
from accounts.validators import uscc_with_check_character
from core.transactions import service_write

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 (documented demo password; demo users exist only locally)


@dataclass(frozen=True)
class DemoOrg:
    key: str
    name: str
    kind: str
    jurisdiction: str
    category: str = ""
    uscc: str | None = None
    settled_on: date | None = None


@dataclass(frozen=True)
class DemoUser:
    username: str
    org: str
    role: str
    description: str


DEMO_ORGS = [
    DemoOrg("nx_drc", "宁夏回族自治区发展和改革委员会", OrganizationKind.AGENCY, "640000"),
    DemoOrg("bd_drc", "保定市发展和改革委员会", OrganizationKind.AGENCY, "130600"),
    DemoOrg("nx_sme", "宁夏智算科技有限公司", OrganizationKind.ENTITY, "640104", "tech_sme", "91640100MA76XQ3P1E"),
    DemoOrg("nx_uni", "宁夏大学", OrganizationKind.ENTITY, "640106", "university", "12640000455901263T"),
    DemoOrg(
        "bd_ai",
        "保定智能模型有限公司",
        OrganizationKind.ENTITY,
        "130602",
        "enterprise",
        "91130602MA0GXYL87D",
        date(2026, 3, 1),
    ),
    DemoOrg("bd_dz", "定州算力应用有限公司", OrganizationKind.ENTITY, "130682", "enterprise", "91130682MA0FQ2W35K"),
    DemoOrg(
        "hh_ent", "呼和浩特数智科技有限公司", OrganizationKind.ENTITY, "150102", "enterprise", "91150102MA0QK8J56X"
    ),
    DemoOrg("nx_idc", "宁夏西部云基地算力有限公司", OrganizationKind.PROVIDER, "640500", "", "91640500MA76UJ1X8M"),
]

# The main cast works in Baoding, whose program is in force (2024-01-25 to 2027-01-24); Ningxia's ended in 2025.
DEMO_USERS = [
    DemoUser("demo_applicant", "bd_ai", "applicant", "applies and files claims for 保定智能模型 (settled 2026)"),
    DemoUser("demo_reviewer", "bd_drc", "reviewer", "first-stage reviewer (初审) at the Baoding DRC"),
    DemoUser("demo_reviewer2", "bd_drc", "reviewer", "second-stage reviewer (复审); never the same person"),
    DemoUser("demo_finance", "bd_drc", "finance", "finance stage (财政) and payouts"),
    DemoUser("demo_program_admin", "bd_drc", "program_admin", "publishes programs, registers entities, bulk-issues"),
    DemoUser("demo_auditor", "bd_drc", "auditor", "reads ledger reports, verifies the journal"),
    DemoUser("demo_nx_admin", "nx_drc", "program_admin", "program administrator in Ningxia"),
    DemoUser("demo_nx_applicant", "nx_sme", "applicant", "applicant for 宁夏智算科技"),
]


DEMO_STAFF = "demo_staff"
# Every account load_demo creates; voucher_service.checks refuses to start while one of them can log in anywhere
# but a local demo.
DEMO_USERNAMES = frozenset({*(user.username for user in DEMO_USERS), DEMO_STAFF})


def _checked_uscc(code: str | None) -> str | None:
    """Demo codes are made valid here so a typo above can't break `make run`."""
    return None if code is None else uscc_with_check_character(code[:17])


def _ensure_org(spec: DemoOrg) -> Organization:
    existing = Organization.objects.filter(name=spec.name, jurisdiction_id=spec.jurisdiction).first()
    if existing:
        return existing
    return organization_create(
        actor=SYSTEM,
        name=spec.name,
        kind=spec.kind,
        category=spec.category,
        uscc=_checked_uscc(spec.uscc),
        jurisdiction=Jurisdiction.objects.get(code=spec.jurisdiction),
        settled_on=spec.settled_on,
    )


def _ensure_user(spec: DemoUser, organization: Organization) -> User:
    user = User.objects.filter(username=spec.username).first() or user_create(
        actor=SYSTEM, username=spec.username, password=DEMO_PASSWORD, first_name=spec.description[:150]
    )
    if not Membership.objects.filter(user=user, organization=organization, role=spec.role).exists():
        membership_grant(actor=SYSTEM, user=user, organization=organization, role=spec.role)
    return user


def _is_local_host(pattern: str) -> bool:
    """Whether an ALLOWED_HOSTS entry can only ever name this machine.

    Local: ``localhost`` and names under ``.localhost`` (RFC 6761 reserves them for loopback, and browsers resolve
    them so), and loopback addresses (127.0.0.0/8, ``::1``, bracketed or not). Everything else is not: a real
    name or address, a ``.example.gov.cn`` suffix, the ``*`` wildcard, a bare single-label name such as
    ``testserver`` (which an intranet's DNS may well resolve), and ``0.0.0.0``: it is not a loopback address, and
    whoever lists it is serving on every interface so that other machines can connect.
    """
    host = pattern.strip().lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.removeprefix("[").removesuffix("]")).is_loopback
    except ValueError:
        return False


def non_local_hosts(allowed_hosts: Iterable[str]) -> list[str]:
    return [pattern for pattern in allowed_hosts if not _is_local_host(pattern)]


def demo_load() -> list[DemoUser]:
    """Create (or find) every demo organisation and user. Each write is its own audited service call."""
    if not settings.LOCAL:
        raise ImproperlyConfigured("Demo users have a published password: they are only for DEBUG or embedded mode.")
    # Embedded mode says nothing about who can connect: `make run` binds 127.0.0.1, but the same settings serve
    # `runserver 0.0.0.0:8000` or a gunicorn on a public address, where a superuser with the password printed in
    # the README would be an open door. ALLOWED_HOSTS is not a network boundary (any client can send
    # `Host: localhost`), but it is the operator's statement of who the service is for: naming any host beyond
    # this machine means other people are meant to reach it, so the published password must not exist there.
    # (An empty list counts as local: Django then accepts at most localhost and the loopback addresses.)
    exposed = non_local_hosts(settings.ALLOWED_HOSTS)
    if exposed:
        raise ImproperlyConfigured(
            "Demo users have a published password, and ALLOWED_HOSTS names hosts other machines can reach "
            f"({', '.join(exposed)}). Load the demo only with ALLOWED_HOSTS limited to localhost, 127.0.0.1 "
            "and [::1]."
        )
    orgs = {spec.key: _ensure_org(spec) for spec in DEMO_ORGS}
    for spec in DEMO_USERS:
        _ensure_user(spec, orgs[spec.org])
    if not User.objects.filter(username=DEMO_STAFF).exists():
        User.objects.create_superuser(DEMO_STAFF, password=DEMO_PASSWORD)
    return DEMO_USERS


@service_write
def demo_disable(*, actor: Any) -> list[str]:
    """Make every demo user unable to log in (inactive, no usable password, tokens revoked), audited; the rows
    stay, because the audit trail refers to them. Returns the usernames it disabled."""
    disabled = []
    for user in User.objects.select_for_update().filter(username__in=DEMO_USERNAMES, is_active=True).order_by("pk"):
        user.is_active = False
        user.set_unusable_password()
        user.save(update_fields=["is_active", "password"])
        tokens_revoke_for_user(user, reason="demo_disabled", actor=actor)
        audit_record(actor=actor, action="user.disable", target=user, after={"is_active": False}, detail={"demo": True})
        disabled.append(user.username)
    return disabled
