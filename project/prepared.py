"""Hot statements whose SQL is built once per process: the webhook's SELECTs, INSERTs, UPDATEs.

Django builds a SELECT anew on every call: for the 28-column Raffle that is about 0.3 ms of
Python, while SQLite runs the statement in 15 µs. Every webhook runs the bot inside its write
transaction, and on SQLite that transaction holds the single writer lock, so each millisecond of
SQL building is a millisecond no other webhook can write (issue 16: the webhook's throughput at
8 clients is bound by that lock). A `Prepared` query keeps the SQL its queryset compiles to, and
how a row becomes a model instance, per database alias; each later call binds new values and
runs it.

    _live_orders = Prepared(
        lambda contact_id: Order.objects.filter(contact_id=contact_id, status__in=LIVE), int
    )
    orders = _live_orders(contact.pk)          # a list of Order

`insert(instance)` does the same for `Model.objects.create()` of a plain model (the webhook's
inbound message, capture and reply rows), and falls back to `save()` for anything more;
`update(Model, pk, field=value, ...)` for `Model.objects.filter(pk=pk).update(...)` with plain
values (the conversation's state, the contact's last message, the sending pace).

What a prepared queryset may be, checked when it is first built (a mistake fails the first
call, in any test that takes the path):
- it selects the fields of one model (no select_related, annotations, values() or defer());
- the values that change between calls are the builder's arguments, each an int or a str that
  lands in exactly one SQL parameter; everything else in the queryset is constant.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured, MultipleObjectsReturned
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Field, Model, QuerySet
from django.db.models.fields import AutoFieldMixin
from django.db.models.query import ModelIterable
from django.db.models.signals import post_save, pre_save
from django.db.transaction import TransactionManagementError

__all__ = ["Prepared", "insert", "update"]

# Markers the builder is first called with, to find where each argument lands among the SQL
# parameters. Within a 16-bit column's range: PostgreSQL's ORM refuses to compile a lookup whose
# value would overflow its column. A marker that happens to equal a constant of the query makes
# the build fail loudly (`_slot_of`), never bind the wrong parameter.
_markers = itertools.cycle(range(20_011, 32_767, 7))


@dataclass(frozen=True)
class _Statement:
    """One queryset's SQL on one database alias, and how its rows become instances."""

    model: type[Model]
    sql: str
    params: tuple[Any, ...]
    slots: tuple[int, ...]  # where argument i goes among `params`
    attnames: list[str]
    converters: list[tuple[int, list[Callable[..., Any]], Any]]
    for_update: bool


class Prepared[M: Model]:
    """`Prepared(build, *arg_types)`: `build(*args)` returns the queryset; call with the args."""

    def __init__(self, build: Callable[..., QuerySet[M]], *arg_types: type[int | str]) -> None:
        for kind in arg_types:
            if kind not in (int, str):
                raise ImproperlyConfigured(f"prepared query arguments are int or str, not {kind}")
        self._build = build
        self._arg_types = arg_types
        self._statements: dict[str, _Statement] = {}

    def __call__(self, *args: int | str, using: str = DEFAULT_DB_ALIAS) -> list[M]:
        statement = self._statements.get(using) or self._prepare(using)
        if len(args) != len(statement.slots):
            raise TypeError(f"expected {len(statement.slots)} arguments, got {len(args)}")
        params = list(statement.params)
        for slot, value, kind in zip(statement.slots, args, self._arg_types, strict=True):
            if type(value) is not kind:  # bool is an int: say what was meant
                raise TypeError(f"prepared query argument {value!r} is not {kind.__name__}")
            params[slot] = value
        connection = connections[using]
        if statement.for_update and connection.get_autocommit():
            # What the ORM says for select_for_update() outside a transaction.
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
        with connection.cursor() as cursor:
            cursor.execute(statement.sql, params)
            rows = cursor.fetchall()
        instances = []
        for row in rows:
            values = list(row)
            for position, converters, expression in statement.converters:
                value = values[position]
                for convert in converters:
                    value = convert(value, expression, connection)
                values[position] = value
            instances.append(statement.model.from_db(using, statement.attnames, values))
        return instances

    def one(self, *args: int | str, using: str = DEFAULT_DB_ALIAS) -> M | None:
        """The single row (a lookup by a unique key), or None; more than one is an error."""
        rows = self(*args, using=using)
        if len(rows) > 1:
            raise MultipleObjectsReturned(f"{len(rows)} rows where one was expected")
        return rows[0] if rows else None

    def _prepare(self, using: str) -> _Statement:
        markers = [
            next(_markers) if kind is int else f"\x1fprepared-{next(_markers)}\x1f"
            for kind in self._arg_types
        ]
        queryset = self._build(*markers).using(using)
        query = queryset.query
        if (
            queryset._iterable_class is not ModelIterable
            or query.select_related
            or query.annotation_select
            or query.extra_select
            or query.deferred_loading != (frozenset(), True)
            or queryset._prefetch_related_lookups
        ):
            raise ImproperlyConfigured(
                "a prepared query selects one model's own fields: no select_related, "
                "annotations, values(), defer()/only() or prefetch_related"
            )
        compiler = query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        slots = tuple(_slot_of(marker, params) for marker in markers)
        select = compiler.select
        fields = compiler.klass_info["select_fields"]
        if list(fields) != list(range(len(select))):
            raise ImproperlyConfigured("a prepared query selects one model's own fields only")
        statement = _Statement(
            model=compiler.klass_info["model"],
            sql=sql,
            params=tuple(params),
            slots=slots,
            attnames=[column.target.attname for column, _, _ in select],
            converters=[
                (position, converters, expression)
                for position, (converters, expression) in compiler.get_converters(
                    [column for column, _, _ in select]
                ).items()
            ],
            for_update=bool(query.select_for_update)
            and connections[using].features.has_select_for_update,
        )
        self._statements[using] = statement
        return statement


