"""The hot path's statements: prepared once per connection, and rows inserted with their
statement built once per model.

`fetch_prepared(sql, params)` runs a fixed statement through a server-side binding psycopg
cursor on Django's own connection (so it joins the current transaction): after
DB_PREPARE_THRESHOLD executions the server keeps its plan, and no call quotes its
parameters into the text. Django's own cursors bind client-side and re-plan every call.
For statements every request runs over tables whose size hardly changes (tokens, members,
regions, the day's case counter): a plan made for a table's size when it was prepared is
kept for the connection's life, so lookups into tables that grow fast stay unprepared.

Model.save() compiles its INSERT on every call: for a case (over thirty columns) that is
0.7 ms of CPU on the intake path, several times what the statement itself costs.
`insert_row(obj)` does what save() does for a new row of a plain model — each field's
pre_save (auto_now_add), its database preparation, the primary key read back — with the
column list cached. It falls back to save() whenever save() would do more: when anyone
listens to the model's save signals, when the model has its own save() or the instance an
explicit primary key, and for inherited models, generated columns and database defaults.
"""

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import psycopg
from django.db import connection as default_connection
from django.db import connections, models, router, transaction
from django.db.models.fields import NOT_PROVIDED
from django.db.models.signals import post_save, pre_save


def fetch_prepared(sql: str, params: Sequence[Any] | Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """All rows of a fixed hot statement (see above). Not seen by Django's query log, but
    handled as Django's own cursors are: a broken transaction is refused, errors come out
    as django.db exceptions and mark the connection, so a lost one is replaced at the end
    of the request instead of failing every request until CONN_MAX_AGE."""
    db = default_connection
    db.close_if_health_check_failed()
    db.ensure_connection()
    db.validate_no_broken_transaction()
    conn = db.connection
    assert isinstance(conn, psycopg.Connection)
    with db.wrap_database_errors, psycopg.Cursor(conn) as cur:
        cur.execute(sql, params, prepare=conn.prepare_threshold is not None)
        return cur.fetchall()


@cache
def _plan(model: type[models.Model], alias: str) -> tuple[str, tuple[models.Field, ...]] | None:
    meta = model._meta
    fields = tuple(f for f in meta.local_concrete_fields if f is not meta.auto_field)
    if meta.parents or meta.auto_field is None:
        return None
    if any(f.generated or f.db_default is not NOT_PROVIDED for f in fields):
        return None
    qn = connections[alias].ops.quote_name
    columns = ", ".join(qn(str(f.column)) for f in fields)
    pk = qn(str(meta.auto_field.column))
    return f"INSERT INTO {qn(meta.db_table)} ({columns}) VALUES ({{}}) RETURNING {pk}", fields


def insert_row(obj: models.Model) -> None:
    """Insert `obj` (a new instance) and set its primary key, as obj.save() would."""
    model = type(obj)
    alias = router.db_for_write(model, instance=obj)
    plan = _plan(model, alias)
    if (
        plan is None
        or obj.pk is not None  # an explicit primary key: save() writes it
        or model.save is not models.Model.save  # a model's own save() must run
        or pre_save.has_listeners(model)
        or post_save.has_listeners(model)
    ):
        obj.save(force_insert=True, using=alias)
        return
    statement, fields = plan
    connection = connections[alias]
    # As save(): refuse an unsaved related object, take the id of one saved since.
    obj._prepare_related_fields_for_save(operation_name="save")  # type: ignore[attr-defined]
    placeholders: list[str] = []
    params: list[Any] = []
    for f in fields:
        value = f.pre_save(obj, add=True)
        # Geometry fields choose their placeholder by the value's SRID (a transform or not).
        get_placeholder = getattr(f, "get_placeholder", None)
        placeholders.append(get_placeholder(value, None, connection) if get_placeholder else "%s")
        params.append(f.get_db_prep_save(value, connection))
    # As save(): an error inside an atomic block marks it for rollback.
    with transaction.mark_for_rollback_on_error(alias), connection.cursor() as cur:
        cur.execute(statement.format(", ".join(placeholders)), params)
        row = cur.fetchone()
    assert row is not None
    obj.pk = row[0]
    obj._state.adding = False
    obj._state.db = alias
