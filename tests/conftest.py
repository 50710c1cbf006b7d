"""Shared test configuration.

Backend markers: ``@pytest.mark.postgres`` tests need PostgreSQL (row locks, triggers, real concurrency) and
``@pytest.mark.redis`` tests need a Redis broker. Without the backend they are skipped with a reason, and
``make test`` lists them. With ``REQUIRE_ALL_BACKENDS=1`` (set by ``.ci/run``) a missing backend is a failure,
so CI can never pass by skipping them.
"""

from __future__ import annotations

import os

import pytest
from django.db import connection
from hypothesis import settings as hypothesis_settings

from accounts.models import OrganizationKind, Role
from tests.factories import make_org, make_user
from voucher_service.celery import app as celery_app

REQUIRE_ALL_BACKENDS = os.environ.get("REQUIRE_ALL_BACKENDS") == "1"

# `make mutation` (scripts/mutation.py) passes --hypothesis-profile=mutation: the same examples on every run, no
# example database, and no deadline, so whether a mutant is killed depends on the mutant alone and not on how
# slowly a loaded machine ran it.
hypothesis_settings.register_profile("mutation", deadline=None, database=None, derandomize=True)


def _redis_url() -> str | None:
    url = os.environ.get("CELERY_BROKER_URL", "")
    return url if url.startswith("redis") else None


def _missing_backends(item: pytest.Item) -> list[str]:
    missing = []
    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        missing.append("PostgreSQL (set DATABASE_URL)")
    if item.get_closest_marker("redis") and _redis_url() is None:
        missing.append("Redis (set CELERY_BROKER_URL=redis://…)")
    return missing


def pytest_runtest_setup(item: pytest.Item) -> None:
    missing = _missing_backends(item)
    if not missing:
        return
    reason = "needs " + " and ".join(missing)
    if REQUIRE_ALL_BACKENDS:
        pytest.fail(f"REQUIRE_ALL_BACKENDS=1 but this test {reason}", pytrace=False)
    # Named per test, so `make test` on SQLite lists exactly which tests it skipped (not one grouped line).
    pytest.skip(f"{item.nodeid} {reason}")


@pytest.fixture(autouse=True)
def _reference_data(request):
    """Jurisdictions come from a data migration, but a transactional test ends by flushing every table; put
    them back so no test depends on running before one of those."""
    uses_db = request.node.get_closest_marker("django_db") or {"db", "transactional_db"} & set(request.fixturenames)
    if not uses_db:
        return
    if "transactional_db" not in request.fixturenames:
        request.getfixturevalue("db")
    from accounts.jurisdictions import read_fixture, upsert_jurisdictions
    from accounts.models import Jurisdiction

    if not Jurisdiction.objects.exists():
        upsert_jurisdictions(Jurisdiction, read_fixture())


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """PBKDF2 at production strength costs ~0.3 s per user; tests create hundreds of users."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _plain_http_test_client(settings):
    """With DATABASE_URL set the settings are production's, which redirect plain HTTP to HTTPS; the test client
    speaks plain HTTP. Everything else about production settings stays in force."""
    settings.SECURE_SSL_REDIRECT = False


@pytest.fixture(scope="session")
def live_server():
    """pytest-django's live server, started with production's HTTPS redirect off: it speaks plain HTTP, and its
    middleware reads SECURE_SSL_REDIRECT once, when the (session-long) server starts, before any per-test
    setting. A browser cannot be told to add the TLS proxy's header to every request, as the API tests do."""
    from django.test.utils import override_settings
    from pytest_django.live_server_helper import LiveServer

    with override_settings(SECURE_SSL_REDIRECT=False):
        server = LiveServer(os.getenv("DJANGO_LIVE_TEST_SERVER_ADDRESS") or "localhost")
    yield server
    server.stop()


@pytest.fixture
def behind_tls_proxy(settings):
    """Live-server tests: production runs behind a TLS-terminating proxy (NUM_PROXIES=1), which says so in
    X-Forwarded-Proto. The live server speaks plain HTTP and was started before any per-test settings (its
    middleware keeps production's HTTPS redirect), so its requests carry that header and are trusted as here."""
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")


@pytest.fixture
def openapi_document(client, settings):
    """The OpenAPI document as /api/schema/ serves it. Production serves it to logged-in users only
    (test_http_security pins who may read it); these tests read what it says, whoever asks."""
    settings.API_SCHEMA_PUBLIC = True
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200, response.content[:300]
    return response.json()


@pytest.fixture
def plain_static_storage(settings):
    """For tests that render pages (admin, API docs): production settings name whitenoise's manifest storage,
    which needs the manifest collectstatic writes (the image build runs it; tests do not)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _private_cache(settings):
    """A fresh in-process cache per test: throttle counters and progress must not leak between tests or runs."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _celery_eager():
    """Unit tests run tasks inline; the Redis round-trip test starts a real worker instead."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager = previous


# --- Personas ---------------------------------------------------------------------------------------------
# One regional agency (Ningxia, 640000) with a user per agency role; two entities in Yinchuan (640100) inside
# its jurisdiction; and, outside it, a Baoding (130600) agency and entity. Tests say "owner", "member",
# "outsider" in these terms: "outsider" is an applicant of another entity in the same jurisdiction,
# "foreign_admin" a program administrator of an agency elsewhere. Each is a plain fixture, so grep finds it.


@pytest.fixture
def ningxia_agency(db):
    return make_org(OrganizationKind.AGENCY, jurisdiction="640000", name="宁夏回族自治区发展和改革委员会")


@pytest.fixture
def baoding_agency(db):
    return make_org(OrganizationKind.AGENCY, jurisdiction="130600", name="保定市发展和改革委员会")


@pytest.fixture
def entity(db):
    return make_org(jurisdiction="640104", name="银川智算科技有限公司")


@pytest.fixture
def other_entity(db):
    return make_org(jurisdiction="640106", name="金凤模型实验室有限公司")


@pytest.fixture
def baoding_entity(db):
    return make_org(jurisdiction="130602", name="保定算力应用有限公司")


@pytest.fixture
def program_admin(ningxia_agency):
    return make_user(ningxia_agency, Role.PROGRAM_ADMIN, username="nx_admin")


@pytest.fixture
def reviewer(ningxia_agency):
    return make_user(ningxia_agency, Role.REVIEWER, username="nx_reviewer")


@pytest.fixture
def second_reviewer(ningxia_agency):
    return make_user(ningxia_agency, Role.REVIEWER, username="nx_reviewer2")


@pytest.fixture
def finance(ningxia_agency):
    return make_user(ningxia_agency, Role.FINANCE, username="nx_finance")


@pytest.fixture
def auditor(ningxia_agency):
    return make_user(ningxia_agency, Role.AUDITOR, username="nx_auditor")


@pytest.fixture
def applicant(entity):
    return make_user(entity, Role.APPLICANT, username="yc_applicant")


@pytest.fixture
def outsider(other_entity):
    return make_user(other_entity, Role.APPLICANT, username="jf_applicant")


@pytest.fixture
def foreign_admin(baoding_agency):
    return make_user(baoding_agency, Role.PROGRAM_ADMIN, username="bd_admin")


@pytest.fixture
def staff(db):
    return make_user(None, username="platform_staff", is_staff=True)
