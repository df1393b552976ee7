"""Thousands of ids as one SQL parameter, for bulk work: `Order.objects.filter(pk__any_of=ids)`.

`pk__in=[... 5,000 ids ...]` makes Django prepare and compile every id as its own parameter,
which cost more than the statements themselves in the expiry sweep. Here the list travels as
one value the database unpacks: `= ANY(array)` on PostgreSQL (the planner knows the array's
length and probes the index once per id; `IN (SELECT unnest(...))` guessed 200 rows and
hash-joined every held ticket instead), `IN (SELECT value FROM json_each(...))` on SQLite.
"""

from __future__ import annotations

import json
from typing import Any

from django.db.models import Field, ForeignObject, Lookup

__all__ = ["AnyOf", "any_of_sql", "register"]


def any_of_sql(column: str, ids: list[int], *, vendor: str) -> tuple[str, list[Any]]:
    """`column` is one of `ids`, as SQL and its one parameter, for raw statements."""
    if vendor == "postgresql":
        return f"{column} = ANY(%s::bigint[])", [ids]
    if vendor == "sqlite":
        return f"{column} IN (SELECT value FROM json_each(%s))", [json.dumps(ids)]
    raise NotImplementedError(f"any_of has no form for {vendor}")


class AnyOf(Lookup):
    """`field__any_of=ids`: the field's value is one of `ids` (integers)."""

    lookup_name = "any_of"
    prepare_rhs = False

    def get_prep_lookup(self) -> list[int]:
        return [int(value) for value in self.rhs]

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        sql, params = any_of_sql(lhs, self.rhs, vendor=connection.vendor)
        return sql, [*lhs_params, *params]


def register() -> None:
    """Make `__any_of` available on every field (called once, from the project's AppConfig).
    Relations take their lookups from ForeignObject, not Field: registered on both."""
    Field.register_lookup(AnyOf)
    ForeignObject.register_lookup(AnyOf)
