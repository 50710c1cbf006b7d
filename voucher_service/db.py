"""Small database helpers for bulk work that the ORM makes slow."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import connection, models

CHUNK = 1000


def set_column_by_pk(
    model: type[models.Model], field: str, values: Mapping[Any, Any], *, and_set: Mapping[str, Any] | None = None
) -> int:
    """``UPDATE … SET field = CASE pk WHEN … END`` for many rows, built as plain SQL; ``and_set`` sets more fields,
    each to one value for every row, in the same statement (so a CHECK across them holds after it).

    ``QuerySet.bulk_update`` builds the same statement out of ORM expressions, which costs about a millisecond of
    Python per row; for the 10,000 rows of a bulk issuance that is most of the run. Values are bound parameters.
    """
    quote = connection.ops.quote_name
    concrete = _concrete(model, field)
    if model._meta.pk is None:
        raise TypeError(f"{model.__name__} has no primary key")
    table, column, pk = quote(model._meta.db_table), quote(concrete.column), quote(model._meta.pk.column)
    also = [(_concrete(model, name), value) for name, value in (and_set or {}).items()]
    also_sql = "".join(f", {quote(other.column)} = %s" for other, _value in also)
    also_params = [other.get_db_prep_save(value, connection) for other, value in also]
    items = list(values.items())
    updated = 0
    with connection.cursor() as cursor:
        for start in range(0, len(items), CHUNK):
            chunk = items[start : start + CHUNK]
            cases = " ".join(["WHEN %s THEN %s"] * len(chunk))
            keys = ", ".join(["%s"] * len(chunk))
            params: list[Any] = [item for pair in chunk for item in pair] + also_params + [key for key, _value in chunk]
            cursor.execute(
                f"UPDATE {table} SET {column} = CASE {pk} {cases} END{also_sql} WHERE {pk} IN ({keys})",  # noqa: S608
                params,
            )
            updated += cursor.rowcount
    return updated


def _concrete(model: type[models.Model], field: str) -> models.Field:
    concrete = model._meta.get_field(field)
    if not (isinstance(concrete, models.Field) and concrete.column):
        raise TypeError(f"{model.__name__}.{field} is not a concrete column")
    return concrete


def insert_unless_conflict(instance: models.Model, conflict_fields: tuple[str, ...]) -> bool:
    """``INSERT … ON CONFLICT (conflict_fields) DO NOTHING RETURNING pk`` of an unsaved ``instance``: True (and
    ``instance.pk`` set) if this statement inserted it, False if a row with the same ``conflict_fields`` exists.

    One statement, and in autocommit its own transaction: no savepoint or BEGIN/COMMIT around an INSERT that may
    fail with an IntegrityError. A concurrent insert of the same key is waited for, as the unique key would be.
    Every concrete field but an auto primary key is written, each converted as ``save()`` converts it."""
    meta = type(instance)._meta
    if meta.pk is None:
        raise TypeError(f"{type(instance).__name__} has no primary key")
    quote = connection.ops.quote_name
    fields = [f for f in meta.concrete_fields if not (f.primary_key and isinstance(f, models.AutoField))]
    columns = ", ".join(quote(f.column) for f in fields)
    conflict = ", ".join(quote(_concrete(type(instance), name).column) for name in conflict_fields)
    params = [f.get_db_prep_save(f.pre_save(instance, add=True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(fields))}) "  # noqa: S608
            f"ON CONFLICT ({conflict}) DO NOTHING RETURNING {quote(meta.pk.column)}",
            params,
        )
        row = cursor.fetchone()
    if row is None:
        return False
    instance.pk = row[0]
    instance._state.adding, instance._state.db = False, connection.alias
    return True


def update_where(model: type[models.Model], where: Mapping[str, Any], values: Mapping[str, Any]) -> int:
    """``UPDATE … SET values WHERE each of where equals`` as one plain statement: the rows updated.

    ``QuerySet.filter(**where).update(**values)`` builds, compiles and quotes the same statement anew on every
    call; a request's fixed bookkeeping (the idempotency record's marks) need not pay for that. ``values`` are
    converted as ``save()`` converts them (a JSON field's document, a datetime), ``where`` as a lookup does."""
    quote = connection.ops.quote_name
    sets = [(_concrete(model, name), value) for name, value in values.items()]
    matches = [(_concrete(model, name), value) for name, value in where.items()]
    if not sets or not matches:
        raise ValueError("update_where needs at least one value to set and one column to match")
    assignments = ", ".join(f"{quote(field.column)} = %s" for field, _value in sets)
    condition = " AND ".join(f"{quote(field.column)} = %s" for field, _value in matches)
    params = [field.get_db_prep_save(value, connection) for field, value in sets]
    params += [field.get_db_prep_value(value, connection, prepared=False) for field, value in matches]
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {condition}", params)  # noqa: S608
        return cursor.rowcount
