"""The README's portal pages answer for the demo user it names: after ``make run``'s data (policies, this year's
budgets, ``load_demo``), each listed page opens for its user logged in with the published password, and each
user's home page is the one the README says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from accounts.models import User
from voucher_service.demo import DEMO_PASSWORD
from voucher_service.programs.selectors import programs_visible_to

pytestmark = pytest.mark.django_db

README = Path(__file__).resolve().parents[3] / "README.md"

PUBLIC = ["/programs/", "/verify/", "/notices/"]
# (user, the pages the README lists for them, with {program} and {year} filled from the demo data)
PAGES = [
    ("demo_applicant", ["/me/", "/me/notifications/", "/me/notifications/preferences/"]),
    ("demo_dz_applicant", ["/me/"]),
    ("demo_reviewer", ["/work/", "/work/applications/", "/work/objections/", "/me/notifications/"]),
    ("demo_reviewer2", ["/work/"]),
    ("demo_finance", ["/work/", "/work/payouts/", "/account/authenticator/"]),
    (
        "demo_program_admin",
        [
            "/manage/",
            "/manage/programs/{program}/",
            "/manage/programs/{program}/budget/{year}/",
            "/manage/programs/{program}/bulk/",
            "/manage/programs/{program}/vouchers/",
            "/manage/programs/{program}/awards/",
            "/manage/providers/",
            "/manage/grants/",
        ],
    ),
    ("demo_auditor", ["/audit/", "/audit/ledger/", "/audit/spot-checks/", "/audit/exports/"]),
]
HOMES = {
    "demo_applicant": "/me/",
    "demo_dz_applicant": "/me/",
    "demo_reviewer": "/work/",
    "demo_reviewer2": "/work/",
    "demo_finance": "/work/",
    "demo_program_admin": "/manage/",
    "demo_auditor": "/audit/",
}


@pytest.fixture
def demo(settings):
    """``make run``'s data, in the embedded demo's settings (the second factor not required)."""
    settings.LOCAL = True
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]"]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *settings.PASSWORD_HASHERS]
    settings.PORTAL_FINANCE_REQUIRE_TOTP = False
    call_command("load_policies", verbosity=0)
    call_command("open_fiscal_year", str(timezone.localdate().year), verbosity=0)
    call_command("load_demo", verbosity=0)
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]  # the test client's host, after the demo
    admin = User.objects.get(username="demo_program_admin")
    return programs_visible_to(admin).order_by("pk").first()


def log_in(username: str) -> tuple[Client, str]:
    client = Client()
    response = client.post("/login/", {"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 302, (username, response.status_code)
    return client, response["Location"]


def test_the_readme_names_the_portal_the_demo_users_and_their_password_first():
    # given
    head = "\n".join(README.read_text(encoding="utf-8").splitlines()[:10])
    # then
    assert "make run" in head
    assert "http://127.0.0.1:8000/" in head
    assert DEMO_PASSWORD in head
    assert all(user in head for user, _pages in PAGES if user != "demo_dz_applicant")
    assert "/api/docs/" in head


def test_every_listed_page_is_in_the_readme_and_opens_for_its_demo_user(demo, plain_static_storage):
    # given
    readme = README.read_text(encoding="utf-8")
    program = demo
    # when / then each user logs in, lands on the home page the README says, and opens each page listed
    for username, pages in PAGES:
        client, home = log_in(username)
        assert home == HOMES[username], (username, home)
        for page in pages:
            assert re.sub(r"\{\w+\}", "{id}", page).replace("{id}/budget/{id}", "{id}/budget/{year}") in readme
            url = page.format(program=program.pk, year=timezone.localdate().year)
            response = client.get(url)
            assert response.status_code == 200, (username, url, response.status_code)


def test_the_public_pages_open_without_login(demo, plain_static_storage):
    # given
    readme = README.read_text(encoding="utf-8")
    # when / then
    for url in PUBLIC:
        assert f"`{url}" in readme
        assert Client().get(url).status_code == 200, url
