"""Template context for every page: the navigation the logged-in person's roles call for."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from accounts.models import Role
from voucher_service.portal.roles import AGENCY_WORK, roles_of


def portal(request: HttpRequest) -> dict[str, Any]:
    roles = roles_of(getattr(request, "user", None))
    return {
        "nav_applicant": Role.APPLICANT in roles,
        "nav_work": bool(roles & AGENCY_WORK),
        "nav_auditor": Role.AUDITOR in roles,
        "nav_manage": Role.PROGRAM_ADMIN in roles,
        "nav_finance": Role.FINANCE in roles,
    }
