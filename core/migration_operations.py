"""Migration operations shared by every app's migrations (importable by name, so a squash keeps working)."""

from __future__ import annotations

from typing import Any

from django.db import migrations


class PostgreSQLOnlyRunSQL(migrations.RunSQL):
    """``RunSQL`` that does nothing on other backends, so the same migrations run on SQLite.

    For triggers and functions that enforce invariants in PostgreSQL; on SQLite the service layer (and, for the
    append-only tables, the models' guards) enforce the same rules.
    """

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
