"""The statements every request or post runs, written out in SQL.

The ORM builds each statement anew, in Python, for every call: for a lookup by key that is
~0.5 ms of CPU against ~0.1 ms for the round trip itself (bench/RESULTS.md), and a post runs
a dozen. So the hot paths (who is calling, the room, createPost's lock and rate count, the
accept stage's reads and writes) say their statements here. Tables and columns are named
by the models and values adapted by the model fields (`value`), so these read and write
exactly what the ORM would, on PostgreSQL and SQLite alike; everything else uses the ORM.
"""
import functools

from django.db import connection


def table(model):
    return connection.ops.quote_name(model._meta.db_table)


def column(model, field):
    return connection.ops.quote_name(model._meta.get_field(field).column)


def value(model, field, python_value):
    """`python_value` as the database stores `model.field` (a UUID on SQLite, a datetime...)."""
    return model._meta.get_field(field).get_db_prep_value(python_value, connection)


def lock():
    """`FOR NO KEY UPDATE`, where the database has row locks (SQLite locks the database for
    the whole write transaction instead): other transactions' foreign-key checks on the
    row don't wait for it."""
    return " FOR NO KEY UPDATE" if connection.features.has_select_for_no_key_update else ""


def one(statement, params=()):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchone()


def rows(statement, params=()):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall()


def run(statement, params=()):
    """The number of rows the statement changed."""
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


@functools.cache
def _reader(model, vendor):
    """How to read `model` rows by key on this database: the statement, the field names,
    and each column's converters, as the ORM's compiler finds them (SQLite stores booleans,
    UUIDs and times in its own forms; PostgreSQL needs none)."""
    fields = model._meta.concrete_fields
    columns = [field.get_col(model._meta.db_table) for field in fields]
    converters = []
    for i, col in enumerate(columns):
        found = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
        if found:
            converters.append((i, col, found))
    statement = (
        f"SELECT {', '.join(connection.ops.quote_name(f.column) for f in fields)} FROM {table(model)}"
        f" WHERE {column(model, model._meta.pk.name)} = %s"
    )
    return statement, [field.attname for field in fields], converters


def by_pk(model, pk):
    """The instance with this primary key, or None, built as the ORM builds it (from_db)."""
    statement, names, converters = _reader(model, connection.vendor)
    row = one(statement, [pk])
    if row is None:
        return None
    if converters:
        row = list(row)
        for i, col, found in converters:
            for convert in found:
                row[i] = convert(row[i], col, connection)
    return model.from_db(connection.alias, names, row)
