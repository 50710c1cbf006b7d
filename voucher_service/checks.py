"""Refuse to start where the demo's published password or the embedded mode's local-only defaults could be reached.

The demo guard in ``load_demo`` runs only when the demo is loaded. These checks run whenever the service starts
(``runserver`` and every management command through Django's system checks; gunicorn through the WSGI module,
``startup_guard``), so restarting an instance that has demo users with a public ``ALLOWED_HOSTS``, or in
production settings, refuses to serve:

* ``voucher_service.E001`` (a database check: ``migrate``, ``check --database default``, the WSGI guard):
  active demo users (whose password is printed in the README) exist, and this is not
  a local demo (embedded or DEBUG mode serving only this machine). ``manage.py disable_demo`` disables them.
* ``voucher_service.E002``: embedded or DEBUG mode with an ``ALLOWED_HOSTS`` that reaches beyond this machine.
  Those modes use a fixed development SECRET_KEY (also keying the ID digests), non-Secure cookies and no HSTS:
  they are for one laptop. Serve other machines with the production settings (``DATABASE_URL``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection


def _exposed_hosts() -> list[str]:
    from voucher_service.demo import non_local_hosts

    return non_local_hosts(settings.ALLOWED_HOSTS)


def active_demo_users() -> list[str]:
    """Usernames of demo users that can still log in ([] before the user table exists, e.g. a fresh migrate)."""
    from accounts.models import User
    from voucher_service.demo import DEMO_USERNAMES

    try:
        if User._meta.db_table not in connection.introspection.table_names():
            return []
        return sorted(
            User.objects.filter(username__in=DEMO_USERNAMES, is_active=True).values_list("username", flat=True)
        )
    except (DatabaseError, RuntimeError):
        # No database to ask (`check` during an image build; a test that allows none): nothing to report from it.
        return []


def check_demo_users(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    # A database check: Django asks the database only when a command names it (migrate does; the WSGI guard
    # below does; `check --deploy` during an image build does not, and must not wait for a server).
    if not databases:
        return []
    demo_users = active_demo_users()
    if not demo_users or (settings.LOCAL and not _exposed_hosts()):
        return []
    return [
        checks.Error(
            f"Demo users with the published password can log in here: {', '.join(demo_users)}.",
            hint="Demo users are for a local embedded or DEBUG run only. Disable them with `manage.py disable_demo`.",
            id="voucher_service.E001",
        )
    ]


def check_local_mode_is_local(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    exposed = _exposed_hosts()
    if not settings.LOCAL or not exposed:
        return []
    return [
        checks.Error(
            f"Embedded or DEBUG mode serving hosts other machines can reach: {', '.join(exposed)}.",
            hint=(
                "These modes use a fixed development SECRET_KEY, non-Secure cookies and no HSTS. Limit "
                "ALLOWED_HOSTS to localhost, 127.0.0.1 and [::1], or run the production settings (DATABASE_URL)."
            ),
            id="voucher_service.E002",
        )
    ]


GUARDS = (check_local_mode_is_local, check_demo_users)


def register() -> None:
    checks.register(check_local_mode_is_local, checks.Tags.security)
    checks.register(check_demo_users, checks.Tags.security, checks.Tags.database)


def startup_guard() -> None:
    """For servers that run no system checks (gunicorn, and runserver, which loads this through the WSGI module):
    refuse to start on any error above, the database's included."""
    errors = [message for guard in GUARDS for message in guard(databases=[DEFAULT_DB_ALIAS]) if message.is_serious()]
    if errors:
        raise ImproperlyConfigured("; ".join(f"{error.id}: {error.msg} {error.hint}" for error in errors))
