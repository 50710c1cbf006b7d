"""``manage.py migrate`` as the schema's owner.

With ``DATABASE_OWNER_URL`` set, migrations run through the ``owner`` connection (the application's own role,
``DATABASE_URL``, owns nothing and could not create or alter a table), and afterwards the application's role is
granted what it needs and no more (``voucher_service.database_roles``). Without it, this is Django's migrate.
An explicit ``--database`` is obeyed as given.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import CommandParser
from django.core.management.commands import migrate
from django.db import DEFAULT_DB_ALIAS, connections

from voucher_service.database_roles import grant_application_privileges

OWNER_ALIAS = "owner"


class Command(migrate.Command):
    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.set_defaults(database=None)

    @staticmethod
    def _choose_database(options: dict[str, Any]) -> None:
        if options.get("database") is None:
            options["database"] = OWNER_ALIAS if OWNER_ALIAS in settings.DATABASES else DEFAULT_DB_ALIAS

    def get_check_kwargs(self, options: dict[str, Any]) -> Any:
        self._choose_database(options)  # the system checks run first, against the database migrate will use
        return super().get_check_kwargs(options)

    def handle(self, *args: Any, **options: Any) -> None:
        self._choose_database(options)
        super().handle(*args, **options)
        if options["database"] == OWNER_ALIAS:
            role = settings.DATABASES[DEFAULT_DB_ALIAS].get("USER") or ""
            if role and role != settings.DATABASES[OWNER_ALIAS].get("USER"):
                grant_application_privileges(connections[OWNER_ALIAS], role)
                if options["verbosity"] >= 1:
                    self.stdout.write(f"Granted the application's role {role!r} its privileges.")
