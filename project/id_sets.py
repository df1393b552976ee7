"""Thousands of ids as one SQL parameter, for `field__in=id_set(ids)` in bulk work.

`pk__in=[... 5,000 ids ...]` makes Django prepare and compile every id as its own parameter,
which cost more than the statements themselves in the expiry sweep. Here the list travels as
one value the database unpacks: a PostgreSQL array, or a JSON array read with SQLite's
`json_each`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from django.db import connection
from django.db.models.expressions import RawSQL

__all__ = ["id_set"]


def id_set(ids: Iterable[int]) -> RawSQL:
    """A subquery yielding `ids`, for the right-hand side of an `__in` lookup."""
    values = [int(i) for i in ids]
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", [values])
    if connection.vendor == "sqlite":
        return RawSQL("SELECT value FROM json_each(%s)", [json.dumps(values)])
    raise NotImplementedError(f"id_set() has no form for {connection.vendor}")