def _slot_of(marker: int | str, params: Sequence[Any]) -> int:
    found = [index for index, value in enumerate(params) if value == marker]
    if len(found) != 1:
        raise ImproperlyConfigured(
            f"a prepared query's argument must land in exactly one SQL parameter, not {len(found)}"
        )
    return found[0]


# --- INSERT --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Insert:
    sql: str
    fields: list[Field]
    returns_pk: bool  # RETURNING the new pk; otherwise the backend's last_insert_id()


_inserts: dict[tuple[str, type[Model]], _Insert | None] = {}


def insert(instance: Model, *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Save a new `instance` as `save()` would (its pk, auto_now fields and state set), with
    the INSERT built once per model and database alias.

    Whatever the ORM would do more than one plain INSERT for goes through `save()`: a pk set
    in advance, a parent model, a database default, a value that is an expression,
    pre_save/post_save receivers (this sends no signals).
    """
    model = type(instance)
    key = (using, model)
    statement = _inserts[key] if key in _inserts else _prepare_insert(model, using)
    if (
        statement is None
        or instance.pk is not None
        or pre_save.has_listeners(model)
        or post_save.has_listeners(model)
    ):
        instance.save(force_insert=True, using=using)
        return
    connection = connections[using]
    values = []
    for field in statement.fields:
        value = field.pre_save(instance, add=True)  # auto_now_add sets the attribute too
        if hasattr(value, "resolve_expression"):
            instance.save(force_insert=True, using=using)
            return
        values.append(field.get_db_prep_save(value, connection=connection))
    meta = model._meta
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, values)
        if statement.returns_pk:
            pk = cursor.fetchone()[0]
        else:
            pk = connection.ops.last_insert_id(cursor, meta.db_table, meta.pk.column)
    setattr(instance, meta.pk.attname, pk)
    instance._state.adding = False
    instance._state.db = using


def _prepare_insert(model: type[Model], using: str) -> _Insert | None:
    """The INSERT of every local column but the auto pk; None where `save()` must do it."""
    meta = model._meta
    connection = connections[using]
    fields = [f for f in meta.local_concrete_fields if not f.generated and f is not meta.auto_field]
    plain = (
        meta.auto_field is not None
        and isinstance(meta.pk, AutoFieldMixin)
        and not meta.parents
        and not meta.order_with_respect_to
        and list(meta.db_returning_fields) == [meta.pk]
        and not any(f.has_db_default() or hasattr(f, "get_placeholder") for f in fields)
    )
    statement = None
    if plain:
        quote = connection.ops.quote_name
        table = quote(meta.db_table)
        returns_pk = connection.features.can_return_columns_from_insert
        statement = _Insert(
            sql=(
                f"INSERT INTO {table} ({', '.join(quote(f.column) for f in fields)})"
                f" VALUES ({', '.join(['%s'] * len(fields))})"
                + (f" RETURNING {table}.{quote(meta.pk.column)}" if returns_pk else "")
            ),
            fields=fields,
            returns_pk=returns_pk,
        )
    _inserts[(using, model)] = statement
    return statement


# --- UPDATE of one row by pk ---------------------------------------------------------------------
_updates: dict[tuple[str, type[Model], tuple[str, ...]], tuple[str, list[Field]]] = {}


def update(model: type[Model], pk: int, *, using: str = DEFAULT_DB_ALIAS, **values: Any) -> int:
    """`model.objects.filter(pk=pk).update(**values)` with plain values (no expressions, no
    auto_now: pass `updated_at` yourself, as a queryset update needs too); returns the count."""
    names = tuple(values)
    key = (using, model, names)
    prepared = _updates.get(key)
    if prepared is None:
        meta = model._meta
        fields = [meta.get_field(name) for name in names]
        if not fields or any(not f.concrete or f.primary_key for f in fields):
            raise ImproperlyConfigured("update() sets concrete, non-key fields")
        quote = connections[using].ops.quote_name
        prepared = _updates[key] = (
            f"UPDATE {quote(meta.db_table)}"
            f" SET {', '.join(f'{quote(f.column)} = %s' for f in fields)}"
            f" WHERE {quote(meta.pk.column)} = %s",
            fields,
        )
    sql, fields = prepared
    connection = connections[using]
    params = []
    for field, value in zip(fields, values.values(), strict=True):
        if hasattr(value, "resolve_expression"):
            raise TypeError(f"update() takes plain values; {field.name} got an expression")
        params.append(field.get_db_prep_save(value, connection=connection))
    params.append(pk)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
